"""The softgarden simulator over real loopback HTTP, against a tiny fake gateway.

No Django: ``.venv/bin/python -m pytest -p no:django --noconftest tests/simulators/test_softgarden_simulator.py``
(``python -m`` puts the repository on ``sys.path``; pytest-django does that when enabled;
``--noconftest`` skips the suite's fixtures, which need Django).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.softgarden.simulator import (
    GatewayHTTPError,
    ProtocolViolation,
    SoftgardenSimulator,
)
from gateway.sdk.loopback import LoopbackServer

KEY = "sg_inbound_key_123"
PREFIX = "/connectors/softgarden"
CANDIDATE = {"id": "ff6f133b-0000-4b4e-b141-000000000000", "firstName": "Jane",
             "lastName": "Doe", "email": "jane.doe@example.com"}
PENDING = {"status": "PENDING", "result": {"resultUrl": "https://gw.example.com/r/inv_1"}}
COMPLETED = {"status": "COMPLETED", "completionTime": "2021-03-26T10:00:00Z",
             "result": {"resultUrl": "https://vendor.example.com/results/abc",
                        "reportUrl": "https://vendor.example.com/results/abc.pdf",
                        "shareUrl": "https://vendor.example.com/share/xyz", "score": "78%"}}
EXPIRED = {"status": "EXPIRED", "expirationTime": "2021-03-27T10:00:00.123Z",
           "result": {"resultUrl": "https://gw.example.com/r/inv_3"}}


def basic(user: str, password: str | None) -> str:
    raw = user if password is None else f"{user}:{password}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


class FakeGateway:
    """The gateway's four softgarden endpoints, answering whatever a test sets."""

    def __init__(self) -> None:
        self.tests: tuple[int, Any] = (200, [{"id": "101", "name": "Python (Senior)"}])
        self.invitation: tuple[int, Any] = (200, {
            "invitationId": "inv_1", "testUrl": "https://gw.example.com/t/tok",
            "duration": 60, "deadline": "2021-03-26T10:00:00Z"})
        self.results: dict[str, tuple[int, Any]] = {}
        self.delete_status: dict[str, int] = {}
        self.content_type = "application/json"
        self.calls: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        self.calls.append({"method": method, "path": path, "body": raw and json.loads(raw),
                           "auth": environ.get("HTTP_AUTHORIZATION")})
        status, payload = self._route(method, path.removeprefix(PREFIX), environ)
        body = payload if isinstance(payload, bytes) else (
            b"" if payload is None else json.dumps(payload).encode())
        headers = [("Content-Type", self.content_type)] if body else []
        start_response(f"{status} X", headers + [("Content-Length", str(len(body)))])
        return [body]

    def _route(self, method: str, path: str, environ: dict[str, Any]) -> tuple[int, Any]:
        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {KEY}":
            return 401, {"detail": "unauthenticated"}
        if (method, path) == ("GET", "/tests"):
            return self.tests
        if (method, path) == ("POST", "/invitations"):
            return self.invitation
        if method == "GET" and path.startswith("/results/"):
            return self.results.get(path[9:], (404, {"detail": "not found"}))
        if method == "DELETE" and path.startswith("/invitations/"):
            return self.delete_status.get(path[13:], 400), None
        return 404, {"detail": "no route"}

    def paths(self, method: str) -> list[str]:
        return [c["path"] for c in self.calls if c["method"] == method]


class Switch:
    """A WSGI app that forwards to whichever app the current test plugged in.

    Servers live for the whole module (each stop costs the server's 0.5 s poll), while
    every test gets a fresh fake gateway and a fresh simulator behind them.
    """

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def servers():
    gateway_switch, sim_switch = Switch(), Switch()
    with LoopbackServer(gateway_switch) as gateway_server, LoopbackServer(sim_switch) as sim_server:
        yield gateway_switch, gateway_server.url, sim_switch, sim_server.url


@pytest.fixture
def gateway(servers):
    fake = FakeGateway()
    servers[0].app = fake
    fake.url = servers[1] + PREFIX
    return fake


