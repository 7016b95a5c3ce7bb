"""Request ids (every response carries ``X-Request-Id``), tokens kept out of Django's
request log, the 1 MiB body limit, and the refusal of NUL characters outside the body."""

from __future__ import annotations

import logging
import re
import secrets
from contextvars import ContextVar
from typing import Any

from django.conf import settings

from gateway.api.errors import error_response

PARTNER_PREFIX = "/connectors/"
_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


_TOKEN_LIKE = re.compile(r"^[A-Za-z0-9_\-]{20,}$")
_GATEWAY_ID = re.compile(r"^[a-z]{2,5}_[0-9A-Z]{26}$")


def redact_path(path: str) -> str:
    """``path`` with every segment that looks like a token (20 or more URL-safe
    characters, and not a gateway id) replaced by ``…``: TestDome's webhook URL and the
    candidate link carry their credential in the path."""
    return "/".join(
        "…" if _TOKEN_LIKE.match(segment) and not _GATEWAY_ID.match(segment) else segment
        for segment in path.split("/")
    )


class PathRedactionFilter(logging.Filter):
    """For the ``django.request`` logger, which writes the path of every 4xx and 5xx
    ("Not Found: /connectors/testdome/webhooks/<token>"). A logger filter, so every
    handler sees the redacted record, whatever the logging configuration."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg for arg in record.args
            )
        return True


def _install_path_redaction() -> None:
    request_logger = logging.getLogger("django.request")
    if not any(isinstance(f, PathRedactionFilter) for f in request_logger.filters):
        request_logger.addFilter(PathRedactionFilter())


class RequestIdMiddleware:
    """Echo the caller's ``X-Request-Id`` when it is sane, else mint ``req_…``.

    Also the first middleware Django builds, so it installs ``PathRedactionFilter``
    (idempotently) before any request can be logged."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        _install_path_redaction()

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


def _has_nul(request: Any) -> bool:
    """A NUL in the path, the query string or a header value. Every id and filter ends
    up in a PostgreSQL query, and PostgreSQL refuses NUL in text parameters with an
    error (a 500), so such a request is malformed before any view sees it."""
    if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    return any("\x00" in str(value) for key, value in request.META.items() if key.startswith("HTTP_"))


class BodySizeLimitMiddleware:
    """413 before a large body is read; 400 for a NUL character in the path, the query
    string or a header (bodies are checked by the JSON parser); 411 for a chunked body
    without a ``Content-Length``. Django reads a body only up to ``Content-Length``, so
    such a body would reach every view as empty: a 2xx that stored nothing. Refusing it
    is the honest answer (a reverse proxy that buffers requests adds the length).

    Both are checks on the request's shape that must run before any view, which is why
    they share this one middleware."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if _has_nul(request):
            return self.refuse(request, 400, "NUL characters are not allowed in the path, query or headers")
        declared = (request.META.get("CONTENT_LENGTH") or "").strip()
        if not declared and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self.refuse(request, 411, "Send the body with a Content-Length; chunked bodies are not accepted.")
        try:
            length = int(declared or 0)
        except ValueError:
            return self.refuse(request, 400, "Invalid Content-Length header")
        # Partner endpoints enforce the limit themselves, to answer in the partner's envelope.
        if length > settings.GATEWAY_MAX_BODY_BYTES and not request.path.startswith(PARTNER_PREFIX):
            return self.refuse(request, 413, f"Request body exceeds {settings.GATEWAY_MAX_BODY_BYTES} bytes")
        return self.get_response(request)

    @staticmethod
    def refuse(request: Any, status: int, message: str) -> Any:
        """The error, with the X-Frame-Options header that Django's clickjacking
        middleware, further down the chain, never gets to add to it."""
        response = error_response(request, status, message)
        response["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY")
        return response
