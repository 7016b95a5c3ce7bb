"""softgarden (ats role): softgarden calls our assessment endpoints and is notified of
result changes. Protocol: shared/providers/softgarden.md.

Kept light to import: the partner views (which need Django's app registry) are loaded
only when ``urls()`` is called, after start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.base import AccountContext, Capability, Connector, InboundKind, OutboundRequestSpec, Role
from connectors.softgarden.callback import DEFAULT_CALLBACK_HOSTS, notification_request
from connectors.softgarden.order_state import order_callback_url

if TYPE_CHECKING:
    from django.urls import URLPattern, URLResolver


class SoftgardenConnector(Connector):
    provider = "softgarden"
    name = "softgarden"
    role = Role.ATS
    capabilities = frozenset({Capability.DELIVER_RESULT})
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
                "default": list(DEFAULT_CALLBACK_HOSTS),
                "description": "Hosts update notifications may be sent to.",
            }
        },
    }

    def urls(self) -> Sequence[URLPattern | URLResolver]:
        from connectors.softgarden.partner_api import urlpatterns

        return urlpatterns

    def openapi_paths(self) -> dict[str, dict[str, Any]]:
        from connectors.softgarden.openapi import PATHS

        return PATHS

    def openapi_components(self) -> dict[str, dict[str, Any]]:
        from connectors.softgarden.openapi import COMPONENTS

        return COMPONENTS

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        """The four URLs to send softgarden at onboarding (§1.1); softgarden appends
        ``/{invitationId}`` to ``results`` and ``deletion`` itself."""
        base = f"{public_url}/connectors/{self.provider}"
        return {
            "tests": f"{base}/tests",
            "invitations": f"{base}/invitations",
            "results": f"{base}/results",
            "deletion": f"{base}/invitations",
        }

    def deliver_result(self, ctx: AccountContext, order: Any) -> OutboundRequestSpec | None:
        """``POST <callback>`` with ``{"invitationId"}``, built at send time so the newest
        credentials are used. None when there is nowhere to send it (the order was
        erased, which also removes the callback): the delivery has nothing left to do."""
        callback_url = order_callback_url(order)
        if callback_url is None or getattr(order, "erased_at", None) is not None:
            return None
        return notification_request(ctx, invitation_id=order.id, callback_url=callback_url)
