"""Connectors defined by the tests, to exercise the registry, the services and the
unified API without any real partner: one per role, with in-memory state."""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

from gateway.sdk import (
    Capability,
    Connector,
    Context,
    CreatedOrder,
    InboundKind,
    OrderRequest,
    OrderView,
    OutboundRequestSpec,
    ProviderError,
    RemotePackage,
    Role,
)


class FakeAtsConnector(Connector):
    provider = "fake_ats"
    name = "Fake ATS"
    role = Role.ATS
    capabilities = frozenset({Capability.DELIVER_RESULT})
    inbound = InboundKind.API_KEY
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"notify_secret": {"type": "string", "minLength": 1}},
        "additionalProperties": False,
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "callback_hosts": {"type": "array", "items": {"type": "string"}, "default": ["*.ats.example"]}
        },
    }

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        return {"list_tests": f"{public_url}/connectors/fake_ats/list_tests"}

    def deliver_result(self, ctx: Context, order: OrderView) -> OutboundRequestSpec | None:
        return OutboundRequestSpec(method="POST", url="https://hooks.ats.example/notify", json={"id": order.id})


class FakeProviderConnector(Connector):
    """A provider whose tests and invitations live in class-level state tests can inspect."""

    provider = "fake_provider"
    name = "Fake provider"
    role = Role.PROVIDER
    capabilities = frozenset({Capability.LIST_PACKAGES, Capability.CREATE_ORDER, Capability.CANCEL_ORDER})
    inbound = InboundKind.WEBHOOK_TOKEN
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"api_key": {"type": "string", "minLength": 1}},
        "required": ["api_key"],
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"region": {"type": "string", "enum": ["eu", "us"], "default": "eu"}},
    }

    def __init__(self) -> None:
        self.tests = [RemotePackage(remote_id=str(n), name=f"Test {n}") for n in range(1, 31)]
        self.invitations: dict[str, dict[str, Any]] = {}
        self.cancelled: list[str] = []
        self.fail_with: int | None = None
        self._ids = itertools.count(1000)

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        return {"webhook_url": f"{public_url}/connectors/fake_provider/webhooks/{secret}"}

    def _maybe_fail(self, ctx: Context) -> None:
        if self.fail_with is not None:
            from gateway.outbound import CallRecord

            record = CallRecord(
                method="GET", url="https://provider.example/tests", status=self.fail_with,
                response={"error": "boom"}, elapsed_ms=1, error=None,
            )
            ctx.calls.append(record)
            raise ProviderError("provider failed", calls=[record], timeout=self.fail_with == 504)

    def list_packages(self, ctx: Context) -> list[RemotePackage]:
        self._maybe_fail(ctx)
        return list(self.tests)

    def create_order(self, ctx: Context, request: OrderRequest) -> CreatedOrder:
        self._maybe_fail(ctx)
        remote_id = str(next(self._ids))
        self.invitations[remote_id] = {"test": request.package_remote_id, "candidate": dict(request.candidate)}
        return CreatedOrder(remote_id=remote_id, test_url=f"https://provider.example/t/{remote_id}")

    def cancel_order(self, ctx: Context, order: OrderView) -> None:
        self.cancelled.append(order.remote_id)
