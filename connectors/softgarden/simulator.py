"""A stand-alone simulator of softgarden, the ATS side of the softgarden Assessment API.

softgarden is both a **server** (the notification endpoint our gateway POSTs
``{"invitationId"}`` to, with HTTP Basic ``client_id:secret``) and a **client** of the
gateway's four endpoints (tests, invitations, results, deletion) with ``Bearer <key>``;
see https://dev.softgarden.de/assessment-api/. The simulator plays both parts from memory
so the gateway is tested over real loopback HTTP. As a client it validates answers like a
strict deserialiser; where softgarden's behaviour is UNCONFIRMED it takes the stricter
reading, so a gateway that passes here is safe either way. One tenant per instance.

Run: ``python -m connectors.softgarden.simulator --port 8102 --partner-url
http://127.0.0.1:8000/connectors/softgarden --inbound-key KEY --client-id ID``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hmac
import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import requests

from gateway.sdk.loopback import LoopbackServer

NOTIFY_PATH = "/assessments/notify"
STATE_PATH = "/_simulator/state"
STATUSES = ("PENDING", "COMPLETED", "EXPIRED")
FINAL_STATUSES = frozenset({"COMPLETED", "EXPIRED"})
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
_SECONDS = "%Y-%m-%dT%H:%M:%S"
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


class ProtocolViolation(Exception):
    """The gateway's answer has a shape that softgarden's strict deserialiser would reject."""


class GatewayHTTPError(Exception):
    """A status softgarden does not treat as success; ``status`` and ``body`` for tests."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} -> {status}: {body[:200]}")
        self.method, self.url, self.status, self.body = method, url, status, body

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Notification:
    """One request received on the notification endpoint, whatever we answered."""

    received_at: datetime
    headers: dict[str, str]
    raw_body: bytes
    body: Any  # parsed JSON, or None when the body was not JSON
    status: int  # the status the simulator answered with

    @property
    def invitation_id(self) -> str | None:
        return self.body.get("invitationId") if isinstance(self.body, dict) else None


@dataclass(frozen=True)
class Call:
    """One call softgarden made on its own after a notification (a fetch or a DELETE)."""

    invitation_id: str
    at: datetime
    status: int | None  # None when no HTTP answer came back
    result: dict[str, Any] | None = None  # the validated result, for fetches
    error: str | None = None


# --- strict validation of the gateway's answers -------------------------------------------

def _fail(where: str, message: str) -> NoReturn:
    raise ProtocolViolation(f"{where}: {message}")


Checker = Callable[[Any, str], Any]


def _check_fields(obj: Any, where: str, required: dict[str, Checker],
                  optional: dict[str, Checker], strict: bool) -> dict[str, Any]:
    """Check an object field by field; in strict mode also refuse unknown keys and nulls.

    softgarden's deserialiser settings are unknown; failing on extras and on ``null``
    optionals is the reading under which a passing gateway passes against the real thing.
    """
    if not isinstance(obj, dict):
        _fail(where, f"expected an object, got {type(obj).__name__}")
    missing = [key for key in required if key not in obj]
    if missing:
        _fail(where, f"missing required field(s) {missing}")
    unknown = sorted(set(obj) - set(required) - set(optional))
    if strict and unknown:
        _fail(where, f"unknown field(s) {unknown}")
    for key, check in {**required, **optional}.items():
        if obj.get(key) is not None:
            check(obj[key], f"{where}.{key}")
        elif key in obj and (strict or key in required):
            _fail(f"{where}.{key}", "null; omit an optional field instead")
    return obj


def _is_http_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def _is_utc_time(value: Any) -> bool:
    """ISO-8601 in UTC with a ``Z`` suffix, and a real date."""
    try:
        return bool(_TIMESTAMP.match(value) and datetime.strptime(value[:19], _SECONDS))
    except (TypeError, ValueError):
        return False


def _must(test: Callable[[Any], bool], expected: str) -> Checker:
    def check(value: Any, where: str) -> None:
        if not test(value):
            _fail(where, f"expected {expected}, got {value!r}")
    return check


