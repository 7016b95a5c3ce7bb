"""TestDome's webhook endpoint as an OpenAPI 3.0 path item (testdome.md §8, CONTRACT
§4.3), for ``TestDomeConnector.openapi_paths()``.

There is no security scheme: TestDome signs nothing, and the unguessable ``token`` in
the path is what selects the account (a wrong one is a 404, never a 401).
"""

from __future__ import annotations

from typing import Any

from connectors.testdome.webhooks import CORRELATION_HEADER
from gateway.api.schema import error_response, json_content

_ID = {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 1, "maxLength": 100}]}

CANDIDATE_EVENT: dict[str, Any] = {
    "type": "object",
    "description": "A trigger only: the gateway re-reads the candidate through TestDome's API.",
    "required": ["candidateId"],
    "properties": {
        "candidateId": _ID,
        "testId": {**_ID, "nullable": True},
        "status": {"type": "string", "nullable": True},
    },
}

PATHS: dict[str, dict[str, Any]] = {
    "webhooks/{token}": {
        "post": {
            "operationId": "testdome_webhook_receive",
            "summary": "A candidate event; answered at once, processed after the answer.",
            "security": [],
            "parameters": [
                {
                    "name": "token",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The account's webhook token, from inbound.webhook_url.",
                },
                {"name": CORRELATION_HEADER, "in": "header", "required": False, "schema": {"type": "string"}},
            ],
            "requestBody": {"required": True, "content": json_content(CANDIDATE_EVENT)},
            "responses": {
                "200": {
                    "description": "Received.",
                    "content": json_content(
                        {"type": "object", "required": ["received"], "properties": {"received": {"type": "boolean"}}}
                    ),
                },
                "400": error_response("Malformed JSON."),
                "404": error_response("Unknown token."),
                "413": error_response("Body over 1 MiB."),
                "415": error_response("A body that is not JSON."),
                "422": error_response("No candidate id."),
            },
        }
    }
}
