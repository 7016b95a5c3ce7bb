"""Sending outbox rows: claim, build, send, record, reschedule.

A row is sent by whoever claims it first. Claims are leases in the row itself
(``locked_until`` and ``lease_token``), taken inside a short transaction with
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; the HTTP call happens after that
transaction, so no database lock is held while a receiver is slow. A worker killed
mid-send leaves a lease that simply expires, and the sweeper sends the row again:
delivery is at least once.

Per order and target, rows go out strictly in the order they were written, and each
carries the order's state at send time, so a receiver never sees an older state after
a newer one.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Q, Value, When

from connectors.base import OutboundRequestSpec
from gateway.assessments.connectors import account_connector, account_context
from gateway.assessments.models import Order
from gateway.delivery.envelope import encode, event_envelope
from gateway.delivery.models import Delivery, DeliveryAttempt, DeliveryKind, DeliveryStatus
from gateway.delivery.outbound import (
    BlockedDestination,
    OutboundError,
    client_from_settings,
    host_matches,
    redact,
    retry_after_seconds,
)
from gateway.delivery.schedule import next_attempt_at
from gateway.delivery.signing import webhook_headers
from gateway.tenancy.services import tenant_signing_secrets
from gateway.timefmt import utcnow

logger = logging.getLogger(__name__)


def send_lease() -> timedelta:
    """Longer than the slowest send (connect + read timeouts, twice) so a live send is
    never taken over; short enough that a dead worker's rows resume within a minute."""
    return timedelta(seconds=settings.GATEWAY_DELIVERY_LEASE_SECONDS)

RETRYABLE_STATUSES = {408, 429}
EXCERPT_LIMIT = 2000


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    retry: bool
    retry_after: float | None = None
    excerpt: str = ""
    elapsed_ms: int = 0


def _same_target(delivery: Delivery) -> Q:
    return Q(
        order_id=delivery.order_id, kind=delivery.kind, endpoint_id=delivery.endpoint_id, url=delivery.url
    )


def _waiting_for_older() -> Q:
    """Rows behind an older pending row for the same order and target (see ``_claim``).

    The sweeper leaves them alone: leasing them only to hand the lease back would let
    enough of them fill every batch and starve the rows that are really due.
    """
    older = Delivery.objects.filter(
        order_id=OuterRef("order_id"), kind=OuterRef("kind"), url=OuterRef("url"),
        status=DeliveryStatus.PENDING, id__lt=OuterRef("id"),
    )
    same_endpoint = Exists(older.filter(endpoint_id=OuterRef("endpoint_id")))
    no_endpoint = Q(endpoint_id__isnull=True) & Q(Exists(older.filter(endpoint_id__isnull=True)))
    return Q(same_endpoint) | no_endpoint


def _older_pending() -> tuple[Exists, Exists]:
    """Whether an older pending row exists for the same order and target: (with the same
    endpoint, with no endpoint). Annotations, so the claim reads them with the row."""
    older = Delivery.objects.filter(
        order_id=OuterRef("order_id"), kind=OuterRef("kind"), url=OuterRef("url"),
        status=DeliveryStatus.PENDING, id__lt=OuterRef("id"),
    )
    return Exists(older.filter(endpoint_id=OuterRef("endpoint_id"))), Exists(older.filter(endpoint_id__isnull=True))


