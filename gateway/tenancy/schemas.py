"""Validation of account credentials and settings against a connector's JSON Schemas."""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator

from gateway.api.errors import ValidationFailed


def _field_name(prefix: str, path: Any) -> str:
    parts = [prefix]
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts)


def validate_object(schema: dict[str, Any], value: Any, *, field: str) -> dict[str, Any]:
    """Return ``value`` with the schema's top-level defaults filled in, or raise 422.

    Errors name the field the caller sent (``credentials.email``), and for secrets they
    never echo the value (jsonschema's messages would).
    """
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ValidationFailed.field(field, "Must be an object.")
    filled = copy.deepcopy(value)
    for name, prop in schema.get("properties", {}).items():
        if name not in filled and "default" in prop:
            filled[name] = copy.deepcopy(prop["default"])
    errors = []
    for error in sorted(Draft202012Validator(schema).iter_errors(filled), key=lambda e: list(e.path)):
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            name = _field_name(field, [*error.path, missing] if missing else error.path)
            errors.append({"field": name, "message": "This field is required."})
        elif error.validator == "additionalProperties":
            errors.append({"field": _field_name(field, error.path), "message": "Unknown field."})
        else:
            expected = error.schema.get("description") or f"Must satisfy '{error.validator}'."
            errors.append({"field": _field_name(field, error.path), "message": expected})
    if errors:
        raise ValidationFailed(errors=errors)
    return filled
