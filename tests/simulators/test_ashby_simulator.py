"""The Ashby simulator over real loopback HTTP, against a tiny fake partner.

No Django needed: ``.venv/bin/python -m pytest -p no:django --noconftest tests/simulators/test_ashby_simulator.py``.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.ashby.simulator import (
    ACCEPT,
    DEFAULT_API_KEY,
    AshbySimulator,
    AshbySimulatorError,
    ProtocolViolation,
    StartRefused,
    update_problems,
)
from gateway.sdk.loopback import LoopbackServer

INBOUND_KEY = "ashby_inbound_key_123"
TYPE_ID = "e9ed20fd-d45f-4aad-8a00-a19bfba0083e"
ASSESSMENT_ID = "5b0d7a8e-1f0c-4a51-9d1e-3c2b1a0f9e87"
STATUS = {"identifier": "status", "label": "Status", "type": "string", "value": "Started"}
RESULT = {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 87}
PROFILE = {"identifier": "report", "label": "Report", "type": "url", "value": "https://partner.example/r/123"}
CANCELLED = {"identifier": "cancelled_reason", "label": "Cancelled", "type": "string", "value": "Cancelled in Ashby"}


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class FakePartner:
    """The partner's three RPCs, answering whatever a test sets, recording each call."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {
            "assessment.list": (200, {"success": True, "results": [
                {"assessment_type_id": TYPE_ID, "name": "Python", "description": "Ninety minutes"}]}),
            "assessment.start": (200, {"success": True, "results": {"assessment_id": ASSESSMENT_ID}}),
            "assessment.cancel": (200, {"success": True, "results": {"assessment_id": ASSESSMENT_ID}}),
        }
        self.calls: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        path = environ["PATH_INFO"]
        self.calls.append({"path": path, "authorization": environ.get("HTTP_AUTHORIZATION"),
                           "body": json.loads(environ["wsgi.input"].read(length) or b"null")})
        status, payload = self.answers.get(path.rsplit("/", 1)[-1], (404, {"error": "nope"}))
        body = json.dumps(payload).encode()
        start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture(scope="module")
def partner_server() -> Iterator[tuple[FakePartner, str]]:
    app = FakePartner()
    with LoopbackServer(app) as server:
        yield app, f"{server.url}/connectors/ashby/"


@pytest.fixture
def partner(partner_server: tuple[FakePartner, str]) -> tuple[FakePartner, str]:
    """The module's fake partner, reset to its default answers."""
    partner_server[0].reset()
    return partner_server


@pytest.fixture
def ashby(partner: tuple[FakePartner, str]) -> Iterator[AshbySimulator]:
    simulator = AshbySimulator(partner[1], INBOUND_KEY)
    with simulator.serve():
        yield simulator


def post_update(ashby: AshbySimulator, body: Any, *, key: str | None = DEFAULT_API_KEY,
                **headers: str) -> requests.Response:
    sent = {"Content-Type": "application/json", "Accept": ACCEPT, "User-Agent": "assessment-gateway-ashby/1.0"}
    if key is not None:
        sent["Authorization"] = basic(key)
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    return requests.post(f"{ashby.public_url}/assessment.update", data=json.dumps(body), headers=sent, timeout=5)


def update(timestamp: int = 1665680638489, **fields: Any) -> dict[str, Any]:
    return {"assessment_id": ASSESSMENT_ID, "timestamp": timestamp, "assessment_status": STATUS, **fields}


def started(ashby: AshbySimulator) -> str:
    assert ashby.start(TYPE_ID) == ASSESSMENT_ID
    return ASSESSMENT_ID


# --- the driver ------------------------------------------------------------------------------


def test_list_and_start_call_the_partner_as_ashby_does(ashby: AshbySimulator,
                                                       partner: tuple[FakePartner, str]) -> None:
    assert ashby.list_assessments()[0]["assessment_type_id"] == TYPE_ID
    assessment_id = ashby.start(TYPE_ID, application_id="app-1", additional_fields={"team": "core"})
    assert assessment_id == ASSESSMENT_ID
    list_call, start_call = partner[0].calls
    # One slash between the base and the RPC name; the key as the Basic user name.
    assert [list_call["path"], start_call["path"]] == ["/connectors/ashby/assessment.list",
                                                       "/connectors/ashby/assessment.start"]
    assert list_call["authorization"] == basic(INBOUND_KEY) and list_call["body"] == {}
    body = start_call["body"]
    assert body["assessment_type_id"] == TYPE_ID and body["application"] == {"ashby_id": "app-1", "status": "Active"}
    assert set(body["candidate"]) == {"ashby_id", "first_name", "last_name", "email", "ashby_profile_url"}
    assert body["job"]["hiringTeam"][0]["role"] == "Hiring Manager"
    assert body["additional_fields"] == {"team": "core"}
    assert ashby.assessment(assessment_id).application_id == "app-1"


