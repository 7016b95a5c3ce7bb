"""The Greenhouse Assessment Partner endpoints as OpenAPI 3.0 path items (greenhouse.md §1,
CONTRACT §4.1), for ``GreenhouseConnector.openapi_paths()``.

Request schemas describe what Greenhouse documents and the gateway reads; unknown fields
are allowed, as the contract says. Limits are the ones ``mapping`` enforces.
"""

from __future__ import annotations

from typing import Any

from connectors.greenhouse.mapping import MAX_EMAIL, MAX_NAME, MAX_URL
from gateway.api.schema import error_response, json_content

SECURITY_SCHEME = "greenhouseInboundKey"
SECURITY = [{SECURITY_SCHEME: []}]

COMPONENTS: dict[str, dict[str, Any]] = {
    "securitySchemes": {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "basic",
            "description": "The account's inbound key (inbound.api_key) as the user name, an empty password.",
        }
    }
}


def _string(limit: int, *, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": limit, **extra}
    if nullable:
        schema["nullable"] = True
    return schema


_UNAUTHORIZED = error_response("Missing or invalid inbound key.")
_BODY_ERRORS = {
    "400": error_response("Malformed JSON, or a body that is not the documented shape."),
    "401": _UNAUTHORIZED,
    "413": error_response("Body over 1 MiB."),
    "415": error_response("A body that is not JSON."),
}

SEND_TEST_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["partner_test_id", "candidate", "url"],
    "properties": {
        "partner_test_id": _string(MAX_NAME, minLength=1),
        "candidate": {
            "type": "object",
            "required": ["first_name", "last_name", "email"],
            "properties": {
                "first_name": _string(MAX_NAME, minLength=1),
                "last_name": _string(MAX_NAME, minLength=1),
                "email": _string(MAX_EMAIL, format="email"),
                "preferred_name": _string(MAX_NAME, nullable=True),
                "phone_number": _string(MAX_NAME, nullable=True),
                "resume_url": _string(MAX_URL, nullable=True),
                "greenhouse_profile_url": _string(MAX_URL, nullable=True),
            },
        },
        "url": _string(MAX_URL, format="uri", description="Where the result PATCH goes."),
        "sent_by": _string(MAX_EMAIL, nullable=True),
    },
}

TEST_STATUS_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["partner_status", "partner_profile_url", "partner_score", "metadata"],
    "properties": {
        "partner_status": {"type": "string", "description": '"complete" once the result is final.'},
        "partner_profile_url": {"type": "string", "nullable": True},
        "partner_score": {"type": "number", "nullable": True},
        "metadata": {
            "type": "object",
            "nullable": True,
            "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
        },
    },
}

PATHS: dict[str, dict[str, Any]] = {
    "list_tests": {
        "get": {
            "operationId": "greenhouse_list_tests",
            "summary": "The tests Greenhouse offers in its picker: the tenant's published catalog.",
            "security": SECURITY,
            "responses": {
                "200": {
                    "description": "A bare array.",
                    "content": json_content(
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["partner_test_id", "partner_test_name"],
                                "properties": {
                                    "partner_test_id": {"type": "string"},
                                    "partner_test_name": {"type": "string"},
                                },
                            },
                        }
                    ),
                },
                "401": _UNAUTHORIZED,
            },
        }
    },
    "send_test": {
        "post": {
            "operationId": "greenhouse_send_test",
            "summary": "Greenhouse sends a test: an open order, idempotent on url.",
            "security": SECURITY,
            "requestBody": {"required": True, "content": json_content(SEND_TEST_REQUEST)},
            "responses": {
                "200": {
                    "description": "The order's id.",
                    "content": json_content(
                        {
                            "type": "object",
                            "required": ["partner_interview_id"],
                            "properties": {"partner_interview_id": {"type": "string"}},
                        }
                    ),
                },
                **_BODY_ERRORS,
                "404": error_response("Unknown partner_test_id."),
            },
        }
    },
    "test_status": {
        "get": {
            "operationId": "greenhouse_test_status",
            "summary": "Where an interview stands; complete with score and profile URL once final.",
            "security": SECURITY,
            "parameters": [
                {"name": "partner_interview_id", "in": "query", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "The interview's status.", "content": json_content(TEST_STATUS_RESPONSE)},
                "400": error_response("partner_interview_id is missing."),
                "401": _UNAUTHORIZED,
                "404": error_response("Unknown partner_interview_id."),
            },
        }
    },
    "response_error": {
        "post": {
            "operationId": "greenhouse_response_error",
            "summary": "Greenhouse found one of our answers malformed; kept and sent to the tenant.",
            "security": SECURITY,
            "requestBody": {
                "required": True,
                "content": json_content(
                    {
                        "type": "object",
                        "properties": {
                            "api_call": {"type": "string"},
                            "errors": {"type": "array", "items": {"type": "string"}},
                            "partner_test_id": {"type": "string"},
                            "partner_test_name": {"type": "string"},
                            "partner_interview_id": {"type": "string"},
                            "candidate_email": {"type": "string"},
                        },
                    }
                ),
            },
            "responses": {
                "200": {
                    "description": "Received (only the status matters to Greenhouse).",
                    "content": json_content({"type": "object", "properties": {"status": {"type": "integer"}}}),
                },
                **_BODY_ERRORS,
            },
        }
    },
}
