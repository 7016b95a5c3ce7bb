"""JSON Schemas of the four Assessment Partner endpoints (CONTRACT §4.1; Greenhouse's
Assessment API, https://developers.greenhouse.io/assessment.html).

The core validates each request body and query against these before a handler runs (a
failure is a 400 naming every wrong field, and nothing is stored) and publishes them in
``/openapi.json``; so the handlers read bodies that already have this shape. Unknown
fields are allowed: Greenhouse adds fields without notice. The length limits are the
order's column sizes.
"""

from __future__ import annotations

from typing import Any

MAX_URL = 2000
MAX_NAME = 255
MAX_EMAIL = 320
_NOT_BLANK = r"\S"
_HTTP_URL = r"^https?://[^\s/?#]+"  # an http(s) URL with a host
_EMAIL = r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"


def _required(limit: int, **extra: Any) -> dict[str, Any]:
    """A string Greenhouse must send: present, not null, not blank, at most ``limit`` long."""
    return {"type": "string", "maxLength": limit, "pattern": _NOT_BLANK, **extra}


def _optional(limit: int, **extra: Any) -> dict[str, Any]:
    """A string or null; a blank one is read as null."""
    return {"type": ["string", "null"], "maxLength": limit, **extra}


SEND_TEST_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["partner_test_id", "candidate", "url"],
    "properties": {
        "partner_test_id": _required(MAX_NAME, description="A partner_test_id from list_tests."),
        "candidate": {
            "type": "object",
            "required": ["first_name", "last_name", "email"],
            "properties": {
                "first_name": _required(MAX_NAME),
                "last_name": _required(MAX_NAME),
                "email": _required(MAX_EMAIL, format="email", pattern=_EMAIL,
                                   description="Where the test is sent."),
                "preferred_name": _optional(MAX_NAME),
                "phone_number": _optional(MAX_NAME),
                "resume_url": _optional(MAX_URL, description="A signed link, valid for 7 days."),
                "greenhouse_profile_url": _optional(
                    MAX_URL, description="Link back to the application; the Greenhouse candidate and "
                    "application ids are read from it."
                ),
            },
        },
        "url": _required(MAX_URL, format="uri", pattern=_HTTP_URL,
                         description="Where the result PATCH goes; its host must match callback_hosts."),
        "sent_by": _optional(MAX_EMAIL, description="The recruiter who sent the test."),
    },
}

SEND_TEST_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["partner_interview_id"],
    "properties": {"partner_interview_id": {"type": "string", "description": "The order's id."}},
}

LIST_TESTS_RESPONSE: dict[str, Any] = {
    "type": "array",
    "description": "A bare array: the tenant's published catalog, oldest first.",
    "items": {
        "type": "object",
        "required": ["partner_test_id", "partner_test_name"],
        "properties": {"partner_test_id": {"type": "string"}, "partner_test_name": {"type": "string"}},
    },
}

TEST_STATUS_QUERY: dict[str, Any] = {
    "type": "object",
    "required": ["partner_interview_id"],
    "properties": {"partner_interview_id": {"type": "string", "pattern": _NOT_BLANK}},
}

TEST_STATUS_RESPONSE: dict[str, Any] = {
    "type": "object",
    "required": ["partner_status", "partner_profile_url", "partner_score", "metadata"],
    "properties": {
        "partner_status": {"type": "string", "description": '"complete" once the result is final.'},
        "partner_profile_url": {"type": ["string", "null"]},
        "partner_score": {"type": ["number", "null"]},
        "metadata": {
            "type": ["object", "null"],
            "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
        },
    },
}

# The only feedback channel Greenhouse has: an odd report is kept as best we can rather
# than refused, so the fields are described but their types are not enforced.
RESPONSE_ERROR_REQUEST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "api_call": {"description": "The call whose answer Greenhouse found malformed (a string)."},
        "errors": {"description": "What was wrong (a list of strings)."},
        "partner_test_id": {"description": "A string."},
        "partner_test_name": {"description": "A string."},
        "partner_interview_id": {"description": "A string."},
        "candidate_email": {"description": "A string."},
    },
}

RESPONSE_ERROR_RESPONSE: dict[str, Any] = {
    "type": "object",
    "description": "Only the status code matters to Greenhouse.",
    "properties": {"status": {"type": "integer"}},
}