def test_the_key_may_travel_as_the_password(partner: tuple[FakePartner, str]) -> None:
    simulator = AshbySimulator(partner[1].rstrip("/"), INBOUND_KEY, key_as_password=True)
    simulator.list_assessments()
    assert partner[0].calls[-1]["path"] == "/connectors/ashby/assessment.list"
    assert partner[0].calls[-1]["authorization"] == basic("", INBOUND_KEY)


@pytest.mark.parametrize("results", [
    [{"assessment_type_id": "py-senior", "name": "Python"}],
    [{"assessment_type_id": TYPE_ID, "name": 5}],
    [{"assessment_type_id": TYPE_ID, "name": "a"}, {"assessment_type_id": TYPE_ID, "name": "b"}],
])
def test_a_list_ashby_could_not_read_is_refused(ashby: AshbySimulator, partner: tuple[FakePartner, str],
                                                 results: Any) -> None:
    partner[0].answers["assessment.list"] = (200, {"success": True, "results": results})
    with pytest.raises(ProtocolViolation):
        ashby.list_assessments()


def test_a_bare_list_without_the_envelope_is_refused(ashby: AshbySimulator,
                                                     partner: tuple[FakePartner, str]) -> None:
    partner[0].answers["assessment.list"] = (200, [{"assessment_type_id": TYPE_ID, "name": "Python"}])
    with pytest.raises(ProtocolViolation):
        ashby.list_assessments()


def test_a_422_carries_the_message_for_the_ashby_user(ashby: AshbySimulator,
                                                      partner: tuple[FakePartner, str]) -> None:
    partner[0].answers["assessment.start"] = (422, {"message": "This test is not enabled for your plan."})
    with pytest.raises(StartRefused) as refused:
        ashby.start(TYPE_ID)
    assert refused.value.message == "This test is not enabled for your plan."
    partner[0].answers["assessment.start"] = (422, {"statusCode": 422, "errors": []})
    with pytest.raises(ProtocolViolation):
        ashby.start(TYPE_ID)


def test_start_must_answer_a_uuid(ashby: AshbySimulator, partner: tuple[FakePartner, str]) -> None:
    partner[0].answers["assessment.start"] = (200, {"success": True, "results": {"assessment_id": "ord_01J"}})
    with pytest.raises(ProtocolViolation):
        ashby.start(TYPE_ID)
    partner[0].answers["assessment.start"] = (401, {"success": False})
    with pytest.raises(AshbySimulatorError) as failed:
        ashby.start(TYPE_ID)
    assert failed.value.status == 401


def test_cancel_reads_success_or_the_error_envelope(ashby: AshbySimulator, partner: tuple[FakePartner, str]) -> None:
    assessment_id = started(ashby)
    assert ashby.cancel(assessment_id)["success"] is True
    assert ashby.assessment(assessment_id).cancelled_in_ashby
    partner[0].answers["assessment.cancel"] = (200, {"success": False, "errors": ["not found"],
                                                     "errorInfo": {"code": "not_found", "message": "not found"}})
    assert ashby.cancel(str(uuid.uuid4()))["errorInfo"]["code"] == "not_found"
    partner[0].answers["assessment.cancel"] = (200, {"success": False, "errors": ["not found"]})
    with pytest.raises(ProtocolViolation):
        ashby.cancel(assessment_id)


# --- assessment.update ------------------------------------------------------------------------


def test_updates_are_kept_in_order(ashby: AshbySimulator) -> None:
    started(ashby)
    assert post_update(ashby, update()).json() == {"success": True}
    final = update(1665680999000, assessment_status={**STATUS, "value": "Completed"}, assessment_result=RESULT,
                   assessment_profile_url=PROFILE,
                   metadata=[{"identifier": "result-max", "label": "Max Score", "type": "numeric_score",
                              "value": 100}])
    assert post_update(ashby, final).json() == {"success": True}
    assert post_update(ashby, final).json() == {"success": True}  # a replay of the same state
    assessment = ashby.assessment(ASSESSMENT_ID)
    assert assessment.status == "Completed" and assessment.result == RESULT
    assert assessment.profile_url == PROFILE["value"] and assessment.metadata["result-max"]["value"] == 100
    assert len(assessment.updates) == 3
    assert ashby.violations == []


def test_an_older_timestamp_is_ignored_and_reported(ashby: AshbySimulator) -> None:
    started(ashby)
    post_update(ashby, update(2_000_000_000_000))
    assert post_update(ashby, update(1_999_999_999_999, assessment_status={**STATUS, "value": "X"})).ok
    post_update(ashby, update(2_000_000_000_000, assessment_status={**STATUS, "value": "Y"}))
    assert ashby.assessment(ASSESSMENT_ID).status == "Started"
    assert len(ashby.violations) == 2 and all("does not follow" in v for v in ashby.violations)


def test_nothing_but_the_cancellation_follows_a_cancellation(ashby: AshbySimulator) -> None:
    started(ashby)
    post_update(ashby, {"assessment_id": ASSESSMENT_ID, "timestamp": 1665681000000, "cancelled_reason": CANCELLED})
    post_update(ashby, update(1665681000001))
    assert ashby.assessment(ASSESSMENT_ID).cancelled_reason == "Cancelled in Ashby"
    assert ashby.violations == [f"{ASSESSMENT_ID}: an update after the cancellation"]


