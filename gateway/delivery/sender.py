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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, F, Value, When
from django.db.models.expressions import RawSQL

from gateway.assessments.connectors import account_connector
from gateway.assessments.models import Order
from gateway.assessments.snapshots import order_view
from gateway.delivery.envelope import encode, event_envelope, orders_for_envelopes
from gateway.delivery.models import Delivery, DeliveryAttempt, DeliveryKind, DeliveryStatus
from gateway.delivery.schedule import next_attempt_at
from gateway.delivery.signing import webhook_headers
from gateway.outbound import (
    BlockedDestination,
    OutboundError,
    client_from_settings,
    host_matches,
    redact,
)
from gateway.ports import context_for
from gateway.sdk import DeliveryOutcome, OutboundRequestSpec
from gateway.sdk.http import retry_after_seconds
from gateway.tenancy.models import AccountStatus
from gateway.tenancy.services import account_status_record, tenant_signing_secrets
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
    account_error: bool = False  # the partner refused the account's credentials


# Per order and target, rows go out in the order they were written: by (created_at, id),
# since ids are time-ordered only to the millisecond. A row waits while an older pending
# row for the same order and target (kind, url, endpoint) exists; rows without an order
# never wait. These two fragments are that rule, for every query below that needs it.
def _same_target(other: str, row: str) -> str:
    return (
        f"{other}.order_id = {row}.order_id AND {other}.kind = {row}.kind AND {other}.url = {row}.url"
        f" AND {other}.status = %s AND ({other}.endpoint_id = {row}.endpoint_id"
        f" OR ({other}.endpoint_id IS NULL AND {row}.endpoint_id IS NULL))"
    )


def _before(earlier: str, later: str) -> str:
    return (
        f"({earlier}.created_at < {later}.created_at"
        f" OR ({earlier}.created_at = {later}.created_at AND {earlier}.id < {later}.id))"
    )


def _table() -> str:
    return connection.ops.quote_name(Delivery._meta.db_table)


def _waiting() -> RawSQL:
    """Whether an older pending row for the same order and target exists: an annotation,
    so that the claim reads it with the row."""
    table = _table()  # the outer query's alias for the row is its table's name
    sql = f"EXISTS (SELECT 1 FROM {table} other WHERE {_same_target('other', table)} AND {_before('other', table)})"
    return RawSQL(sql, [DeliveryStatus.PENDING.value], output_field=BooleanField())


def _claim(delivery_id: str, lease_token: str | None) -> tuple[Delivery, str] | None:
    """Take the send lease on a due row, or None if it is not ours to send now.

    One locking read brings the row, its tenant (for the signature) and whether an
    older row for the same order and target is still pending; the lease is one UPDATE.
    """
    now = utcnow()
    with transaction.atomic():
        delivery = next(iter(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant")
            .annotate(waiting=_waiting())
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)[:1]
        ), None)
        if delivery is None:
            return None
        leased_to_other = delivery.locked_until and delivery.locked_until > now
        if leased_to_other and (not lease_token or lease_token != delivery.lease_token):
            return None
        if delivery.order_id and delivery.waiting:
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


def _signed_event(delivery: Delivery, order: Order | None = None) -> OutboundRequestSpec:
    body = encode(event_envelope(delivery, order))
    tenant = delivery.tenant  # read with the claim (select_related)
    headers = webhook_headers(delivery.event_id, body, tenant_signing_secrets(tenant=tenant))
    return OutboundRequestSpec(method="POST", url=delivery.url, headers=headers, json=body)


def _partner_request(delivery: Delivery, order: Order | None = None) -> OutboundRequestSpec | None:
    """The connector's request for the order's current state; ``order`` when a batch
    already read it (with its result)."""
    if order is None:
        order = Order.objects.select_related("account", "result").get(pk=delivery.order_id)
    if order.is_erased or order.account.deleted_at is not None:
        return None
    connector = account_connector(order.account)
    return connector.deliver_result(context_for(order.account), order_view(order))  # type: ignore[attr-defined]


