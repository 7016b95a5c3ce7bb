"""What a connector sees of the gateway's outbound HTTP client, and small pure helpers.

The client itself (SSRF guard, pooled sessions, timeouts, redacted call records) is the
core's; a connector receives it as ``ctx.http``. Every call made through it is recorded,
redacted, in ``ctx.calls`` (for ``raw=true``, ``provider_errors`` and the logs).
"""

from __future__ import annotations

import base64
import email.utils
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol


class CallRecord(Protocol):
    """One outbound call, redacted. Immutable."""

    method: str
    url: str
    status: int | None
    elapsed_ms: int
    error: str | None

    @property
    def response(self) -> Any: ...

    def as_dict(self) -> dict[str, Any]: ...


class HttpError(Exception):
    """A call that produced no HTTP response; ``record`` says what was attempted."""

    def __init__(self, message: str, record: Any) -> None:
        super().__init__(message)
        self.record = record


class HttpBlocked(HttpError):
    """The SSRF guard refused the URL (scheme, missing host, or a blocked address)."""


class HttpTimeout(HttpError):
    """Connecting or reading took longer than the timeout."""


class HttpResponse(Protocol):
    """Any HTTP response, 2xx or not: what to do with the status is the caller's choice."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    record: CallRecord

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Http(Protocol):
    """The guarded client. ``secrets`` are redacted from the call's record besides what
    the client finds by itself (Authorization headers, secret-looking parameters)."""

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> HttpResponse: ...


def basic_authorization(user: str, password: str | None = "") -> str:
    """``Basic base64(user:password)``; an empty password still keeps its colon."""
    raw = f"{user}:{password or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or HTTP date), never negative;
    None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
