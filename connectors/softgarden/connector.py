"""softgarden (ats role): softgarden calls our four assessment endpoints and is notified
of every result change. Protocol: https://dev.softgarden.de/assessment-api/.

softgarden offers no call that checks the notification credentials, so there is no
``check``: the connect page says it cannot check them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from connectors.softgarden import partner_api, schemas
from connectors.softgarden.mapping import DEFAULT_CALLBACK_HOSTS, callback_hosts
from gateway.sdk import (
    Capability,
    Connector,
    Context,
    Endpoint,
    InboundAuth,
    InboundKind,
    OrderView,
    OutboundRequestSpec,
    Role,
    basic_authorization,
)

_BEARER = InboundAuth.BEARER_KEY


class SoftgardenConnector(Connector):
    provider = "softgarden"
    name = "softgarden"
    role = Role.ATS
    capabilities = frozenset({Capability.DELIVER_RESULT})
    inbound = InboundKind.API_KEY
    allowed_hosts = DEFAULT_CALLBACK_HOSTS
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "notify_client_id": {
                "type": "string",
                "minLength": 1,
                "title": "Client id",
                "description": "Required: the OAuth client id softgarden gave you for update notifications.",
            },
            "notify_client_secret": {
                "type": "string",
                "title": "Client secret",
                "description": "Empty for a public client.",
                "writeOnly": True,
            },
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
                "title": "Callback hosts",
                "description": "Hosts update notifications may be sent to.",
            }
        },
    }

    def endpoints(self) -> Sequence[Endpoint]:
        """CONTRACT §4.2. Only DELETE erases (the docs' curl example for the deletion
        says GET; a GET there is a 405 and erases nothing)."""
        return (
            Endpoint(
                name="tests",
                method="GET",
                path="tests",
                auth=_BEARER,
                handler=partner_api.tests,
                summary="The tests softgarden offers: the tenant's published catalog.",
                response_schema=schemas.TESTS_RESPONSE,
            ),
            Endpoint(
                name="invitations",
                method="POST",
                path="invitations",
                auth=_BEARER,
                handler=partner_api.invitations,
                summary="Invite a candidate: an open order, idempotent on (candidate.id, testId).",
                errors={409: "The invitation was erased; it cannot be sent again."},
                request_schema=schemas.INVITATION_REQUEST,
                response_schema=schemas.INVITATION_RESPONSE,
            ),
            Endpoint(
                name="invitation",
                method="DELETE",
                path="invitations/{invitationId}",
                auth=_BEARER,
                handler=partner_api.invitation,
                success_status=204,
                summary="Erase the invitation's personal data (GDPR).",
                description="204, also when it already was erased.",
                errors={400: "An invitation never issued to this account."},
            ),
            Endpoint(
                name="result",
                method="GET",
                path="results/{invitationId}",
                auth=_BEARER,
                handler=partner_api.result,
                summary="The invitation's newest state, read after each notification.",
                errors={404: "An unknown or erased invitation."},
                response_schema=schemas.RESULT_RESPONSE,
            ),
        )

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        """The four URLs to send softgarden at onboarding; softgarden appends
        ``/{invitationId}`` to ``results`` and ``deletion`` itself."""
        base = f"{public_url}/connectors/{self.provider}"
        return {
            "tests": f"{base}/tests",
            "invitations": f"{base}/invitations",
            "results": f"{base}/results",
            "deletion": f"{base}/invitations",
        }

    def deliver_result(self, ctx: Context, order: OrderView) -> OutboundRequestSpec | None:
        """``POST <callback>`` with ``{"invitationId"}`` and Basic ``client_id:secret``:
        no state in the body, so resending it is always safe and always means "come and
        fetch the newest state". A public client has no secret and sends ``id:`` (the
        docs' own ``MTA=`` example for ``10:`` lacks the colon; ``MTA6`` is right). None
        when there is nowhere to send it: erasing an order also removes its callback."""
        if order.erased or not order.partner_callback_url:
            return None
        secret = str(ctx.credentials.get("notify_client_secret") or "")
        return OutboundRequestSpec(
            method="POST",
            url=order.partner_callback_url,
            headers={
                "Authorization": basic_authorization(str(ctx.credentials.get("notify_client_id") or ""), secret),
                "Content-Type": "application/json",
            },
            json={"invitationId": order.id},
            allowed_hosts=tuple(callback_hosts(ctx.settings)),
            secrets=(secret,) if secret else (),
        )