def _claim(delivery_id: str, lease_token: str | None) -> tuple[Delivery, str] | None:
    """Take the send lease on a due row, or None if it is not ours to send now.

    One locking read brings the row, its tenant (for the signature) and whether an
    older row for the same order and target is still pending; the lease is one UPDATE.
    """
    now = utcnow()
    same_endpoint, no_endpoint = _older_pending()
    with transaction.atomic():
        delivery = next(iter(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .annotate(older_same_endpoint=same_endpoint, older_no_endpoint=no_endpoint)
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)[:1]
        ), None)
        if delivery is None:
            return None
        leased_to_other = delivery.locked_until and delivery.locked_until > now
        if leased_to_other and (not lease_token or lease_token != delivery.lease_token):
            return None
        waiting = delivery.older_same_endpoint or (delivery.endpoint_id is None and delivery.older_no_endpoint)
        if delivery.order_id and waiting:
            # An older row for the same order and target goes first; it releases this
            # one when done, so drop any sweeper lease rather than let it idle.
            if lease_token and lease_token == delivery.lease_token:
                delivery.locked_until, delivery.lease_token = None, ""
                delivery.save(update_fields=["locked_until", "lease_token"])
            return None
        token = secrets.token_hex(8)
        delivery.locked_until = now + send_lease()
        delivery.lease_token = token
        delivery.attempts += 1
        delivery.save(update_fields=["locked_until", "lease_token", "attempts", "updated_at"])
        return delivery, token


def _signed_event(delivery: Delivery) -> OutboundRequestSpec:
    body = encode(event_envelope(delivery))
    tenant = delivery.tenant  # read with the claim (select_related)
    headers = webhook_headers(delivery.event_id, body, tenant_signing_secrets(tenant=tenant))
    return OutboundRequestSpec(method="POST", url=delivery.url, headers=headers, json=body)


def _partner_request(delivery: Delivery) -> OutboundRequestSpec | None:
    order = Order.objects.select_related("account").get(pk=delivery.order_id)
    if order.is_erased or order.account.deleted_at is not None:
        return None
    connector = account_connector(order.account)
    return connector.deliver_result(account_context(order.account), order)


def _send(spec: OutboundRequestSpec, *, partner: bool) -> Outcome:
    host = urlsplit(spec.url).hostname or ""
    # A partner URL arrived in a partner's request: it must match the account's
    # callback_hosts, and an empty list allows nothing (the inbound key is at stake).
    if partner and not host_matches(host, spec.allowed_hosts):
        return Outcome(None, f"Host {host!r} is not in the account's callback_hosts", retry=False)
    data = spec.json if isinstance(spec.json, bytes) else None
    payload = None if data is not None else spec.json
    started = time.monotonic()
    try:
        response = client_from_settings().request(
            spec.method, spec.url, headers=dict(spec.headers), data=data, json=payload
        )
    except BlockedDestination as exc:
        return Outcome(None, f"Refused by the SSRF guard: {exc}", retry=False)
    except OutboundError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(None, f"{type(exc).__name__}: {exc}", retry=True, elapsed_ms=elapsed)
    status = response.status
    excerpt = redact(response.text[:EXCERPT_LIMIT], ())
    if 200 <= status < 300:
        return Outcome(status, "", retry=False, excerpt=excerpt, elapsed_ms=response.record.elapsed_ms)
    retry = status >= 500 or status in RETRYABLE_STATUSES
    return Outcome(
        status, f"HTTP {status}", retry=retry, excerpt=excerpt,
        retry_after=retry_after_seconds(response.headers) if status in (429, 503) else None,
        elapsed_ms=response.record.elapsed_ms,
    )


def _build(delivery: Delivery) -> OutboundRequestSpec | None:
    if delivery.kind == DeliveryKind.PARTNER:
        return _partner_request(delivery)
    return _signed_event(delivery)


