"""What drf-spectacular cannot see by introspecting the DRF views, added once the schema
is generated (a ``POSTPROCESSING_HOOKS`` entry).

* The partner endpoints under ``/connectors/<provider>/``, which are not DRF views, yet
  ``/openapi.json`` documents them too: generated from each connector's declarations
  (``gateway.partners.openapi``), so a plug-in connector is documented like a built-in.
* The contract's error body (CONTRACT §1.3) as ``components.schemas.Error``, and as the
  ``default`` response of every operation: any status an operation does not list
  answers in that shape. Saying so lets clients, and the fuzzing tests, check it.
"""

from __future__ import annotations

import copy
from typing import Any

ERROR_REF = "#/components/schemas/Error"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error; StackOne-compatible, plus request_id and field errors.",
    "required": ["statusCode", "message", "timestamp", "request_id", "errors", "provider_errors"],
    "properties": {
        "statusCode": {"type": "integer"},
        "message": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "request_id": {"type": "string", "nullable": True},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "provider_errors": {"type": "array", "items": {"type": "object"}},
    },
}


DEFAULT_ERROR_RESPONSE: dict[str, Any] = {
    "description": "An error, in the gateway's error body.",
    "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
}


def _add_default_errors(result: dict[str, Any]) -> None:
    for item in result.get("paths", {}).values():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is not None:
                operation.setdefault("responses", {}).setdefault("default", copy.deepcopy(DEFAULT_ERROR_RESPONSE))


def connector_paths_hook(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: partner endpoints and the error body.

    Documents the connectors of the active registry, as ``gateway.urls`` mounts them.
    Their paths and security schemes are namespaced by provider, which the registry
    keeps unique, so they cannot collide.
    """
    from gateway.partners.openapi import connector_openapi
    from gateway.registry import registry

    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = copy.deepcopy(ERROR_SCHEMA)
    paths = result.setdefault("paths", {})
    for connector in registry().all():
        connector_paths, schemes = connector_openapi(connector)
        paths.update(connector_paths)
        components.setdefault("securitySchemes", {}).update(schemes)
    _add_default_errors(result)
    return result