@pytest.fixture
def make_sim(servers, gateway):
    """Build a simulator bound to the module's server; the last one built is served."""
    built: list[SoftgardenSimulator] = []

    def make(**options: Any) -> SoftgardenSimulator:
        options.setdefault("notify_client_secret", "s3cret")
        sim = SoftgardenSimulator(gateway.url, KEY, "client-10", base_url=servers[3], **options)
        servers[2].app = sim
        built.append(sim)
        return sim

    yield make
    for sim in built:
        sim.close()


def notify(sim: SoftgardenSimulator, body: Any = None, *, auth: str | None = None,
           data: bytes | None = None, content_type: str = "application/json",
           ) -> requests.Response:
    headers = {"Content-Type": content_type}
    headers["Authorization"] = auth or basic(sim.notify_client_id, sim.notify_client_secret)
    payload = data if data is not None else json.dumps(body).encode()
    return requests.post(sim.callback_url, data=payload, headers=headers, timeout=5)


# --- notification endpoint -------------------------------------------------------------------

def test_notification_with_right_credentials_is_recorded_then_result_fetched(make_sim, gateway):
    gateway.results["inv_1"] = (200, COMPLETED)
    sim = make_sim()
    response = notify(sim, {"invitationId": "inv_1"})
    assert response.status_code == 204 and response.content == b""
    assert sim.wait_idle(5)
    [note] = sim.notifications
    assert note.invitation_id == "inv_1" and note.status == 204
    assert note.headers["Authorization"] == basic("client-10", "s3cret")
    assert note.headers["Content-Type"] == "application/json"
    assert note.raw_body == b'{"invitationId": "inv_1"}'
    assert gateway.paths("GET") == [f"{PREFIX}/results/inv_1"]
    assert gateway.calls[-1]["auth"] == f"Bearer {KEY}"
    assert sim.results == {"inv_1": COMPLETED}
    assert [(f.invitation_id, f.error) for f in sim.fetches] == [("inv_1", None)]
    assert sim.deletions == [] and gateway.paths("DELETE") == []  # deletion is opt-in


@pytest.mark.parametrize("auth", [
    basic("client-10", "wrong"),
    basic("other", "s3cret"),
    basic("client-10", None),  # no colon at all
    "Bearer " + KEY,
    "Basic not-base64!!",
    "",
])
def test_notification_with_wrong_credentials_is_401_and_not_fetched(make_sim, gateway, auth):
    sim = make_sim()
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    response = requests.post(sim.callback_url, json={"invitationId": "inv_1"}, headers=headers,
                             timeout=5)
    assert response.status_code == 401
    assert sim.wait_idle(5)
    assert [n.status for n in sim.notifications] == [401]
    assert gateway.calls == [] and sim.fetches == []


def test_public_client_with_empty_secret_needs_the_trailing_colon(make_sim, gateway):
    gateway.results["inv_1"] = (200, PENDING)
    sim = make_sim(notify_client_secret="")
    assert base64.b64encode(b"10:") == b"MTA6"  # what curl -u "10:" sends; not the docs' MTA=
    assert notify(sim, {"invitationId": "inv_1"}, auth=basic("client-10", "")).status_code == 204
    no_colon = notify(sim, {"invitationId": "inv_1"}, auth=basic("client-10", None))
    assert no_colon.status_code == 401
    assert sim.wait_idle(5) and sim.results == {"inv_1": PENDING}


@pytest.mark.parametrize("data, content_type", [
    (b"not json", "application/json"),
    (b"{}", "application/json"),
    (b'{"invitationId": 42}', "application/json"),
    (b'{"invitationId": ""}', "application/json"),
    (b'["inv_1"]', "application/json"),
    (b'{"invitationId": "inv_1"}', "text/plain"),
])
def test_notification_with_bad_body_is_400(make_sim, gateway, data, content_type):
    sim = make_sim()
    response = notify(sim, data=data, content_type=content_type)
    assert response.status_code == 400 and "error" in response.json()
    assert sim.wait_idle(5) and gateway.calls == []
    assert [(n.status, n.raw_body) for n in sim.notifications] == [(400, data)]


def test_other_methods_and_paths(make_sim):
    sim = make_sim()
    assert requests.get(sim.callback_url, timeout=5).status_code == 405
    assert requests.post(sim.base_url + "/nope", timeout=5).status_code == 404


