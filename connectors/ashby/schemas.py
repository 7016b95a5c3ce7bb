"""JSON Schemas of the Ashby endpoints, as Ashby's reference documents them.

Requests require only what the gateway cannot do without (the ids, the candidate's
email) and accept ``null`` for the rest: a partner that leaves out a field its own
spec calls required should still reach the vendor. Unknown fields are ignored.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

_ID = {"type": "string", "minLength": 1, "maxLength": 255}
_TEXT = {"type": ["string", "null"], "maxLength": 2000}


def _object(properties: JSON, required: tuple[str, ...] = ()) -> JSON:
    return {"type": "object", "properties": properties, "required": list(required)}


LIST_REQUEST = {"type": "object", "description": "Ashby sends {}."}

START_REQUEST = _object(
    {
        "assessment_type_id": {**_ID, "description": "An assessment_type_id from assessment.list."},
        "candidate": _object(
            {
                "ashby_id": _ID,
                "first_name": _TEXT,
                "last_name": _TEXT,
                "email": {"type": "string", "minLength": 1, "maxLength": 320},
                "ashby_profile_url": _TEXT,
            },
            ("ashby_id", "email"),
        ),
        "application": _object({"ashby_id": _ID, "status": _TEXT}, ("ashby_id",)),
        "job": _object(
            {
                "ashby_id": {"type": ["string", "null"], "maxLength": 255},
                "name": _TEXT,
                "req_id": _TEXT,
                "ashby_job_url": _TEXT,
                "hiringTeam": {
                    "type": ["array", "null"],
                    "items": _object(
                        {"userId": _TEXT, "firstName": _TEXT, "lastName": _TEXT, "email": _TEXT, "role": _TEXT}
                    ),
                },
            }
        ),
        "additional_fields": {"description": "Custom fields, keyed by field id, when Ashby enabled them."},
    },
    ("assessment_type_id", "candidate", "application", "job"),
)

CANCEL_REQUEST = _object({"assessment_id": _ID}, ("assessment_id",))

_ERROR_ENVELOPE = _object(
    {
        "success": {"const": False},
        "errors": {"type": "array", "items": {"type": "string"}},
        "errorInfo": _object(
            {"code": {"type": "string"}, "message": {"type": "string"}, "requestId": {"type": "string"},
             "meta": {"type": "object"}},
            ("code",),
        ),
    },
    ("success", "errorInfo"),
)


def _success(results: JSON) -> JSON:
    return _object({"success": {"const": True}, "results": results}, ("success", "results"))


_ASSESSMENT = _object({"assessment_id": {"type": "string", "format": "uuid"}}, ("assessment_id",))

LIST_RESPONSE = _success(
    {
        "type": "array",
        "items": _object(
            {
                "assessment_type_id": {"type": "string", "format": "uuid"},
                "name": {"type": "string"},
                "description": {"type": "string"},
            },
            ("assessment_type_id", "name", "description"),
        ),
    }
)
START_RESPONSE = _success(_ASSESSMENT)
CANCEL_RESPONSE = {"oneOf": [_success(_ASSESSMENT), _ERROR_ENVELOPE]}
