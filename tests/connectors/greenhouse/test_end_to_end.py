"""The whole Greenhouse flow over real HTTP: the simulator, acting as Greenhouse, calls the
gateway served by ``live_server``; the tenant reports a result through the unified API;
the gateway's PATCH reaches the simulator, which reads ``test_status`` back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.greenhouse.simulator import DEFAULT_HARVEST_KEY, GreenhouseSimulator
from gateway.assessments.models import Order
from gateway.delivery.models import Delivery, DeliveryKind, EventType
from gateway.sdk.loopback import LoopbackServer
from tests.connectors.greenhouse.conftest import CATALOG, FINAL_RESULT, link_greenhouse

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A tenant's webhook endpoint on loopback that answers 204 and keeps what it got."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.received.append(json.loads(environ["wsgi.input"].read(length) or b"null"))
        start_response("204 No Content", [])
        return [b""]


@pytest.fixture
def greenhouse() -> Iterator[GreenhouseSimulator]:
    simulator = GreenhouseSimulator()
    with simulator.serve():
        yield simulator


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with LoopbackServer(app) as server:
        yield app, server.url


def test_send_test_to_completed_over_real_http(
    live_server: Any, make_tenant: Any, greenhouse: GreenhouseSimulator, receiver: tuple[Receiver, str], settings: Any
) -> None:
    # Background work inline while Greenhouse sends the test: the enrichment and the
    # tenant's webhook have run by the time send_test has answered.
    settings.GATEWAY_TASK_RUNNER = "sync"
    people = greenhouse.seed_demo()
    ada, ada_application = people["candidates"][0], people["applications"][0]
    tenant = make_tenant("vendor")
    account = link_greenhouse(
        tenant,
        publish=False,
        credentials={"harvest_api_key": DEFAULT_HARVEST_KEY},
        settings={"callback_hosts": ["127.0.0.1"], "harvest_base_url": f"{greenhouse.public_url}/v1"},
    )
    assert account.linked["inbound"]["urls"]["send_test"].endswith("/connectors/greenhouse/send_test")
    account.publish(CATALOG)
    account.subscribe(["*"], url=f"{receiver[1]}/hooks")

    # Greenhouse, configured with the gateway's URLs and the account's key.
    greenhouse.partner_base_url = f"{live_server.url}/connectors/greenhouse"
    greenhouse.inbound_key = account.key
    tests = greenhouse.list_tests()
    assert [t["partner_test_id"] for t in tests] == ["tpl-backend-01", "tpl-sql-02"]
    interview_id = greenhouse.send_test("tpl-backend-01", candidate_id=ada["id"])["partner_interview_id"]
    assert greenhouse.violations == []

    order = Order.objects.get(id=interview_id)
    assert order.account_id == account.id and order.status == "open"
    assert order.candidate["remote_id"] == str(ada["id"])
    assert order.application["remote_id"] == str(ada_application["id"])
    assert Delivery.objects.filter(order=order, event_type=EventType.CREATED, kind=DeliveryKind.WEBHOOK).exists()
    # The enrichment task ran after the commit and read Harvest (the simulator's).
    assert order.job["title"] == "Backend Engineer"
    assert order.application["application_status"] == {"value": "active", "source_value": "active"}

    assert [event["type"] for event in receiver[0].received] == ["ats_assessments.created"]
    assert receiver[0].received[0]["data"]["id"] == interview_id

    # A repeated send_test (Greenhouse retrying) finds the same interview.
    take_home = greenhouse.test_for_interview(interview_id)
    assert take_home is not None
    assert greenhouse.resend_test(take_home.id) == {"partner_interview_id": interview_id}
    assert Order.objects.filter(account_id=account.id).count() == 1

    # Before the result, Greenhouse sees a pending status.
    assert greenhouse.test_status(interview_id)["partner_status"] == "open"

    # The tenant reports the result; the partner notification waits in the outbox and is
    # sent here as a worker would send it.
    settings.GATEWAY_TASK_RUNNER = "off"
    account.report_result(interview_id, FINAL_RESULT)
    partner_row = Delivery.objects.get(order_id=interview_id, kind=DeliveryKind.PARTNER)
    assert greenhouse.patches == []

    sender = pytest.importorskip("gateway.delivery.sender")
    if not hasattr(sender, "delivery_send"):
        pytest.skip("gateway.delivery.sender has no delivery_send yet")
    assert sender.delivery_send(partner_row.id) == "sent"
    partner_row.refresh_from_db()
    assert partner_row.status == "succeeded"
    assert greenhouse.patches, "the gateway never sent the PATCH"
    assert all(p.body == b"" for p in greenhouse.patches)
    checked = greenhouse.wait_for_status_checks(interview_id)
    assert checked.patches_accepted >= 1
    assert checked.follow_up_errors == []
    assert checked.latest_status is not None
    assert checked.latest_status["partner_status"] == "complete"
    assert checked.latest_status["partner_score"] == 84
    assert checked.latest_status["partner_profile_url"] == FINAL_RESULT["result_url"]
    assert greenhouse.violations == []