def test_failure_injection_answers_then_recovers(make_sim, gateway):
    gateway.results["inv_1"] = (200, PENDING)
    sim = make_sim()
    sim.fail_next_notifications(2, status=503)
    statuses = [notify(sim, {"invitationId": "inv_1"}).status_code for _ in range(3)]
    assert statuses == [503, 503, 204]
    assert sim.wait_idle(5)
    assert [n.status for n in sim.notifications] == [503, 503, 204]
    assert gateway.paths("GET") == [f"{PREFIX}/results/inv_1"]  # only the accepted one


def test_state_endpoint_shows_what_softgarden_saw(make_sim, gateway):
    gateway.results["inv_1"] = (200, PENDING)
    sim = make_sim()
    sim.fail_next_notifications(1, status=500)
    assert notify(sim, {"invitationId": "inv_1"}).status_code == 500
    assert notify(sim, {"invitationId": "inv_1"}).status_code == 204
    assert sim.wait_idle(5)
    state = requests.get(sim.base_url + "/_simulator/state", timeout=5).json()
    assert state["callbackUrl"] == sim.callback_url
    assert [n["status"] for n in state["notifications"]] == [500, 204]
    assert state["results"] == {"inv_1": PENDING}
    assert [(f["invitation_id"], f["status"]) for f in state["fetches"]] == [("inv_1", 200)]
    assert requests.post(sim.base_url + "/_simulator/state", timeout=5).status_code == 405


# --- fetch after notify, delete after a final result -------------------------------------------

def test_delete_after_completed_and_expired_but_not_pending(make_sim, gateway):
    gateway.results = {"inv_1": (200, PENDING), "inv_2": (200, COMPLETED),
                       "inv_3": (200, EXPIRED)}
    gateway.delete_status = {"inv_2": 204, "inv_3": 200}
    sim = make_sim(auto_fetch=False, auto_delete=True)
    for invitation_id in ("inv_1", "inv_2", "inv_3"):
        assert notify(sim, {"invitationId": invitation_id}).status_code == 204
    assert gateway.calls == []  # nothing fetched until process_pending()
    fetched = sim.process_pending()
    assert [(f.invitation_id, f.result["status"]) for f in fetched] == [
        ("inv_1", "PENDING"), ("inv_2", "COMPLETED"), ("inv_3", "EXPIRED")]
    assert [(c["method"], c["path"]) for c in gateway.calls] == [
        ("GET", f"{PREFIX}/results/inv_1"),
        ("GET", f"{PREFIX}/results/inv_2"), ("DELETE", f"{PREFIX}/invitations/inv_2"),
        ("GET", f"{PREFIX}/results/inv_3"), ("DELETE", f"{PREFIX}/invitations/inv_3")]
    assert [(d.invitation_id, d.status, d.error) for d in sim.deletions] == [
        ("inv_2", 204, None), ("inv_3", 200, None)]
    assert sim.process_pending() == []


def test_notification_after_deletion_is_a_violation_and_not_fetched(make_sim, gateway):
    gateway.results["inv_2"] = (200, COMPLETED)
    gateway.delete_status["inv_2"] = 204
    sim = make_sim(auto_delete=True)
    assert notify(sim, {"invitationId": "inv_2"}).status_code == 204
    assert sim.wait_idle(5) and len(sim.deletions) == 1
    assert notify(sim, {"invitationId": "inv_2"}).status_code == 204
    assert sim.wait_idle(5)
    assert sim.violations == ["notification for deleted invitation inv_2"]
    assert gateway.paths("GET") == [f"{PREFIX}/results/inv_2"]
    assert sim.results == {"inv_2": COMPLETED}  # softgarden keeps what it fetched


def test_failed_delete_and_bad_result_are_recorded_not_raised(make_sim, gateway):
    gateway.results = {"inv_2": (200, COMPLETED), "inv_9": (200, {"status": "DONE"}),
                       "inv_5": (500, {"detail": "boom"})}
    sim = make_sim(auto_delete=True)  # no delete_status for inv_2: gateway says 400
    for invitation_id in ("inv_2", "inv_9", "inv_5"):
        assert notify(sim, {"invitationId": invitation_id}).status_code == 204
    assert sim.wait_idle(5)
    [deletion] = sim.deletions
    assert (deletion.invitation_id, deletion.status) == ("inv_2", 400)
    errors = {f.invitation_id: f.error for f in sim.fetches}
    assert errors["inv_2"] is None
    assert errors["inv_9"].startswith("ProtocolViolation: result: missing required field")
    assert errors["inv_5"].startswith("GatewayHTTPError: GET") and "500" in errors["inv_5"]
    assert set(sim.results) == {"inv_2"}


