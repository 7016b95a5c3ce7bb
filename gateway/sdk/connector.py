"""The connector declaration: metadata the core validates at start-up, and one small
method per capability.

A connector is a class with:

* ``provider`` (the slug in URLs and ``POST /accounts``), ``name``, ``role``;
* ``capabilities``: the subset of ``Capability`` it implements, each backed by the
  method of the same name (checked at start-up);
* ``credentials_schema`` / ``settings_schema``: JSON Schemas for what ``POST /accounts``
  accepts (``default`` values in ``settings_schema`` are filled in; ``title``,
  ``description`` and ``writeOnly`` are shown on the connect page);
* ``allowed_hosts``: the hosts it calls by default (documentation for operators; every
  call still passes the SSRF guard);
* ``inbound``: what the partner presents when it calls us (``InboundKind``), if anything,
  and ``endpoints``: the partner routes (``gateway.sdk.endpoints``);
* ``webhook_schema``: for ``handle_webhook``, the JSON Schema a webhook body must meet
  (a failure is a 422 before anything is queued);
* ``reconcile_every``: seconds between re-reads of open orders through ``fetch_result``
  (provider role), scheduled by the core; ``periodic``: other jobs the core runs for
  every linked account on a schedule; ``jobs``: names of methods ``ctx.defer`` may run.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from gateway.sdk.endpoints import Endpoint
from gateway.sdk.ports import Context
from gateway.sdk.values import (
    Capability,
    CreatedOrder,
    OrderRequest,
    OrderView,
    OutboundRequestSpec,
    ProviderState,
    RemotePackage,
    Role,
    Webhook,
)


class InboundKind(enum.StrEnum):
    API_KEY = "api_key"  # an ATS authenticates its calls with a key we mint
    WEBHOOK_TOKEN = "webhook_token"  # a provider posts to a URL holding a token we mint


@dataclass(frozen=True)
class Periodic:
    """A job the core runs every ``every`` seconds, once per linked account: the
    connector's method ``method(ctx)``. It must finish well within a minute."""

    name: str
    every: float
    method: str


class Connector:
    """Metadata shared by every connector; capabilities come from the protocols below."""

    provider: ClassVar[str]
    name: ClassVar[str]
    role: ClassVar[Role]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    credentials_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    allowed_hosts: ClassVar[tuple[str, ...]] = ()
    inbound: ClassVar[InboundKind | None] = None
    webhook_schema: ClassVar[Mapping[str, Any] | None] = None
    reconcile_every: ClassVar[float | None] = None
    periodic: ClassVar[tuple[Periodic, ...]] = ()
    jobs: ClassVar[tuple[str, ...]] = ()

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def endpoints(self) -> Sequence[Endpoint]:
        """The partner routes, mounted under ``/connectors/<provider>/``."""
        return ()

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        """What to hand to the partner besides the key (``inbound.urls`` or ``webhook_url``)."""
        return {}

    def inbound_error_body(self, *, status: int, message: str, errors: Sequence[Mapping[str, Any]],
                           request_id: str) -> Any:
        """The body of an error answer on this connector's endpoints; None (the default)
        keeps the gateway's error body. For partners that show errors in their own
        envelope (Ashby)."""
        return None


@runtime_checkable
class PackageLister(Protocol):
    def list_packages(self, ctx: Context) -> list[RemotePackage]: ...


@runtime_checkable
class OrderCreator(Protocol):
    def create_order(self, ctx: Context, request: OrderRequest) -> CreatedOrder: ...


@runtime_checkable
class ResultFetcher(Protocol):
    def fetch_result(self, ctx: Context, order: OrderView) -> ProviderState | None: ...


@runtime_checkable
class OrderCanceller(Protocol):
    def cancel_order(self, ctx: Context, order: OrderView) -> None: ...


@runtime_checkable
class CredentialChecker(Protocol):
    def check(self, ctx: Context) -> None:
        """Raise ``ProviderError`` when the partner refuses the account's credentials."""
        ...


@runtime_checkable
class ResultDeliverer(Protocol):
    def deliver_result(self, ctx: Context, order: OrderView) -> OutboundRequestSpec | None: ...


@runtime_checkable
class WebhookHandler(Protocol):
    def handle_webhook(self, ctx: Context, webhook: Webhook) -> Sequence[str]:
        """The ids of the orders to re-read through ``fetch_result``."""
        ...


CAPABILITY_PROTOCOLS: dict[Capability, type] = {
    Capability.LIST_PACKAGES: PackageLister,
    Capability.CREATE_ORDER: OrderCreator,
    Capability.FETCH_RESULT: ResultFetcher,
    Capability.CANCEL_ORDER: OrderCanceller,
    Capability.CHECK: CredentialChecker,
    Capability.DELIVER_RESULT: ResultDeliverer,
    Capability.HANDLE_WEBHOOK: WebhookHandler,
}
