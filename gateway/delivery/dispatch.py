"""Handing outbox rows to workers, right after the transaction that wrote them commits.

With Celery, committed rows only ask for a drain task (``sender.deliveries_drain``),
which sends every due row in batches. The in-process runners (embedded mode, tests)
run one task per row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from django.core.cache import cache

from gateway.delivery.services import on_deliveries_committed
from gateway.runner import enqueue, mode

logger = logging.getLogger(__name__)

# The tasks (gateway/delivery/tasks.py) by name: that module imports this one.
SEND_TASK = "delivery.send"
DRAIN_TASK = "delivery.drain"

# Set while a drain task is queued and has not started: the shared cache's atomic add
# (Redis SET NX) lets one commit in any process queue it and every later one skip.
DRAIN_PENDING_KEY = "delivery:drain-pending"
# If that task is lost (a broker restart), later commits queue another after this long;
# the sweeper drains meanwhile.
DRAIN_PENDING_SECONDS = 10


@on_deliveries_committed
def dispatch(delivery_ids: Iterable[str]) -> None:
    if mode() == "celery":
        drain_request()
        return
    for delivery_id in delivery_ids:
        enqueue(SEND_TASK, delivery_id)


def dispatch_leased(leases: Mapping[str, str]) -> None:
    """Rows the sweeper leased: each task carries the lease token that lets it send."""
    for delivery_id, token in leases.items():
        enqueue(SEND_TASK, delivery_id, token)


def drain_request() -> None:
    """Queue a drain task unless one is already waiting to start.

    No row is left behind: a waiting task claims rows only after it starts (and clears
    the key, ``drain_started``), so it sees every row committed before this call.
    """
    try:
        if not cache.add(DRAIN_PENDING_KEY, 1, timeout=DRAIN_PENDING_SECONDS):
            return
    except Exception:  # the cache is down; so is the broker, most likely: try anyway
        logger.exception("Could not check for a waiting drain task; queueing one")
    enqueue(DRAIN_TASK)


def drain_started() -> None:
    """Called by a drain task before it claims anything: later commits queue another."""
    try:
        cache.delete(DRAIN_PENDING_KEY)
    except Exception:  # the key expires by itself; the sweeper covers the meantime
        logger.exception("Could not clear the waiting-drain mark")
