"""The TestDome v3 API client for one operation: the OAuth token, paging, error walking,
401 refresh and 429 back-off.

Built on the context's ports: ``ctx.http`` (every call's redacted record lands in
``ctx.calls`` by itself), ``ctx.tokens`` (the shared token cache: encryption, expiry and
the stampede lock are the core's) and ``ctx.sleep`` (so ``Retry-After`` waits are
testable without sleeping).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.sdk import Context, HttpError, HttpTimeout, ProviderError, retry_after_seconds

DEFAULT_API_BASE_URL = "https://api.testdome.com/v3"
DEFAULT_TOKEN_URL = "https://api.testdome.com/token"
PAGE_SIZE = 100  # the documented maximum of $top
MAX_PAGES = 100  # 10,000 items; beyond that, something loops (a $skip ignored)
DEFAULT_TOKEN_LIFETIME = 1800  # "30 minutes" per the guide; ``expires_in`` is UNCONFIRMED
RATE_LIMIT_RETRIES = 2
MAX_RETRY_AFTER = 10.0  # longer waits fail fast: a web request must not sleep for minutes
DEFAULT_RETRY_AFTER = 1.0

# UNCONFIRMED: the error body. The simulator (and the versioning policy) suggest
# ``{"code", "message", "innerError": {...}}``; other nesting keys are tried too.
_INNER_KEYS = ("innerError", "innererror", "inner_error")
_INNER_LIST_KEYS = ("innerErrors", "details", "errors")
# Codes we can explain; the walk stops at the first of these, from the outside in.
KNOWN_CODES = {
    "invalid_grant": "the TestDome email or API password is wrong",
    "invalid_client": "the TestDome client id or client secret is wrong",
    "unsupported_grant_type": "TestDome does not offer this kind of credentials",
    "TokenExpired": "the access token expired",
    "InvalidToken": "the access token was not accepted",
    "MissingToken": "no access token was sent",
    "RateLimited": "TestDome's rate limit was exceeded",
    "CandidateStatusFinal": "the candidate's status is already final",
    "CandidateNotFound": "the candidate does not exist",
    "TestNotFound": "the test does not exist",
    "TestNotAvailable": "the test is archived or not published",
    "InvalidDeadline": "the deadline is not a future date",
    "EmailsRequired": "no valid email was given",
    "ReplyToRequired": "a reply-to address is required",
}
# The token endpoint's answers that mean "these credentials are wrong" (OAuth 2.0).
CREDENTIAL_CODES = frozenset({"invalid_grant", "invalid_client"})


class TestDomeApiError(ProviderError):
    """TestDome answered with an error: its HTTP ``status`` and the chain of ``codes``."""

    __test__ = False  # not a pytest class

    def __init__(self, message: str, *, codes: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.codes = list(codes)

    def has_code(self, code: str) -> bool:
        return code in self.codes


def error_chain(body: Any) -> tuple[list[str], list[str]]:
    """The ``code`` and ``message`` at every nesting level, outermost first."""
    codes: list[str] = []
    messages: list[str] = []
    node, depth = body, 0
    while isinstance(node, Mapping) and depth < 10:
        code = node.get("code") or node.get("error")
        message = node.get("message") or node.get("error_description")
        if isinstance(code, str) and code:
            codes.append(code)
        if isinstance(message, str) and message:
            messages.append(message)
        inner = next((node[k] for k in _INNER_KEYS if isinstance(node.get(k), Mapping)), None)
        if inner is None:
            for key in _INNER_LIST_KEYS:
                items = node.get(key)
                if isinstance(items, list) and items and isinstance(items[0], Mapping):
                    inner = items[0]
                    break
        node, depth = inner, depth + 1
    return codes, messages


def error_message(status: int, body: Any) -> tuple[str, list[str]]:
    """A readable message for a failed call, and the codes found (never the message text
    for decisions: TestDome says messages may change)."""
    codes, messages = error_chain(body)
    known = next((c for c in codes if c in KNOWN_CODES), None)
    detail = KNOWN_CODES[known] if known else (messages[-1] if messages else "")
    chain = f" [{' > '.join(codes)}]" if codes else ""
    text = f"TestDome answered HTTP {status}{chain}"
    return (f"{text}: {detail}" if detail else text), codes


def grant_form(credentials: Mapping[str, Any]) -> dict[str, str]:
    """The token request's form: a password grant (email and API password) or client
    credentials, whichever the account holds."""
    if credentials.get("email") and credentials.get("api_password"):
        return {
            "grant_type": "password",
            "username": str(credentials["email"]),
            "password": str(credentials["api_password"]),
        }
    if credentials.get("client_id") and credentials.get("client_secret"):
        return {
            "grant_type": "client_credentials",
            "client_id": str(credentials["client_id"]),
            "client_secret": str(credentials["client_secret"]),
        }
    raise ProviderError("The TestDome account has no usable credentials.", account_error=True)


class TestDomeClient:
    """One account's view of the TestDome API for one operation (``ctx``)."""

    __test__ = False

    def __init__(self, ctx: Context, *, max_pages: int = MAX_PAGES, max_retry_after: float = MAX_RETRY_AFTER) -> None:
        self.ctx = ctx
        self.max_pages, self.max_retry_after = max_pages, max_retry_after
        self.base_url = str(ctx.settings.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        self.token_url = str(ctx.settings.get("token_url") or DEFAULT_TOKEN_URL)
        self._grant = grant_form(ctx.credentials)
        # The cache key's material: new credentials or a new token URL never reuse a token
        # (the core keeps only a keyed digest of it).
        self._token_name = "\n".join([self.token_url, *(f"{k}={v}" for k, v in sorted(self._grant.items()))])
        self._secrets = [v for k, v in self._grant.items() if k in ("password", "client_secret")]

    # --- public -------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def list_all(
        self, path: str, params: Mapping[str, Any] | None = None, *, forward_proxy: bool = True
    ) -> list[dict[str, Any]]:
        """Every item of a v3 list, following ``hasMoreItems`` page by page.

        The caller's ``proxy[...]`` parameters are forwarded (they may override our
        filters, never the paging). Raises ``ProviderError`` after ``max_pages`` pages
        rather than loop forever on a server that ignores ``$skip``.
        """
        base = {**(params or {}), **(dict(self.ctx.proxy) if forward_proxy else {})}
        items: list[dict[str, Any]] = []
        skip = 0
        for _ in range(self.max_pages):
            body = self.get(path, {**base, "$top": PAGE_SIZE, "$skip": skip})
            value = body.get("value") if isinstance(body, Mapping) else None
            if not isinstance(value, list):
                raise self._failure(f"TestDome answered {path} without a list envelope")
            items.extend(v for v in value if isinstance(v, dict))
            if not body.get("hasMoreItems") or not value:
                return items
            skip += len(value)
        raise self._failure(f"TestDome listed more than {self.max_pages} pages of {path}; stopped")

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        """One API call with the cached token: refresh once on 401, wait on 429."""
        url = self.base_url + "/" + path.lstrip("/")
        token = self._token()
        refreshed = False
        rate_limited = 0
        while True:
            response = self._send(method, url, headers={"Authorization": f"Bearer {token}"}, params=params, json=json)
            if response.status == 401 and not refreshed:
                refreshed = True
                self.ctx.tokens.forget(self._token_name, token)
                token = self._token()
                continue
            if response.status == 429:
                wait = retry_after_seconds(response.headers)
                wait = DEFAULT_RETRY_AFTER if wait is None else wait
                if rate_limited < RATE_LIMIT_RETRIES and wait <= self.max_retry_after:
                    rate_limited += 1
                    self.ctx.sleep(wait)
                    continue
                raise self._error(response, retry_after=wait)
            if response.status >= 400:
                raise self._error(response)
            return self._json(response) if response.content else None

    def token_fetch(self) -> tuple[str, int]:
        """Ask TestDome for a new access token: ``(token, lifetime in seconds)``.

        A refusal of the credentials themselves (``invalid_grant``, ``invalid_client``,
        a 401) is marked ``account_error``: retrying will not help until they change.
        """
        response = self._send("POST", self.token_url, data=dict(self._grant))
        if response.status >= 400:
            error = self._error(response, what="token request")
            error.account_error = response.status == 401 or bool(CREDENTIAL_CODES & set(error.codes))
            raise error
        body = self._json(response)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise self._failure("TestDome's token answer has no access_token", status=response.status)
        self._secrets.append(token)
        lifetime = body.get("expires_in")
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = int(lifetime)
        if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        return token, lifetime

    # --- plumbing -------------------------------------------------------------------------

    def _token(self) -> str:
        token = self.ctx.tokens.get(self._token_name, self.token_fetch)
        if token not in self._secrets:
            self._secrets.append(token)  # redacted from every later record of this client
        return token

    def _send(self, method: str, url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
        try:
            return self.ctx.http.request(
                method,
                url,
                headers={"Accept": "application/json", **(headers or {})},
                secrets=list(self._secrets),
                **kwargs,
            )
        except HttpError as exc:
            timeout = isinstance(exc, HttpTimeout)
            kind = "timed out" if timeout else "could not be reached"
            raise self._failure(f"TestDome {kind}: {method} {exc.record.url}", timeout=timeout) from None

    def _json(self, response: Any) -> Any:
        try:
            return response.json()
        except ValueError:
            message = f"TestDome answered HTTP {response.status} with a body that is not JSON"
            raise self._failure(message, status=response.status) from None

    def _error(self, response: Any, *, what: str = "", retry_after: float | None = None) -> TestDomeApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        message, codes = error_message(response.status, body)
        if what:
            message = message.replace("TestDome answered", f"TestDome answered the {what} with", 1)
        return self._failure(message, status=response.status, codes=codes, retry_after=retry_after)

    def _failure(self, message: str, **kwargs: Any) -> TestDomeApiError:
        """An error carrying every call of this operation so far (``provider_errors``)."""
        return TestDomeApiError(message, calls=list(self.ctx.calls), **kwargs)
