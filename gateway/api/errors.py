"""One exception hierarchy for the gateway, rendered by one handler into the contract's
error body (CONTRACT §1.3)::

    {"statusCode", "message", "timestamp", "request_id", "errors": [...], "provider_errors": [...]}

Services raise ``GatewayError`` subclasses; DRF's own exceptions (parse errors, auth,
throttling, validation) are translated here too, so no view builds an error by hand.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from gateway.sdk.errors import ConnectorFailure
from gateway.timefmt import isoformat_z, utcnow

logger = logging.getLogger(__name__)


class GatewayError(Exception):
    status_code = 500
    default_message = "Internal error"

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        provider_errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = errors or []
        self.provider_errors = provider_errors or []
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(GatewayError):
    status_code = 400
    default_message = "Malformed request"


class NotFound(GatewayError):
    status_code = 404
    default_message = "Not found"


class Conflict(GatewayError):
    status_code = 409
    default_message = "Conflict"


class PayloadTooLarge(GatewayError):
    status_code = 413
    default_message = "Request body too large"


class UnsupportedMediaType(GatewayError):
    status_code = 415
    default_message = "Send the body as application/json"


class ValidationFailed(GatewayError):
    status_code = 422
    default_message = "Validation error"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(errors=[{"field": field, "message": message}])


class NotSupported(GatewayError):
    status_code = 501
    default_message = "The account's connector does not support this operation"


class ProviderFailed(GatewayError):
    status_code = 502
    default_message = "The provider failed"


class ProviderTimeout(GatewayError):
    status_code = 504
    default_message = "The provider timed out"


class ServiceUnavailable(GatewayError):
    status_code = 503
    default_message = "Service unavailable"


# The database is down, restarting or unreachable: a condition that passes, so a 503
# that says "retry" rather than a 500 that says "bug". (A deadlock or a lock timeout is
# an OperationalError too, and retrying is right for those as well.)
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER = "5"


def database_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "The database is unavailable; retry shortly.", headers={"Retry-After": DATABASE_RETRY_AFTER}
    )


def error_body(
    request: Any,
    status: int,
    message: str,
    errors: list[dict[str, str]] | None = None,
    provider_errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "message": message,
        "timestamp": isoformat_z(utcnow()),
        "request_id": getattr(request, "request_id", None),
        "errors": errors or [],
        "provider_errors": provider_errors or [],
    }


def error_response(request: Any, status: int, message: str, **extra: Any) -> JsonResponse:
    """The error body for code outside DRF views (middleware, partner endpoints, 404s)."""
    headers = extra.pop("headers", None)
    return JsonResponse(error_body(request, status, message, **extra), status=status, headers=headers)


def _field_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Flatten DRF's nested validation detail into ``[{"field": "a.b", "message"}]``."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            if key == "non_field_errors":
                name = prefix
            elif isinstance(key, int):  # a ListSerializer reports failing items by index
                name = f"{prefix}[{key}]" if prefix else str(key)
            else:
                name = f"{prefix}.{key}" if prefix else key
            out.extend(_field_errors(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [{"field": prefix, "message": str(item)} for item in detail]
        out = []
        for index, item in enumerate(detail):
            if item:
                out.extend(_field_errors(item, f"{prefix}[{index}]" if prefix else str(index)))
        return out
    return [{"field": prefix, "message": str(detail)}]


# DRF and Django exceptions whose own message is fine, by the status they map to.
_PASS_THROUGH: tuple[tuple[type[Exception], int], ...] = (
    (drf.UnsupportedMediaType, 415),
    (drf.NotAuthenticated, 401),
    (drf.AuthenticationFailed, 401),
    (drf.PermissionDenied, 403),
    (PermissionDenied, 403),
    (drf.MethodNotAllowed, 405),
    (drf.NotAcceptable, 406),
)


def error_with_status(status: int, message: str, **kwargs: Any) -> GatewayError:
    """A ``GatewayError`` for a status no subclass names (405, 411, 429 from a provider…)."""
    error = GatewayError(message, **kwargs)
    error.status_code = status
    return error


def connector_failure_translate(exc: ConnectorFailure) -> GatewayError:
    """A connector's error (``gateway.sdk.errors``), with its status, as the gateway's."""
    return error_with_status(exc.status_code, exc.message, errors=exc.errors, headers=exc.headers)


def _translate(exc: Exception) -> GatewayError | None:
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, ConnectorFailure):
        return connector_failure_translate(exc)
    if isinstance(exc, drf.ValidationError):
        return ValidationFailed(errors=_field_errors(exc.detail))
    if isinstance(exc, drf.ParseError):
        return BadRequest(str(exc.detail))
    if isinstance(exc, drf.Throttled):
        wait = max(1, int(exc.wait or 1))
        return error_with_status(429, "Rate limit exceeded", headers={"Retry-After": str(wait)})
    if isinstance(exc, (Http404, drf.NotFound)):
        return NotFound()
    if isinstance(exc, RequestDataTooBig):
        return error_with_status(413, "Request body too large")
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("Database unavailable: %s", type(exc).__name__)
        return database_unavailable()
    for exc_type, status in _PASS_THROUGH:
        if isinstance(exc, exc_type):
            return error_with_status(status, str(getattr(exc, "detail", exc)) or "Forbidden")
    if isinstance(exc, drf.APIException):
        return error_with_status(exc.status_code, str(exc.detail))
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every error leaves in the contract's shape."""
    error = _translate(exc)
    if error is None:
        return None  # let Django's 500 handling log it (never for bad input)
    request = context.get("request")
    body = error_body(request, error.status_code, error.message, error.errors, error.provider_errors)
    response = Response(body, status=error.status_code, headers=error.headers)
    if error.status_code == 401:
        response["WWW-Authenticate"] = 'Basic realm="gateway"'
    return response


def not_found_view(request: Any, exception: Exception | None = None) -> JsonResponse:
    """``handler404``: unknown paths answer in the contract's shape too."""
    return error_response(request, 404, "Not found")


def server_error_view(request: Any) -> JsonResponse:
    """``handler500``: never a stack trace, always the request id to quote.

    Django calls it while handling the exception, so ``sys.exc_info()`` still holds it:
    a database outage met outside a DRF view (partner endpoints, middleware) becomes
    the same 503 the DRF views answer.
    """
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        error = database_unavailable()
        return error_response(request, error.status_code, error.message, headers=error.headers)
    return error_response(request, 500, "Internal error")
