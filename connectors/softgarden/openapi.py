"""The softgarden assessment endpoints as OpenAPI 3.0 path items (softgarden.md §4-§7,
CONTRACT §4.2), for ``SoftgardenConnector.openapi_paths()``.

softgarden's own casing; optional answer fields are omitted rather than null (see
``mapping``), so they are simply not required here.
"""

from __future__ import annotations

from typing import Any

from connectors.softgarden.mapping import MAX_ID_LENGTH
from gateway.api.schema import error_response, json_content

SECURITY_SCHEME = "softgardenInboundKey"
SECURITY = [{SECURITY_SCHEME: []}]

COMPONENTS: dict[str, dict[str, Any]] = {
    "securitySchemes": {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "The account's inbound key (inbound.api_key) as the Bearer token.",
        }
    }
}

_UNAUTHORIZED = error_response("Missing or invalid Bearer token.")
_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
_INVITATION_ID = {"name": "invitationId", "in": "path", "required": True, "schema": {"type": "string"}}

INVITATION_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["testId", "candidate", "callback"],
    "properties": {
        "testId": _ID,
        "candidate": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {**_ID, "description": "softgarden's application id: the idempotency key."},
                "firstName": {"type": "string", "nullable": True},
                "lastName": {"type": "string", "nullable": True},
                "email": {"type": "string", "nullable": True},
            },
        },
        "callback": {"type": "string", "format": "uri", "maxLength": 2000},
    },
}

INVITATION_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["invitationId", "testUrl"],
    "properties": {
        "invitationId": {"type": "string"},
        "testUrl": {"type": "string"},
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

PATHS: dict[str, dict[str, Any]] = {
    "tests": {
        "get": {
            "operationId": "softgarden_tests_list",
            "summary": "The tests softgarden offers: the tenant's published catalog.",
            "security": SECURITY,
            "responses": {
                "200": {
                    "description": "A bare array.",
                    "content": json_content(
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "name"],
                                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                            },
                        }
                    ),
                },
                "401": _UNAUTHORIZED,
            },
        }
    },
    "invitations": {
        "post": {
            "operationId": "softgarden_invitations_create",
            "summary": "Invite a candidate: an open order, idempotent on (candidate.id, testId).",
            "security": SECURITY,
            "requestBody": {"required": True, "content": json_content(INVITATION_REQUEST)},
            "responses": {
                "200": {"description": "The invitation.", "content": json_content(INVITATION_RESPONSE)},
                "400": error_response("Malformed JSON, a missing field, an unknown testId or a refused callback."),
                "401": _UNAUTHORIZED,
                "409": error_response("This invitation was erased; it cannot be sent again."),
                "413": error_response("Body over 1 MiB."),
                "415": error_response("A body that is not JSON."),
            },
        }
    },
    "invitations/{invitationId}": {
        "delete": {
            "operationId": "softgarden_invitations_destroy",
            "summary": "Erase the invitation's personal data (GDPR).",
            "security": SECURITY,
            "parameters": [_INVITATION_ID],
            "responses": {
                "204": {"description": "Erased (also when it already was)."},
                "400": error_response("An invitation never issued to this account."),
                "401": _UNAUTHORIZED,
            },
        }
    },
    "results/{invitationId}": {
        "get": {
            "operationId": "softgarden_results_retrieve",
            "summary": "The invitation's newest state, read after each notification.",
            "security": SECURITY,
            "parameters": [_INVITATION_ID],
            "responses": {
                "200": {"description": "The result.", "content": json_content(RESULT_RESPONSE)},
                "401": _UNAUTHORIZED,
                "404": error_response("Unknown or erased invitation."),
            },
        }
    },
}
