"""TestDome's state → orders: one write service (``order_sync_from_provider``) and the
two ways that reach it, a webhook trigger and the periodic reconciliation.

Both re-read candidates through the authenticated API; nothing here trusts a payload.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet

from connectors.base import AccountContext, ProviderError
from connectors.testdome import mapping
from connectors.testdome.connector import TestDomeConnector, order_email
from gateway.assessments.connectors import account_connector, account_context
from gateway.assessments.models import Order, OrderStatus, Result
from gateway.assessments.services import result_validate
from gateway.delivery.models import EventType
from gateway.delivery.services import event_emit
from gateway.tenancy.models import Account

logger = logging.getLogger(__name__)

# Re-read while TestDome may still change them (completed-but-needsScoring maps to
# in_progress, so it is covered too).
OPEN_STATUSES = (OrderStatus.OPEN, OrderStatus.IN_PROGRESS)
WEBHOOK_FANOUT_LIMIT = 100  # orders re-read for one webhook whose candidate id is unknown
RECONCILE_BATCH = 50  # orders per account per run
RECONCILE_BUDGET_SECONDS = 40.0  # well under the Celery soft time limit (60 s)
MAX_CONSECUTIVE_FAILURES = 3  # then leave the account for the next run (e.g. bad password)
_RESULT_FIELDS = ("score", "result_url", "summary", "start_date", "submission_date", "passthrough")


# --- the write -----------------------------------------------------------------------------


def _result_apply(result: Result, data: Mapping[str, Any]) -> bool:
    changed = result._state.adding
    for name in _RESULT_FIELDS:
        if name in data and getattr(result, name) != data[name]:
            setattr(result, name, data[name])
            changed = True
    enum = data.get("result") or {}
    for attr, key in (("result_value", "value"), ("result_source_value", "source_value")):
        if getattr(result, attr) != enum.get(key):
            setattr(result, attr, enum.get(key))
            changed = True
    return changed


def order_sync_from_provider(order: Order, mapped: Mapping[str, Any]) -> bool:
    """Apply the provider's state (``mapping.candidate_mapped``) to ``order``.

    Under a row lock: store or replace the result, move the status, attach a missing
    ``remote_id``; when anything changed, bump ``version`` and emit
    ``ats_assessments.updated`` (tenant webhooks and the ``results_update_url``
    callback) in the same transaction. Returns whether anything changed, so a re-read
    that finds nothing new announces nothing. Erased orders are left alone.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("account").get(pk=order.pk)
        if locked.is_erased:
            return False
        changed = False
        remote_id = mapped.get("remote_id")
        if remote_id and not locked.remote_id:
            locked.remote_id = str(remote_id)
            changed = True
        status = mapped.get("status")
        if status and status in OrderStatus.values and status != locked.status:
            locked.status = status
            changed = True
        data = mapped.get("result")
        if data is not None:
            result = Result.objects.select_for_update().filter(order=locked).first() or Result(
                order=locked, account=locked.account
            )
            if _result_apply(result, data):
                result_validate(result)
                result.save()
                changed = True
        if changed:
            locked.version += 1
            locked.save()
            event_emit(account=locked.account, event_type=EventType.UPDATED, order=locked)
    return changed


# --- finding orders -------------------------------------------------------------------------


def open_orders(account: Account) -> QuerySet[Order]:
    return Order.objects.filter(account=account, erased_at__isnull=True, status__in=OPEN_STATUSES)


def order_for_candidate(account: Account, candidate: Mapping[str, Any]) -> Order | None:
    """By ``remote_id``; else an open order of the same test and email that has no
    candidate yet (its invite's look-up found nothing), newest first."""
    if candidate.get("id") is not None:
        order = Order.objects.filter(account=account, remote_id=str(candidate["id"]), erased_at__isnull=True).first()
        if order is not None:
            return order
    test_id, email = mapping.candidate_test_id(candidate), mapping.candidate_email(candidate)
    if not test_id or not email:
        return None
    unattached = (
        open_orders(account).filter(package__remote_id=test_id).filter(Q(remote_id__isnull=True) | Q(remote_id=""))
    )
    for order in unattached.order_by("-created_at")[:WEBHOOK_FANOUT_LIMIT]:
        if (order_email(order) or "").lower() == email:
            return order
    return None