def _judged(spec: OutboundRequestSpec, status: int, response: Any, excerpt: str) -> Outcome:
    """A 2xx the connector's ``judge`` may still call a failure (Ashby's ``success: false``)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    verdict: DeliveryOutcome = spec.judge(status, body)
    elapsed = response.record.elapsed_ms
    if verdict.error is None:
        return Outcome(status, "", retry=False, excerpt=excerpt, elapsed_ms=elapsed)
    return Outcome(status, verdict.error[:500], retry=verdict.retry, excerpt=excerpt, elapsed_ms=elapsed,
                   account_error=verdict.account_error)


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
            spec.method, spec.url, headers=dict(spec.headers), data=data, json=payload, secrets=spec.secrets
        )
    except BlockedDestination as exc:
        return Outcome(None, f"Refused by the SSRF guard: {exc}", retry=False)
    except OutboundError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(None, f"{type(exc).__name__}: {exc}", retry=True, elapsed_ms=elapsed)
    status = response.status
    # A partner may echo our credentials in its answer ("client X with secret Y is not
    # valid"): what is kept of it never holds them.
    excerpt = redact(response.text[:EXCERPT_LIMIT], spec.secrets)
    if 200 <= status < 300:
        if spec.judge is not None:
            return _judged(spec, status, response, excerpt)
        return Outcome(status, "", retry=False, excerpt=excerpt, elapsed_ms=response.record.elapsed_ms)
    retry = status >= 500 or status in RETRYABLE_STATUSES
    return Outcome(
        status, f"HTTP {status}", retry=retry, excerpt=excerpt,
        retry_after=retry_after_seconds(response.headers) if status in (429, 503) else None,
        elapsed_ms=response.record.elapsed_ms, account_error=partner and status in (401, 403),
    )


def _build(delivery: Delivery, order: Order | None = None) -> OutboundRequestSpec | None:
    if delivery.kind == DeliveryKind.PARTNER:
        return _partner_request(delivery, order)
    return _signed_event(delivery, order)


def _record(delivery: Delivery, token: str, outcome: Outcome, started_at, logged: int | None = None) -> None:
    """Log the attempt and settle the row, if the lease is still ours. ``logged`` is how
    many attempts the log already holds for the row, when the caller knows.

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
        if logged is None:
            logged = DeliveryAttempt.objects.filter(delivery_id=delivery.pk).count()
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk, number=logged + 1,
            started_at=started_at, status_code=outcome.status_code, error=outcome.error[:2000],
            elapsed_ms=outcome.elapsed_ms, response_excerpt=outcome.excerpt,
        )


def delivery_send(delivery_id: str, lease_token: str | None = None) -> str:
    """Send one outbox row if it is due and ours; returns what happened (for logs and tests)."""
    claimed = _claim(delivery_id, lease_token)
    if claimed is None:
        return "skipped"
    delivery, token = claimed
    result = _send_claimed(delivery, token)
    _release_next(delivery)
    return result


def _send_claimed(delivery: Delivery, token: str, *, order: Order | None = None, logged: int | None = None) -> str:
    """Build, send and record one row whose lease ``token`` this worker holds. A batch
    passes what it read for all its rows at once: the row's ``order`` (with its result)
    and how many attempts were ``logged`` for it before."""
    started_at = utcnow()
    try:
        spec = _build(delivery, order)
        partner = delivery.kind == DeliveryKind.PARTNER
        outcome = Outcome(None, "", retry=False) if spec is None else _send(spec, partner=partner)
    except Exception as exc:  # a bug must not wedge the row: record the attempt and retry
        logger.exception("Delivery %s failed unexpectedly", delivery.id)
        outcome = Outcome(None, f"Unexpected error: {type(exc).__name__}", retry=True)
    _record(delivery, token, outcome, started_at, logged)
    if outcome.account_error and delivery.account_id:
        account_status_record(account_id=delivery.account_id, status=AccountStatus.ERROR, reason=outcome.error)
    logger.info(
        "Delivery %s (%s %s) attempt %s: %s", delivery.id, delivery.kind, delivery.event_type,
        delivery.attempts, outcome.error or outcome.status_code or "nothing to send",
    )
    return "sent" if not outcome.error else "failed"


