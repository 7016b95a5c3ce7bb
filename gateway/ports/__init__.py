"""The core's side of the SDK's ports: ``context_for(account)`` builds the ``Context`` a
connector operation receives. Everything in it is bound to that one account."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from gateway.assessments.schedules import JOB_TASK
from gateway.outbound import client_from_settings
from gateway.ports.http import RecordingHttp
from gateway.ports.orders import AccountCatalog, AccountOrders
from gateway.ports.stores import AccountCache, AccountTokens
from gateway.runner import enqueue
from gateway.sdk import AccountSnapshot, Context
from gateway.tenancy.models import Account

logger = logging.getLogger(__name__)


def account_snapshot(account: Account) -> AccountSnapshot:
    return AccountSnapshot(
        id=account.id,
        provider=account.provider,
        status=account.status,
        credentials=dict(account.credentials or {}),
        settings=dict(account.settings or {}),
        inbound_key=account.inbound_secret or None,
    )


class _Defer:
    """``ctx.defer``: queue a connector job after the current transaction commits, so
    the job sees what the operation wrote (and nothing when it rolled back)."""

    def __init__(self, account: Account) -> None:
        self._provider, self._account_id = account.provider, account.id

    def __call__(self, job: str, **kwargs: Any) -> None:
        provider, account_id = self._provider, self._account_id
        transaction.on_commit(lambda: _job_enqueue(provider, account_id, job, kwargs))


def _job_enqueue(provider: str, account_id: str, job: str, kwargs: dict[str, Any]) -> None:
    try:
        enqueue(JOB_TASK, provider, account_id, job, kwargs)
    except Exception:  # the broker's failures are many and all mean "not queued"
        logger.exception("Could not queue job %s of %s for account %s", job, provider, account_id)


def context_for(
    account: Account,
    *,
    proxy: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Context:
    calls: list[Any] = []
    holder: list[Context] = []
    ctx = Context(
        account=account_snapshot(account),
        http=RecordingHttp(client_from_settings(), calls),
        tokens=AccountTokens(account_id=account.id, cache=cache, clock=clock, sleep=sleep),
        cache=AccountCache(account_id=account.id, cache=cache),
        orders=AccountOrders(account, lambda: holder[0]),
        catalog=AccountCatalog(account),
        defer=_Defer(account),
        public_url=settings.GATEWAY_PUBLIC_URL,
        clock=clock,
        sleep=sleep,
        calls=calls,
        proxy=dict(proxy or {}),
    )
    holder.append(ctx)
    return ctx