_text = _must(lambda v: isinstance(v, str), "a string")
_string = _must(lambda v: isinstance(v, str) and v != "", "a non-empty string")
_url = _must(_is_http_url, "an absolute http(s) URL")
_timestamp = _must(_is_utc_time, "an ISO-8601 UTC time like 2021-03-26T10:00:00Z")
_minutes = _must(lambda v: type(v) is int and v > 0, "a positive whole number of minutes")
_status = _must(lambda v: v in STATUSES, f"one of {list(STATUSES)}")


def validate_tests(payload: Any, strict: bool = True) -> list[dict[str, Any]]:
    """The tests endpoint: a bare array of ``{"id": str, "name": str}``."""
    if not isinstance(payload, list):
        _fail("tests", f"expected a bare JSON array, got {type(payload).__name__}")
    for index, item in enumerate(payload):
        _check_fields(item, f"tests[{index}]", {"id": _string, "name": _string}, {}, strict)
    return payload


def validate_invitation(payload: Any, strict: bool = True) -> dict[str, Any]:
    """The invite answer: ``invitationId`` and ``testUrl``; ``duration`` whole minutes."""
    return _check_fields(payload, "invitation", {"invitationId": _string, "testUrl": _url},
                         {"duration": _minutes, "deadline": _timestamp}, strict)


def validate_result(payload: Any, strict: bool = True) -> dict[str, Any]:
    """The result answer: status enum, the timestamp its status needs, ``result`` always."""
    def inner(value: Any, where: str) -> None:
        _check_fields(value, where, {"resultUrl": _url},
                      {"reportUrl": _url, "shareUrl": _url, "score": _text}, strict)

    _check_fields(payload, "result", {"status": _status, "result": inner},
                  {"completionTime": _timestamp, "expirationTime": _timestamp}, strict)
    for key, needed_by in (("completionTime", "COMPLETED"), ("expirationTime", "EXPIRED")):
        if payload["status"] == needed_by and payload.get(key) is None:
            _fail(f"result.{key}", f"required when status is {needed_by}")
    return payload


# --- the simulator ---------------------------------------------------------------------------

def _utcnow() -> datetime:
    return datetime.now(UTC)


