"""Results in: TestDome's webhook is only a trigger. The core's webhook route answers it,
``handle_webhook`` names the orders, the core re-reads each through ``fetch_result``,
stores the result and queues ``ats_assessments.updated`` for the tenant's endpoints and
the order's ``results_update_url``. The core's reconciliation recovers what webhooks miss."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.urls import resolve

from connectors.testdome.connector import TestDomeConnector
from connectors.testdome.simulator import TestDomeSimulator
from gateway.assessments import pipeline, tasks
from gateway.assessments.models import Order, Result
from gateway.delivery.models import Delivery, DeliveryKind, EventType
from gateway.sdk import Webhook
from gateway.tenancy.models import Account
from tests.connectors.testdome.conftest import ORDERS, RESULTS_URL, order_body, reconcile
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
    assert reconcile() == 1
    order = Order.objects.get(pk=body["id"])
    assert order.status == "completed" and order.result.score["value"] == "91"
    assert len(updates(order.id, DeliveryKind.RESULTS_CALLBACK)) == 1
    assert reconcile() == 0  # completed orders are no longer re-read
    assert len(updates(order.id)) == 1


def test_reconciliation_sees_started_and_expired_candidates(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order()
    assert reconcile() == 0  # nothing changed: nothing announced
    assert updates(body["id"]) == []
    sim._candidates[candidate_id]["status"] = "started"  # the simulator has no "start" helper
    assert reconcile() == 1
    order = Order.objects.get(pk=body["id"])
    assert order.status == "in_progress" and order.result.result_value == "in_progress"
    sim.advance_time(8 * 24 * 3600)  # past the 7-day deadline: didNotTake
    assert reconcile() == 1
    order.refresh_from_db()
    assert order.status == "expired" and order.result.result_value == "expired"
    assert order.result.result_url is None


def test_passed_override_wins(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 35, webhook="drop")  # below the cutoff: failed
    sim.set_passed_override(candidate_id, True)
    reconcile()
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

    assert reconcile() == 0  # still waiting: re-read, nothing new
    sim.finish_scoring(candidate_id, 75)  # TestDome sends no webhook for this
    assert reconcile() == 1
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
    reconcile()
    assert Order.objects.get(pk=body["id"]).status == "completed"


def test_a_cancelled_candidate_cancels_the_order(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order()
    sim._cancel_invite(None, str(candidate_id))  # cancelled in TestDome's UI
    reconcile()
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
    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 80, webhook="drop")
    request = rf.post(
        webhook_path,
        {"candidateId": str(candidate_id), "testId": 1, "status": "Completed"},
        content_type="application/json",
        headers={"X-TestDome-CorrelationId": "corr-1"},
    )
    calls_before = len(sim.api_calls)
    match = resolve(webhook_path)
    assert match.view_name == "testdome:webhook"
    response = match.func(request, **match.kwargs)
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
    ids = [place_order(f"c{n}@example.com")[1] for n in range(3)]
    linked = Account.objects.get(pk=account["id"])
    seen_before = {cid: candidate_reads(sim, cid) for cid in ids}
    pipeline.account_reconcile(account=linked, limit=2)
    pipeline.account_reconcile(account=linked, limit=2)
    reads = [candidate_reads(sim, cid) - seen_before[cid] for cid in ids]
    assert reads == [2, 1, 1]  # 1, 2, then 3 and around to 1: none starves


def test_reconciliation_gives_up_on_an_account_that_keeps_failing(
    api: Any, sim: TestDomeSimulator, place_order: Any
) -> None:
    for n in range(5):
        place_order(f"c{n}@example.com")
    calls_before = len(sim.api_calls)
    sim.fail_next(10, status=500)
    assert reconcile() == 0
    assert len(sim.api_calls) - calls_before == 3  # three failures in a row, then the next run


def test_a_failed_trigger_is_retried_and_the_retry_reads_again(
    api: Any, sim: TestDomeSimulator, place_order: Any, account: Any, monkeypatch: Any
) -> None:
    """The core's task retries a trigger whose re-read failed; the retry is the same
    webhook again, which must not be dropped as a duplicate while the order is open."""
    from celery.exceptions import Retry

    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 80, webhook="drop")
    sim.fail_next(1, status=500)
    retried: list[dict[str, Any]] = []

    def fake_retry(**kwargs: Any) -> Retry:
        retried.append(kwargs)
        return Retry()

    payload = {"candidateId": str(candidate_id), "testId": 1, "status": "Completed"}
    headers = {"X-TestDome-CorrelationId": "corr-retry"}
    task = tasks.webhook_process_task
    monkeypatch.setattr(task, "retry", fake_retry)
    task.push_request(called_directly=False, is_eager=False, retries=1)
    try:
        with pytest.raises(Retry):
            task.run(account["id"], payload, headers)
    finally:
        task.pop_request()
    assert retried[0]["countdown"] == tasks.RETRY_DELAYS[1]
    assert Order.objects.get(pk=body["id"]).status == "open"
    assert task.run(account["id"], payload, headers) == 1  # the retry
    assert Order.objects.get(pk=body["id"]).status == "completed"
    assert task.run(account["id"], payload, headers) == 0  # a true duplicate now
    assert len(updates(body["id"])) == 1


@pytest.mark.django_db
def test_a_trigger_for_an_unlinked_account_is_dropped(sim: TestDomeSimulator) -> None:
    assert tasks.webhook_process_task.run("acc_gone", {"candidateId": "1"}, {}) == 0


def test_delete_finds_a_candidate_that_was_never_attached(
    api: Any,
    sim: TestDomeSimulator,
    connector: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(type(connector), "candidate_find", lambda self, ctx, test_id, email: None)
    test_id = sim.add_test("Go")
    created = api.post(ORDERS, order_body(test_id, "lost@example.com"), format="json")
    monkeypatch.undo()
    assert api.delete(f"{ORDERS}/{created.json()['id']}").status_code == 204
    [candidate_id] = sim.candidate_ids(email="lost@example.com")
    assert sim.candidate(candidate_id)["status"] == "canceled"


def test_handle_webhook_names_orders_without_trusting_the_payload(
    sim: TestDomeSimulator, place_order: Any, ctx: Any, connector: TestDomeConnector
) -> None:
    body, candidate_id = place_order()
    event = {"candidateId": candidate_id, "testId": 9, "status": "Completed"}
    first = connector.handle_webhook(ctx, Webhook(payload=event, headers={"x-testdome-correlationid": "c-1"}))
    assert first == [body["id"]] and ctx.calls == []  # found by our stored id: no call
    assert Order.objects.get(pk=body["id"]).status == "open"  # naming is not storing
    assert connector.handle_webhook(ctx, Webhook(payload={"nothing": True}, headers={})) == []
    assert connector.handle_webhook(ctx, Webhook(payload={"candidateId": "999999", "testId": 9}, headers={})) == []


def test_a_webhook_for_an_order_created_before_its_candidate_was_found(
    api: Any, sim: TestDomeSimulator, ctx: Any, connector: TestDomeConnector, monkeypatch: Any
) -> None:
    test_id = sim.add_test("Go")
    monkeypatch.setattr(TestDomeConnector, "candidate_find", lambda self, ctx, test_id, email: None)
    created = api.post(ORDERS, order_body(test_id, "Late@Example.com"), format="json").json()
    other = api.post(ORDERS, order_body(test_id, "other@example.com"), format="json").json()
    monkeypatch.undo()
    [candidate_id] = sim.candidate_ids(email="Late@Example.com")
    event = Webhook(payload={"candidateId": candidate_id, "testId": test_id, "status": "Completed"}, headers={})
    assert connector.handle_webhook(ctx, event) == [created["id"]] != [other["id"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"candidateId": True}, "candidateId"),
        ({"candidateId": " "}, "candidateId"),
        ({"candidateId": "x" * 101}, "candidateId"),
        ({"testId": 1}, "candidateId"),
        (["candidateId"], "body"),  # not even an object
        ({"candidateId": 12, "testId": True, "status": 5, "extra": 1}, None),
        ({"candidateId": "f1950b31a9be4e55a6149c3c4dac942c", "testId": 7, "status": "Completed"}, None),
    ],
)
def test_the_webhook_schema(client: Any, account: Any, webhook_path: str, payload: Any, field: str | None) -> None:
    response = client.post(webhook_path, payload, content_type="application/json")
    if field is None:
        assert response.status_code == 200 and response.json() == {"received": True}
    else:
        assert [e["field"] for e in error_of(response, 422)["errors"]] == [field]