@pytest.mark.parametrize(("key", "status", "code"), [
    (None, 401, "unauthenticated"),
    ("someone-else", 403, "forbidden"),
])
def test_the_customer_key_is_required(ashby: AshbySimulator, key: str | None, status: int, code: str) -> None:
    started(ashby)
    response = post_update(ashby, update(), key=key)
    assert response.status_code == status and response.json()["errorInfo"]["code"] == code
    assert ashby.assessment(ASSESSMENT_ID).updates == []


def test_a_key_without_candidates_write_is_refused(partner: tuple[FakePartner, str]) -> None:
    simulator = AshbySimulator(partner[1], INBOUND_KEY, permissions=("candidatesRead",))
    with simulator.serve():
        response = post_update(simulator, update())
    assert response.status_code == 403
    assert response.json()["errorInfo"]["code"] == "missing_endpoint_permission"


@pytest.mark.parametrize("agent", ["", "python-requests/2.32.3"])
def test_cloudflare_blocks_default_user_agents(ashby: AshbySimulator, agent: str) -> None:
    started(ashby)
    response = post_update(ashby, update(), User_Agent=agent)
    assert response.status_code == 403 and response.text == "error code: 1010"
    assert len(ashby.violations) == 1


def test_a_missing_version_header_is_a_violation(ashby: AshbySimulator) -> None:
    started(ashby)
    assert post_update(ashby, update(), Accept="application/json").json() == {"success": True}
    assert ashby.violations == ["update sent with Accept 'application/json', not 'application/json; version=1'"]


@pytest.mark.parametrize(("body", "problem"), [
    (update(assessment_result=RESULT), "assessment_profile_url of type url is required"),
    (update(assessment_result={**RESULT, "value": "87"}, assessment_profile_url=PROFILE), "does not fit"),
    (update(1665680638), "looks like seconds"),
    (update(assessment_status={**STATUS, "type": "text"}), "type must be one of"),
    (update(metadata=[{**STATUS}]), "identifiers must be unique"),
    ({"assessment_id": ASSESSMENT_ID, "timestamp": 1665680638489}, "assessment_status is required"),
    (update(assessment_profile_url={**PROFILE, "value": "partner.example/r"}), "does not fit type url"),
    (update(metadata=[{"identifier": "passed", "label": "Passed", "type": "boolean_success", "value": 1}]),
     "does not fit"),
])
def test_bad_input_is_a_200_with_success_false(ashby: AshbySimulator, body: dict[str, Any], problem: str) -> None:
    started(ashby)
    answer = post_update(ashby, body)
    assert answer.status_code == 200
    assert answer.json()["success"] is False and answer.json()["errorInfo"]["code"] == "invalid_input"
    assert any(problem in violation for violation in ashby.violations), ashby.violations
    assert any(problem in p for p in update_problems(body))


def test_an_unknown_assessment_is_refused(ashby: AshbySimulator) -> None:
    assert post_update(ashby, update()).json()["errorInfo"]["code"] == "invalid_input"
    assert ashby.violations == [f"update for an assessment Ashby never started: {ASSESSMENT_ID}"]


def test_an_empty_body_is_invalid_input_and_no_violation(ashby: AshbySimulator) -> None:
    """What an account check sends: the key is good, the body is not."""
    answer = post_update(ashby, {})
    assert answer.status_code == 200 and answer.json()["errorInfo"]["code"] == "invalid_input"
    assert ashby.violations == []


def test_injected_failures_come_first(ashby: AshbySimulator) -> None:
    started(ashby)
    ashby.fail_next_updates(1, 503)
    ashby.fail_next_updates(1, code="rate_limit_exceeded")
    assert post_update(ashby, update()).status_code == 503
    second = post_update(ashby, update())
    assert second.status_code == 200 and second.json()["errorInfo"]["code"] == "rate_limit_exceeded"
    assert post_update(ashby, update()).json() == {"success": True}
    assert [u.status for u in ashby.updates] == [503, 200, 200]


def test_state_is_readable_over_http(ashby: AshbySimulator) -> None:
    started(ashby)
    post_update(ashby, update())
    state = requests.get(f"{ashby.public_url}/_simulator/state", timeout=5).json()
    assert state["assessments"][ASSESSMENT_ID]["status"] == "Started"
    assert state["violations"] == [] and len(state["updates"]) == 1


def test_runs_stand_alone() -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-m", "connectors.ashby.simulator", "--port", "0"],
                               cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        url = line.split(" on ", 1)[1].split(";", 1)[0]
        answer = requests.post(f"{url}/assessment.update", json={}, timeout=5,
                               headers={"Authorization": basic(DEFAULT_API_KEY), "User-Agent": "t/1"})
        assert answer.json()["errorInfo"]["code"] == "invalid_input"
    finally:
        process.terminate()
        process.wait(timeout=5)
