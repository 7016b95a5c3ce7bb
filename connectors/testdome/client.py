"""The TestDome v3 API client: OAuth token cache, paging, error walking, 429 back-off.

Every request goes through the gateway's one outbound client (SSRF guard, timeouts,
redacted ``CallRecord``s); each record is appended to ``ctx.calls`` so ``raw=true`` shows
what was sent, and failures leave as ``ProviderError`` carrying those records.

Tokens live in Django's cache (Redis in production, shared by every web process and
worker), keyed by account and a keyed digest of the credentials, encrypted at rest, and
reused until shortly before they expire: one token request per account every ~25
minutes, not one per API call. Limits, said honestly:

* the stampede guard is a short ``cache.add`` lock; a process that waits for it longer
  than ``LOCK_WAIT_STEPS`` polls fetches its own token rather than fail;
* with the in-process cache of embedded mode, each process has its own token;
* a 401 refreshes once and retries once; a second 401 is a ``ProviderError``;
* 5xx answers are not retried here (a POST might have taken effect): the caller decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connectors.base import AccountContext, ProviderError

DEFAULT_API_BASE_URL = "https://api.testdome.com/v3"
DEFAULT_TOKEN_URL = "https://api.testdome.com/token"
PAGE_SIZE = 100  # the documented maximum of $top
MAX_PAGES = 100  # 10,000 items; beyond that, something loops (a $skip ignored)
DEFAULT_TOKEN_LIFETIME = 1800  # "30 minutes" per the guide; ``expires_in`` is UNCONFIRMED
REFRESH_MARGIN = 300  # refresh five minutes early (a fifth of the lifetime if shorter)
LOCK_TTL = 15  # seconds a token fetch may hold the stampede lock
LOCK_WAIT_STEPS, LOCK_WAIT_STEP = 20, 0.1  # up to ~2 s waiting for another fetch
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


class TestDomeApiError(ProviderError):
    """TestDome answered with an error: its HTTP ``status`` and the chain of ``codes``."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        codes: Sequence[str] = (),
        calls: Sequence[Any] = (),
        timeout: bool = False,
    ) -> None:
        super().__init__(message, calls=calls, timeout=timeout)
        self.status = status
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


