"""Results in: TestDome's webhook is only a trigger; the gateway re-reads the candidate,
stores the result, and queues ``ats_assessments.updated`` for the tenant's endpoints and
the order's ``results_update_url``. Reconciliation recovers what webhooks miss."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections

from connectors.testdome import tasks
from connectors.testdome.simulator import TestDomeSimulator
from gateway.assessments.models import Order, Result
from gateway.delivery.models import Delivery, DeliveryKind, EventType
from tests.connectors.testdome.conftest import RESULTS_URL
from tests.helpers import error_of

ENDPOINT = "https://hooks.acme.example/gateway-events"


def updates(order_id: str, kind: str | None = None) -> list[Delivery]:
    rows = Delivery.objects.filter(order_id=order_id, event_type=EventType.UPDATED).order_by("id")
    return list(rows.filter(kind=kind) if kind else rows)


def candidate_reads(sim: TestDomeSimulator, candidate_id: int) -> int:
    return sum(1 for c in sim.api_calls if c.method == "GET" and c.path == f"/v3/candidates/{candidate_id}")


def test_a_completed_candidate_flows_to_the_result_and_the_callbacks(
    tenant: Any,
    api: Any,
    sim: TestDomeSimulator,
    place_order: Any,
    deliver: Any,
) -> None:
    endpoint = tenant.client.post("/webhook_endpoints", {"url": ENDPOINT, "events": ["*"]}, format="json")
    assert endpoint.status_code == 201, endpoint.content
    body, candidate_id = place_order()
    version = Order.objects.get(pk=body["id"]).version

    sim.complete_candidate(candidate_id, 85, time_taken=1500)
    responses = deliver()
    assert [r.status_code for r in responses] == [200]
    assert responses[0].json() == {"received": True}

    order = Order.objects.get(pk=body["id"])
    assert order.status == "completed" and order.version == version + 1
    result = Result.objects.get(order=order)
    assert result.score == {"label": "score", "value": "85", "min": "0", "max": "100"}
    assert (result.result_value, result.result_source_value) == ("passed", "completed")
    assert result.result_url and "/public/report/" in result.result_url  # the no-login link
    assert result.submission_date is not None
    assert (result.submission_date - result.start_date).total_seconds() == 1500
    assert "Score 85%" in result.summary

    [callback] = updates(order.id, DeliveryKind.RESULTS_CALLBACK)
    assert callback.url == RESULTS_URL and callback.order_version == order.version
    [hook] = updates(order.id, DeliveryKind.WEBHOOK)
    assert hook.url == ENDPOINT and hook.event_id == callback.event_id

    shown = api.get(f"/unified/ats/assessments/orders/{order.id}/result").json()["data"]
    assert shown["result"] == {"value": "passed", "source_value": "completed"}
    assert shown["score"]["value"] == "85"


def test_a_duplicate_webhook_does_nothing_twice(
    api: Any, sim: TestDomeSimulator, place_order: Any, deliver: Any
) -> None:
    body, candidate_id = place_order()
    reads = candidate_reads(sim, candidate_id)
    sim.complete_candidate(candidate_id, 70, webhook="duplicate")
    responses = deliver()
    assert [r.status_code for r in responses] == [200, 200]
    assert candidate_reads(sim, candidate_id) == reads + 1  # one re-read for two webhooks
    assert len(updates(body["id"], DeliveryKind.RESULTS_CALLBACK)) == 1


def test_a_retry_under_a_new_correlation_id_is_still_a_duplicate(
    api: Any, sim: TestDomeSimulator, place_order: Any, deliver: Any
) -> None:
    body, candidate_id = place_order()
    reads = candidate_reads(sim, candidate_id)
    sim.complete_candidate(candidate_id, 70, webhook="duplicate_new_id")
    assert [r.status_code for r in deliver()] == [200, 200]
    assert candidate_reads(sim, candidate_id) == reads + 1  # one re-read for two webhooks
    assert len(updates(body["id"])) == 1


def test_a_webhook_with_a_guid_candidate_id_still_finds_its_order(
    api: Any, sim: TestDomeSimulator, place_order: Any, deliver: Any
) -> None:
    sim.webhook_candidate_ids = "guid"
    test_id = sim.add_test("Go")
    body, candidate_id = place_order("guid@example.com", test_id=test_id)
    other, _ = place_order("someone.else@example.com", test_id=test_id)
    sim.complete_candidate(candidate_id, 30)
    responses = deliver()
    assert [r.status_code for r in responses] == [200]
    payload = sim.webhook_deliveries[-1].payload
    assert not payload["candidateId"].isdigit() and payload["testId"] == test_id
    order = Order.objects.get(pk=body["id"])
    assert order.status == "completed" and order.result.result_value == "failed"
    assert Order.objects.get(pk=other["id"]).status == "open"
    assert len(updates(other["id"])) == 0


def test_a_missed_webhook_is_recovered_by_reconciliation(
    api: Any, sim: TestDomeSimulator, place_order: Any, deliver: Any
) -> None:
    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 91, webhook="drop")
    assert deliver() == []
    assert Order.objects.get(pk=body["id"]).status == "open"
    assert tasks.testdome_reconcile() == 1
    order = Order.objects.get(pk=body["id"])
    assert order.status == "completed" and order.result.score["value"] == "91"
    assert len(updates(order.id, DeliveryKind.RESULTS_CALLBACK)) == 1
    assert tasks.testdome_reconcile() == 0  # completed orders are no longer re-read
    assert len(updates(order.id)) == 1


def test_reconciliation_sees_started_and_expired_candidates(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order()
    assert tasks.testdome_reconcile() == 0  # nothing changed: nothing announced
    assert updates(body["id"]) == []
    sim._candidates[candidate_id]["status"] = "started"  # the simulator has no "start" helper
    assert tasks.testdome_reconcile() == 1
    order = Order.objects.get(pk=body["id"])
    assert order.status == "in_progress" and order.result.result_value == "in_progress"
    sim.advance_time(8 * 24 * 3600)  # past the 7-day deadline: didNotTake
    assert tasks.testdome_reconcile() == 1
    order.refresh_from_db()
    assert order.status == "expired" and order.result.result_value == "expired"
    assert order.result.result_url is None


def test_passed_override_wins(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 35, webhook="drop")  # below the cutoff: failed
    sim.set_passed_override(candidate_id, True)
    tasks.testdome_reconcile()
    result = Result.objects.get(order_id=body["id"])
    assert result.result_value == "passed" and result.score["value"] == "35"
    assert "manually" in result.summary


def test_needs_scoring_stays_open_until_scored(
    api: Any, sim: TestDomeSimulator, place_order: Any, deliver: Any
) -> None:
    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 50, needs_scoring=True, max_score=90)
    deliver()
    order = Order.objects.get(pk=body["id"])
    assert order.status == "in_progress"
    assert order.result.result_value == "in_progress" and order.result.score["value"] == "50"
    assert "provisional (up to 90%)" in order.result.summary
    assert len(updates(order.id, DeliveryKind.RESULTS_CALLBACK)) == 1

    assert tasks.testdome_reconcile() == 0  # still waiting: re-read, nothing new
    sim.finish_scoring(candidate_id, 75)  # TestDome sends no webhook for this
    assert tasks.testdome_reconcile() == 1
    order.refresh_from_db()
    assert order.status == "completed"
    assert order.result.result_value == "passed" and order.result.score["value"] == "75"
    assert len(updates(order.id, DeliveryKind.RESULTS_CALLBACK)) == 2
    shares = [c for c in sim.api_calls if c.path.endswith("/sharing-url")]
    assert len(shares) == 1  # the report link is created once and kept


def test_a_webhook_while_testdome_fails_is_answered_and_recovered(
    api: Any,
    sim: TestDomeSimulator,
    place_order: Any,
    deliver: Any,
) -> None:
    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 80)
    sim.fail_next(1, status=500)
    assert [r.status_code for r in deliver()] == [200]
    assert Order.objects.get(pk=body["id"]).status == "open"
    tasks.testdome_reconcile()
    assert Order.objects.get(pk=body["id"]).status == "completed"


def test_a_cancelled_candidate_cancels_the_order(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order()
    sim._cancel_invite(None, str(candidate_id))  # cancelled in TestDome's UI
    tasks.testdome_reconcile()
    order = Order.objects.get(pk=body["id"])
    assert order.status == "cancelled" and order.result.result_value == "cancelled"


def test_erased_orders_are_left_alone(
    api: Any, sim: TestDomeSimulator, place_order: Any, client: Any, webhook_path: str
) -> None:
    body, candidate_id = place_order()
    api.delete(f"/unified/ats/assessments/orders/{body['id']}")
    before = Delivery.objects.count()
    response = client.post(
        webhook_path,
        {"candidateId": str(candidate_id), "testId": 1, "status": "Canceled"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert Delivery.objects.count() == before
    assert not Result.objects.filter(order_id=body["id"]).exists()


def test_a_candidate_of_no_order_is_ignored(api: Any, sim: TestDomeSimulator, client: Any, webhook_path: str) -> None:
    response = client.post(
        webhook_path, {"candidateId": "999999", "testId": 5, "status": "Completed"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert not Delivery.objects.exists()


def test_a_wrong_token_is_a_404(client: Any, account: Any, webhook_path: str) -> None:
    wrong = webhook_path.rsplit("/", 1)[0] + "/not-the-token"
    body = error_of(
        client.post(wrong, {"candidateId": "1", "testId": 1, "status": "Completed"}, content_type="application/json"),
        404,
    )
    assert body["message"] == "Not found"


def test_bad_webhook_requests(client: Any, account: Any, webhook_path: str) -> None:
    error_of(client.get(webhook_path), 405)
    error_of(client.post(webhook_path, "{not json", content_type="application/json"), 400)
    error_of(client.post(webhook_path, "candidateId=1", content_type="application/x-www-form-urlencoded"), 415)
    body = error_of(client.post(webhook_path, {"testId": 1}, content_type="application/json"), 422)
    assert body["errors"][0]["field"] == "candidateId"


def test_an_unlinked_account_gets_no_webhooks(tenant: Any, account: Any, client: Any, webhook_path: str) -> None:
    assert tenant.client.delete(f"/accounts/{account['id']}").status_code == 204
    error_of(
        client.post(
            webhook_path, {"candidateId": "1", "testId": 1, "status": "Completed"}, content_type="application/json"
        ),
        404,
    )


def test_the_webhook_answers_before_it_works(
    rf: Any, sim: TestDomeSimulator, place_order: Any, webhook_path: str
) -> None:
    from connectors.testdome.webhooks import webhook_receive

    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 80, webhook="drop")
    request = rf.post(
        webhook_path,
        {"candidateId": str(candidate_id), "testId": 1, "status": "Completed"},
        content_type="application/json",
        headers={"X-TestDome-CorrelationId": "corr-1"},
    )
    calls_before = len(sim.api_calls)
    response = webhook_receive(request, webhook_path.rsplit("/", 1)[1])
    assert response.status_code == 200
    assert len(sim.api_calls) == calls_before  # nothing done before the answer is out
    assert Order.objects.get(pk=body["id"]).status == "open"
    # What the WSGI server calls once the response is sent. Like Django's test client,
    # keep request_finished from closing the connection that holds the test transaction.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert Order.objects.get(pk=body["id"]).status == "completed"


def test_reconciliation_moves_through_the_orders_in_batches(
    api: Any, sim: TestDomeSimulator, place_order: Any, account: Any
) -> None:
    from connectors.testdome.sync import account_reconcile
    from gateway.tenancy.models import Account

    ids = [place_order(f"c{n}@example.com")[1] for n in range(3)]
    linked = Account.objects.get(pk=account["id"])
    seen_before = {cid: candidate_reads(sim, cid) for cid in ids}
    account_reconcile(account=linked, limit=2)
    account_reconcile(account=linked, limit=2)
    reads = [candidate_reads(sim, cid) - seen_before[cid] for cid in ids]
    assert reads == [2, 1, 1]  # 1, 2, then 3 and around to 1: none starves


def test_reconciliation_gives_up_on_an_account_that_keeps_failing(
    api: Any, sim: TestDomeSimulator, place_order: Any
) -> None:
    for n in range(5):
        place_order(f"c{n}@example.com")
    calls_before = len(sim.api_calls)
    sim.fail_next(10, status=500)
    assert tasks.testdome_reconcile() == 0
    assert len(sim.api_calls) - calls_before == 3  # three failures in a row, then the next run


def test_a_failed_trigger_is_retried_by_celery(
    api: Any, sim: TestDomeSimulator, place_order: Any, account: Any, monkeypatch: Any
) -> None:
    from celery.exceptions import Retry

    _, candidate_id = place_order()
    sim.fail_next(1, status=500)
    retried: list[dict[str, Any]] = []

    def fake_retry(**kwargs: Any) -> Retry:
        retried.append(kwargs)
        return Retry()

    monkeypatch.setattr(tasks.testdome_webhook_process, "retry", fake_retry)
    tasks.testdome_webhook_process.push_request(called_directly=False, is_eager=False, retries=1)
    try:
        with pytest.raises(Retry):
            tasks.testdome_webhook_process.run(account["id"], str(candidate_id), None, "Completed")
    finally:
        tasks.testdome_webhook_process.pop_request()
    assert retried[0]["countdown"] == tasks.RETRY_DELAYS[1]


@pytest.mark.django_db
def test_a_trigger_for_an_unlinked_account_is_dropped(sim: TestDomeSimulator) -> None:
    assert tasks.testdome_webhook_process.run("acc_gone", "1", "2", "Completed") == 0


def test_delete_finds_a_candidate_that_was_never_attached(
    api: Any,
    sim: TestDomeSimulator,
    connector: Any,
    monkeypatch: Any,
) -> None:
    from tests.connectors.testdome.conftest import order_body

    monkeypatch.setattr(type(connector), "candidate_find", lambda self, ctx, test_id, email: None)
    test_id = sim.add_test("Go")
    created = api.post("/unified/ats/assessments/orders", order_body(test_id, "lost@example.com"), format="json")
    monkeypatch.undo()
    assert api.delete(f"/unified/ats/assessments/orders/{created.json()['id']}").status_code == 204
    [candidate_id] = sim.candidate_ids(email="lost@example.com")
    assert sim.candidate(candidate_id)["status"] == "canceled"


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        ({"candidateId": "ab12", "testId": 7, "status": "Completed"}, ("ab12", "7", "Completed")),
        ({"candidateId": 12, "testId": "7", "extra": 1}, ("12", "7", "")),
        ({"candidateId": "x", "testId": True, "status": 5}, ("x", None, "")),
        ({"candidateId": True}, None),
        ({"candidateId": " "}, None),
        ({"candidateId": "x" * 101}, None),
        (["candidateId"], None),
    ],
)
def test_candidate_event_parse(payload: Any, parsed: tuple[str, str | None, str] | None) -> None:
    from connectors.testdome.webhooks import candidate_event_parse

    event = candidate_event_parse(payload)
    assert (event and (event.candidate_id, event.test_id, event.status)) == parsed
