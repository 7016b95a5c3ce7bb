"""Plain values that cross the SDK boundary: what a connector receives and returns.

None of these is a database row. The core builds them from its models and reads them
back; a connector never sees an ORM object, so it cannot write one by accident.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Role(enum.StrEnum):
    ATS = "ats"  # the ATS sends orders; the tenant is the assessment vendor
    PROVIDER = "provider"  # the tenant sends orders to an assessment provider


class Capability(enum.StrEnum):
    """One method of the connector each; the core answers 501 for the rest."""

    LIST_PACKAGES = "list_packages"
    CREATE_ORDER = "create_order"
    FETCH_RESULT = "fetch_result"
    CANCEL_ORDER = "cancel_order"
    CHECK = "check"
    DELIVER_RESULT = "deliver_result"
    HANDLE_WEBHOOK = "handle_webhook"


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"


CLOSED_ORDER_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.EXPIRED})


class ResultValue(enum.StrEnum):
    INITIATED = "initiated"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    PASSED = "passed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNMAPPED = "unmapped_value"


FINAL_RESULT_VALUES = frozenset({ResultValue.COMPLETED, ResultValue.PASSED, ResultValue.FAILED})


# --- packages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemotePackage:
    """A provider's test, read live (provider role)."""

    remote_id: str
    name: str
    description: str | None = None
    type: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class PackageView:
    """A test the tenant published to the ATS (ats role); ``remote_id`` is what the ATS sees."""

    id: str
    remote_id: str
    name: str
    description: str | None = None
    type: str | None = None


# --- orders and results ---------------------------------------------------------------------


@dataclass(frozen=True)
class ResultView:
    """An order's stored result, in the unified shape's terms."""

    id: str
    score: Mapping[str, Any] | None  # {"label", "value", "min", "max"}, parts as strings
    result_value: str | None
    result_source_value: str | None
    result_url: str | None
    summary: str | None
    start_date: datetime | None
    submission_date: datetime | None
    attachments: Sequence[Mapping[str, Any]] = ()
    passthrough: Mapping[str, Any] | None = None
    updated_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.result_value in FINAL_RESULT_VALUES


@dataclass(frozen=True)
class OrderView:
    """An order as a connector may read it. ``candidate_link`` is the gateway's candidate
    link (``/t/<token>``) when the order has one; ``erased`` orders keep only ids,
    status and dates."""

    id: str
    account_id: str
    remote_id: str | None
    status: str
    package: Mapping[str, Any]  # {"id", "remote_id", "name", "description"} as ordered
    candidate: Mapping[str, Any] | None
    application: Mapping[str, Any] | None
    job: Mapping[str, Any] | None
    requester: Mapping[str, Any] | None
    passthrough: Mapping[str, Any] | None
    test_url: str | None
    deadline: datetime | None
    partner_callback_url: str | None
    candidate_link: str | None
    received_from_partner: bool  # created by an ATS call (it has a partner idempotency key)
    erased: bool
    version: int
    created_at: datetime
    updated_at: datetime
    result: ResultView | None = None

    @property
    def is_erased(self) -> bool:
        return self.erased

    @property
    def package_remote_id(self) -> str | None:
        value = (self.package or {}).get("remote_id")
        return None if value in (None, "") else str(value)

    @property
    def candidate_email(self) -> str | None:
        for email in (self.candidate or {}).get("emails") or []:
            value = email.get("value") if isinstance(email, Mapping) else None
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None


@dataclass(frozen=True)
class OrderRequest:
    """A tenant's order for a provider (``POST …/orders``), validated by the core."""

    package_remote_id: str
    package_name: str | None
    candidate: Mapping[str, Any]
    application: Mapping[str, Any] | None = None
    job: Mapping[str, Any] | None = None
    requester: Mapping[str, Any] | None = None
    deadline: datetime | None = None
    passthrough: Mapping[str, Any] | None = None

    @property
    def candidate_email(self) -> str | None:
        for email in self.candidate.get("emails") or []:
            value = email.get("value") if isinstance(email, Mapping) else None
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None


@dataclass(frozen=True)
class CreatedOrder:
    remote_id: str | None  # None: the provider's id becomes known later (webhook, reconciliation)
    test_url: str | None = None
    status: str = OrderStatus.OPEN


@dataclass(frozen=True)
class ReceivedOrder:
    """What an ATS sent (Greenhouse ``send_test``, softgarden ``invitations``), mapped.

    ``callback_url`` is where the ATS wants to hear about the order; the core refuses it
    (a 400 naming ``callback_field``) unless its host matches ``callback_hosts``.
    ``candidate_link`` asks for a gateway link ``/t/<token>`` to hand out before the
    vendor has a test URL.
    """

    candidate: Mapping[str, Any]
    application: Mapping[str, Any] | None = None
    job: Mapping[str, Any] | None = None
    requester: Mapping[str, Any] | None = None
    passthrough: Mapping[str, Any] | None = None
    callback_url: str | None = None
    callback_field: str = "callback"
    callback_hosts: Sequence[str] = ()
    candidate_link: bool = False


@dataclass(frozen=True)
class ResultData:
    """A result as a provider reports it, in the unified terms (``result_value`` one of
    ``ResultValue``; ``source_value`` the provider's own word)."""

    result_value: str | None = None
    result_source_value: str | None = None
    score: Mapping[str, Any] | None = None
    result_url: str | None = None
    summary: str | None = None
    start_date: datetime | None = None
    submission_date: datetime | None = None
    attachments: Sequence[Mapping[str, Any]] | None = None
    passthrough: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ProviderState:
    """An order's state at the provider, as ``fetch_result`` read it. The core applies it
    under a row lock and emits ``ats_assessments.updated`` only when something changed."""

    status: str | None = None
    remote_id: str | None = None
    test_url: str | None = None
    result: ResultData | None = None


# --- outbound -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    """A connector's reading of a partner's answer to a delivery that HTTP called a
    success (Ashby answers 200 with ``success: false``). ``error`` None: delivered."""

    error: str | None = None
    retry: bool = False
    account_error: bool = False  # the partner refused the account's credentials


@dataclass(frozen=True)
class OutboundRequestSpec:
    """A request for the delivery pipeline to send (e.g. Greenhouse's result PATCH).

    Built at send time from the order's current state, so credentials never sit in the
    outbox and a retry always carries the newest state. ``allowed_hosts`` are the
    account's callback hosts, checked before sending (an empty list allows nothing).
    ``secrets`` are redacted from what the pipeline keeps of the exchange.
    ``judge``, when given, reads a 2xx answer (status, parsed JSON or None) and may still
    call it a failure.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    allowed_hosts: Sequence[str] = ()
    secrets: Sequence[str] = ()
    judge: Any = None  # Callable[[int, Any], DeliveryOutcome] | None


@dataclass(frozen=True)
class Webhook:
    """A provider's webhook as received: the parsed JSON body and the headers. A trigger
    only: ``handle_webhook`` names the orders to re-read and never trusts the payload."""

    payload: Any
    headers: Mapping[str, str]
