"""Harvest enrichment of orders created by send_test, against the simulator's Harvest."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.greenhouse.connector import GreenhouseConnector
from connectors.greenhouse.simulator import DEFAULT_HARVEST_KEY, GreenhouseSimulator
from gateway.assessments.models import Order
from gateway.sdk.loopback import LoopbackServer
from tests.connectors.greenhouse.conftest import GreenhouseAccount, link_greenhouse, send_test_body

pytestmark = pytest.mark.django_db


def order_enrich(account: GreenhouseAccount, order_id: str) -> bool:
    """The ``enrich_order`` job, run as the core runs it: with a fresh context."""
    return GreenhouseConnector().enrich_order(account.context(), order_id=order_id)


@pytest.fixture
def sim() -> Iterator[GreenhouseSimulator]:
    simulator = GreenhouseSimulator()
    with LoopbackServer(simulator) as server:
        simulator.public_url = server.url
        yield simulator


@pytest.fixture
def demo(sim: GreenhouseSimulator) -> dict[str, Any]:
    return sim.seed_demo()


def _harvest_account(tenant: Any, sim: GreenhouseSimulator, key: str = DEFAULT_HARVEST_KEY) -> GreenhouseAccount:
    return link_greenhouse(
        tenant, credentials={"harvest_api_key": key}, settings={"harvest_base_url": f"{sim.public_url}/v1"}
    )


def _send(account: GreenhouseAccount, profile_url: str | None) -> str:
    body = send_test_body(candidate={**send_test_body()["candidate"], "greenhouse_profile_url": profile_url})
    response = account.partner.post("send_test", body)
    assert response.status_code == 200, response.content
    return response.json()["partner_interview_id"]


def _profile(candidate_id: int, application_id: int | None = None) -> str:
    url = f"https://app.greenhouse.io/people/{candidate_id}"
    return url + (f"?application_id={application_id}" if application_id else "")


def _harvest_calls(sim: GreenhouseSimulator) -> int:
    return sum(1 for r in sim.requests if r.path.startswith("/v1/"))


def test_fills_application_status_and_job(tenant: Any, sim: GreenhouseSimulator, demo: dict[str, Any]) -> None:
    account = _harvest_account(tenant, sim)
    candidate, application = demo["candidates"][0], demo["applications"][0]
    interview_id = _send(account, _profile(candidate["id"], application["id"]))

    assert order_enrich(account, interview_id) is True
    order = account.order(interview_id)
    assert order["application"]["remote_id"] == str(application["id"])
    assert order["application"]["application_status"] == {"value": "active", "source_value": "active"}
    job = order["job"]
    assert (job["remote_id"], job["title"]) == (str(demo["jobs"][0]["id"]), "Backend Engineer")
    assert [(m["role"], m["first_name"], m["remote_user_id"]) for m in job["hiring_team"]] == [
        ("recruiter", "Rita", str(demo["users"][0]["id"]))
    ]
    assert order["candidate"]["remote_id"] == str(candidate["id"])  # untouched


def test_is_safe_to_run_twice(tenant: Any, sim: GreenhouseSimulator, demo: dict[str, Any]) -> None:
    account = _harvest_account(tenant, sim)
    interview_id = _send(account, _profile(demo["candidates"][0]["id"], demo["applications"][0]["id"]))
    assert order_enrich(account, interview_id) is True
    calls, version = _harvest_calls(sim), Order.objects.get(id=interview_id).version
    assert order_enrich(account, interview_id) is True
    assert _harvest_calls(sim) == calls
    assert Order.objects.get(id=interview_id).version == version


def test_without_application_id_uses_the_candidates_only_application(
    tenant: Any, sim: GreenhouseSimulator, demo: dict[str, Any]
) -> None:
    account = _harvest_account(tenant, sim)
    candidate = demo["candidates"][1]
    interview_id = _send(account, _profile(candidate["id"]))
    assert order_enrich(account, interview_id) is True
    assert account.order(interview_id)["application"]["remote_id"] == str(candidate["application_ids"][0])


def test_an_application_of_another_candidate_is_not_used(
    tenant: Any, sim: GreenhouseSimulator, demo: dict[str, Any]
) -> None:
    account = _harvest_account(tenant, sim)
    interview_id = _send(account, _profile(demo["candidates"][0]["id"], demo["applications"][2]["id"]))
    assert order_enrich(account, interview_id) is False
    assert account.order(interview_id)["job"] is None


def test_harvest_failures_are_logged_and_leave_the_order_alone(
    tenant: Any, sim: GreenhouseSimulator, demo: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    account = _harvest_account(tenant, sim, key="revoked-key")
    interview_id = _send(account, _profile(demo["candidates"][0]["id"], demo["applications"][0]["id"]))
    before = account.order(interview_id)
    with caplog.at_level(logging.WARNING, logger="connectors.greenhouse.enrich"):
        assert order_enrich(account, interview_id) is False
    assert account.order(interview_id) == before
    assert any(interview_id in r.getMessage() and "401" in r.getMessage() for r in caplog.records)
    assert not any("revoked-key" in r.getMessage() for r in caplog.records)

    unknown = _send(account, _profile(1, 2))
    assert order_enrich(account, unknown) is False


def test_nothing_to_do_without_a_key_ids_or_order(tenant: Any, sim: GreenhouseSimulator, demo: dict[str, Any]) -> None:
    plain = link_greenhouse(tenant)
    assert order_enrich(plain, plain.partner.send_test()) is False
    account = _harvest_account(tenant, sim)
    assert order_enrich(account, _send(account, None)) is False  # no ids to look up
    assert order_enrich(account, "ord_doesnotexist") is False
    other = _harvest_account(tenant, sim)
    assert order_enrich(other, _send(account, _profile(5550001, 7770001))) is False  # not this account's
    assert _harvest_calls(sim) == 0


def test_an_erased_order_is_not_enriched(tenant: Any, sim: GreenhouseSimulator, demo: dict[str, Any]) -> None:
    account = _harvest_account(tenant, sim)
    interview_id = _send(account, _profile(demo["candidates"][0]["id"], demo["applications"][0]["id"]))
    assert account.unified().delete(f"/unified/ats/assessments/orders/{interview_id}").status_code == 204
    assert order_enrich(account, interview_id) is False
    assert Order.objects.get(id=interview_id).job is None