def test_reject_unknown_invitations_until_invited(make_sim, gateway):
    gateway.results["inv_1"] = (200, PENDING)
    sim = make_sim(reject_unknown_invitations=True)
    assert notify(sim, {"invitationId": "inv_1"}).status_code == 401
    sim.invite("101", CANDIDATE)
    assert notify(sim, {"invitationId": "inv_1"}).status_code == 204
    assert sim.wait_idle(5) and sim.results == {"inv_1": PENDING}


# --- the driver: requests sent and answers validated --------------------------------------------

def test_get_tests_valid(make_sim, gateway):
    assert make_sim().get_tests() == [{"id": "101", "name": "Python (Senior)"}]
    assert gateway.calls[0]["method"] == "GET" and gateway.calls[0]["auth"] == f"Bearer {KEY}"


@pytest.mark.parametrize("payload, message", [
    ({"tests": []}, "bare JSON array"),
    ([{"id": 101, "name": "Python"}], "tests[0].id"),
    ([{"id": "101"}], "missing required field(s) ['name']"),
    ([{"id": "101", "name": "Python", "language": "en"}], "unknown field(s) ['language']"),
    (["101"], "expected an object"),
])
def test_get_tests_invalid_shapes(make_sim, gateway, payload, message):
    gateway.tests = (200, payload)
    with pytest.raises(ProtocolViolation) as info:
        make_sim().get_tests()
    assert message in str(info.value)


def test_non_json_answers_and_lenient_mode(make_sim, gateway):
    gateway.tests = (200, [{"id": "1", "name": "A", "extra": True}])
    assert make_sim(strict=False).get_tests() == [{"id": "1", "name": "A", "extra": True}]
    gateway.content_type = "text/html"
    with pytest.raises(ProtocolViolation, match="Content-Type"):
        make_sim().get_tests()
    gateway.content_type, gateway.tests = "application/json", (200, b"[{oops")
    with pytest.raises(ProtocolViolation, match="not valid JSON"):
        make_sim().get_tests()


def test_invite_sends_exactly_the_documented_body(make_sim, gateway):
    sim = make_sim()
    invitation = sim.invite("101", {**CANDIDATE, "phone": "ignored"})
    assert invitation == gateway.invitation[1]
    assert gateway.calls[-1]["body"] == {"testId": "101", "candidate": CANDIDATE,
                                         "callback": sim.callback_url}
    assert sim.callback_url.endswith("/assessments/notify")
    sim.invite("101", {k: v for k, v in CANDIDATE.items() if k != "id"},
               callback="https://app.softgarden.io/cb")
    sent = gateway.calls[-1]["body"]
    assert sent["callback"] == "https://app.softgarden.io/cb"
    assert len(sent["candidate"]["id"]) == 36  # a generated UUID
    assert sim.invitations["inv_1"]["response"] == invitation


def test_invite_accepts_201_and_minimal_answer(make_sim, gateway):
    gateway.invitation = (201, {"invitationId": "inv_7", "testUrl": "http://gw/t/x"})
    assert make_sim().invite("101", CANDIDATE) == {"invitationId": "inv_7",
                                                   "testUrl": "http://gw/t/x"}


@pytest.mark.parametrize("change, message", [
    ({"invitationId": 7}, "invitation.invitationId"),
    ({"testUrl": None}, "invitation.testUrl"),
    ({"testUrl": "/t/relative"}, "absolute http(s) URL"),
    ({"duration": "60"}, "invitation.duration"),
    ({"duration": 60.5}, "invitation.duration"),
    ({"duration": True}, "invitation.duration"),
    ({"deadline": "2021-03-26 10:00:00"}, "invitation.deadline"),
    ({"deadline": "2021-03-26T10:00:00+01:00"}, "invitation.deadline"),
    ({"deadline": "2021-13-26T10:00:00Z"}, "invitation.deadline"),
    ({"deadline": None}, "invitation.deadline: null"),
    ({"candidateId": "x"}, "unknown field(s) ['candidateId']"),
])
def test_invite_invalid_answers(make_sim, gateway, change, message):
    gateway.invitation = (200, {**gateway.invitation[1], **change})
    with pytest.raises(ProtocolViolation) as info:
        make_sim().invite("101", CANDIDATE)
    assert message in str(info.value)


