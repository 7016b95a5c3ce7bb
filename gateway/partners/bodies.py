"""Reading a partner's request body: bounded, JSON only, strictly parsed.

The same rules for every connector: 413 past ``GATEWAY_MAX_BODY_BYTES``, 415 for a body of
another media type (a missing ``Content-Type`` is accepted: partners do not all send
one), 400 for an empty body where one is required or for anything the strict parser
refuses. (A chunked body without a length never gets here: the middleware refuses it.)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from rest_framework.exceptions import ParseError

from gateway.api.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from gateway.api.parsers import parse_json_bytes


def media_type_acceptable(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return not media or media == "application/json" or media.endswith("+json")


def read_json_body(request: HttpRequest, *, required: bool) -> Any:
    """The body as parsed JSON; None when it is empty and not ``required``."""
    if not media_type_acceptable(request.content_type):
        raise UnsupportedMediaType("Send the body as application/json.")
    limit = settings.GATEWAY_MAX_BODY_BYTES
    try:
        raw = request.read(limit + 1)
    except RequestDataTooBig:
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes") from None
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
    if not raw.strip():
        if required:
            raise BadRequest("Request body is empty; send a JSON object.")
        return None
    try:
        return parse_json_bytes(raw)
    except ParseError as exc:
        raise BadRequest(str(exc.detail)) from None