def _record(delivery: Delivery, token: str, outcome: Outcome, started_at) -> None:
    """Log the attempt and settle the row, if the lease is still ours.

    A conditional UPDATE (``lease_token`` and ``status`` in its WHERE) is the check and
    the write at once: it waits for, then re-reads, any concurrent change to the row,
    exactly as a locking read followed by a save did, in half the round trips.
    """
    now = utcnow()
    changes: dict[str, Any] = {
        "last_status_code": outcome.status_code, "last_error": outcome.error,
        "locked_until": None, "lease_token": "", "updated_at": now,
    }
    if not outcome.error:
        changes.update(status=DeliveryStatus.SUCCEEDED, delivered_at=now)
    elif not outcome.retry:
        changes["status"] = DeliveryStatus.FAILED
    else:
        # ``attempts`` cannot have moved since the claim: only the lease holder, or an
        # operator's retry (which also replaces the lease), changes it.
        retry_at = next_attempt_at(failed_attempts=delivery.attempts, now=now, retry_after=outcome.retry_after)
        if retry_at is None:
            changes["status"] = DeliveryStatus.EXHAUSTED
        else:
            changes["next_attempt_at"] = retry_at
    with transaction.atomic():
        settled = Delivery.objects.filter(
            pk=delivery.pk, lease_token=token, status=DeliveryStatus.PENDING
        ).update(**changes)
        if not settled:
            return  # cancelled (erase, endpoint removed) or taken over meanwhile
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk, number=DeliveryAttempt.objects.filter(delivery_id=delivery.pk).count() + 1,
            started_at=started_at, status_code=outcome.status_code, error=outcome.error[:2000],
            elapsed_ms=outcome.elapsed_ms, response_excerpt=outcome.excerpt,
        )


def delivery_send(delivery_id: str, lease_token: str | None = None) -> str:
    """Send one outbox row if it is due and ours; returns what happened (for logs and tests)."""
    claimed = _claim(delivery_id, lease_token)
    if claimed is None:
        return "skipped"
    delivery, token = claimed
    started_at = utcnow()
    try:
        spec = _build(delivery)
        partner = delivery.kind == DeliveryKind.PARTNER
        outcome = Outcome(None, "", retry=False) if spec is None else _send(spec, partner=partner)
    except Exception as exc:  # a bug must not wedge the row: record the attempt and retry
        logger.exception("Delivery %s failed unexpectedly", delivery.id)
        outcome = Outcome(None, f"Unexpected error: {type(exc).__name__}", retry=True)
    _record(delivery, token, outcome, started_at)
    logger.info(
        "Delivery %s (%s %s) attempt %s: %s", delivery.id, delivery.kind, delivery.event_type,
        delivery.attempts, outcome.error or outcome.status_code or "nothing to send",
    )
    _release_next(delivery)
    return "sent" if not outcome.error else "failed"


def _release_next(delivery: Delivery) -> None:
    """Start the next row for the same order and target, which waited for this one."""
    if not delivery.order_id:
        return
    from gateway.delivery.dispatch import dispatch

    following = (
        Delivery.objects.filter(_same_target(delivery), status=DeliveryStatus.PENDING, id__gt=delivery.id)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    if following:
        dispatch([following])


def deliveries_dispatch_due(*, limit: int = 500) -> int:
    """The sweeper: lease due rows nobody holds and hand them to workers.

    This is what makes a lost task, a killed worker or a broker restart only a delay.

    With Celery, a row never attempted yet is left to the task its commit queued for
    one lease period (``send_lease()``). When the workers are behind, that task is
    still waiting in the queue; leasing the row anyway made it skip the row and put a
    second task for it at the back of the queue, so under load a third of the tasks
    were such duplicates and rows waited twice (bench/, scenario 3). A task that is
    really lost is found one lease period later, as a dead worker's rows already are.
    """
    from gateway.delivery.dispatch import dispatch_leased
    from gateway.runner import mode

    now = utcnow()
    with transaction.atomic():
        due = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .exclude(_waiting_for_older())
        )
        if mode() == "celery":
            due = due.exclude(attempts=0, created_at__gt=now - send_lease())
        due = list(due.order_by("next_attempt_at").values_list("id", flat=True)[:limit])
        leases = {delivery_id: secrets.token_hex(8) for delivery_id in due}
        if leases:  # one UPDATE for the batch, each row still with its own token
            Delivery.objects.filter(pk__in=list(leases)).update(
                locked_until=now + send_lease(),
                lease_token=Case(*(When(pk=pk, then=Value(token)) for pk, token in leases.items())),
            )
    dispatch_leased(leases)
    return len(leases)


def delivery_retry(*, delivery: Delivery) -> None:
    """An operator's retry of a failed or exhausted row (admin action): a fresh schedule."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=utcnow(), attempts=0,
        locked_until=None, lease_token="",
    )
