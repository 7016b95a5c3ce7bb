"""What drf-spectacular cannot see by introspecting the DRF views, added once the schema
is generated (a ``POSTPROCESSING_HOOKS`` entry).

* The partner endpoints. They are plain Django views under ``/connectors/<provider>/``
  speaking each partner's own shapes, yet CONTRACT §2 says ``/openapi.json`` documents
  them too. Each connector describes its own (``Connector.openapi_paths()`` and
  ``openapi_components()``, written in ``connectors/<partner>/openapi.py``), and
  ``connector_paths_hook`` merges them, so a plug-in connector documents itself the same
  way a built-in one does.
* The contract's error body (CONTRACT §1.3) as ``components.schemas.Error``, and as the
  ``default`` response of every operation: any status an operation does not list
  answers in that shape. Saying so lets clients, and the fuzzing tests, check it.

Kept free of model imports: connector ``openapi`` modules import the helpers below.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ImproperlyConfigured

ERROR_REF = "#/components/schemas/Error"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error (CONTRACT §1.3); StackOne-compatible, plus request_id and field errors.",
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


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    """``content`` for an ``application/json`` body of ``schema``."""
    return {"application/json": {"schema": schema}}


def error_response(description: str) -> dict[str, Any]:
    """A response object whose body is the contract's error."""
    return {"description": description, "content": json_content({"$ref": ERROR_REF})}


DEFAULT_ERROR_RESPONSE = error_response("An error, in the contract's error body (CONTRACT §1.3).")


def _merge_components(
    result: dict[str, Any], provider: str, components: dict[str, dict[str, Any]], owners: dict[str, str]
) -> None:
    target = result.setdefault("components", {})
    for section, entries in components.items():
        existing = target.setdefault(section, {})
        for name, definition in entries.items():
            if name in existing and existing[name] != definition:
                owner = owners.get(f"{section}.{name}", "the gateway's own API")
                raise ImproperlyConfigured(
                    f"Connector {provider!r}: OpenAPI component {section}.{name} clashes with the one of {owner}"
                )
            existing[name] = copy.deepcopy(definition)
            owners[f"{section}.{name}"] = f"connector {provider!r}"


def _merge_paths(result: dict[str, Any], provider: str, items: dict[str, dict[str, Any]]) -> None:
    paths = result.setdefault("paths", {})
    for relative, item in items.items():
        path = f"/connectors/{provider}/{relative.lstrip('/')}"
        if path in paths:
            raise ImproperlyConfigured(f"Connector {provider!r}: OpenAPI path {path} is documented twice")
        item = copy.deepcopy(item)
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            slug = relative.strip("/").replace("/", "_").replace("{", "").replace("}", "")
            operation.setdefault("operationId", f"{provider}_{slug}_{method}")
            operation.setdefault("tags", [f"Partner: {provider}"])
        paths[path] = item


def _add_default_errors(result: dict[str, Any]) -> None:
    for item in result.get("paths", {}).values():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is not None:
                operation.setdefault("responses", {}).setdefault("default", copy.deepcopy(DEFAULT_ERROR_RESPONSE))


def connector_paths_hook(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: partner endpoints and the error body.

    Documents the connectors of the active registry that mount endpoints, as
    ``gateway.urls`` does. Raises ``ImproperlyConfigured`` naming the connector when its
    paths or component names collide with what is already there.
    """
    from connectors.registry import registry

    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = copy.deepcopy(ERROR_SCHEMA)
    owners: dict[str, str] = {}
    for connector in registry().all():
        if not connector.urls():
            continue
        _merge_components(result, connector.provider, connector.openapi_components(), owners)
        _merge_paths(result, connector.provider, connector.openapi_paths())
    _add_default_errors(result)
    return result
