"""The Greenhouse simulator over real loopback HTTP: Harvest, the PATCH receiver, the driver.

No Django here: run with ``pytest -p no:django tests/simulators/test_greenhouse_simulator.py``.
The partner side is a tiny fake WSGI app below, so the driver's strict validation can be
exercised with answers that are right and answers that are wrong.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from connectors.greenhouse.simulator import (
    TAKE_HOME_PREFIX,
    GreenhouseSimulator,
    GreenhouseSimulatorError,
    ProtocolViolation,
    basic_auth_header,
    validate_list_tests,
    validate_send_test_response,
    validate_test_status,
)
from gateway.sdk.loopback import LoopbackServer

KEY = "gh_inbound_key_0123456789abcdef"
HARVEST = "harvest-demo-key"
PARTNER_PATH = "/connectors/greenhouse"
COMPLETE = {
    "partner_status": "complete",
    "partner_profile_url": "https://gateway.example.com/results/inv_1",
    "partner_score": 87,
    "metadata": {"Finished": "2026-03-02 14:49 UTC", "Max score": 100, "Passed": True},
}
TESTS = [{"partner_test_id": "tpl-backend-01", "partner_test_name": "Backend debugging"}]


class FakePartner:
    """The gateway's four Greenhouse endpoints, answering whatever a test sets."""

    def __init__(self) -> None:
        self.tests_payload: Any = TESTS
        self.send_payload: Any = None  # None: a fresh {"partner_interview_id": "inv_<n>"}
        self.statuses: dict[str, Any] = {}
        self.received: list[dict[str, Any]] = []

    def calls(self, endpoint: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == f"{PARTNER_PATH}/{endpoint}"]

    def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        request = {
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "query": parse_qs(environ.get("QUERY_STRING", "")),
            "authorization": environ.get("HTTP_AUTHORIZATION"),
            "body": json.loads(raw) if raw else None,
        }
        self.received.append(request)
        status, payload = self._answer(request)
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]

    def _answer(self, request: dict[str, Any]) -> tuple[int, Any]:
        if request["authorization"] != basic_auth_header(KEY):
            return 401, {"error": "unauthorized"}
        endpoint = request["path"].removeprefix(PARTNER_PATH + "/")
        if endpoint == "list_tests":
            return 200, self.tests_payload
        if endpoint == "send_test":
            count = len(self.calls("send_test"))
            return 200, self.send_payload or {"partner_interview_id": f"inv_{count}"}
        if endpoint == "test_status":
            interview_id = request["query"].get("partner_interview_id", [""])[0]
            if interview_id not in self.statuses:
                return 404, {"error": "not found"}
            return 200, self.statuses[interview_id]
        if endpoint == "response_error":
            return 200, {"status": 200}
        return 404, {"error": "no route"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0  # 2026-01-01T00:00:00Z

    def __call__(self) -> float:
        return self.now


class Switch:
    """A WSGI app forwarding to ``target``: one server per module, fresh state per test.

    (Stopping a stdlib server takes up to half a second, so servers are not per test.)
    """

    target: Any = None

    def __call__(self, environ: dict, start_response: Any) -> Any:
        return self.target(environ, start_response)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, tuple[Switch, str]]]:
    switches = {"greenhouse": Switch(), "partner": Switch()}
    with LoopbackServer(switches["greenhouse"]) as gh, LoopbackServer(switches["partner"]) as p:
        yield {"greenhouse": (switches["greenhouse"], gh.url),
               "partner": (switches["partner"], p.url)}


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


@pytest.fixture
def partner(servers: dict[str, tuple[Switch, str]]) -> tuple[FakePartner, str]:
    switch, url = servers["partner"]
    switch.target = FakePartner()
    return switch.target, url + PARTNER_PATH


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(servers: dict[str, tuple[Switch, str]], partner: tuple[FakePartner, str],
        clock: FakeClock) -> GreenhouseSimulator:
    switch, url = servers["greenhouse"]
    simulator = GreenhouseSimulator(
        partner_base_url=partner[1], inbound_key=KEY, public_url=url, rate_limit=1000,
        clock=clock, harvest_api_keys=[HARVEST, "second-key"], timeout=5)
    switch.target = simulator.wsgi_app
    return simulator