def _release_next(delivery: Delivery) -> None:
    """Start the next row for the same order and target, which waited for this one."""
    if not delivery.order_id:
        return
    from gateway.delivery.dispatch import dispatch

    table = _table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT other.id FROM {table} other, {table} d WHERE d.id = %s AND {_same_target('other', 'd')}"
            f" AND {_before('d', 'other')} ORDER BY other.created_at, other.id LIMIT 1",
            [delivery.pk, DeliveryStatus.PENDING.value],
        )
        following = cursor.fetchone()
    if following:
        dispatch([following[0]])


# Which rows a sweep or a drain may lease: due, pending, no live lease, and not waiting
# behind an older row (see ``_before``), so that rows waiting their turn never crowd due
# ones out of a batch. With each: how many attempts its log holds, and whether a newer
# row waits behind it. In SQL because the ORM's version spent half of a worker's CPU
# building and compiling itself, twice per drain task (bench/, scenario 3).
_CLAIM_SQL = f"""
SELECT d.id,
  (SELECT COUNT(*) FROM {{attempts}} a WHERE a.delivery_id = d.id),
  EXISTS (SELECT 1 FROM {{table}} other WHERE {_same_target("other", "d")} AND {_before("d", "other")})
FROM {{table}} d
WHERE d.status = %s AND d.next_attempt_at <= %s AND (d.locked_until IS NULL OR d.locked_until < %s)
  AND NOT EXISTS (SELECT 1 FROM {{table}} other WHERE {_same_target("other", "d")} AND {_before("other", "d")})
ORDER BY d.next_attempt_at
LIMIT %s
"""


@dataclass(frozen=True)
class _Claimable:
    id: str
    logged: int  # attempts in its log so far (only the lease holder adds to them)
    followed: bool  # a newer row for the same order and target waits for this one


def _claimable(now: datetime, limit: int) -> list[_Claimable]:
    """Call inside the transaction that leases them: on PostgreSQL the rows stay locked
    (and other claimers skip them) until it ends."""
    quote = connection.ops.quote_name
    sql = _CLAIM_SQL.format(table=quote(Delivery._meta.db_table), attempts=quote(DeliveryAttempt._meta.db_table))
    if connection.features.has_select_for_update_skip_locked:
        sql += "FOR UPDATE OF d SKIP LOCKED"  # SQLite has no row locks: it serializes writers
    pending, at = DeliveryStatus.PENDING.value, connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pending, pending, at, at, pending, limit])
        return [_Claimable(row_id, logged, bool(followed)) for row_id, logged, followed in cursor.fetchall()]


def deliveries_dispatch_due(*, limit: int = 500) -> int:
    """The sweeper of the in-process runners: lease due rows nobody holds and hand each
    to a task of its own (with Celery, the sweeper drains instead: ``deliveries_drain``).

    This is what makes a lost task, a killed worker or a broker restart only a delay.
    """
    from gateway.delivery.dispatch import dispatch_leased

    now = utcnow()
    with transaction.atomic():
        leases = {row.id: secrets.token_hex(8) for row in _claimable(now, limit)}
        if leases:  # one UPDATE for the batch, each row still with its own token
            Delivery.objects.filter(pk__in=list(leases)).update(
                locked_until=now + send_lease(),
                lease_token=Case(*(When(pk=pk, then=Value(token)) for pk, token in leases.items())),
            )
    dispatch_leased(leases)
    return len(leases)


# --- draining: how Celery workers send ----------------------------------------------------
#
# One Celery task per row cost more than the send itself: the message, the worker's
# bookkeeping, a claim and a release query, ~13 ms of worker CPU per delivery, so two
# cores delivered ~67 callbacks/s (bench/, scenario 3). A drain task instead leases due
# rows a batch at a time, sends them one after another over kept-alive connections and
# goes on until none is due. Commits only ask for a drain (``dispatch.drain_request``),
# which queues at most one waiting drain task however many rows commit.