class TestDomeClient:
    """One account's view of the TestDome API for one operation.

    ``timer`` (wall-clock seconds) and ``sleep`` are injectable so token expiry and
    ``Retry-After`` waits are tested without sleeping; ``http`` and ``cache`` default to
    the gateway's outbound client and Django's default cache.
    """

    __test__ = False

    def __init__(
        self,
        ctx: AccountContext,
        *,
        http: Any = None,
        cache: Any = None,
        timer: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_pages: int = MAX_PAGES,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        if http is None:
            from gateway.delivery.outbound import client_from_settings

            http = client_from_settings()
        if cache is None:
            from django.core.cache import cache as default_cache

            cache = default_cache
        self.ctx = ctx
        self.http, self.cache, self.timer, self.sleep = http, cache, timer, sleep
        self.max_pages, self.max_retry_after = max_pages, max_retry_after
        self.base_url = str(ctx.settings.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        self.token_url = str(ctx.settings.get("token_url") or DEFAULT_TOKEN_URL)
        self.records: list[Any] = []  # this client's calls, for the errors it raises
        self._grant = self._grant_form(ctx.credentials)
        self._tokens_seen: list[str] = []

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
                raise TestDomeApiError(
                    f"TestDome answered {path} without a list envelope",
                    status=None,
                    calls=self.records,
                )
            items.extend(v for v in value if isinstance(v, dict))
            if not body.get("hasMoreItems") or not value:
                return items
            skip += len(value)
        raise TestDomeApiError(
            f"TestDome listed more than {self.max_pages} pages of {path}; stopped",
            status=None,
            calls=self.records,
        )

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None) -> Any:
        """One API call with the cached token: refresh once on 401, wait on 429."""
        url = self.base_url + "/" + path.lstrip("/")
        token = self._token()
        refreshed = False
        rate_limited = 0
        while True:
            response = self._send(method, url, token=token, params=params, json=json)
            if response.status == 401 and not refreshed:
                refreshed = True
                self._forget(token)
                token = self._token()
                continue
            if response.status == 429 and rate_limited < RATE_LIMIT_RETRIES:
                from gateway.delivery.outbound import retry_after_seconds

                wait = retry_after_seconds(response.headers)
                wait = DEFAULT_RETRY_AFTER if wait is None else wait
                if wait <= self.max_retry_after:
                    rate_limited += 1
                    self.sleep(wait)
                    continue
            if response.status >= 400:
                raise self._error(response.status, response)
            return self._json(response) if response.content else None

    # --- tokens ---------------------------------------------------------------------------

    @staticmethod
    def _grant_form(credentials: Mapping[str, Any]) -> dict[str, str]:
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
        raise ProviderError("The TestDome account has no usable credentials.")

    def _secrets(self) -> list[str]:
        return [v for k, v in self._grant.items() if k in ("password", "client_secret")] + self._tokens_seen

    def _cache_key(self) -> str:
        from gateway.tenancy.crypto import lookup_digest

        material = "\n".join([self.token_url, *(f"{k}={v}" for k, v in sorted(self._grant.items()))])
        return f"testdome:token:{self.ctx.account_id}:{lookup_digest(material)[:32]}"

    def _cached(self, key: str) -> str | None:
        from gateway.tenancy.crypto import DecryptionError, decrypt

        entry = self.cache.get(key)
        if not isinstance(entry, dict) or entry.get("usable_until", 0) <= self.timer():
            return None
        try:
            token = decrypt(entry["token"])
        except (DecryptionError, KeyError, TypeError):
            return None
        self._tokens_seen.append(token)
        return token

    def _token(self) -> str:
        key = self._cache_key()
        token = self._cached(key)
        if token:
            return token
        lock = key + ":lock"
        locked = self.cache.add(lock, 1, LOCK_TTL)
        if not locked:
            # Another process is fetching one: use it when it lands.
            for _ in range(LOCK_WAIT_STEPS):
                self.sleep(LOCK_WAIT_STEP)
                token = self._cached(key)
                if token:
                    return token
        try:
            token, lifetime = self._fetch_token()
            from gateway.tenancy.crypto import encrypt

            margin = min(REFRESH_MARGIN, lifetime // 5)
            usable = max(1, lifetime - margin)
            self.cache.set(key, {"token": encrypt(token), "usable_until": self.timer() + usable}, usable)
            return token
        finally:
            if locked:
                self.cache.delete(lock)

    def _forget(self, token: str) -> None:
        """Drop a rejected token, unless another process already replaced it."""
        key = self._cache_key()
        entry = self.cache.get(key)
        if isinstance(entry, dict) and self._cached(key) == token:
            self.cache.delete(key)

    def _fetch_token(self) -> tuple[str, int]:
        from gateway.delivery.outbound import OutboundError, OutboundTimeout

        try:
            response = self.http.request(
                "POST",
                self.token_url,
                data=dict(self._grant),
                headers={"Accept": "application/json"},
                secrets=self._secrets(),
            )
        except OutboundError as exc:
            self._keep(exc.record)
            raise ProviderError(
                f"TestDome's token endpoint could not be reached: {exc}",
                calls=self.records,
                timeout=isinstance(exc, OutboundTimeout),
            ) from None
        self._keep(response.record)
        if response.status >= 400:
            raise self._error(response.status, response, what="token request")
        body = self._json(response)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise TestDomeApiError(
                "TestDome's token answer has no access_token", status=response.status, calls=self.records
            )
        self._tokens_seen.append(token)
        lifetime = body.get("expires_in")
        if isinstance(lifetime, str) and lifetime.isdigit():
            lifetime = int(lifetime)
        if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        return token, lifetime

    # --- plumbing -------------------------------------------------------------------------

    def _keep(self, record: Any) -> None:
        self.records.append(record)
        self.ctx.calls.append(record)

    def _send(self, method: str, url: str, *, token: str, params: Any, json: Any) -> Any:
        from gateway.delivery.outbound import OutboundError, OutboundTimeout

        try:
            response = self.http.request(
                method,
                url,
                params=params,
                json=json,
                secrets=self._secrets(),
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except OutboundError as exc:
            self._keep(exc.record)
            kind = "timed out" if isinstance(exc, OutboundTimeout) else "could not be reached"
            raise TestDomeApiError(
                f"TestDome {kind}: {method} {exc.record.url}",
                status=None,
                calls=self.records,
                timeout=isinstance(exc, OutboundTimeout),
            ) from None
        self._keep(response.record)
        return response

    def _json(self, response: Any) -> Any:
        try:
            return response.json()
        except ValueError:
            raise TestDomeApiError(
                f"TestDome answered HTTP {response.status} with a body that is not JSON",
                status=response.status,
                calls=self.records,
            ) from None

    def _error(self, status: int, response: Any, what: str = "") -> TestDomeApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        message, codes = error_message(status, body)
        if what:
            message = message.replace("TestDome answered", f"TestDome answered the {what} with", 1)
        return TestDomeApiError(message, status=status, codes=codes, calls=self.records)
