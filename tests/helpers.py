"""Assertions shared by the API tests."""

from __future__ import annotations

from typing import Any

from gateway.timefmt import parse_timestamp

ERROR_KEYS = {"statusCode", "message", "timestamp", "request_id", "errors", "provider_errors"}


def error_of(response: Any, status: int) -> dict[str, Any]:
    """Assert ``response`` is a contract error (CONTRACT §1.3) with ``status``; return its body."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["statusCode"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert body["timestamp"].endswith("Z") and parse_timestamp(body["timestamp"]) is not None
    assert body["request_id"] == response["X-Request-Id"]
    assert isinstance(body["errors"], list)
    assert isinstance(body["provider_errors"], list)
    return body


def error_fields(response: Any, status: int = 422) -> list[str]:
    """The ``field`` of every entry of ``errors`` in a contract error."""
    return [error["field"] for error in error_of(response, status)["errors"]]
