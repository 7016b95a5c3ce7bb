"""The connector interface: metadata every connector declares, and one small protocol per
capability. A connector implements only what its partner can do; the services answer
501 for the rest, and the unified views never learn which partner they talk to.

A connector is a class with:

* ``provider`` (the slug in URLs and ``POST /accounts``), ``name``, ``role``;
* ``capabilities``: the subset of ``Capability`` it implements, each backed by the
  method of the same name (checked at start-up);
* ``credentials_schema`` / ``settings_schema``: JSON Schemas for what ``POST /accounts``
  accepts (``default`` values in ``settings_schema`` are filled in);
* ``inbound``: what the partner presents when it calls us (``InboundKind``), if anything;
* ``urls()`` (optional): the partner endpoints, mounted under ``/connectors/<provider>/``;
* ``openapi_paths()`` / ``openapi_components()`` (optional): how those endpoints appear
  in ``/openapi.json``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from django.urls import URLPattern, URLResolver


class Role(enum.StrEnum):
    ATS = "ats"  # the ATS sends orders; the tenant is the assessment vendor
    PROVIDER = "provider"  # the tenant sends orders to an assessment provider


class Capability(enum.StrEnum):
    LIST_PACKAGES = "list_packages"
    CREATE_ORDER = "create_order"
    FETCH_RESULT = "fetch_result"
    CANCEL_ORDER = "cancel_order"
    DELIVER_RESULT = "deliver_result"
    HANDLE_WEBHOOK = "handle_webhook"


class InboundKind(enum.StrEnum):
    API_KEY = "api_key"  # an ATS authenticates its calls with a key we mint
    WEBHOOK_TOKEN = "webhook_token"  # a provider posts to a URL holding a token we mint


@dataclass(frozen=True)
class AccountContext:
    """What a connector sees of an account for one operation.

    ``calls`` collects a redacted record of every outbound call (for ``raw=true``);
    ``proxy`` holds the caller's ``proxy[...]`` query parameters for list calls.
    """

    account_id: str
    credentials: Mapping[str, Any]
    settings: Mapping[str, Any]
    calls: list[Any] = field(default_factory=list)
    proxy: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RemotePackage:
    remote_id: str
    name: str
    description: str | None = None
    type: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class OrderRequest:
    package_remote_id: str
    package_name: str | None
    candidate: Mapping[str, Any]
    application: Mapping[str, Any] | None = None
    job: Mapping[str, Any] | None = None
    requester: Mapping[str, Any] | None = None
    deadline: datetime | None = None
    passthrough: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CreatedOrder:
    remote_id: str | None  # None: the provider's id becomes known later (webhook, reconciliation)
    test_url: str | None = None
    status: str = "open"


@dataclass(frozen=True)
class OutboundRequestSpec:
    """A request for the delivery pipeline to send (e.g. Greenhouse's result PATCH).

    Built at send time from the order's current state, so credentials never sit in the
    outbox and a retry always carries the newest state.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    allowed_hosts: Sequence[str] = ()  # the account's callback_hosts, checked before sending


class ProviderError(Exception):
    """The partner failed or timed out. ``calls`` are the redacted records of the calls
    involved; the gateway shows them to the tenant as ``provider_errors`` (a 502 or 504)."""

    def __init__(self, message: str, *, calls: Sequence[Any] = (), timeout: bool = False) -> None:
        super().__init__(message)
        self.calls = list(calls)
        self.timeout = timeout


class Connector:
    """Metadata shared by every connector; capabilities come from the protocols below."""

    provider: ClassVar[str]
    name: ClassVar[str]
    role: ClassVar[Role]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    credentials_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    inbound: ClassVar[InboundKind | None] = None

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def urls(self) -> Sequence[URLPattern | URLResolver]:
        """Partner endpoints, mounted under ``/connectors/<provider>/``."""
        return ()

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        """What to hand to the partner besides the key (``inbound.urls`` or ``webhook_url``)."""
        return {}

    def openapi_paths(self) -> dict[str, dict[str, Any]]:
        """OpenAPI 3.0 path items of the partner endpoints, keyed by their path below
        ``/connectors/<provider>/`` (``"list_tests"``, ``"results/{invitationId}"``).

        Partner endpoints are plain Django views that drf-spectacular cannot introspect,
        yet the contract says ``/openapi.json`` documents them too; ``gateway.api.schema``
        merges these items in. Error answers may ``$ref`` ``#/components/schemas/Error``
        (the contract's error body, always present). Anything else referenced, such as a
        security scheme, comes from ``openapi_components()``. Optional: ``{}`` leaves the
        endpoints undocumented.
        """
        return {}

    def openapi_components(self) -> dict[str, dict[str, Any]]:
        """OpenAPI ``components`` sections the path items use, e.g.
        ``{"securitySchemes": {"greenhouseInboundKey": {...}}}``. Names are global in the
        schema, so prefix them with the provider; a clash stops schema generation."""
        return {}


@runtime_checkable
class PackageLister(Protocol):
    def list_packages(self, ctx: AccountContext) -> list[RemotePackage]: ...


@runtime_checkable
class OrderCreator(Protocol):
    def create_order(self, ctx: AccountContext, request: OrderRequest) -> CreatedOrder: ...


@runtime_checkable
class ResultFetcher(Protocol):
    def fetch_result(self, ctx: AccountContext, order: Any) -> Mapping[str, Any] | None: ...


@runtime_checkable
class OrderCanceller(Protocol):
    def cancel_order(self, ctx: AccountContext, order: Any) -> None: ...


@runtime_checkable
class ResultDeliverer(Protocol):
    def deliver_result(self, ctx: AccountContext, order: Any) -> OutboundRequestSpec | None: ...


@runtime_checkable
class WebhookHandler(Protocol):
    def handle_webhook(self, account: Any, payload: Mapping[str, Any], headers: Mapping[str, str]) -> None: ...


CAPABILITY_PROTOCOLS: dict[Capability, type] = {
    Capability.LIST_PACKAGES: PackageLister,
    Capability.CREATE_ORDER: OrderCreator,
    Capability.FETCH_RESULT: ResultFetcher,
    Capability.CANCEL_ORDER: OrderCanceller,
    Capability.DELIVER_RESULT: ResultDeliverer,
    Capability.HANDLE_WEBHOOK: WebhookHandler,
}
