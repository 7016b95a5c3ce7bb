"""The provider-role result pipeline, for every connector that reads results back:
a webhook as a trigger → ``handle_webhook`` names the orders → ``fetch_result`` re-reads
each → the state is stored under a row lock → ``ats_assessments.updated`` (and the
``results_update_url`` callback) when something changed; and reconciliation, which
re-reads open orders on the connector's declared schedule because webhooks are late,
duplicated or lost.

Nothing here trusts a webhook's payload: only what ``fetch_result`` reads through the
provider's authenticated API is stored.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

from gateway.assessments.connectors import account_connector
from gateway.assessments.models import OPEN_ORDER_STATUSES, Order
from gateway.assessments.snapshots import order_view
from gateway.ports import context_for
from gateway.registry import registry
from gateway.sdk import Capability, Connector, Context, OrderView, ProviderError, Webhook
from gateway.tenancy.models import Account

logger = logging.getLogger(__name__)

RECONCILE_BATCH = 50  # orders per account per run
RECONCILE_BUDGET_SECONDS = 40.0  # well under the Celery soft time limit (60 s)
MAX_CONSECUTIVE_FAILURES = 3  # then leave the account for the next run (e.g. a bad password)
WEBHOOK_FANOUT_LIMIT = 100  # orders one webhook may have re-read


def order_refresh(connector: Connector, ctx: Context, order: OrderView) -> bool:
    """Re-read one order at the provider and store what changed."""
    if order.erased:
        return False
    state = connector.fetch_result(ctx, order)  # type: ignore[attr-defined]
    if state is None:
        logger.info("%s has nothing for order %s yet", ctx.account.provider, order.id)
        return False
    return ctx.orders.apply(order.id, state)


def webhook_process(*, account: Account, webhook: Webhook) -> int:
    """Let the connector name the orders a webhook is about, then re-read them; returns
    how many changed. A ``ProviderError`` leaves for the caller (the task retries)."""
    connector = account_connector(account)
    if not connector.supports(Capability.HANDLE_WEBHOOK):
        return 0
    ctx = context_for(account)
    order_ids = list(connector.handle_webhook(ctx, webhook))[:WEBHOOK_FANOUT_LIMIT]  # type: ignore[attr-defined]
    changed = 0
    for order_id in order_ids:
        order = ctx.orders.get(order_id)
        if order is not None:
            changed += order_refresh(connector, ctx, order)
    return changed


def account_reconcile(*, account: Account, limit: int = RECONCILE_BATCH, deadline: float | None = None) -> int:
    """Re-read the next ``limit`` open orders of ``account``; returns how many changed.

    A cursor in the cache (the last order id seen) moves through the open orders run
    after run and wraps around, so unchanged orders cannot starve the others.
    """
    connector = account_connector(account)
    ctx = context_for(account)
    cursor_key = f"reconcile:cursor:{account.id}"
    after = cache.get(cursor_key) or ""
    orders = (
        Order.objects.filter(account=account, erased_at__isnull=True, status__in=OPEN_ORDER_STATUSES)
        .select_related("result")
        .order_by("id")
    )
    batch = list(orders.filter(id__gt=after)[:limit])
    if len(batch) < limit:
        seen = {o.id for o in batch}
        batch += [o for o in orders[: limit - len(batch)] if o.id not in seen]
    changed = failures = 0
    last = after
    for row in batch:
        if deadline is not None and time.monotonic() > deadline:
            break
        try:
            changed += order_refresh(connector, ctx, order_view(row))
            failures = 0
        except ProviderError as exc:
            failures += 1
            logger.warning("Reconciling order %s failed: %s", row.id, exc)
            if exc.retry_after or failures >= MAX_CONSECUTIVE_FAILURES:
                break  # rate limited, or the provider is down: leave it for the next run
        last = row.id
    cache.set(cursor_key, last, None)
    return changed


def provider_reconcile(provider: str, *, budget: float = RECONCILE_BUDGET_SECONDS) -> int:
    """Every linked account of ``provider``, one batch each, within ``budget`` seconds;
    the accounts' order rotates between runs so a long run cannot starve the last ones."""
    connector = registry().get(provider)
    if not connector.supports(Capability.FETCH_RESULT):
        return 0
    deadline = time.monotonic() + budget
    ids = list(Account.objects.linked().filter(provider=provider).order_by("id").values_list("id", flat=True))
    cursor_key = f"reconcile:account_cursor:{provider}"
    start_after = cache.get(cursor_key) or ""
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
            logger.warning("Reconciling account %s failed: %s", account_id, exc)
        cache.set(cursor_key, account_id, None)
    return changed