def harvest(http: requests.Session, sim: GreenhouseSimulator, path: str,
            key: str | None = HARVEST, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["Authorization"] = basic_auth_header(key)
    return http.request(kwargs.pop("method", "GET"), f"{sim.public_url}/v1/{path}",
                        headers=headers, timeout=5, **kwargs)


# --- Harvest --------------------------------------------------------------------------


def test_harvest_refuses_missing_or_wrong_keys(http: requests.Session,
                                               sim: GreenhouseSimulator) -> None:
    sim.seed_demo()
    for key in (None, "not-a-key"):
        response = harvest(http, sim, "users", key=key)
        assert response.status_code == 401
        assert response.headers["X-RateLimit-Limit"] == "1000"
    bearer = harvest(http, sim, "users", key=None, headers={"Authorization": "Bearer " + HARVEST})
    assert bearer.status_code == 401
    ok = harvest(http, sim, "users")
    assert ok.status_code == 200
    assert [u["primary_email_address"] for u in ok.json()] == [
        "recruiter@customer.example", "hugo.l@customer.example"]


def test_harvest_objects_are_coherent_and_shaped_like_v1(http: requests.Session,
                                                         sim: GreenhouseSimulator) -> None:
    demo = sim.seed_demo()
    ada = demo["candidates"][0]
    candidate = harvest(http, sim, f"candidates/{ada['id']}").json()
    assert candidate["first_name"] == "Ada"
    assert candidate["email_addresses"] == [{"value": "ada.n@example.org", "type": "personal"}]
    assert candidate["photo_url"] is None and candidate["tags"] == []
    assert candidate["application_ids"] == [demo["applications"][0]["id"]]
    application = harvest(http, sim, f"applications/{candidate['application_ids'][0]}").json()
    assert candidate["applications"] == [application]
    assert application["candidate_id"] == ada["id"]
    assert application["status"] == "active"
    assert set(application["current_stage"]) == {"id", "name"}
    job = harvest(http, sim, f"jobs/{application['jobs'][0]['id']}").json()
    assert job["name"] == "Backend Engineer" == application["jobs"][0]["name"]
    recruiter = job["hiring_team"]["recruiters"][0]
    assert recruiter["responsible"] is True
    user = harvest(http, sim, f"users/{recruiter['id']}").json()
    assert user["primary_email_address"] == "recruiter@customer.example"
    by_email = harvest(http, sim, "users", params={"email": "RECRUITER@customer.example"}).json()
    assert [u["id"] for u in by_email] == [user["id"]]


def test_harvest_answers_404_json_for_unknown_ids_and_routes(http: requests.Session,
                                                             sim: GreenhouseSimulator) -> None:
    sim.seed_demo()
    for path in ("candidates/1", "applications/999", "jobs/5550001", "users/0", "offers"):
        response = harvest(http, sim, path)
        assert response.status_code == 404, path
        assert response.json() == {"message": "Resource not found"}
        assert "X-RateLimit-Remaining" in response.headers


def test_harvest_paging_links_can_be_followed_to_the_end(http: requests.Session,
                                                         sim: GreenhouseSimulator) -> None:
    ids = [sim.add_candidate(f"C{i}", "Test", f"c{i}@example.org")["id"] for i in range(7)]
    first = harvest(http, sim, "candidates", params={"per_page": 3})
    assert set(first.links) == {"next", "last"}
    assert "page=3" in first.links["last"]["url"]
    seen, response, pages = [], first, 0
    while True:
        pages += 1
        seen += [c["id"] for c in response.json()]
        if "next" not in response.links:
            break
        response = http.get(response.links["next"]["url"], timeout=5,
                            headers={"Authorization": basic_auth_header(HARVEST)})
        assert "prev" in response.links
    assert (seen, pages) == (ids, 3)
    assert set(response.links) == {"prev", "last"}
    only = harvest(http, sim, "candidates", params={"per_page": 100})
    assert "Link" not in only.headers and len(only.json()) == 7
    no_count = harvest(http, sim, "candidates", params={"per_page": 3, "skip_count": "true"})
    assert set(no_count.links) == {"next"}
    assert "skip_count=true" in no_count.links["next"]["url"]
    too_big = harvest(http, sim, "candidates", params={"per_page": 501})
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "per_page"


def test_harvest_rate_limit_answers_429_with_retry_after(http: requests.Session,
                                                         sim: GreenhouseSimulator,
                                                         clock: FakeClock) -> None:
    sim.rate_limit = 3
    remaining = [harvest(http, sim, "jobs").headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    clock.now += 4
    limited = harvest(http, sim, "jobs")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "6"
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert harvest(http, sim, "jobs", key="second-key").status_code == 200  # limits are per key
    clock.now += 6
    again = harvest(http, sim, "jobs")
    assert (again.status_code, again.headers["X-RateLimit-Remaining"]) == (200, "2")


def test_every_request_is_recorded_with_its_headers(http: requests.Session,
                                                    sim: GreenhouseSimulator) -> None:
    demo = sim.seed_demo()
    app_id = demo["applications"][0]["id"]
    harvest(http, sim, f"applications/{app_id}/reject", method="POST", json={"notes": "x"},
            headers={"On-Behalf-Of": "4401"})
    recorded = sim.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", f"/v1/applications/{app_id}/reject")
    assert recorded.headers["On-Behalf-Of"] == "4401"
    assert recorded.json() == {"notes": "x"}


# --- the driver against a fake partner ---------------------------------------------------


def test_send_test_posts_exactly_what_greenhouse_sends(sim: GreenhouseSimulator,
                                                       partner: tuple[FakePartner, str]) -> None:
    fake, _ = partner
    demo = sim.seed_demo()
    ada, application = demo["candidates"][0], demo["applications"][0]
    answer = sim.send_test("tpl-backend-01", candidate_id=ada["id"])
    assert answer == {"partner_interview_id": "inv_1"}
    call = fake.calls("send_test")[0]
    assert call["authorization"] == "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    test = sim.test_for_interview("inv_1")
    assert test is not None
    assert call["body"] == {
        "partner_test_id": "tpl-backend-01",
        "candidate": {
            "first_name": "Ada", "last_name": "Nakamura", "preferred_name": None,
            "resume_url": None, "phone_number": None, "email": "ada.n@example.org",
            "greenhouse_profile_url": "https://app.greenhouse.io/people/"
                                      f"{ada['id']}?application_id={application['id']}",
        },
        "sent_by": "recruiter@customer.example",
        "url": f"{sim.public_url}{TAKE_HOME_PREFIX}{test.id}",
    }


def test_send_test_with_a_candidate_dict_creates_resolvable_harvest_records(
        sim: GreenhouseSimulator, partner: tuple[FakePartner, str]) -> None:
    fake, _ = partner
    sim.send_test("tpl-backend-01", {"first_name": "Lin", "last_name": "Ho",
                                     "email": "lin@example.org", "phone_number": "+44 20 1"})
    body = fake.calls("send_test")[0]["body"]
    assert body["candidate"]["phone_number"] == "+44 20 1"
    assert body["candidate"]["resume_url"] is None  # null, never omitted
    candidate_id = int(body["candidate"]["greenhouse_profile_url"].split("/people/")[1]
                       .split("?")[0])
    assert sim.get("candidates", candidate_id)["email_addresses"][0]["value"] == "lin@example.org"


def test_resend_test_repeats_the_same_url(sim: GreenhouseSimulator,
                                          partner: tuple[FakePartner, str]) -> None:
    fake, _ = partner
    sim.send_test("tpl-backend-01", {"first_name": "A", "last_name": "B", "email": "a@b.org"})
    test = next(iter(sim.tests.values()))
    sim.resend_test(test.id)
    bodies = [c["body"] for c in fake.calls("send_test")]
    assert len(bodies) == 2 and bodies[0] == bodies[1]


def test_list_tests_accepts_a_bare_array(sim: GreenhouseSimulator) -> None:
    assert sim.list_tests() == TESTS
    assert sim.violations == []


@pytest.mark.parametrize(("payload", "error"), [
    ({"partner_test_ids": TESTS}, "response must be a bare JSON array"),  # the apis.io shape
    ([{"partner_test_id": 12345, "partner_test_name": "Old integer id"}],
     "[0].partner_test_id must be a non-empty string"),
    ([TESTS[0], {"partner_test_id": "tpl-1"}], "[1].partner_test_name must be a non-empty string"),
    (["tpl-1"], "[0].partner_test_id must be a non-empty string"),
])
def test_list_tests_rejects_other_shapes_and_reports_them(
        sim: GreenhouseSimulator, partner: tuple[FakePartner, str], payload: Any,
        error: str) -> None:
    fake, _ = partner
    fake.tests_payload = payload
    with pytest.raises(ProtocolViolation) as caught:
        sim.list_tests()
    assert caught.value.api_call == "list_tests"
    assert caught.value.errors[0] == error
    [report] = fake.calls("response_error")
    assert set(report["body"]) == {"api_call", "errors"}  # nothing else is known yet
    assert report["body"] == {"api_call": "list_tests", "errors": caught.value.errors}
    assert sim.violations


@pytest.mark.parametrize("payload", [
    {"partner_interview_id": 42},
    {"partner_interview_id": ""},
    {"partner_interview_id": "inv_9", "test_url": "https://x.example"},
    ["inv_9"],
])
def test_send_test_rejects_bad_answers(sim: GreenhouseSimulator,
                                       partner: tuple[FakePartner, str], payload: Any) -> None:
    fake, _ = partner
    fake.send_payload = payload
    with pytest.raises(ProtocolViolation):
        sim.send_test("tpl-backend-01", {"first_name": "A", "last_name": "B", "email": "a@b.org"})
    report = fake.calls("response_error")[0]["body"]
    assert (report["api_call"], report["candidate_email"]) == ("send_test", "a@b.org")


def test_test_status_passes_valid_answers(sim: GreenhouseSimulator,
                                          partner: tuple[FakePartner, str]) -> None:
    fake, _ = partner
    pending = {"partner_status": "in_progress", "partner_profile_url": None,
               "partner_score": None, "metadata": None}
    fake.statuses = {"inv_1": COMPLETE, "inv_2": pending}
    assert sim.test_status("inv_1") == COMPLETE
    assert sim.test_status("inv_2") == pending
    assert fake.calls("test_status")[0]["query"] == {"partner_interview_id": ["inv_1"]}


@pytest.mark.parametrize(("change", "expected"), [
    ({"partner_profile_url": None}, "partner_profile_url"),
    ({"partner_profile_url": "/results/inv_1"}, "partner_profile_url"),
    ({"partner_score": "87"}, "partner_score"),
    ({"partner_score": True}, "partner_score"),
    ({"partner_score": None}, "partner_score"),
    ({"metadata": {"Sections": {"SQL": 3}}}, "metadata"),
    ({"metadata": ["a", "b"]}, "metadata"),
    ({"partner_status": "Complete", "partner_score": "high"}, "partner_score"),
    ({"partner_status": None}, "partner_status"),
])
def test_validate_test_status_refuses_what_greenhouse_refuses(change: dict, expected: str) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        validate_test_status({**COMPLETE, **change})
    assert any(error.startswith(expected) for error in caught.value.errors), caught.value.errors


def test_validators_accept_documented_edge_cases() -> None:
    assert validate_list_tests([]) == []
    assert validate_send_test_response({"partner_interview_id": "inv_1"}) == "inv_1"
    assert validate_test_status({"partner_status": "started"}) == {"partner_status": "started"}
    with_null = {**COMPLETE, "partner_score": 87.5, "metadata": {"Reviewer": None}}
    assert validate_test_status(with_null) is with_null


def test_driver_raises_on_error_statuses_and_offers_raw_responses(
        sim: GreenhouseSimulator, partner: tuple[FakePartner, str]) -> None:
    with pytest.raises(GreenhouseSimulatorError) as caught:
        sim.test_status("inv_unknown")
    assert caught.value.status == 404
    assert sim.call_partner("GET", "list_tests", auth=False).status_code == 401
    assert sim.call_partner("GET", "list_tests", inbound_key="wrong").status_code == 401
    sim.inbound_key = "rotated-away"
    with pytest.raises(GreenhouseSimulatorError) as caught:
        sim.list_tests()
    assert caught.value.status == 401 and not isinstance(caught.value, ProtocolViolation)


# --- the "Mark test as completed" PATCH -------------------------------------------------


def _sent_test(sim: GreenhouseSimulator, fake: FakePartner, status: Any = COMPLETE) -> str:
    interview_id = sim.send_test(
        "tpl-backend-01", {"first_name": "A", "last_name": "B", "email": "a@b.org"}
    )["partner_interview_id"]
    fake.statuses[interview_id] = status
    return interview_id


def test_patch_checks_the_key_then_greenhouse_reads_test_status(
        http: requests.Session, sim: GreenhouseSimulator,
        partner: tuple[FakePartner, str]) -> None:
    fake, _ = partner
    interview_id = _sent_test(sim, fake)
    test = sim.test_for_interview(interview_id)
    assert test is not None
    assert http.patch(test.url, timeout=5).status_code == 401
    wrong = http.patch(test.url, headers={"Authorization": basic_auth_header("other")}, timeout=5)
    assert wrong.status_code == 401
    assert fake.calls("test_status") == []
    good = http.patch(test.url, headers={"Authorization": basic_auth_header(KEY)}, timeout=5)
    assert (good.status_code, good.content) == (200, b"")
    done = sim.wait_for_status_checks(interview_id)
    assert done.latest_status == COMPLETE and done.follow_up_errors == []
    [status_call] = fake.calls("test_status")
    assert status_call["query"] == {"partner_interview_id": [interview_id]}
    assert status_call["authorization"] == basic_auth_header(KEY)
    assert [p.status for p in sim.patches] == [401, 401, 200]
    assert sim.patches[-1].headers["Authorization"] == basic_auth_header(KEY)
    assert sim.violations == []


def test_patch_failure_injection_lets_a_partner_retry(
        http: requests.Session, sim: GreenhouseSimulator,
        partner: tuple[FakePartner, str]) -> None:
    fake, _ = partner
    interview_id = _sent_test(sim, fake)
    test = sim.test_for_interview(interview_id)
    assert test is not None
    sim.fail_next_patches(2, status=503)
    auth = {"Authorization": basic_auth_header(KEY)}
    statuses = [http.patch(test.url, headers=auth, timeout=5).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert sim.wait_for_status_checks(interview_id).status_checks == 1
    assert test.patches_accepted == 1
    sim.patch_status = 204
    assert http.patch(test.url, headers=auth, timeout=5).status_code == 204
    assert sim.wait_for_status_checks(interview_id, count=2).status_checks == 2


def test_patch_edge_cases_are_refused_or_recorded(
        http: requests.Session, sim: GreenhouseSimulator,
        partner: tuple[FakePartner, str]) -> None:
    fake, _ = partner
    interview_id = _sent_test(sim, fake)
    test = sim.test_for_interview(interview_id)
    assert test is not None
    auth = {"Authorization": basic_auth_header(KEY)}
    unknown = f"{sim.public_url}{TAKE_HOME_PREFIX}1"
    assert http.patch(unknown, headers=auth, timeout=5).status_code == 404
    assert http.get(test.url, headers=auth, timeout=5).status_code == 405
    assert http.patch(test.url, headers=auth, json={"done": True}, timeout=5).status_code == 200
    assert sim.violations and "had a body" in sim.violations[0]
    sim.wait_for_status_checks(interview_id)


def test_a_malformed_status_after_patch_is_reported_like_greenhouse_does(
        http: requests.Session, sim: GreenhouseSimulator,
        partner: tuple[FakePartner, str]) -> None:
    fake, _ = partner
    sim.list_tests()  # so Greenhouse knows the test's name
    interview_id = _sent_test(sim, fake, status={**COMPLETE, "partner_profile_url": None})
    test = sim.test_for_interview(interview_id)
    assert test is not None
    http.patch(test.url, headers={"Authorization": basic_auth_header(KEY)}, timeout=5)
    done = sim.wait_for_status_checks(interview_id)
    assert done.latest_status is None
    assert "partner_profile_url" in done.follow_up_errors[0]
    [report] = fake.calls("response_error")
    assert report["body"] == {
        "api_call": "test_status",
        "errors": ["partner_profile_url must be an http(s) URL"],
        "partner_test_id": "tpl-backend-01",
        "partner_test_name": "Backend debugging",
        "partner_interview_id": interview_id,
        "candidate_email": "a@b.org",
    }


def test_main_serves_harvest_and_can_send_a_test(http: requests.Session,
                                                 partner: tuple[FakePartner, str]) -> None:
    fake, partner_url = partner
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.greenhouse.simulator", "--port", "0",
         "--partner-url", partner_url, "--inbound-key", KEY, "--send-test", "tpl-backend-01"],
        cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[3]
        assert json.loads(process.stdout.readline()) == {"partner_interview_id": "inv_1"}
        users = http.get(f"{url}/v1/users", headers={"Authorization": basic_auth_header(HARVEST)},
                         timeout=5)
        assert users.status_code == 200 and len(users.json()) == 2
        [sent] = fake.calls("send_test")
        assert sent["body"]["candidate"]["email"] == "ada.n@example.org"
        assert sent["body"]["url"].startswith(url + TAKE_HOME_PREFIX)
        fake.statuses["inv_1"] = COMPLETE
        patch = http.patch(sent["body"]["url"], headers={"Authorization": basic_auth_header(KEY)},
                           timeout=5)
        assert patch.status_code == 200
        for _ in range(50):  # the follow-up runs in the other process; give it up to 1 s
            if fake.calls("test_status"):
                break
            time.sleep(0.02)
        assert fake.calls("test_status")[0]["query"] == {"partner_interview_id": ["inv_1"]}
    finally:
        process.terminate()
        process.wait(timeout=5)
