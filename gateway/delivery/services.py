"""Writes to the outbox. Call these inside the transaction of the change they announce:
the rows commit with it or not at all, which is what makes delivery lossless."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from gateway.api.errors import ValidationFailed
from gateway.assessments.models import Order
from gateway.delivery.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventType,
    WebhookEndpoint,
    new_event_id,
)
from gateway.outbound import host_matches, validate_submitted_url
from gateway.tenancy.models import Account, Tenant
from gateway.timefmt import utcnow

_after_commit_hooks: list[Any] = []
MAX_URL_LENGTH = 2000  # the URL columns of orders and deliveries
_url_shape = URLValidator(schemes=["http", "https"])


def on_deliveries_committed(hook: Any) -> Any:
    """Register ``hook(delivery_ids)`` to run after outbox rows commit (the sender)."""
    _after_commit_hooks.append(hook)
    return hook


def _enqueue(rows: list[Delivery]) -> list[Delivery]:
    if not rows:
        return rows
    Delivery.objects.bulk_create(rows)
    ids = [row.id for row in rows]
    for hook in _after_commit_hooks:
        transaction.on_commit(lambda hook=hook: hook(ids))
    return rows


def event_emit(
    *,
    account: Account,
    event_type: EventType,
    order: Order | None = None,
    payload: dict[str, Any] | None = None,
) -> list[Delivery]:
    """Queue ``event_type`` for every subscribed endpoint, and for the order's
    ``results_update_url`` when it is an update. One event id for all of them."""
    event_id = new_event_id()
    now = utcnow()
    common = dict(
        tenant_id=account.tenant_id,
        account=account,
        event_id=event_id,
        event_type=event_type,
        order=order,
        order_version=order.version if order else 0,
        payload=payload,
        next_attempt_at=now,
    )
    endpoints = WebhookEndpoint.objects.filter(tenant_id=account.tenant_id, deleted_at__isnull=True)
    rows = [
        Delivery(kind=DeliveryKind.WEBHOOK, endpoint=endpoint, url=endpoint.url, **common)
        for endpoint in endpoints
        if endpoint.subscribes_to(event_type)
    ]
    if event_type == EventType.UPDATED and order is not None and order.results_update_url:
        rows.append(Delivery(kind=DeliveryKind.RESULTS_CALLBACK, url=order.results_update_url, **common))
    return _enqueue(rows)


def partner_notify(*, account: Account, order: Order) -> Delivery:
    """Queue the ATS notification for ``order`` (Greenhouse PATCH, softgarden callback);
    the connector builds the request when it is sent."""
    row = Delivery(
        tenant_id=account.tenant_id,
        account=account,
        kind=DeliveryKind.PARTNER,
        event_type=EventType.UPDATED,
        order=order,
        order_version=order.version,
        next_attempt_at=utcnow(),
    )
    return _enqueue([row])[0]


def deliveries_cancel_for_order(*, order: Order) -> int:
    """After an erase nothing more about the order leaves the gateway, except ``deleted``."""
    return Delivery.objects.filter(order=order, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, last_error="Order erased"
    )


def submitted_url_validate(url: str, *, field: str) -> None:
    """Refuse, with a 422 naming ``field``, a URL the gateway must never call (CONTRACT §5).

    Host names are only checked again, after resolution, when a delivery is sent.
    """
    try:
        validate_submitted_url(url, allowed_hosts=settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS)
    except ValueError as exc:
        raise ValidationFailed.field(field, str(exc)) from None


def callback_url_problem(url: str, *, hosts: Sequence[str]) -> str | None:
    """Why a partner-given callback URL cannot be stored, or None when it can.

    Refused: other schemes, a shape the URL columns reject, credentials in the URL, hosts
    outside ``hosts`` (an empty list allows none: the inbound key travels with the call),
    and literal addresses in blocked ranges unless the operator allowed them.
    """
    if len(url) > MAX_URL_LENGTH:
        return f"Must be at most {MAX_URL_LENGTH} characters."
    try:
        validate_submitted_url(url, allowed_hosts=settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS)
        host = urlsplit(url.strip()).hostname or ""
    except ValueError as exc:
        return str(exc)
    if not host_matches(host, hosts):
        return "The callback host is not one of the account's callback_hosts."
    try:
        _url_shape(url)
    except ValidationError:
        return "Not a valid URL."
    return None


def webhook_endpoint_create(*, tenant: Tenant, url: str, events: Iterable[str]) -> WebhookEndpoint:
    events = list(dict.fromkeys(events))
    known = {choice.value for choice in EventType}
    unknown = [e for e in events if e != "*" and e not in known]
    if not events or unknown:
        raise ValidationFailed.field(
            "events", f"Use '*' or some of: {', '.join(sorted(known))}."
        )
    submitted_url_validate(url, field="url")
    endpoint = WebhookEndpoint(tenant=tenant, url=url, events=events)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        endpoint.deleted_at = utcnow()
        endpoint.save(update_fields=["deleted_at"])
        Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.CANCELLED, last_error="Endpoint removed"
        )
