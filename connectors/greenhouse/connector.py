"""Greenhouse (ats role): Greenhouse calls our Assessment Partner endpoints and receives
results by an empty-body PATCH. Protocol: shared/providers/greenhouse.md."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base import Connector, InboundKind, Role


class GreenhouseConnector(Connector):
    provider = "greenhouse"
    name = "Greenhouse"
    role = Role.ATS
    inbound = InboundKind.API_KEY
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "harvest_api_key": {
                "type": "string",
                "minLength": 1,
                "description": "Optional Harvest API key, to enrich orders with job and application data.",
            }
        },
        "additionalProperties": False,
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "callback_hosts": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": ["*.greenhouse.io"],
                "description": "Hosts the result PATCH may be sent to.",
            },
            "harvest_base_url": {
                "type": "string",
                "format": "uri",
                "default": "https://harvest.greenhouse.io/v1",
            },
            "on_behalf_of": {
                "type": "string",
                "description": "Greenhouse user id sent as On-Behalf-Of on Harvest writes.",
            },
        },
    }
