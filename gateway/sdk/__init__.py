"""The connector SDK: the one module of the gateway a connector imports.

Everything a connector needs is named here; anything not exported from this package
(or its documented submodules ``endpoints``, ``http``, ``ports``, ``values``,
``errors``, ``loopback`` and the conformance kit ``testing``) is private to the gateway
and may change without notice. ``SDK_VERSION`` follows semantic versioning: a minor
version adds, a major version may remove. See ``docs/connectors.md``.
"""

from gateway.sdk.connector import (
    CAPABILITY_PROTOCOLS,
    Connector,
    InboundKind,
    Periodic,
)
from gateway.sdk.endpoints import Endpoint, InboundAuth, PartnerRequest, PartnerResponse
from gateway.sdk.errors import BadRequest, Conflict, ConnectorFailure, InvalidInput, NotFound, ProviderError
from gateway.sdk.http import (
    CallRecord,
    Http,
    HttpBlocked,
    HttpError,
    HttpResponse,
    HttpTimeout,
    basic_authorization,
    retry_after_seconds,
)
from gateway.sdk.ports import AccountSnapshot, Cache, Catalog, Context, Defer, Orders, Tokens
from gateway.sdk.values import (
    CLOSED_ORDER_STATUSES,
    FINAL_RESULT_VALUES,
    Capability,
    CreatedOrder,
    DeliveryOutcome,
    OrderRequest,
    OrderStatus,
    OrderView,
    OutboundRequestSpec,
    PackageView,
    ProviderState,
    ReceivedOrder,
    RemotePackage,
    ResultData,
    ResultValue,
    ResultView,
    Role,
    Webhook,
)

SDK_VERSION = "1.0.0"

__all__ = [
    "CAPABILITY_PROTOCOLS",
    "CLOSED_ORDER_STATUSES",
    "FINAL_RESULT_VALUES",
    "SDK_VERSION",
    "AccountSnapshot",
    "BadRequest",
    "Cache",
    "CallRecord",
    "Capability",
    "Catalog",
    "Conflict",
    "Connector",
    "ConnectorFailure",
    "Context",
    "CreatedOrder",
    "Defer",
    "DeliveryOutcome",
    "Endpoint",
    "Http",
    "HttpBlocked",
    "HttpError",
    "HttpResponse",
    "HttpTimeout",
    "InboundAuth",
    "InboundKind",
    "InvalidInput",
    "NotFound",
    "OrderRequest",
    "OrderStatus",
    "OrderView",
    "Orders",
    "OutboundRequestSpec",
    "PackageView",
    "PartnerRequest",
    "PartnerResponse",
    "Periodic",
    "ProviderError",
    "ProviderState",
    "ReceivedOrder",
    "RemotePackage",
    "ResultData",
    "ResultValue",
    "ResultView",
    "Role",
    "Tokens",
    "Webhook",
    "basic_authorization",
    "retry_after_seconds",
]
