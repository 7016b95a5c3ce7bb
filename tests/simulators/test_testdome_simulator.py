"""The TestDome simulator over real loopback HTTP: tokens, v3 paging, invites, webhooks."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.testdome.simulator import ApiError, TestDomeSimulator
from gateway.sdk.loopback import LoopbackServer

EMAIL, PASSWORD = "demo@example.com", "api-pass-123"
CLIENT_ID, CLIENT_SECRET = "client-abc", "secret-xyz"


class Receiver:
    """A tiny stand-in for the gateway's webhook endpoint; answers the queued statuses."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.url = ""
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self._lock:
            self.hits.append({"path": environ["PATH_INFO"], "body": json.loads(raw),
                              "type": environ.get("CONTENT_TYPE"),
                              "correlation": environ.get("HTTP_X_TESTDOME_CORRELATIONID")})
            status = self.statuses.pop(0) if self.statuses else 200
        start_response(f"{status} X", [("Content-Length", "0")])
        return [b""]


class Slot:
    """A WSGI app that forwards to whichever app the current test put in it.

    Stopping a LoopbackServer takes about half a second, so each module shares two servers
    and every test gets fresh state by swapping the app.
    """

    def __init__(self) -> None:
        self.app: Any = None
        self.server = LoopbackServer(self)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def slots() -> Iterator[tuple[Slot, Slot]]:
    api_slot, hook_slot = Slot(), Slot()
    with api_slot.server, hook_slot.server:
        yield api_slot, hook_slot


@pytest.fixture
def sim() -> TestDomeSimulator:
    return TestDomeSimulator(email=EMAIL, api_password=PASSWORD, client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET)


@pytest.fixture
def server(sim: TestDomeSimulator, slots: tuple[Slot, Slot]) -> LoopbackServer:
    slots[0].app = sim
    return slots[0].server


@pytest.fixture
def receiver(sim: TestDomeSimulator, slots: tuple[Slot, Slot]) -> Receiver:
    app = slots[1].app = Receiver()
    app.url = sim.webhook_url = f"{slots[1].server.url}/connectors/testdome/webhooks/tok123"
    return app


