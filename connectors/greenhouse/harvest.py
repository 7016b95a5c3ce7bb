"""Harvest, Greenhouse's customer API, behind one small interface.

The gateway only reads a few Harvest objects today (to enrich orders) and may write later
(notes, attachments, advancing an application). Harvest v1/v2 is being retired in favour of
v3 with OAuth and cursor paging, so callers depend on :class:`HarvestClient`, and
:class:`HarvestV1Client` is one implementation of it: a v3 client can replace it without
touching the callers.

What the v1 client does for the caller (https://developers.greenhouse.io/harvest.html):

* Basic auth with the Harvest key as user name and an empty password;
* rate limits: when ``X-RateLimit-Remaining`` reaches 0 it pauses until the window resets
  before the next call; a 429 is retried after ``Retry-After`` (seconds, an HTTP date, or
  the epoch timestamp older docs described). A wait longer than ``max_wait`` is not slept:
  the call stops with :class:`HarvestRateLimited` (a worker must not sleep for minutes);
* paging: follows ``Link: <…>; rel="next"`` verbatim and never builds page URLs; a next
  link to another origin is refused, so the key is never sent elsewhere;
* errors: 422 bodies ``{message, errors: [{message, field}]}`` become a readable message
  and a list of field errors; other statuses raise a typed :class:`HarvestError`;
* ``On-Behalf-Of`` on every write, from the account's ``on_behalf_of`` setting (a numeric
  user id; an email address is resolved to one through ``GET /users?email=``).

It calls Harvest through the context's guarded client (``ctx.http``), which keeps a
redacted record of every call; a :class:`HarvestError` carries the records of the calls
that failed.
"""

from __future__ import annotations

import json as _json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from requests.utils import parse_header_links

