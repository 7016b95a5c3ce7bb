"""Greenhouse (ats role): Greenhouse calls our Assessment Partner endpoints and receives
results by an empty-body PATCH. Protocol: shared/providers/greenhouse.md."""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.base import AccountContext, Capability, Connector, InboundKind, OutboundRequestSpec, Role
from connectors.greenhouse import mapping

if TYPE_CHECKING:
    from django.urls import URLPattern, URLResolver

logger = logging.getLogger(__name__)

ENDPOINTS = ("list_tests", "send_test", "test_status", "response_error")


def basic_key_header(key: str) -> str:
    """``Basic base64(key + ":")``: the key as user name, an empty password."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")


class GreenhouseConnector(Connector):
    provider = "greenhouse"
    name = "Greenhouse"
    role = Role.ATS
    inbound = InboundKind.API_KEY
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELIVER_RESULT})
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
                "minItems": 1,
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

    def urls(self) -> Sequence[URLPattern | URLResolver]:
        from connectors.greenhouse.partner_api import urlpatterns

        return urlpatterns

    def openapi_paths(self) -> dict[str, dict[str, Any]]:
        from connectors.greenhouse.openapi import PATHS

        return PATHS

    def openapi_components(self) -> dict[str, dict[str, Any]]:
        from connectors.greenhouse.openapi import COMPONENTS

        return COMPONENTS

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        """The four URLs the customer registers with Greenhouse, beside the key."""
        base = f"{public_url.rstrip('/')}/connectors/{self.provider}"
        return {endpoint: f"{base}/{endpoint}" for endpoint in ENDPOINTS}

    def deliver_result(self, ctx: AccountContext, order: Any) -> OutboundRequestSpec | None:
        """Greenhouse's "Mark Test as Completed": an empty-body PATCH to ``send_test``'s ``url``.

        Built at send time from the order's current result: None (nothing to send) until
        ``test_status`` would answer ``complete``, because the PATCH only makes Greenhouse
        read ``test_status``. The credential is the account's inbound key (UNCONFIRMED, see
        ``mapping``), read here because the context carries credentials and settings only.
        """
        from gateway.assessments.models import Result
        from gateway.tenancy.models import Account

        if getattr(order, "is_erased", False) or not order.partner_callback_url:
            return None
        result = Result.objects.filter(order_id=order.pk).first()
        if not mapping.is_reportable(result):
            if mapping.is_final(result):
                logger.warning(
                    "Order %s has a final result without result_url or a numeric score; "
                    "Greenhouse is not notified until it has both",
                    order.pk,
                )
            return None
        account = Account.objects.linked().filter(id=ctx.account_id).first()
        if account is None or not account.inbound_secret:
            return None  # unlinked: its key is erased and Greenhouse would refuse us anyway
        # The sender refuses a host outside these, and everything when the list is empty.
        hosts = tuple(ctx.settings.get("callback_hosts", mapping.DEFAULT_CALLBACK_HOSTS))
        return OutboundRequestSpec(
            method=mapping.RESULT_PATCH_METHOD,
            url=order.partner_callback_url,
            headers={"Authorization": basic_key_header(account.inbound_secret)},
            json=None,
            allowed_hosts=hosts,
        )