def _connector(account: Account) -> TestDomeConnector:
    connector = account_connector(account)
    if not isinstance(connector, TestDomeConnector):
        raise ProviderError(f"Account {account.id} is not served by the TestDome connector")
    return connector


def order_refresh(connector: TestDomeConnector, ctx: AccountContext, order: Order) -> bool:
    """Re-read one order's candidate and apply it."""
    mapped = connector.fetch_result(ctx, order)
    if mapped is None:
        logger.info("TestDome has no candidate for order %s yet", order.id)
        return False
    return order_sync_from_provider(order, mapped)


# --- the two ways in ------------------------------------------------------------------------


def webhook_trigger_process(*, account: Account, candidate_id: str, test_id: str | None) -> int:
    """A webhook said "something happened to this candidate". Re-read it and sync its
    order; returns how many orders changed.

    The documented sample ``candidateId`` is a GUID, not the numeric v3 id (UNCONFIRMED
    mapping). When it does not resolve, every open order of the event's test is re-read
    instead (bounded), which finds the candidate by the ids and emails we stored.
    """
    connector, ctx = _connector(account), account_context(account)
    candidate = connector.candidate_get(ctx, candidate_id)
    if candidate is not None:
        order = order_for_candidate(account, candidate)
        if order is None:
            logger.info("TestDome candidate %s matches no order of %s", candidate_id, account.id)
            return 0
        return int(order_sync_from_provider(order, connector.candidate_result(ctx, order, candidate)))
    if not test_id:
        logger.info("TestDome webhook for unknown candidate %s names no test", candidate_id)
        return 0
    changed = 0
    for order in open_orders(account).filter(package__remote_id=test_id).order_by("id")[:WEBHOOK_FANOUT_LIMIT]:
        changed += order_refresh(connector, ctx, order)
    return changed


def account_reconcile(*, account: Account, limit: int = RECONCILE_BATCH, deadline: float | None = None) -> int:
    """Re-read the next ``limit`` open orders of ``account``; returns how many changed.

    A cursor in the cache (last order id seen) moves through the open orders run after
    run and wraps around, so unchanged orders cannot starve the others.
    """
    connector, ctx = _connector(account), account_context(account)
    cursor_key = f"testdome:reconcile:cursor:{account.id}"
    after = cache.get(cursor_key) or ""
    orders = open_orders(account).order_by("id")
    batch = list(orders.filter(id__gt=after)[:limit])
    if len(batch) < limit:
        seen = {o.id for o in batch}
        batch += [o for o in orders[: limit - len(batch)] if o.id not in seen]
    changed = failures = 0
    last = after
    for order in batch:
        if deadline is not None and time.monotonic() > deadline:
            break
        try:
            changed += order_refresh(connector, ctx, order)
            failures = 0
        except ProviderError as exc:
            failures += 1
            logger.warning("TestDome reconcile of order %s failed: %s", order.id, exc)
            if failures >= MAX_CONSECUTIVE_FAILURES:
                break
        last = order.id
    cache.set(cursor_key, last, None)
    return changed


def reconcile_all(*, budget: float = RECONCILE_BUDGET_SECONDS) -> int:
    """Every linked TestDome account, one batch each, within ``budget`` seconds; the
    accounts' order rotates between runs so a long run cannot starve the last ones."""
    deadline = time.monotonic() + budget
    ids = list(Account.objects.linked().filter(provider="testdome").order_by("id").values_list("id", flat=True))
    start_after = cache.get("testdome:reconcile:account_cursor") or ""
    ids = [i for i in ids if i > start_after] + [i for i in ids if i <= start_after]
    changed = 0
    for account_id in ids:
        if time.monotonic() > deadline:
            break
        account = Account.objects.linked().filter(id=account_id).first()
        if account is None:
            continue
        try:
            changed += account_reconcile(account=account, deadline=deadline)
        except ProviderError as exc:
            logger.warning("TestDome reconcile of account %s failed: %s", account_id, exc)
        cache.set("testdome:reconcile:account_cursor", account_id, None)
    return changed
