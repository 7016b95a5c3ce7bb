"""JSON Schemas of the four endpoints, in softgarden's own casing: the core validates
invitations against ``INVITATION_REQUEST`` and documents all of them in ``/openapi.json``.

Optional answer fields are omitted rather than null (see ``mapping``), so they are
simply not required here. The request schema accepts what ``mapping.invitation_parse``
accepts (numeric ids too, unknown fields ignored), so both refuse the same bodies.
"""

from __future__ import annotations

from typing import Any

from connectors.softgarden.mapping import MAX_CALLBACK_LENGTH, MAX_ID_LENGTH

_ID: dict[str, Any] = {"type": ["string", "integer"], "minLength": 1, "maxLength": MAX_ID_LENGTH}
_TEXT: dict[str, Any] = {"type": ["string", "null"]}

INVITATION_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["testId", "candidate", "callback"],
    "properties": {
        "testId": {**_ID, "description": "A test's id from the tests endpoint."},
        "candidate": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {**_ID, "description": "softgarden's application id: the idempotency key."},
                "firstName": _TEXT,
                "lastName": _TEXT,
                "email": _TEXT,
            },
        },
        "callback": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_CALLBACK_LENGTH,
            "description": 'Where to POST {"invitationId"} on every change; its host must be in callback_hosts.',
        },
    },
}

TESTS_RESPONSE: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
    },
}

INVITATION_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["invitationId", "testUrl"],
    "properties": {
        "invitationId": {"type": "string"},
        "testUrl": {"type": "string", "description": "The vendor's link once known, else the gateway's /t/<token>."},
        "duration": {"type": "integer"},
        "deadline": {"type": "string", "format": "date-time"},
    },
}

RESULT_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["status", "result"],
    "properties": {
        "status": {"type": "string", "enum": ["PENDING", "COMPLETED", "EXPIRED"]},
        "completionTime": {"type": "string", "format": "date-time"},
        "expirationTime": {"type": "string", "format": "date-time"},
        "result": {
            "type": "object",
            "required": ["resultUrl"],
            "properties": {
                "resultUrl": {"type": "string"},
                "reportUrl": {"type": "string"},
                "shareUrl": {"type": "string"},
                "score": {"type": "string"},
            },
        },
    },
}
