"""Request ids (every response carries ``X-Request-Id``) and the 1 MiB body limit."""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar
from typing import Any

from django.conf import settings

from gateway.api.errors import error_response

_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIdMiddleware:
    """Echo the caller's ``X-Request-Id`` when it is sane, else mint ``req_…``."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        given = request.headers.get("X-Request-Id", "")
        request.request_id = given if _ACCEPTABLE_ID.match(given) else f"req_{secrets.token_hex(12)}"
        token = _request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-Id"] = request.request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class BodySizeLimitMiddleware:
    """413 before a large body is read. Bodies without a length (chunked) are capped by
    the JSON parser, which reads at most the limit plus one byte."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(request, 400, "Invalid Content-Length header")
        if length > settings.GATEWAY_MAX_BODY_BYTES:
            return error_response(
                request, 413, f"Request body exceeds {settings.GATEWAY_MAX_BODY_BYTES} bytes"
            )
        return self.get_response(request)
