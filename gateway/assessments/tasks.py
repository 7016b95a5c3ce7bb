"""Celery tasks that run connector work: webhook triggers, reconciliation, declared jobs
and periodic jobs. Thin, as every task here: take ids, load, call a function. All are
safe to run twice (a re-read that finds nothing new writes nothing), so they
acknowledge late.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task

from gateway.assessments import pipeline
from gateway.assessments.schedules import JOB_TASK, PERIODIC_TASK, RECONCILE_TASK, WEBHOOK_TASK
from gateway.ports import context_for
from gateway.registry import UnknownConnector, registry
from gateway.sdk import ProviderError, Webhook
from gateway.tenancy.models import Account

logger = logging.getLogger(__name__)

RETRY_DELAYS = (60, 300, 900)  # a trigger that failed upstream; reconciliation is the net
PERIODIC_BUDGET_SECONDS = 40.0


def _account(account_id: str) -> Account | None:
    return Account.objects.linked().filter(id=account_id).first()


def _retry_delay(task: Any, exc: ProviderError) -> float:
    delay = RETRY_DELAYS[min(task.request.retries, len(RETRY_DELAYS) - 1)]
    return max(delay, exc.retry_after or 0)


@shared_task(bind=True, name=WEBHOOK_TASK, max_retries=len(RETRY_DELAYS), acks_late=True, ignore_result=True)
def webhook_process_task(self: Any, account_id: str, payload: Any, headers: dict[str, str]) -> int:
    """Re-read what a webhook points at; retried later when the provider fails (not when
    run inline: then reconciliation is the net)."""
    account = _account(account_id)
    if account is None:
        return 0  # unlinked meanwhile
    try:
        return pipeline.webhook_process(account=account, webhook=Webhook(payload=payload, headers=headers))
    except ProviderError as exc:
        if self.request.called_directly or self.request.is_eager:
            logger.warning("Webhook for account %s not processed (%s); reconciliation will", account_id, exc)
            return 0
        raise self.retry(exc=exc, countdown=_retry_delay(self, exc)) from None


@shared_task(name=RECONCILE_TASK, acks_late=True, ignore_result=True)
def reconcile_task(provider: str) -> int:
    """Re-read open orders of every account of ``provider``, in bounded batches."""
    try:
        return pipeline.provider_reconcile(provider)
    except UnknownConnector:
        return 0  # uninstalled since the schedule was built


@shared_task(name=JOB_TASK, acks_late=True, ignore_result=True)
def connector_job_task(provider: str, account_id: str, job: str, kwargs: dict[str, Any]) -> None:
    """A job a connector deferred (``ctx.defer``): best effort, logged when it fails."""
    account = _account(account_id)
    if account is None or account.provider != provider:
        return
    connector = registry().get(provider)
    if job not in connector.jobs:
        logger.error("Connector %s has no job %r; dropped", provider, job)
        return
    try:
        getattr(connector, job)(context_for(account), **kwargs)
    except ProviderError as exc:
        logger.warning("Job %s of %s for account %s failed: %s", job, provider, account_id, exc)


@shared_task(name=PERIODIC_TASK, acks_late=True, ignore_result=True)
def connector_periodic_task(provider: str, name: str) -> int:
    """A connector's declared periodic job, for every linked account, within a budget."""
    try:
        connector = registry().get(provider)
    except UnknownConnector:
        return 0
    periodic = next((p for p in connector.periodic if p.name == name), None)
    if periodic is None:
        return 0
    deadline = time.monotonic() + PERIODIC_BUDGET_SECONDS
    done = 0
    for account in Account.objects.linked().filter(provider=provider).order_by("id").iterator():
        if time.monotonic() > deadline:
            break
        try:
            getattr(connector, periodic.method)(context_for(account))
            done += 1
        except ProviderError as exc:
            logger.warning("Periodic %s of %s for account %s failed: %s", name, provider, account.id, exc)
    return done
