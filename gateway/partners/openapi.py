"""OpenAPI 3.0 path items for declared partner endpoints, from their declarations.

Connectors write JSON Schema (2020-12); OpenAPI 3.0's Schema Object is a dialect of an
older draft, so the few constructs that differ are translated: a type list with
``"null"`` becomes ``nullable``, ``const`` an ``enum`` of one.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from gateway.sdk import Capability, Connector, Endpoint, InboundAuth

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
ERROR_REF = "#/components/schemas/Error"

_SECURITY = {
    InboundAuth.BASIC_KEY: {"type": "http", "scheme": "basic",
                            "description": "The account's inbound key as the user name, no password."},
    InboundAuth.BEARER_KEY: {"type": "http", "scheme": "bearer", "description": "The account's inbound key."},
}


def security_scheme_names(connector: Connector) -> dict[InboundAuth, str]:
    """``<provider>InboundKey`` for the connector's key; a second kind gets a suffix."""
    names: dict[InboundAuth, str] = {}
    for endpoint in connector.endpoints():
        if endpoint.auth in _SECURITY and endpoint.auth not in names:
            suffix = "" if not names else endpoint.auth.value.split("_")[0].title()
            names[endpoint.auth] = f"{connector.provider}InboundKey{suffix}"
    return names


def openapi_schema(schema: Any) -> Any:
    """A JSON Schema as an OpenAPI 3.0 Schema Object."""
    if isinstance(schema, list):
        return [openapi_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$schema", "$id") or (key == "required" and not value):
            continue  # OpenAPI 3.0 wants a non-empty "required", or none
        if key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            if len(kinds) == 1:
                result["type"] = kinds[0]
            elif kinds:
                result["oneOf"] = [{"type": kind} for kind in kinds]
            if "null" in value:
                result["nullable"] = True
            continue
        if key == "const":
            result["enum"] = [value]
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            result[key] = {name: openapi_schema(item) for name, item in value.items()}
        else:
            result[key] = openapi_schema(value)
    return result


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": openapi_schema(schema)}}


def _error(description: str, *, own_envelope: bool = False) -> dict[str, Any]:
    """An error answer: the gateway's error body, or the partner's own envelope (which
    the connector's ``inbound_error_body`` writes and the gateway cannot describe)."""
    schema = {"type": "object", "description": "The partner's own error envelope."} if own_envelope else {
        "$ref": ERROR_REF
    }
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def has_own_envelope(connector: Connector) -> bool:
    return type(connector).inbound_error_body is not Connector.inbound_error_body


def _operation(connector: Connector, endpoint: Endpoint, schemes: dict[InboundAuth, str]) -> dict[str, Any]:
    envelope = has_own_envelope(connector)

    def error(description: str) -> dict[str, Any]:
        return _error(description, own_envelope=envelope)

    slug = endpoint.path.replace("/", "_").replace("{", "").replace("}", "")
    operation: dict[str, Any] = {
        "operationId": f"{connector.provider}_{slug}_{endpoint.method.lower()}",
        "tags": [f"Partner: {connector.provider}"],
        "summary": endpoint.summary or endpoint.name,
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PLACEHOLDER.findall(endpoint.path)
    ]
    query = endpoint.query_schema or {}
    required = set(query.get("required", ()))
    for name, schema in (query.get("properties") or {}).items():
        parameters.append({"name": name, "in": "query", "required": name in required, "schema": openapi_schema(schema)})
    if parameters:
        operation["parameters"] = parameters
    if endpoint.request_schema is not None:
        operation["requestBody"] = {"required": True, "content": _json(endpoint.request_schema)}
    success: dict[str, Any] = {"description": "Success"}
    if endpoint.response_schema is not None and endpoint.success_status != 204:
        success["content"] = _json(endpoint.response_schema)
    responses: dict[str, Any] = {str(endpoint.success_status): success}
    if endpoint.auth is InboundAuth.PATH_TOKEN:
        operation["security"] = []  # the token in the path is the credential
        responses["404"] = error("Unknown token.")
    else:
        responses["401"] = error("Missing or invalid inbound key.")
        operation["security"] = [{schemes[endpoint.auth]: []}]
    if endpoint.method in ("POST", "PUT", "PATCH"):
        responses[str(endpoint.invalid_status)] = error("The body is malformed or invalid.")
        responses["413"] = error("The body is larger than 1 MiB.")
        responses["415"] = error("The body is not JSON.")
    for status, description in endpoint.errors.items():
        responses.setdefault(str(status), error(description))
    if envelope:
        responses["default"] = error("An error, in the partner's own envelope.")
    operation["responses"] = responses
    return operation


def _webhook_operation(connector: Connector) -> dict[str, Any]:
    return {
        "operationId": f"{connector.provider}_webhooks_token_post",
        "tags": [f"Partner: {connector.provider}"],
        "summary": f"{connector.name} webhook (a trigger: the gateway re-reads the provider)",
        "security": [],  # the token in the path is the credential
        "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": _json(connector.webhook_schema or {"type": "object"})},
        "responses": {
            "200": {"description": "Received; processed in the background.",
                    "content": _json({"type": "object", "properties": {"received": {"type": "boolean"}}})},
            "404": _error("Unknown token."),
            "413": _error("The body is larger than 1 MiB."),
            "415": _error("The body is not JSON."),
            "422": _error("The body names nothing to re-read."),
        },
    }


def connector_openapi(connector: Connector) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(paths, securitySchemes)`` for the connector's partner routes, paths absolute."""
    paths: dict[str, Any] = {}
    names = security_scheme_names(connector)
    for endpoint in connector.endpoints():
        item = paths.setdefault(f"/connectors/{connector.provider}/{endpoint.path}", {})
        item[endpoint.method.lower()] = _operation(connector, endpoint, names)
    schemes = {name: copy.deepcopy(_SECURITY[auth]) for auth, name in names.items()}
    if connector.supports(Capability.HANDLE_WEBHOOK):
        paths[f"/connectors/{connector.provider}/webhooks/{{token}}"] = {"post": _webhook_operation(connector)}
    return paths, schemes