@pytest.mark.parametrize("payload", [PENDING, COMPLETED, EXPIRED,
                                     {**COMPLETED, "expirationTime": "2021-03-27T10:00:00Z"}])
def test_get_result_valid(make_sim, gateway, payload):
    gateway.results["inv_1"] = (200, payload)
    assert make_sim().get_result("inv_1") == payload


@pytest.mark.parametrize("payload, message", [
    ({**PENDING, "status": "CANCELED"}, "result.status"),
    ({"status": "COMPLETED", "result": COMPLETED["result"]}, "result.completionTime: required"),
    ({"status": "EXPIRED", "result": PENDING["result"]}, "result.expirationTime: required"),
    ({"status": "PENDING"}, "missing required field(s) ['result']"),
    ({"status": "PENDING", "result": {}}, "['resultUrl']"),
    ({**COMPLETED, "result": {**COMPLETED["result"], "score": 78}}, "result.result.score"),
    ({**COMPLETED, "completionTime": "26.03.2021"}, "result.completionTime"),
    ({**PENDING, "result": {"resultUrl": "x", "score": "1"}}, "result.result.resultUrl"),
    ({**PENDING, "result": {**PENDING["result"], "passed": True}}, "unknown field(s)"),
])
def test_get_result_invalid_answers(make_sim, gateway, payload, message):
    gateway.results["inv_1"] = (200, payload)
    with pytest.raises(ProtocolViolation) as info:
        make_sim().get_result("inv_1")
    assert message in str(info.value)


def test_error_statuses_raise_with_status_and_body(make_sim, gateway):
    sim = make_sim()
    with pytest.raises(GatewayHTTPError) as info:
        sim.get_result("unknown")
    assert info.value.status == 404 and info.value.json() == {"detail": "not found"}
    with pytest.raises(GatewayHTTPError) as info:
        sim.delete_invitation("never-seen")
    assert info.value.status == 400
    gateway.delete_status["inv_1"] = 204
    assert sim.delete_invitation("inv_1") == 204
    assert gateway.calls[-1]["method"] == "DELETE"


def test_raw_requests_for_auth_errors(make_sim, gateway):
    sim = make_sim()
    assert sim.request("GET", "/tests", token="wrong").status_code == 401
    assert sim.request("GET", "/tests", anonymous=True).status_code == 401
    assert gateway.calls[-1]["auth"] is None
    ok = sim.request("GET", "/tests")
    assert ok.status_code == 200 and ok.json() == gateway.tests[1]
    wrong = SoftgardenSimulator(gateway.url, "bad", "client-10")
    with pytest.raises(GatewayHTTPError) as info:
        wrong.get_tests()
    assert info.value.status == 401


def test_callback_url_needs_a_base_url_and_serve_binds_it(gateway):
    sim = SoftgardenSimulator(gateway.url, KEY, "c")
    with pytest.raises(RuntimeError):
        sim.callback_url  # noqa: B018 - the property raises
    assert sim.bind("http://sim.local/").callback_url == "http://sim.local/assessments/notify"
    server = sim.serve()
    try:
        assert sim.callback_url == server.url + "/assessments/notify"
        assert notify(sim, {"invitationId": "x"}, auth=basic("c", "")).status_code == 204
    finally:
        server.stop()
        sim.close()


def test_main_serves_until_stopped(gateway):
    """``python -m connectors.softgarden.simulator`` on a free port, stopped by its pid."""
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.softgarden.simulator", "--port", "0",
         "--partner-url", gateway.url, "--inbound-key", KEY, "--client-id", "cid"],
        cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        callback = line.rsplit(" ", 1)[1].strip()
        base = callback.removesuffix("/assessments/notify")
        response = requests.post(callback, json={"invitationId": "inv_1"},
                                 headers={"Authorization": basic("cid", "")}, timeout=5)
        assert response.status_code == 204
        state = requests.get(base + "/_simulator/state", timeout=5).json()
        assert [n["body"] for n in state["notifications"]] == [{"invitationId": "inv_1"}]
    finally:
        process.terminate()
        process.wait(timeout=5)
