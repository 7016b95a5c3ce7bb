"""What the core runs for a connector on its declaration alone: reconciliation and
periodic jobs in the beat schedule, periodic jobs once per linked account, and jobs a
connector defers, after the transaction that deferred them commits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from django.db import transaction

from gateway.assessments.schedules import PERIODIC_TASK, RECONCILE_TASK, connector_beat_schedule
from gateway.assessments.tasks import connector_job_task, connector_periodic_task
from gateway.ports import context_for
from gateway.registry import override_registry
from gateway.sdk import Capability, Context, OrderView, Periodic, ProviderState
from gateway.tenancy.models import Account
from tests.conftest import TenantHandle
from tests.fakes import FakeAtsConnector, FakeProviderConnector

pytestmark = pytest.mark.django_db


class ScheduledProvider(FakeProviderConnector):
    capabilities = FakeProviderConnector.capabilities | {Capability.FETCH_RESULT}
    reconcile_every = 300
    periodic = (Periodic(name="sync-tests", every=60, method="tests_sync"),)
    jobs: ClassVar[tuple[str, ...]] = ("welcome",)

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[tuple[str, str, Any]] = []

    def fetch_result(self, ctx: Context, order: OrderView) -> ProviderState | None:
        return None

    def tests_sync(self, ctx: Context) -> None:
        self.ran.append(("tests_sync", ctx.account.id, None))

    def welcome(self, ctx: Context, *, note: str) -> None:
        self.ran.append(("welcome", ctx.account.id, note))


@pytest.fixture
def scheduled() -> Iterator[ScheduledProvider]:
    connector = ScheduledProvider()
    with override_registry(FakeAtsConnector(), connector):
        yield connector


def test_the_beat_schedule_comes_from_the_declarations(scheduled: ScheduledProvider) -> None:
    assert connector_beat_schedule() == {
        "fake_provider-reconcile": {"task": RECONCILE_TASK, "schedule": 300.0, "args": ("fake_provider",)},
        "fake_provider-sync-tests": {"task": PERIODIC_TASK, "schedule": 60.0, "args": ("fake_provider", "sync-tests")},
    }


def test_a_periodic_job_runs_once_per_linked_account(tenant: TenantHandle, scheduled: ScheduledProvider) -> None:
    first = tenant.link("fake_provider", credentials={"api_key": "k1"})["id"]
    second = tenant.link("fake_provider", credentials={"api_key": "k2"})["id"]
    tenant.client.delete(f"/accounts/{second}")
    assert connector_periodic_task.run("fake_provider", "sync-tests") == 1
    assert scheduled.ran == [("tests_sync", first, None)]
    assert connector_periodic_task.run("fake_provider", "no-such-job") == 0


def test_a_deferred_job_runs_after_commit_and_not_after_a_rollback(
    tenant: TenantHandle, scheduled: ScheduledProvider, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.GATEWAY_TASK_RUNNER = "sync"
    account = Account.objects.get(id=tenant.link("fake_provider", credentials={"api_key": "k"})["id"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            context_for(account).defer("welcome", note="rolled back")
            raise RuntimeError
        with transaction.atomic():
            context_for(account).defer("welcome", note="kept")
            assert scheduled.ran == []  # not before the commit
    assert len(callbacks) == 1
    assert scheduled.ran == [("welcome", account.id, "kept")]


def test_an_undeclared_job_is_dropped(tenant: TenantHandle, scheduled: ScheduledProvider) -> None:
    account_id = tenant.link("fake_provider", credentials={"api_key": "k"})["id"]
    connector_job_task.run("fake_provider", account_id, "tests_sync", {})
    assert scheduled.ran == []
