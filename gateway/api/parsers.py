"""A JSON parser that is strict where lenient parsing would store garbage: bounded
size, valid UTF-8, no duplicate keys, no NaN/Infinity, bounded nesting, and strings
PostgreSQL can store: no NUL character and no lone surrogate (``"\\ud800"`` is valid
JSON, yet neither text nor jsonb columns accept it, and the insert would be a 500), and
no number too large for a float (``1e999`` reads as infinity)."""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from gateway.api.errors import PayloadTooLarge

MAX_DEPTH = 32


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ParseError(f"Duplicate key in JSON object: {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ParseError(f"Invalid JSON value: {name}")


def _finite_float(text: str) -> float:
    """``1e999`` is valid JSON that Python reads as infinity, which no JSON column can
    store (the insert would fail: a 500). Refused like ``Infinity``."""
    value = float(text)
    if not math.isfinite(value):
        raise ParseError(f"Number out of range: {text[:40]}")
    return value


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise ParseError("JSON strings must not contain NUL (\\u0000) characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("JSON strings must not contain lone surrogates (\\ud800-\\udfff).") from None


def _depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep ``value`` nests, stopping past ``limit``. Checks every key and string on
    the same walk (``_check_string``), so a body is only ever traversed once."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            for key in item:
                _check_string(key)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            _check_string(item)
    return deepest


def parse_json_bytes(raw: bytes) -> Any:
    """Parse a request body; raise ``ParseError`` (400) for anything malformed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("Request body is not valid UTF-8.") from exc
    try:
        data = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except RecursionError as exc:
        raise ParseError("JSON nested too deeply.") from exc
    except ValueError as exc:
        raise ParseError(f"Invalid JSON: {exc}") from exc
    if _depth(data) > MAX_DEPTH:
        raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
    return data


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.GATEWAY_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
        if not raw.strip():
            raise ParseError("Request body is empty; send a JSON object.")
        return parse_json_bytes(raw)
