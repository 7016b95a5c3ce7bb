"""Celery tasks for TestDome: process one webhook trigger; reconcile on a schedule.

Thin, as every task here: take ids, load, call ``connectors.testdome.sync``. Both are
safe to run twice (a re-read that finds nothing new writes nothing), so they acknowledge
late. ``gateway.celery`` finds this module through the connector registry; beat runs
``testdome_reconcile`` from ``CELERY_BEAT_SCHEDULE`` (every 10 minutes).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from connectors.base import ProviderError

logger = logging.getLogger(__name__)

WEBHOOK_TASK = "connectors.testdome.webhook_process"
RECONCILE_TASK = "connectors.testdome.reconcile"
RETRY_DELAYS = (60, 300, 900)  # a trigger that failed upstream; reconciliation is the net


def _account(account_id: str) -> Any:
    from gateway.tenancy.models import Account

    return Account.objects.linked().filter(id=account_id, provider="testdome").first()


@shared_task(bind=True, name=WEBHOOK_TASK, max_retries=len(RETRY_DELAYS), acks_late=True, ignore_result=True)
def testdome_webhook_process(
    self: Any, account_id: str, candidate_id: str, test_id: str | None, status: str = ""
) -> int:
    """Re-read what a webhook points at and sync the matching orders; returns how many
    orders changed. Retried later when TestDome fails (not when run inline)."""
    from connectors.testdome.sync import webhook_trigger_process

    account = _account(account_id)
    if account is None:
        return 0  # unlinked meanwhile
    try:
        return webhook_trigger_process(account=account, candidate_id=candidate_id, test_id=test_id)
    except ProviderError as exc:
        if self.request.called_directly or self.request.is_eager:
            logger.warning("TestDome webhook for %s not processed (%s); reconciliation will", candidate_id, exc)
            return 0
        delay = RETRY_DELAYS[min(self.request.retries, len(RETRY_DELAYS) - 1)]
        raise self.retry(exc=exc, countdown=delay) from None


@shared_task(name=RECONCILE_TASK, acks_late=True, ignore_result=True)
def testdome_reconcile() -> int:
    """Re-read open and in-progress TestDome orders of every account, in bounded batches
    (webhooks arrive at most twice and up to an hour late, and scoring ends silently)."""
    from connectors.testdome.sync import reconcile_all

    return reconcile_all()
