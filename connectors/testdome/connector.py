"""TestDome (provider role): the tenant orders tests; results come back by webhook (a
trigger only) and reconciliation. Protocol: shared/providers/testdome.md."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base import Connector, InboundKind, Role


class TestDomeConnector(Connector):
    provider = "testdome"
    name = "TestDome"
    role = Role.PROVIDER
    inbound = InboundKind.WEBHOOK_TOKEN
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "oneOf": [
            {
                "properties": {
                    "email": {"type": "string", "minLength": 3},
                    "api_password": {"type": "string", "minLength": 1},
                },
                "required": ["email", "api_password"],
            },
            {
                "properties": {
                    "client_id": {"type": "string", "minLength": 1},
                    "client_secret": {"type": "string", "minLength": 1},
                },
                "required": ["client_id", "client_secret"],
            },
        ],
        "description": "Either email and api_password, or client_id and client_secret.",
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "api_base_url": {"type": "string", "format": "uri", "default": "https://api.testdome.com/v3"},
            "token_url": {"type": "string", "format": "uri", "default": "https://api.testdome.com/token"},
            "invite_deadline_days": {"type": "integer", "minimum": 1, "maximum": 365, "default": 7},
            "reply_to": {"type": "string", "format": "email"},
        },
    }
