"""The whole Ashby flow over real HTTP: the simulator, acting as Ashby, calls the gateway
served by ``live_server``; the tenant reports results through the unified API; the
outbox sends ``assessment.update`` to the simulator, which checks every one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from connectors.ashby.simulator import AshbySimulator
from gateway.delivery.models import Delivery, DeliveryKind, DeliveryStatus
from gateway.tenancy.models import Account
from gateway.timefmt import utcnow
from tests.conftest import TenantHandle
from tests.connectors.ashby.conftest import API_KEY, CATALOG, FINAL_RESULT, AshbyAccount, link_ashby

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulator() -> Iterator[AshbySimulator]:
    ashby = AshbySimulator(api_key=API_KEY)
    with ashby.serve():
        yield ashby


@pytest.fixture
def account(tenant: TenantHandle, simulator: AshbySimulator, live_server: Any) -> AshbyAccount:
    linked = link_ashby(tenant, settings={"api_base_url": simulator.public_url, "callback_hosts": ["127.0.0.1"]})
    simulator.partner_base_url = f"{live_server.url}/connectors/ashby/"
    simulator.inbound_key = linked.key
    return linked


def send_updates(order_id: str) -> list[str]:
    """Send the order's pending partner deliveries, oldest first, as a worker would."""
    from gateway.delivery.sender import delivery_send

    rows = Delivery.objects.filter(order_id=order_id, kind=DeliveryKind.PARTNER, status=DeliveryStatus.PENDING)
    return [delivery_send(row_id) for row_id in rows.order_by("id").values_list("id", flat=True)]


def test_start_to_result_over_real_http(account: AshbyAccount, simulator: AshbySimulator) -> None:
    types = {item["name"]: item["assessment_type_id"] for item in simulator.list_assessments()}
    assert list(types) == [package["name"] for package in CATALOG]
    assessment_id = simulator.start(types["Python (Senior)"], application_id="app-1")
    assert simulator.start(types["Python (Senior)"], application_id="app-1") == assessment_id  # a re-send
    order_id = account.order_for(assessment_id)["id"]
    assert len(account.orders()) == 1

    account.report_result(order_id, {"result": {"value": "in_progress"}, "start_date": "2026-03-02T14:05:00Z"})
    assert send_updates(order_id) == ["sent"]
    assert simulator.assessment(assessment_id).status == "Started"

    account.report_result(order_id, FINAL_RESULT)
    assert send_updates(order_id) == ["sent"]
    done = simulator.assessment(assessment_id)
    assert done.status == "Completed" and done.completed
    assert done.result["value"] == 84 and done.profile_url == FINAL_RESULT["result_url"]
    assert done.metadata["result-max"]["value"] == 50 and done.metadata["passed"]["value"] is True
    assert done.metadata["duration"]["value"] == 44

    # A corrected score twice before a worker runs: both rows carry the newest state.
    account.report_result(order_id, {"score": {"value": "45", "max": "50"}})
    account.report_result(order_id, {"score": {"value": "47", "max": "50"}})
    assert send_updates(order_id) == ["sent", "sent"]
    assert simulator.assessment(assessment_id).result["value"] == 94
    # Never backwards; the second row of the same state is a replay with the same stamp.
    stamps = [update.body["timestamp"] for update in simulator.assessment(assessment_id).updates]
    assert stamps == sorted(stamps) and len(stamps) == 4 and len(set(stamps)) == 3
    assert simulator.violations == []


def test_cancel_from_ashby_is_confirmed(account: AshbyAccount, simulator: AshbySimulator) -> None:
    type_id = simulator.list_assessments()[1]["assessment_type_id"]
    assessment_id = simulator.start(type_id)
    assert simulator.cancel(assessment_id) == {"success": True, "results": {"assessment_id": assessment_id}}
    order = account.order_for(assessment_id)
    assert order["status"] == "cancelled"
    assert send_updates(order["id"]) == ["sent"]
    assert simulator.assessment(assessment_id).cancelled_reason == "Cancelled in Ashby"
    assert simulator.cancel("3f0a4d7e-9a43-4b8e-8a8e-1e5d2f8c6b11")["errorInfo"]["code"] == "not_found"
    assert simulator.violations == []


def test_an_erased_order_sends_nothing_more(account: AshbyAccount, simulator: AshbySimulator) -> None:
    assessment_id = simulator.start(simulator.list_assessments()[0]["assessment_type_id"])
    order_id = account.order_for(assessment_id)["id"]
    account.report_result(order_id, FINAL_RESULT)
    assert account.unified().delete(f"/unified/ats/assessments/orders/{order_id}").status_code == 204
    assert send_updates(order_id) == []
    assert simulator.assessment(assessment_id).updates == []


def test_an_outage_is_retried_and_bad_input_is_not(account: AshbyAccount, simulator: AshbySimulator) -> None:
    assessment_id = simulator.start(simulator.list_assessments()[0]["assessment_type_id"])
    order_id = account.order_for(assessment_id)["id"]
    simulator.fail_next_updates(1, 503)
    account.report_result(order_id, FINAL_RESULT)
    assert send_updates(order_id) == ["failed"]
    row = Delivery.objects.get(order_id=order_id, kind=DeliveryKind.PARTNER)
    assert row.status == DeliveryStatus.PENDING and row.last_status_code == 503
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=utcnow() - timedelta(seconds=1))
    assert send_updates(order_id) == ["sent"]
    assert simulator.assessment(assessment_id).completed

    simulator.fail_next_updates(1, code="invalid_input")
    account.report_result(order_id, {"summary": "Rescored"})
    assert send_updates(order_id) == ["failed"]
    refused = Delivery.objects.filter(order_id=order_id, kind=DeliveryKind.PARTNER).order_by("-id").first()
    assert refused is not None and refused.status == DeliveryStatus.FAILED
    assert "invalid_input" in refused.last_error
    assert Account.objects.get(id=account.id).status == "active"


def test_a_key_without_the_permission_puts_the_account_in_error(account: AshbyAccount,
                                                                simulator: AshbySimulator) -> None:
    assessment_id = simulator.start(simulator.list_assessments()[0]["assessment_type_id"])
    order_id = account.order_for(assessment_id)["id"]
    simulator.permissions = ("candidatesRead",)
    account.report_result(order_id, FINAL_RESULT)
    assert send_updates(order_id) == ["failed"]
    row = Delivery.objects.get(order_id=order_id, kind=DeliveryKind.PARTNER)
    assert row.status == DeliveryStatus.FAILED and row.last_status_code == 403
    assert Account.objects.get(id=account.id).status == "error"
    assert API_KEY not in (row.last_error or "")