def get_token(server: LoopbackServer, **form: str) -> requests.Response:
    data = form or {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
    return requests.post(f"{server.url}/token", data=data, timeout=5)


class Api:
    """A minimal v3 client: one token, bearer auth."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server, self.base = server, f"{server.url}/v3"
        self.refresh()

    def refresh(self) -> None:
        self.token = get_token(self.server).json()["access_token"]

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return requests.request(method, self.base + path, headers=headers,
                                timeout=kw.pop("timeout", 5), **kw)


@pytest.fixture
def api(server: LoopbackServer) -> Api:
    return Api(server)


def deadline(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def invite(api: Api, test_id: int, *emails: str) -> requests.Response:
    return api.call("POST", f"/tests/{test_id}/candidates/invite-via-email",
                    json={"emails": list(emails), "deadline": deadline(), "body": "Hi",
                          "replyTo": "hr@customer.example", "proctoringEnabled": False})


def invited_candidate(sim: TestDomeSimulator, api: Api, email: str = "jane@example.com") -> int:
    test_id = sim.add_test("Python")
    assert invite(api, test_id, email).status_code == 200
    found = api.call("GET", "/candidates", params={"$filter[term]": email}).json()["value"]
    assert len(found) == 1
    return found[0]["id"]


# ----- tokens -----------------------------------------------------------------------------

def test_password_grant_issues_a_bearer_token_that_works(server: LoopbackServer) -> None:
    resp = get_token(server)
    body = resp.json()
    assert resp.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert len(body["access_token"]) >= 32
    tests = requests.get(f"{server.url}/v3/tests", timeout=5,
                         headers={"Authorization": f"Bearer {body['access_token']}"})
    assert tests.status_code == 200


def test_client_credentials_grant(server: LoopbackServer) -> None:
    resp = get_token(server, grant_type="client_credentials", client_id=CLIENT_ID,
                     client_secret=CLIENT_SECRET)
    assert resp.status_code == 200 and resp.json()["token_type"] == "Bearer"


def test_bad_credentials_get_oauth_errors(server: LoopbackServer) -> None:
    wrong_pw = get_token(server, grant_type="password", username=EMAIL, password="nope")
    assert (wrong_pw.status_code, wrong_pw.json()["error"]) == (400, "invalid_grant")
    wrong_user = get_token(server, grant_type="password", username="x@y.z", password=PASSWORD)
    assert wrong_user.json()["error"] == "invalid_grant"
    wrong_secret = get_token(server, grant_type="client_credentials", client_id=CLIENT_ID,
                             client_secret="nope")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    odd = get_token(server, grant_type="authorization_code", code="x")
    assert (odd.status_code, odd.json()["error"]) == (400, "unsupported_grant_type")


def test_missing_unknown_and_expired_tokens_are_401(sim: TestDomeSimulator,
                                                   server: LoopbackServer, api: Api) -> None:
    missing = requests.get(f"{server.url}/v3/tests", timeout=5)
    assert missing.status_code == 401
    assert missing.json()["code"] == "Unauthorized"
    assert missing.json()["innerError"]["code"] == "MissingToken"
    unknown = requests.get(f"{server.url}/v3/tests", headers={"Authorization": "Bearer zzz"},
                           timeout=5)
    assert unknown.json()["innerError"]["code"] == "InvalidToken"
    assert api.call("GET", "/tests").status_code == 200
    sim.advance_time(1799)
    assert api.call("GET", "/tests").status_code == 200
    sim.advance_time(2)
    expired = api.call("GET", "/tests")
    assert expired.status_code == 401 and expired.json()["innerError"]["code"] == "TokenExpired"
    assert "invalid_token" in expired.headers["WWW-Authenticate"]
    fresh = Api(server)
    assert fresh.call("GET", "/tests").status_code == 200
    sim.expire_all_tokens()
    assert fresh.call("GET", "/tests").status_code == 401


def test_token_requests_are_counted(sim: TestDomeSimulator, server: LoopbackServer) -> None:
    client = Api(server)
    for _ in range(3):
        assert client.call("GET", "/tests").status_code == 200
    assert sim.token_requests == 1
    get_token(server, grant_type="password", username=EMAIL, password="bad")
    assert sim.token_requests == 2
    assert [c.path for c in sim.api_calls] == ["/v3/tests"] * 3


# ----- tests and paging -------------------------------------------------------------------

def test_paging_across_130_tests_follows_has_more_items(sim: TestDomeSimulator,
                                                        api: Api) -> None:
    seeded = sim.seed_tests(130)
    first = api.call("GET", "/tests").json()
    assert (len(first["value"]), first["hasMoreItems"], first["top"], first["skip"],
            first["totalCount"]) == (100, True, 100, 0, 130)
    ids, skip = [], 0
    while True:
        page = api.call("GET", "/tests", params={"$top": 100, "$skip": skip}).json()
        ids += [t["id"] for t in page["value"]]
        if not page["hasMoreItems"]:
            break
        skip += 100
    assert ids == seeded and skip == 100
    small = api.call("GET", "/tests", params={"$top": 7, "$skip": 126}).json()
    assert [t["id"] for t in small["value"]] == seeded[126:] and not small["hasMoreItems"]
    for bad in ({"$top": 101}, {"$top": 0}, {"$skip": -1}, {"$top": "x"}):
        err = api.call("GET", "/tests", params=bad)
        assert err.status_code == 400 and err.json()["code"] == "ValidationFailed"


def test_archived_and_unpublished_tests_are_served_with_their_flags(sim: TestDomeSimulator,
                                                                    api: Api) -> None:
    sim.seed_tests(30)  # archived: 10, 20, 30; unpublished: 7, 14, 21, 28
    tests = api.call("GET", "/tests").json()["value"]
    assert [t["name"][-2:].strip() for t in tests if t["archived"]] == ["10", "20", "30"]
    assert len([t for t in tests if not t["isPublished"]]) == 4
    usable = api.call("GET", "/tests", params={"$filter[archived]": "false",
                                               "$filter[isPublished]": "true"}).json()
    assert usable["totalCount"] == 23
    assert all(not t["archived"] and t["isPublished"] for t in usable["value"])
    assert api.call("GET", "/tests", params={"$filter[term]": "test 2"}).json()["totalCount"] == 11
    typo = api.call("GET", "/tests", params={"$filter[published]": "true"})
    assert typo.status_code == 400 and typo.json()["innerError"]["code"] == "UnknownFilter"


def test_get_one_test_and_404(sim: TestDomeSimulator, api: Api) -> None:
    test_id = sim.add_test("Java", cutoff_score=70, time_limit=2700)
    test = api.call("GET", f"/tests/{test_id}").json()
    assert (test["id"], test["name"], test["cutoffScore"], test["timeLimit"]) == \
        (test_id, "Java", 70, 2700)
    assert test["archived"] is False and test["needsScoring"] is None
    missing = api.call("GET", "/tests/999")
    assert missing.status_code == 404
    assert missing.json()["innerError"]["code"] == "TestNotFound"


# ----- candidates -------------------------------------------------------------------------

def test_invite_via_email_creates_candidates(sim: TestDomeSimulator, api: Api) -> None:
    test_id = sim.add_test("Python")
    resp = invite(api, test_id, "jane@example.com", "not-an-email", "bob@example.com")
    body = resp.json()
    assert resp.status_code == 200
    assert body["failedEmails"] == ["not-an-email"] and body["message"]
    assert len(body["result"]) == 2
    page = api.call("GET", "/candidates", params={"$filter[tests]": test_id}).json()
    assert [c["email"] for c in page["value"]] == ["jane@example.com", "bob@example.com"]
    jane = api.call("GET", "/candidates", params={"$filter[term]": "JANE"}).json()["value"][0]
    assert jane["status"] == "invited" and jane["test"] == {"id": test_id, "name": "Python"}
    assert jane["score"] is None and jane["passed"] is False and jane["timeTaken"] == 0
    assert re.fullmatch(r"[0-9a-f]{32}", jane["invitationKey"])
    assert jane["deadline"].endswith("Z") and jane["activities"] is None
    one = api.call("GET", f"/candidates/{jane['id']}",
                   params={"$expand": ["test", "activities"]}).json()
    assert one["test"]["cutoffScore"] == 60 and one["test"]["candidatesCount"] == 2
    assert one["activities"][0]["description"] == "Invited via email"
    by_test = api.call("GET", f"/tests/{test_id}/candidates",
                       params={"$filter[status]": "invited", "$sort": "-id"}).json()
    assert [c["email"] for c in by_test["value"]] == ["bob@example.com", "jane@example.com"]
    assert api.call("GET", "/candidates", params={"$filter[status]": "completed"}).json()[
        "totalCount"] == 0


def test_invite_validation(sim: TestDomeSimulator, api: Api) -> None:
    test_id = sim.add_test("Go")
    no_deadline = api.call("POST", f"/tests/{test_id}/candidates/invite-via-email",
                           json={"emails": ["a@b.co"], "body": "x", "replyTo": "r@b.co",
                                 "proctoringEnabled": False})
    assert no_deadline.status_code == 400
    assert no_deadline.json()["innerError"]["code"] == "InvalidDeadline"
    assert invite(api, 999, "a@b.co").status_code == 404
    archived = sim.add_test("Old", archived=True)
    assert invite(api, archived, "a@b.co").json()["innerError"]["code"] == "TestNotAvailable"
    assert sim.candidate_ids() == []


def test_complete_sends_webhook_and_result_fields(sim: TestDomeSimulator, api: Api,
                                                  receiver: Receiver) -> None:
    cid = invited_candidate(sim, api)
    sim.complete_candidate(cid, score=82.5, time_taken=1234, name="Jane Doe")
    results = sim.deliver_webhooks()
    assert [r.status for r in results] == [200]
    (hit,) = receiver.hits
    test_id = sim.candidate(cid)["test"]["id"]
    assert hit["path"] == "/connectors/testdome/webhooks/tok123"
    assert hit["body"] == {"candidateId": str(cid), "testId": test_id, "status": "Completed"}
    assert hit["type"] == "application/json; charset=utf-8"
    assert re.fullmatch(r"[0-9a-f-]{36}", hit["correlation"])
    cand = api.call("GET", f"/candidates/{cid}").json()
    assert (cand["status"], cand["score"], cand["passed"], cand["passedOverride"],
            cand["timeTaken"], cand["needsScoring"], cand["maxScore"], cand["name"]) == \
        ("completed", 82.5, True, None, 1234, False, None, "Jane Doe")
    share = api.call("POST", f"/candidates/{cid}/sharing-url").json()["shareUrl"]
    page = requests.get(share, timeout=5)
    assert page.status_code == 200 and "jane@example.com" in page.text
    assert sim.deliver_webhooks() == []


def test_duplicate_and_dropped_webhooks(sim: TestDomeSimulator, api: Api,
                                        receiver: Receiver) -> None:
    first = invited_candidate(sim, api, "a@example.com")
    second = invited_candidate(sim, api, "b@example.com")
    sim.complete_candidate(first, webhook="duplicate")
    sim.complete_candidate(second, score=10, webhook="drop")
    sim.deliver_webhooks()
    assert [h["body"]["candidateId"] for h in receiver.hits] == [str(first), str(first)]
    assert receiver.hits[0]["correlation"] == receiver.hits[1]["correlation"]
    assert sim.dropped_webhooks == [{"candidateId": str(second), "testId": sim.candidate(
        second)["test"]["id"], "status": "Completed"}]
    polled = api.call("GET", "/candidates", params={"$filter[status]": "completed"}).json()
    assert {c["id"]: c["passed"] for c in polled["value"]} == {first: True, second: False}


def test_failed_webhook_is_retried_once_with_the_same_correlation_id(
        sim: TestDomeSimulator, api: Api, receiver: Receiver) -> None:
    cid = invited_candidate(sim, api)
    receiver.statuses = [500, 503]
    sim.complete_candidate(cid)
    assert [r.status for r in sim.deliver_webhooks()] == [500]
    assert [(r.status, r.attempt) for r in sim.deliver_webhooks()] == [(503, 2)]
    assert sim.deliver_webhooks() == []
    assert len({h["correlation"] for h in receiver.hits}) == 1 and len(receiver.hits) == 2


def test_guid_candidate_ids_in_webhooks(api: Api, sim: TestDomeSimulator,
                                        receiver: Receiver) -> None:
    sim.webhook_candidate_ids = "guid"
    cid = invited_candidate(sim, api)
    sim.complete_candidate(cid)
    sim.deliver_webhooks()
    sent = receiver.hits[0]["body"]["candidateId"]
    assert re.fullmatch(r"[0-9a-f]{32}", sent) and sent != str(cid)
    assert sent not in json.dumps(api.call("GET", f"/candidates/{cid}").json())


def test_cancel_and_missed_deadline_are_final_with_webhooks(sim: TestDomeSimulator, api: Api,
                                                            receiver: Receiver) -> None:
    canceled = invited_candidate(sim, api, "c@example.com")
    late = invited_candidate(sim, api, "l@example.com")
    assert api.call("POST", f"/candidates/{canceled}/cancel-invite").status_code == 204
    again = api.call("POST", f"/candidates/{canceled}/cancel-invite")
    assert again.status_code == 409
    sim.advance_time(8 * 86400)
    api.refresh()
    assert api.call("GET", f"/candidates/{late}").json()["status"] == "didNotTake"
    sim.deliver_webhooks()
    assert [h["body"]["status"] for h in receiver.hits] == ["Canceled", "DidNotTake"]
    with pytest.raises(ApiError, match="already"):
        sim.complete_candidate(late)


def test_manual_scoring_and_passed_override(sim: TestDomeSimulator, api: Api,
                                            receiver: Receiver) -> None:
    test_id = sim.add_test("SQL", cutoff_score=50, manual_scoring=True)
    invite(api, test_id, "m@example.com")
    (cid,) = sim.candidate_ids(email="m@example.com")
    sim.complete_candidate(cid, score=40, needs_scoring=True, max_score=90)
    pending = api.call("GET", f"/candidates/{cid}").json()
    assert (pending["needsScoring"], pending["score"], pending["maxScore"], pending["passed"]) \
        == (True, 40, 90, False)
    assert api.call("GET", f"/tests/{test_id}").json()["needsScoring"] == 1
    sim.finish_scoring(cid, 65)
    sim.set_passed_override(cid, False)
    scored = api.call("GET", f"/candidates/{cid}").json()
    assert (scored["needsScoring"], scored["score"], scored["maxScore"], scored["passed"],
            scored["passedOverride"]) == (False, 65, None, True, False)
    sim.deliver_webhooks()
    assert len(receiver.hits) == 1  # scoring changes fire no webhook


def test_archive_and_unarchive(sim: TestDomeSimulator, api: Api) -> None:
    cid = invited_candidate(sim, api)
    resp = api.call("POST", "/candidates/archive", json={"candidateIds": [cid, 42]})
    assert resp.json() == {"failedCandidates": [42]}
    assert api.call("GET", "/candidates", params={"$filter[archived]": "true"}).json()[
        "value"][0]["id"] == cid
    api.call("POST", "/candidates/unarchive", json={"candidateIds": [cid]})
    assert sim.candidate(cid)["archived"] is False


# ----- failure injection ------------------------------------------------------------------

def test_failures_rate_limits_and_hangs(sim: TestDomeSimulator, api: Api) -> None:
    sim.fail_next(2, status=503)
    sim.rate_limit_next(1, retry_after=7)
    first, second = api.call("GET", "/tests"), api.call("GET", "/tests")
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json()["code"] == "ServiceUnavailable"
    limited = api.call("GET", "/tests")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["innerError"]["code"] == "RateLimited"
    assert api.call("GET", "/tests").status_code == 200
    sim.hang_next(1, seconds=0.6)
    with pytest.raises(requests.Timeout):
        api.call("GET", "/tests", timeout=0.2)
    assert api.call("GET", "/tests").status_code == 200
    assert [c.status for c in sim.api_calls][:4] == [503, 503, 429, 200]
    assert sim.api_calls[0].query == {} and sim.api_calls[0].method == "GET"


# ----- the command line -------------------------------------------------------------------

def test_main_serves_and_pumps_webhooks(receiver: Receiver) -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "connectors.testdome.simulator", "--port", "0",
         "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--seed-tests", "3",
         "--webhook-delay", "0"], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        base = re.search(r"API (http://\S+)/v3", line).group(1)  # type: ignore[union-attr]
        token = requests.post(f"{base}/token", timeout=5, data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        tests = requests.get(f"{base}/v3/tests", headers=auth, timeout=5).json()
        assert tests["totalCount"] == 3
        requests.post(f"{base}/_sim/webhook-url", json={"url": receiver.url}, timeout=5)
        requests.post(f"{base}/v3/tests/{tests['value'][0]['id']}/candidates/invite-via-email",
                      headers=auth, timeout=5, json={"emails": ["p@example.com"],
                                                     "deadline": deadline(), "body": "Hi",
                                                     "replyTo": "r@example.com",
                                                     "proctoringEnabled": False})
        cand = requests.get(f"{base}/v3/candidates", headers=auth, timeout=5).json()["value"][0]
        done = requests.post(f"{base}/_sim/candidates/{cand['id']}/complete",
                             json={"score": 91}, timeout=5).json()
        assert done["status"] == "completed" and done["score"] == 91
        for _ in range(40):
            if receiver.hits:
                break
            time.sleep(0.1)
        assert receiver.hits[0]["body"]["candidateId"] == str(cand["id"])
    finally:
        proc.terminate()
        proc.wait(timeout=5)