DRAIN_BATCH = 10  # small, so that a backlog spreads over every worker process
DRAIN_BUDGET_SECONDS = 20.0  # then a fresh task goes on: well inside the soft time limit


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    released: int = 0  # leased but handed back unsent when time ran out
    more: bool = False  # stopped with rows possibly still due

    @property
    def attempted(self) -> int:
        return self.sent + self.failed


@dataclass
class _Batch:
    rows: list[Delivery]
    token: str
    logged: dict[str, int]  # attempts logged so far, by row id
    followed: bool  # some row has a newer one waiting behind it


def _claim_batch(limit: int) -> _Batch:
    """Lease up to ``limit`` due rows under one token; each counts an attempt, as a
    single claim does, so that a row that kills its worker still exhausts its schedule."""
    now = utcnow()
    token = secrets.token_hex(8)
    with transaction.atomic():
        claimable = _claimable(now, limit)
        if not claimable:
            return _Batch([], token, {}, False)
        ids = [row.id for row in claimable]
        Delivery.objects.filter(pk__in=ids).update(
            locked_until=now + send_lease(), lease_token=token, attempts=F("attempts") + 1, updated_at=now,
        )
        rows = list(Delivery.objects.select_related("tenant").filter(pk__in=ids).order_by("next_attempt_at"))
    return _Batch(rows, token, {row.id: row.logged for row in claimable}, any(row.followed for row in claimable))


def _event_orders(rows: list[Delivery]) -> dict[str, Order]:
    """The orders a batch's events describe, in one query, read after the claim as a
    single send reads its order."""
    order_ids = [row.order_id for row in rows if row.order_id and row.kind != DeliveryKind.PARTNER]
    return orders_for_envelopes(order_ids) if order_ids else {}


def _release(rows: list[Delivery], token: str) -> None:
    """Hand leased rows back unsent: due again at once, the attempt not counted."""
    Delivery.objects.filter(pk__in=[row.pk for row in rows], lease_token=token).update(
        locked_until=None, lease_token="", attempts=F("attempts") - 1,
    )


def deliveries_drain(
    *, batch: int = DRAIN_BATCH, budget_seconds: float = DRAIN_BUDGET_SECONDS,
    on_full_batch: Callable[[], None] | None = None,
) -> DrainReport:
    """Send due rows in this process until none is due or ``budget_seconds`` is spent.

    ``on_full_batch`` is called the first time a batch comes back full, when more rows
    are probably due than this drain sends soon (the task asks for a second drain).

    A row of a batch is only started while the batch's lease outlasts the slowest
    possible send (connect and read timeouts, twice), so a lease never expires under a
    live send and nobody else sends the row meanwhile; rows left when that time or the
    budget runs out are released for the next drain. Per order and target, order holds
    as with single sends: a row waiting behind an older pending one is never claimed,
    and it becomes due in a later batch once the older one is settled.
    """
    report = DrainReport()
    deadline = time.monotonic() + budget_seconds
    slowest_send = 2 * float(settings.GATEWAY_OUTBOUND_TIMEOUT)
    while time.monotonic() < deadline:
        claimed = _claim_batch(batch)
        rows, token = claimed.rows, claimed.token
        if not rows:
            return report
        if len(rows) == batch and on_full_batch is not None:
            on_full_batch()
            on_full_batch = None
        last_start = min(deadline, time.monotonic() + send_lease().total_seconds() - slowest_send)
        orders = _event_orders(rows)
        released = 0
        for index, row in enumerate(rows):
            if index and time.monotonic() > last_start:
                _release(rows[index:], token)
                released = len(rows) - index
                break
            outcome = _send_claimed(row, token, order=orders.get(row.order_id), logged=claimed.logged[row.pk])
            report.sent += outcome == "sent"
            report.failed += outcome != "sent"
        report.released += released
        if len(rows) < batch and not released and not claimed.followed:
            # Every due row was in this batch, and none had a newer row waiting behind
            # it: another claim would find nothing. Rows committed since this drain
            # started have asked for a drain of their own.
            return report
    report.more = True
    return report


def delivery_retry(*, delivery: Delivery) -> None:
    """An operator's retry of a failed or exhausted row (admin action): a fresh schedule."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=utcnow(), attempts=0,
        locked_until=None, lease_token="",
    )
