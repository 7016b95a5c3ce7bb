"""The errors a connector raises. The core renders each in the gateway's error body
(the partner's own envelope where the connector declares one), with the same status
codes for every connector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ConnectorFailure(Exception):
    """Base class: a status code, a message and field errors for the caller."""

    status_code = 400
    default_message = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        self.errors = [dict(error) for error in errors]
        self.headers = dict(headers or {})


class BadRequest(ConnectorFailure):
    """400: the partner's request cannot be read (a missing id, a malformed field)."""


class InvalidInput(ConnectorFailure):
    """422: well-formed, but a value is wrong (``errors`` name the fields)."""

    status_code = 422
    default_message = "Validation error"

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls(errors=[{"field": name, "message": message}])


class NotFound(ConnectorFailure):
    status_code = 404
    default_message = "Not found"


class Conflict(ConnectorFailure):
    status_code = 409
    default_message = "Conflict"


class ProviderError(Exception):
    """The partner failed or timed out. ``calls`` are the redacted records of the calls
    involved (the core shows them as ``provider_errors``: 502, or 504 for a timeout).

    ``status`` is the partner's HTTP status when it answered; ``retry_after`` (seconds)
    when it asked us to wait (a 429 answers the live caller 429 with ``Retry-After``, and
    background work waits that long). ``account_error`` marks a failure of the account's
    credentials (401/403): the core sets the account's status to ``error``.
    """

    def __init__(
        self,
        message: str,
        *,
        calls: Sequence[Any] = (),
        timeout: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
        account_error: bool = False,
    ) -> None:
        super().__init__(message)
        self.calls = list(calls)
        self.timeout = timeout
        self.status = status
        self.retry_after = retry_after
        self.account_error = account_error
