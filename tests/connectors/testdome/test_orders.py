"""Orders through the unified API: the invite reaches the simulator, the candidate is
found and attached, and DELETE cancels upstream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.testdome.connector import TestDomeConnector
from connectors.testdome.simulator import TestDomeSimulator
from gateway.assessments.models import Order
from gateway.sdk import InvalidInput, OrderRequest
from tests.connectors.testdome.conftest import ORDERS, RESULTS_URL, Clock, account_settings, order_body
from tests.helpers import error_fields, error_of


def test_an_order_invites_the_candidate(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order("Jane.Doe@example.com")
    candidate = sim.candidate(candidate_id)
    assert candidate["email"] == "Jane.Doe@example.com" and candidate["status"] == "invited"
    assert body["remote_id"] == str(candidate_id) and body["id"].startswith("ord_")
    # TestDome exposes no personal test link (it emails the candidate itself).
    assert body["test_url"] is None
    order = body["data"]
    assert order["status"] == "open" and order["results_update_url"] == RESULTS_URL
    assert order["result"] is None
    deadline = datetime.fromisoformat(candidate["deadline"].replace("Z", "+00:00"))
    expected = datetime.now(UTC) + timedelta(days=7)
    assert abs((deadline - expected).total_seconds()) < 5
    stored = Order.objects.get(pk=body["id"])
    assert stored.remote_id == str(candidate_id) and stored.results_update_url == RESULTS_URL
    invites = [c for c in sim.api_calls if c.path.endswith("/invite-via-email")]
    assert len(invites) == 1 and invites[0].status == 200


def test_the_default_deadline_follows_the_context_clock(
    sim: TestDomeSimulator, ctx: Any, clock: Clock, connector: TestDomeConnector
) -> None:
    test_id = sim.add_test("Go")
    clock.advance(30 * 24 * 3600)
    request = OrderRequest(
        package_remote_id=str(test_id),
        package_name="Go",
        candidate={"emails": [{"type": "personal", "value": "later@example.com"}]},
    )
    created = connector.create_order(ctx, request)
    deadline = sim.candidate(int(created.remote_id))["deadline"]
    assert deadline == datetime.fromtimestamp(clock.now + 7 * 24 * 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("remote_id", "candidate", "field"),
    [
        ("abc", {"emails": [{"value": "a@example.com"}]}, "package.remote_id"),
        ("12", {"emails": [{"value": "  "}]}, "candidate.emails"),
    ],
)
def test_requests_testdome_cannot_take_are_invalid_input(
    ctx: Any, connector: TestDomeConnector, remote_id: str, candidate: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        connector.create_order(ctx, OrderRequest(package_remote_id=remote_id, package_name=None, candidate=candidate))
    assert [e["field"] for e in caught.value.errors] == [field] and not ctx.calls


def test_the_order_deadline_wins_over_the_default(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    wanted = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    _, candidate_id = place_order(deadline=wanted.isoformat().replace("+00:00", "Z"))
    assert sim.candidate(candidate_id)["deadline"] == wanted.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_past_deadline_is_a_422(api: Any, sim: TestDomeSimulator) -> None:
    test_id = sim.add_test("Go")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = api.post(ORDERS, order_body(test_id, deadline=past), format="json")
    assert error_fields(response) == ["deadline"]
    assert not sim.candidate_ids()


def test_a_reinvite_attaches_the_newest_candidate(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    test_id = sim.add_test("Go")
    _, first = place_order("sam@example.com", test_id=test_id)
    _, second = place_order("sam@example.com", test_id=test_id)
    assert second != first and second == max(sim.candidate_ids(email="sam@example.com"))


def test_reply_to_is_required_somewhere(tenant: Any, connector: Any, sim: TestDomeSimulator, sim_url: str) -> None:
    test_id = sim.add_test("Go")
    settings = account_settings(sim_url)
    del settings["reply_to"]
    linked = tenant.link(
        "testdome",
        credentials={"client_id": "td-client-42", "client_secret": "td-client-secret-Zr81"},
        settings=settings,
    )
    client = tenant.unified(linked["id"])
    assert error_fields(client.post(ORDERS, order_body(test_id), format="json")) == ["requester.email"]
    ok = client.post(ORDERS, order_body(test_id, requester={"email": "boss@acme.example"}), format="json")
    assert ok.status_code == 201, ok.content


def test_a_failed_invite_creates_no_order(api: Any, sim: TestDomeSimulator) -> None:
    test_id = sim.add_test("Go")
    sim._faults = [("pass", 0.0), ("fail", 503)]  # the package read passes, the invite fails
    body = error_of(api.post(ORDERS, order_body(test_id), format="json"), 502)
    assert body["provider_errors"][0]["status"] == 503
    assert not Order.objects.exists() and not sim.candidate_ids()


def test_raw_on_create_shows_the_calls(api: Any, sim: TestDomeSimulator) -> None:
    test_id = sim.add_test("Go")
    response = api.post(f"{ORDERS}?raw=true", order_body(test_id), format="json")
    assert response.status_code == 201
    paths = [(r["method"], r["url"].split("/v3")[-1].split("?")[0]) for r in response.json()["raw"]]
    assert ("POST", f"/tests/{test_id}/candidates/invite-via-email") in paths
    assert ("GET", f"/tests/{test_id}/candidates") in paths


def test_delete_cancels_and_archives_upstream(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order()
    assert api.delete(f"{ORDERS}/{body['id']}").status_code == 204
    candidate = sim.candidate(candidate_id)
    assert candidate["status"] == "canceled" and candidate["archived"] is True
    order = Order.objects.get(pk=body["id"])
    assert order.is_erased and order.candidate is None and order.status == "cancelled"


def test_delete_when_upstream_is_already_final(api: Any, sim: TestDomeSimulator, place_order: Any) -> None:
    body, candidate_id = place_order()
    sim.complete_candidate(candidate_id, 90, webhook="drop")  # the gateway has not heard yet
    assert api.delete(f"{ORDERS}/{body['id']}").status_code == 204
    candidate = sim.candidate(candidate_id)
    assert candidate["status"] == "completed" and candidate["archived"] is True
    cancel = [c for c in sim.api_calls if c.path.endswith("/cancel-invite")]
    assert [c.status for c in cancel] == [409]


def test_an_order_whose_candidate_was_not_found_gets_it_later(
    api: Any,
    sim: TestDomeSimulator,
    connector: Any,
    monkeypatch: Any,
    place_order: Any,
    deliver: Any,
) -> None:
    monkeypatch.setattr(type(connector), "candidate_find", lambda self, ctx, test_id, email: None)
    test_id = sim.add_test("Go")
    response = api.post(ORDERS, order_body(test_id, "late@example.com"), format="json")
    assert response.status_code == 201 and response.json()["remote_id"] is None
    monkeypatch.undo()
    [candidate_id] = sim.candidate_ids(email="late@example.com")
    sim.complete_candidate(candidate_id, 70)
    assert [r.status_code for r in deliver()] == [200]
    order = Order.objects.get(pk=response.json()["id"])
    assert order.remote_id == str(candidate_id) and order.status == "completed"