from gateway.sdk import (
    Context,
    Http,
    HttpError,
    HttpResponse,
    HttpTimeout,
    ProviderError,
    basic_authorization,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://harvest.greenhouse.io/v1"
RATE_WINDOW_SECONDS = 10.0  # Harvest's documented window; the fallback wait
EPOCH_THRESHOLD = 10**9  # a Retry-After this large is a timestamp (pre-2024 docs), not a delay

JSON = dict[str, Any]


# --- errors -----------------------------------------------------------------------------------


class HarvestError(ProviderError):
    """Harvest answered with an error, or not at all. A ``ProviderError``, so a unified
    call that reaches Harvest turns it into the contract's 502/504 with the call records."""

    def __init__(
        self, message: str, *, errors: list[dict[str, str | None]] | None = None, **details: Any
    ) -> None:
        super().__init__(message, **details)
        self.message = message
        self.errors = errors or []


class HarvestAuthError(HarvestError):
    """401 or 403: a wrong key, a key without permission for this endpoint, or plain HTTP."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, account_error=True, **details)


class HarvestNotFound(HarvestError):
    """404: no such object (also Harvest's answer to an unknown ``On-Behalf-Of`` user)."""


class HarvestValidationError(HarvestError):
    """422: ``errors`` holds ``{"field", "message"}`` items (``field`` may be None)."""


class HarvestRateLimited(HarvestError):
    """Still limited after the retries, or asked to wait longer than ``max_wait``."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, status=429, **details)


class HarvestConfigurationError(HarvestError):
    """The account lacks what a call needs (e.g. ``on_behalf_of`` for a write)."""


def parse_error_body(content: bytes) -> tuple[str | None, list[dict[str, str | None]]]:
    """``(message, [{"field", "message"}])`` from a Harvest error body, defensively: the
    top-level message or an item's field may be absent, and the body may not be JSON."""
    try:
        body = _json.loads(content) if content else None
    except ValueError:
        return None, []
    if not isinstance(body, dict):
        return None, []
    message = body.get("message") if isinstance(body.get("message"), str) else None
    errors: list[dict[str, str | None]] = []
    raw_errors = body.get("errors")
    for item in raw_errors if isinstance(raw_errors, list) else []:
        if isinstance(item, dict):
            field = item.get("field")
            text = item.get("message")
            errors.append(
                {
                    "field": field if isinstance(field, str) else None,
                    "message": text if isinstance(text, str) else str(text),
                }
            )
        elif isinstance(item, str):
            errors.append({"field": None, "message": item})
    return message, errors


def readable_error(message: str | None, errors: list[dict[str, str | None]]) -> str:
    """``"Validation error: visibility: Must be one of: …; Application must be …"``."""
    details = "; ".join(
        f"{item['field']}: {item['message']}" if item.get("field") else str(item["message"]) for item in errors
    )
    if message and details:
        return f"{message}: {details}"
    return message or details or "Harvest returned an error"


# --- the interface --------------------------------------------------------------------------


class HarvestClient(Protocol):
    """What the gateway needs from Harvest, whatever its version."""

    def get_candidate(self, candidate_id: int | str) -> JSON: ...

    def get_application(self, application_id: int | str) -> JSON: ...

    def get_job(self, job_id: int | str) -> JSON: ...

    def list(self, resource: str, params: Mapping[str, Any] | None = None) -> Iterator[JSON]:
        """Every item of a list endpoint, across all its pages."""
        ...

    def write(self, method: str, path: str, body: Any) -> Any:
        """A write (POST, PATCH, PUT, DELETE) on behalf of the configured user."""
        ...


# --- v1 ----------------------------------------------------------------------------------------


class HarvestV1Client:
    """Harvest v1 over a guarded client, ``ctx.http`` (see the module docstring).

    ``sleep`` and ``clock`` (epoch seconds) are injectable so that rate limiting is tested
    without waiting. One instance serves one account and one job; it is not shared across
    threads (the rate-limit pause is per instance).
    """

    def __init__(
        self,
        *,
        api_key: str,
        http: Http,
        base_url: str = DEFAULT_BASE_URL,
        on_behalf_of: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_retries: int = 3,
        max_wait: float = 30.0,
        max_pages: int = 1000,
    ) -> None:
        if not api_key:
            raise HarvestConfigurationError("A Harvest API key is required.")
        self.api_key = api_key
        self.authorization = basic_authorization(api_key, "")
        self.base_url = base_url.rstrip("/")
        self.on_behalf_of = on_behalf_of
        self.http = http
        self.sleep, self.clock = sleep, clock
        self.max_retries, self.max_wait, self.max_pages = max_retries, max_wait, max_pages
        self._last_record: Any = None
        self._paused_until: float | None = None
        self._user_id: str | None = None

    # reads

    def get_candidate(self, candidate_id: int | str) -> JSON:
        return self._get_object("candidates", candidate_id)

    def get_application(self, application_id: int | str) -> JSON:
        return self._get_object("applications", application_id)

    def get_job(self, job_id: int | str) -> JSON:
        return self._get_object("jobs", job_id)

    def list(self, resource: str, params: Mapping[str, Any] | None = None) -> Iterator[JSON]:
        """Yield every item, page by page, following ``rel="next"`` links exactly as given.

        Filters and ``per_page`` go on the first request only: the next links already carry
        them (and v3 forbids repeating them beside a cursor).
        """
        url: str | None = self._url(resource)
        query: Mapping[str, Any] | None = dict(params or {})
        seen: set[str] = set()
        for _page in range(self.max_pages):
            assert url is not None
            response = self._send("GET", url, params=query)
            items = self._json(response)
            if not isinstance(items, list):
                raise HarvestError(
                    f"Expected a JSON array from {resource}", status=response.status, calls=[response.record]
                )
            yield from items
            url, query = self._next_link(response), None
            if url is None:
                return
            if url in seen:
                raise HarvestError("Harvest's next link repeats an earlier page", calls=[response.record])
            seen.add(url)
        raise HarvestError(f"More than {self.max_pages} pages of {resource}; stopped")

    # writes

    def write(self, method: str, path: str, body: Any) -> Any:
        """Send a write with ``On-Behalf-Of`` (required on every Harvest write)."""
        headers = {"On-Behalf-Of": self._acting_user_id(), "Content-Type": "application/json"}
        response = self._send(method.upper(), self._url(path), json=body, headers=headers)
        return self._json(response) if response.content.strip() else None

    def _acting_user_id(self) -> str:
        """The numeric user id for ``On-Behalf-Of``; an email setting is resolved once, as
        Harvest refuses emails there."""
        if self._user_id is not None:
            return self._user_id
        value = (self.on_behalf_of or "").strip()
        if not value:
            raise HarvestConfigurationError("Harvest writes need the on_behalf_of setting (a Greenhouse user id).")
        if value.isdigit():
            self._user_id = value
        elif "@" in value:
            users = self.list("users", {"email": value, "per_page": 1})
            user = next(users, None)
            if user is None or user.get("id") is None:
                raise HarvestConfigurationError("No Greenhouse user has the email in on_behalf_of.")
            self._user_id = str(user["id"])
        else:
            raise HarvestConfigurationError("on_behalf_of must be a numeric Greenhouse user id.")
        return self._user_id

    # plumbing

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _get_object(self, kind: str, object_id: int | str) -> JSON:
        object_id = str(object_id)
        if not object_id.isdigit():
            raise HarvestNotFound(f"{kind} id {object_id!r} is not a Harvest id", status=None)
        response = self._send("GET", self._url(f"{kind}/{object_id}"))
        body = self._json(response)
        if not isinstance(body, dict):
            raise HarvestError(f"Expected a JSON object from {kind}", status=response.status, calls=[response.record])
        return body

    def _json(self, response: HttpResponse) -> Any:
        try:
            return response.json()
        except ValueError:
            raise HarvestError(
                "Harvest answered with something that is not JSON", status=response.status, calls=[response.record]
            ) from None

    def _next_link(self, response: HttpResponse) -> str | None:
        header = next((v for k, v in response.headers.items() if k.lower() == "link"), None)
        if not header:
            return None  # no Link header: this was the only (or last) page
        for link in parse_header_links(header):
            if "next" in (link.get("rel") or "").split():
                url = link.get("url") or ""
                if not self._same_origin(url):
                    raise HarvestError("Harvest's next link points to another host; refused", calls=[response.record])
                return url
        return None

    def _same_origin(self, url: str) -> bool:
        here, there = urlsplit(self.base_url), urlsplit(url)
        return (here.scheme, here.netloc.lower()) == (there.scheme, there.netloc.lower())

    def _wait_for_budget(self) -> None:
        """Before a call: if the last answer said no calls are left, wait for the reset."""
        if self._paused_until is None:
            return
        wait = self._paused_until - self.clock()
        self._paused_until = None
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise HarvestRateLimited(
                f"Harvest's rate limit resets in {wait:.0f}s, longer than we wait",
                retry_after=wait,
                calls=[self._last_record] if self._last_record is not None else [],
            )
        self.sleep(wait)

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        if remaining is None or remaining > 0:
            return
        reset = _float_header(headers, "X-RateLimit-Reset")
        now = self.clock()
        # A reset in the past or implausibly far (clock skew) falls back to one window.
        if reset is None or not now < reset <= now + 6 * RATE_WINDOW_SECONDS:
            reset = now + RATE_WINDOW_SECONDS
        self._paused_until = reset

    def _retry_wait(self, headers: Mapping[str, str]) -> float:
        """Seconds to wait after a 429: Retry-After (delay, HTTP date or epoch timestamp),
        else X-RateLimit-Reset, else one window."""
        now = self.clock()
        wait = retry_after_seconds(headers, now=datetime.fromtimestamp(now, UTC))
        if wait is not None and wait > EPOCH_THRESHOLD:
            wait = wait - now
        if wait is None:
            reset = _float_header(headers, "X-RateLimit-Reset")
            wait = reset - now if reset is not None else None
        if wait is None or wait < 0:
            wait = RATE_WINDOW_SECONDS
        return wait

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        for attempt in range(self.max_retries + 1):
            self._wait_for_budget()
            try:
                response = self.http.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers={"Accept": "application/json", **(headers or {}), "Authorization": self.authorization},
                    secrets=[self.api_key],
                )
            except HttpError as exc:
                raise HarvestError(
                    f"Harvest did not answer: {exc}", calls=[exc.record], timeout=isinstance(exc, HttpTimeout)
                ) from None
            self._last_record = response.record
            self._note_budget(response.headers)
            if response.status == 429:
                wait = self._retry_wait(response.headers)
                self._paused_until = None  # the 429's own wait supersedes the budget pause
                if attempt >= self.max_retries or wait > self.max_wait:
                    raise HarvestRateLimited(
                        f"Harvest rate limit: retry after {wait:.0f}s",
                        retry_after=wait,
                        calls=[response.record],
                    )
                logger.info("Harvest rate limit hit; retrying %s in %.1fs", method, wait)
                self.sleep(wait)
                continue
            if 200 <= response.status < 300:
                return response
            raise _error_for(response)
        raise AssertionError("unreachable")  # the loop returns or raises


def _error_for(response: HttpResponse) -> HarvestError:
    message, errors = parse_error_body(response.content)
    status = response.status
    error_class: type[HarvestError] = {
        401: HarvestAuthError,
        403: HarvestAuthError,
        404: HarvestNotFound,
        422: HarvestValidationError,
    }.get(status, HarvestError)
    text = readable_error(message, errors) if (message or errors) else f"Harvest answered {status}"
    return error_class(text, status=status, errors=errors, calls=[response.record])


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = _header(headers, name)
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def _float_header(headers: Mapping[str, str], name: str) -> float | None:
    value = _header(headers, name)
    try:
        return float(value.strip()) if value is not None else None
    except ValueError:
        return None


# --- construction -----------------------------------------------------------------------------


def harvest_configured(ctx: Context) -> bool:
    return bool(ctx.credentials.get("harvest_api_key"))


def harvest_client_for(ctx: Context, **options: Any) -> HarvestClient | None:
    """The account's Harvest client, or None when the customer gave no Harvest key."""
    if not harvest_configured(ctx):
        return None
    return HarvestV1Client(
        api_key=ctx.credentials["harvest_api_key"],
        http=ctx.http,
        base_url=ctx.settings.get("harvest_base_url") or DEFAULT_BASE_URL,
        on_behalf_of=ctx.settings.get("on_behalf_of"),
        sleep=ctx.sleep,
        clock=ctx.clock,
        **options,
    )
