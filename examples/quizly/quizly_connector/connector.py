"""Quizly (provider role): the tenant invites candidates to Quizly quizzes; Quizly's
webhook is a trigger, and the gateway re-reads the invitation to store the result.

What the gateway does around these methods (so none of it is here): it mounts
``POST /connectors/quizly/webhooks/<token>``, checks the token and ``webhook_schema``,
answers Quizly at once and then calls ``handle_webhook``; it re-reads the named orders
through ``fetch_result`` and stores what changed; it re-reads open orders every
``reconcile_every`` seconds, because a webhook can be lost; it renders every
``ProviderError`` as a 502 with the redacted calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from gateway.sdk import (
    Capability,
    Connector,
    Context,
    CreatedOrder,
    InboundKind,
    InvalidInput,
    OrderRequest,
    OrderView,
    ProviderState,
    RemotePackage,
    Role,
    Webhook,
)
from quizly_connector import mapping
from quizly_connector.client import DEFAULT_BASE_URL, QuizlyClient


class QuizlyConnector(Connector):
    provider = "quizly"
    name = "Quizly"
    role = Role.PROVIDER
    inbound = InboundKind.WEBHOOK_TOKEN
    capabilities = frozenset({
        Capability.LIST_PACKAGES,
        Capability.CREATE_ORDER,
        Capability.FETCH_RESULT,
        Capability.CANCEL_ORDER,
        Capability.CHECK,
        Capability.HANDLE_WEBHOOK,
    })
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "api_key": {
                "type": "string",
                "minLength": 8,
                "writeOnly": True,
                "title": "API key",
                "description": "Quizly → Settings → API keys; needs the invitations scope.",
            },
        },
        "required": ["api_key"],
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "base_url": {
                "type": "string",
                "format": "uri",
                "default": DEFAULT_BASE_URL,
                "title": "API base URL",
                "description": "Only for Quizly's EU region or a test server.",
            },
        },
    }
    allowed_hosts = ("api.quizly.example",)
    webhook_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "title": "Quizly webhook",
        "description": "Sent when an invitation changes; a trigger only.",
        "properties": {
            "event": {"type": "string", "maxLength": 100},
            "invitation_id": {"type": "string", "minLength": 1, "maxLength": 100},
        },
        "required": ["invitation_id"],
    }
    reconcile_every = 600

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        """The URL to enter in Quizly → Settings → Webhooks."""
        return {"webhook_url": f"{public_url}/connectors/{self.provider}/webhooks/{secret}"}

    def check(self, ctx: Context) -> None:
        QuizlyClient(ctx).me()

    def list_packages(self, ctx: Context) -> list[RemotePackage]:
        return [mapping.package(quiz) for quiz in QuizlyClient(ctx).quizzes()]

    def create_order(self, ctx: Context, request: OrderRequest) -> CreatedOrder:
        email = request.candidate_email
        if email is None:
            raise InvalidInput.field("candidate.emails", "Quizly needs the candidate's email.")
        status, body = QuizlyClient(ctx).invite({
            "quiz_id": request.package_remote_id,
            "email": email,
            "first_name": request.candidate.get("first_name"),
            "last_name": request.candidate.get("last_name"),
        })
        if status == 404:
            raise InvalidInput.field("package.remote_id", "Quizly has no quiz with this id.")
        if status == 422:
            raise InvalidInput.field("candidate.emails", f"Quizly refused the invitation: {body.get('error')}.")
        return CreatedOrder(remote_id=str(body["id"]), test_url=body.get("url"),
                            status=mapping.ORDER_STATUS.get(body.get("state"), "open"))

    def fetch_result(self, ctx: Context, order: OrderView) -> ProviderState | None:
        if not order.remote_id:
            return None
        invitation = QuizlyClient(ctx).invitation(order.remote_id)
        return mapping.provider_state(invitation) if invitation is not None else None

    def cancel_order(self, ctx: Context, order: OrderView) -> None:
        if order.remote_id:
            QuizlyClient(ctx).cancel(order.remote_id)

    def handle_webhook(self, ctx: Context, webhook: Webhook) -> Sequence[str]:
        """The order the event names, if it is this account's; nothing else is read from it."""
        order = ctx.orders.by_remote_id(str(webhook.payload["invitation_id"]))
        return [order.id] if order is not None else []