def _read_body(environ: dict[str, Any]) -> bytes:
    length = str(environ.get("CONTENT_LENGTH") or "")
    return environ["wsgi.input"].read(int(length)) if length.isdigit() else b""


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request headers as sent, e.g. ``Authorization`` and ``Content-Type``."""
    keys = [key for key in environ if key.startswith("HTTP_")]
    keys += [key for key in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(key)]
    return {key.removeprefix("HTTP_").replace("_", "-").title(): environ[key] for key in keys}


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class SoftgardenSimulator:
    """softgarden for one tenant: notification server (WSGI) and driver of the gateway's endpoints.

    ``auto_fetch=True`` fetches results in a background worker after each accepted
    notification, as the real ATS does after answering; ``wait_idle()`` waits for it.
    With ``auto_fetch=False`` notifications queue up until ``process_pending()`` runs
    them in the caller's thread, which makes ordering fully deterministic.
    ``auto_delete`` sends DELETE once a result is final (softgarden erases data after it
    has the result); it is off by default because real deletion follows retention rules.
    """

    def __init__(self, partner_base_url: str, inbound_key: str, notify_client_id: str,
                 notify_client_secret: str = "", *, base_url: str | None = None,
                 auto_fetch: bool = True, auto_delete: bool = False, strict: bool = True,
                 reject_unknown_invitations: bool = False, timeout: float = 5.0,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.partner_base_url = partner_base_url.rstrip("/")
        self.inbound_key = inbound_key
        self.notify_client_id = notify_client_id
        self.notify_client_secret = notify_client_secret or ""
        self.base_url = base_url.rstrip("/") if base_url else None
        self.auto_fetch, self.auto_delete, self.strict = auto_fetch, auto_delete, strict
        self.reject_unknown_invitations = reject_unknown_invitations
        self.timeout, self.clock = timeout, clock
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._notifications: list[Notification] = []
        self._fetches: list[Call] = []
        self._deletions: list[Call] = []
        self._violations: list[str] = []
        self._results: dict[str, dict[str, Any]] = {}
        self._invitations: dict[str, dict[str, Any]] = {}
        self._deleted: set[str] = set()
        self._pending: deque[str] = deque()
        self._busy = 0
        self._fail_count, self._fail_status = 0, 503
        self._worker: threading.Thread | None = None
        self._closed = False

    # -- addresses and lifecycle --

    def bind(self, base_url: str) -> SoftgardenSimulator:
        """Learn our own public base URL (known only once a server has a port)."""
        self.base_url = base_url.rstrip("/")
        return self

    @property
    def callback_url(self) -> str:
        if not self.base_url:
            raise RuntimeError("simulator has no base URL yet; call bind() or serve()")
        return self.base_url + NOTIFY_PATH

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> LoopbackServer:
        """Start a loopback server for this simulator, bind to it, and return it."""
        server = LoopbackServer(self, host=host, port=port)
        self.bind(server.url)
        return server.start()

    def close(self) -> None:
        """Stop the background worker (pending fetches are dropped)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=self.timeout + 1)

    # -- recorded state: copies taken under the lock, safe to inspect from tests --

    def _copy(self, name: str) -> Any:
        with self._lock:
            value = getattr(self, name)
            return dict(value) if isinstance(value, dict) else list(value)

    notifications = property(lambda self: self._copy("_notifications"),
                             doc="list[Notification]: every request to the endpoint.")
    fetches = property(lambda self: self._copy("_fetches"), doc="list[Call]: result GETs.")
    deletions = property(lambda self: self._copy("_deletions"), doc="list[Call]: DELETEs.")
    violations = property(lambda self: self._copy("_violations"),
                          doc="list[str]: what the gateway did that the protocol forbids.")
    results = property(lambda self: self._copy("_results"),
                       doc="dict: the latest validated result per invitation id.")
    invitations = property(lambda self: self._copy("_invitations"),
                           doc="dict: invitation id -> {request, response} of invite().")

    def fail_next_notifications(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` notifications with ``status`` (to test retries)."""
        with self._lock:
            self._fail_count, self._fail_status = count, status

    # -- the notification server (WSGI) --

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        routes = {NOTIFY_PATH: self._handle_notify, STATE_PATH: self._handle_state}
        handler = routes.get(path)
        status, payload = handler(method, environ) if handler else (404, {"error": "not found"})
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = [("Content-Length", str(len(body)))]
        if payload is not None:
            headers.append(("Content-Type", "application/json"))
        start_response(f"{status} {_PHRASES.get(status, 'Status')}", headers)
        return [body]

    wsgi_app = __call__

    def _handle_notify(self, method: str, environ: dict[str, Any]) -> tuple[int, Any]:
        if method != "POST":
            return 405, {"error": "method not allowed"}
        raw, headers = _read_body(environ), _headers(environ)
        body = _parse_json(raw)
        with self._cond:
            status, message = self._judge_notification(headers, body)
            self._notifications.append(
                Notification(self.clock(), headers, raw, body, status))
            if status == 204 and body["invitationId"] not in self._deleted:
                self._enqueue(body["invitationId"])
        return status, (None if status == 204 else {"error": message})

    def _judge_notification(self, headers: dict[str, str], body: Any) -> tuple[int, str]:
        """Decide the answer; called with the lock held. Order: outage, auth, body."""
        if self._fail_count > 0:
            self._fail_count -= 1
            return self._fail_status, "injected failure"
        if not self._authorized(headers.get("Authorization", "")):
            return 401, "bad or missing Basic credentials"
        if "application/json" not in headers.get("Content-Type", "").lower():
            return 400, "Content-Type must be application/json"
        invitation_id = body.get("invitationId") if isinstance(body, dict) else None
        if not isinstance(invitation_id, str) or not invitation_id:
            return 400, "invitationId missing"
        if self.reject_unknown_invitations and invitation_id not in self._invitations:
            return 401, "invitation not known to this client"
        if invitation_id in self._deleted:
            self._violations.append(f"notification for deleted invitation {invitation_id}")
        return 204, ""

    def _authorized(self, header: str) -> bool:
        """Exactly ``Basic base64(client_id:secret)``; a missing colon is refused."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{self.notify_client_id}:{self.notify_client_secret}".encode()
        return hmac.compare_digest(decoded, expected)

    def _handle_state(self, method: str, environ: dict[str, Any]) -> tuple[int, Any]:
        """Unauthenticated read of the recorded state, for tests against a subprocess."""
        if method != "GET":
            return 405, {"error": "method not allowed"}
        with self._lock:
            notes = [{"receivedAt": n.received_at.isoformat(), "status": n.status,
                      "headers": n.headers, "body": n.body} for n in self._notifications]
            calls = {name: [{**asdict(c), "at": c.at.isoformat()} for c in getattr(self, name)]
                     for name in ("_fetches", "_deletions")}
            return 200, {"callbackUrl": self.base_url and self.callback_url,
                         "notifications": notes, "fetches": calls["_fetches"],
                         "deletions": calls["_deletions"], "results": dict(self._results),
                         "invitations": dict(self._invitations),
                         "violations": list(self._violations)}

    # -- fetching after notifications --

    def _enqueue(self, invitation_id: str) -> None:
        """Queue a fetch; called with the lock held."""
        self._pending.append(invitation_id)
        if self.auto_fetch and (self._worker is None or not self._worker.is_alive()):
            self._worker = threading.Thread(target=self._work, name="softgarden-sim-fetch",
                                            daemon=True)
            self._worker.start()
        self._cond.notify_all()

    def _take(self, block: bool) -> str | None:
        """Pop the next queued invitation and mark it busy; None when closed or empty."""
        with self._cond:
            if block:
                self._cond.wait_for(lambda: self._pending or self._closed)
            if self._closed or not self._pending:
                return None
            self._busy += 1
            return self._pending.popleft()

    def _run(self, invitation_id: str) -> Call:
        try:
            return self.fetch_and_store(invitation_id)
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    def _work(self) -> None:
        while (invitation_id := self._take(block=True)) is not None:
            self._run(invitation_id)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every queued fetch (and delete) is done; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def process_pending(self) -> list[Call]:
        """Run queued fetches now, in this thread (the ``auto_fetch=False`` mode)."""
        done = []
        while (invitation_id := self._take(block=False)) is not None:
            done.append(self._run(invitation_id))
        return done

    def fetch_and_store(self, invitation_id: str) -> Call:
        """GET the result, keep it, and DELETE afterwards when final and ``auto_delete``."""
        fetch = self._attempt(invitation_id, lambda: (200, self.get_result(invitation_id)))
        with self._lock:
            self._fetches.append(fetch)
            if fetch.result is not None:
                self._results[invitation_id] = fetch.result
        if fetch.result and fetch.result["status"] in FINAL_STATUSES and self.auto_delete:
            deletion = self._attempt(invitation_id,
                                     lambda: (self.delete_invitation(invitation_id), None))
            with self._lock:
                self._deletions.append(deletion)
        return fetch

    def _attempt(self, invitation_id: str, call: Callable[[], tuple[int, Any]]) -> Call:
        """Run one follow-up call and record errors instead of raising: the worker and
        the gateway's notification must not die because the gateway answered badly."""
        try:
            status, result = call()
            return Call(invitation_id, self.clock(), status, result)
        except (ProtocolViolation, GatewayHTTPError, requests.RequestException) as exc:
            status = exc.status if isinstance(exc, GatewayHTTPError) else None
            return Call(invitation_id, self.clock(), status, None, f"{type(exc).__name__}: {exc}")

    # -- the driver: softgarden calling the gateway --

    def request(self, method: str, path: str, *, json_body: Any = None,
                token: str | None = None, anonymous: bool = False,
                headers: dict[str, str] | None = None) -> requests.Response:
        """Raw call to ``partner_base_url + path`` with our Bearer key (or ``token``).

        For tests of error statuses: no validation, no exception on 4xx/5xx.
        """
        sent = {"Accept": "application/json"}
        if not anonymous:
            sent["Authorization"] = f"Bearer {token if token is not None else self.inbound_key}"
        sent.update(headers or {})
        with requests.Session() as session:
            session.trust_env = False  # a proxy from the environment must not see loopback
            return session.request(method, self.partner_base_url + path, json=json_body,
                                   headers=sent, timeout=self.timeout, allow_redirects=False)

    def _call(self, method: str, path: str, ok: tuple[int, ...],
              json_body: Any = None) -> requests.Response:
        response = self.request(method, path, json_body=json_body)
        if response.status_code not in ok:
            raise GatewayHTTPError(method, response.url, response.status_code, response.text)
        return response

    @staticmethod
    def _json(response: requests.Response, where: str) -> Any:
        content_type = response.headers.get("Content-Type", "")
        if not content_type.lower().startswith("application/json"):
            _fail(where, f"expected Content-Type application/json, got {content_type!r}")
        try:
            return response.json()
        except ValueError:
            _fail(where, "body is not valid JSON")

    def get_tests(self) -> list[dict[str, Any]]:
        response = self._call("GET", "/tests", (200,))
        return validate_tests(self._json(response, "tests"), self.strict)

    def invite(self, test_id: str, candidate: dict[str, Any],
               callback: str | None = None) -> dict[str, Any]:
        """POST an invitation with exactly the documented body; ``candidate.id`` gets a UUID
        when absent, the other three candidate fields are required."""
        person = {key: candidate[key] for key in ("firstName", "lastName", "email")}
        body = {"testId": test_id,
                "candidate": {"id": str(candidate.get("id") or uuid.uuid4()), **person},
                "callback": callback or self.callback_url}
        response = self._call("POST", "/invitations", (200, 201), body)
        invitation = validate_invitation(self._json(response, "invitation"), self.strict)
        with self._lock:
            self._invitations[invitation["invitationId"]] = {"request": body,
                                                             "response": invitation}
        return invitation

    def get_result(self, invitation_id: str) -> dict[str, Any]:
        response = self._call("GET", f"/results/{quote(invitation_id, safe='')}", (200,))
        return validate_result(self._json(response, "result"), self.strict)

    def delete_invitation(self, invitation_id: str) -> int:
        """DELETE; returns 200 or 204, raises otherwise. softgarden keeps the result it
        already fetched; later notifications for the id are recorded as violations."""
        response = self._call("DELETE", f"/invitations/{quote(invitation_id, safe='')}",
                              (200, 204))
        with self._lock:
            self._deleted.add(invitation_id)
        return response.status_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Serve a softgarden simulator on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--partner-url", required=True,
                        help="e.g. http://127.0.0.1:8000/connectors/softgarden")
    parser.add_argument("--inbound-key", required=True, help="Bearer key the gateway issued")
    parser.add_argument("--client-id", required=True, help="notification Basic user name")
    parser.add_argument("--client-secret", default="", help="notification secret (may be empty)")
    parser.add_argument("--public-url", help="our base URL if not http://host:port")
    parser.add_argument("--auto-delete", action="store_true", help="DELETE final results")
    parser.add_argument("--no-auto-fetch", action="store_true", help="never fetch results")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    simulator = SoftgardenSimulator(
        args.partner_url, args.inbound_key, args.client_id, args.client_secret,
        auto_fetch=not args.no_auto_fetch, auto_delete=args.auto_delete)
    server = LoopbackServer(simulator, host=args.host, port=args.port)
    simulator.bind(args.public_url or server.url)
    print(f"softgarden simulator on {server.url}; callback {simulator.callback_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    simulator.close()


if __name__ == "__main__":
    main()
