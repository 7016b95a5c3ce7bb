"""softgarden (ats role): softgarden calls our assessment endpoints and is notified of
result changes. Protocol: shared/providers/softgarden.md."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base import Connector, InboundKind, Role


class SoftgardenConnector(Connector):
    provider = "softgarden"
    name = "softgarden"
    role = Role.ATS
    inbound = InboundKind.API_KEY
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "notify_client_id": {"type": "string", "minLength": 1},
            "notify_client_secret": {"type": "string"},
        },
        "required": ["notify_client_id"],
        "additionalProperties": False,
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "callback_hosts": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": ["*.softgarden.io", "*.softgarden.de"],
                "description": "Hosts update notifications may be sent to.",
            }
        },
    }
