"""Ashby, simulated, for tests and the offline demo: the ATS side of Ashby's
Assessments Partner API (https://developers.ashbyhq.com/docs/creating-an-assessments-integration).

Ashby *calls* the partner on the one base URL the partner gave at onboarding, appending
the RPC name (``assessment.list``, ``assessment.start``, ``assessment.cancel``), with
HTTP Basic ``<partner key>:``, and reads each answer strictly: the driver methods do that
with ``requests``. Ashby *is called* by the partner: ``POST /assessment.update`` with the
customer's API key, which :meth:`AshbySimulator.wsgi_app` serves, records and checks
(the key and its ``candidatesWrite`` permission, the ``Accept`` version, an explicit
User-Agent, DataValue shapes, a timestamp that never goes back per assessment),
answering as Ashby does: 401/403, or 200 with ``success: false`` for bad input. Where
Ashby's behaviour is unconfirmed the stricter reading is taken, so a partner that passes
here is safe either way. Plain WSGI and in-memory state, one customer per instance.

Run: ``python -m connectors.ashby.simulator --port 8104 --partner-url
http://127.0.0.1:8000/connectors/ashby/ --inbound-key KEY --api-key KEY``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hmac
import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import responses as REASONS
from typing import Any
from urllib.parse import urlsplit

import requests

from gateway.sdk.loopback import LoopbackServer

JSON = dict[str, Any]
UPDATE_PATH = "/assessment.update"
STATE_PATH = "/_simulator/state"
ACCEPT = "application/json; version=1"
DEFAULT_API_KEY = "ashby-customer-key"
WRITE_PERMISSION = "candidatesWrite"
DATA_VALUE_TYPES = frozenset({"numeric_score", "numeric_duration_minutes", "url", "string", "boolean_success"})
DATA_VALUE_FIELDS = ("assessment_status", "assessment_profile_url", "assessment_result", "cancelled_reason")
# Cloudflare in front of api.ashbyhq.com refuses these user agents with "error code: 1010".
BLOCKED_USER_AGENT_PREFIXES = ("python-requests", "python-urllib", "curl", "go-http-client", "java")


class AshbySimulatorError(Exception):
    """A partner call ended in a status Ashby does not treat as success."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None) -> None:
        super().__init__(message if status is None else f"{message} (HTTP {status}: {(body or '')[:300]!r})")
        self.status, self.body = status, body

    def json(self) -> Any:
        return json.loads(self.body or "null")


class ProtocolViolation(AshbySimulatorError):
    """A partner answer Ashby's client would refuse."""

    def __init__(self, rpc: str, errors: list[str]) -> None:
        super().__init__(f"{rpc}: " + "; ".join(errors))
        self.rpc, self.errors = rpc, errors


class StartRefused(AshbySimulatorError):
    """``assessment.start`` answered 422: ``message`` is what Ashby shows its user."""

    def __init__(self, message: str, body: str) -> None:
        super().__init__(f"start refused: {message}", status=422, body=body)
        self.message = message


# --- strict reading of the partner's answers ----------------------------------------------------


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def _envelope(rpc: str, payload: Any) -> Any:
    """``{"success": true, "results": …}``; returns ``results``."""
    if not isinstance(payload, dict) or payload.get("success") is not True or "results" not in payload:
        raise ProtocolViolation(rpc, [f"expected {{'success': true, 'results': …}}, got {str(payload)[:200]}"])
    return payload["results"]


def validate_error_envelope(rpc: str, payload: Any) -> JSON:
    """Ashby's error response: ``success: false`` and ``errorInfo.code`` at least."""
    errors = []
    if not isinstance(payload, dict) or payload.get("success") is not False:
        raise ProtocolViolation(rpc, ["an error must be {'success': false, 'errorInfo': {...}}"])
    info = payload.get("errorInfo")
    if not isinstance(info, dict) or not isinstance(info.get("code"), str) or not info["code"]:
        errors.append("errorInfo.code must be a non-empty string")
    elif not isinstance(info.get("message", ""), str) or not isinstance(info.get("requestId", ""), str):
        errors.append("errorInfo.message and errorInfo.requestId must be strings when present")
    listed = payload.get("errors", [])
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
        errors.append("errors must be a list of strings")
    if errors:
        raise ProtocolViolation(rpc, errors)
    return payload


def validate_list(payload: Any) -> list[JSON]:
    items = _envelope("assessment.list", payload)
    if not isinstance(items, list):
        raise ProtocolViolation("assessment.list", ["results must be a list"])
    errors = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(f"results[{index}] must be an object")
            continue
        if not _is_uuid(item.get("assessment_type_id")):
            errors.append(f"results[{index}].assessment_type_id must be a UUID string")
        errors += [f"results[{index}].{key} must be a string" for key in ("name", "description")
                   if key in item and not isinstance(item[key], str)]
    ids = [item.get("assessment_type_id") for item in items if isinstance(item, dict)]
    if len(ids) != len(set(ids)):
        errors.append("assessment_type_id values must be unique")
    if errors:
        raise ProtocolViolation("assessment.list", errors)
    return items


def validate_start(payload: Any) -> str:
    """``results.assessment_id`` (a UUID, as the spec types it); returns it."""
    results = _envelope("assessment.start", payload)
    assessment_id = results.get("assessment_id") if isinstance(results, dict) else None
    if not _is_uuid(assessment_id):
        raise ProtocolViolation("assessment.start", ["results.assessment_id must be a UUID string"])
    if isinstance(results, dict) and results.get("update_request") is not None:
        problems = update_problems(results["update_request"])
        if problems:
            raise ProtocolViolation("assessment.start", [f"update_request: {p}" for p in problems])
    return assessment_id


def validate_cancel(payload: Any) -> JSON:
    """Either the start's success shape or Ashby's error envelope."""
    if isinstance(payload, dict) and payload.get("success") is False:
        return validate_error_envelope("assessment.cancel", payload)
    results = _envelope("assessment.cancel", payload)
    if not isinstance(results, dict) or not _is_uuid(results.get("assessment_id")):
        raise ProtocolViolation("assessment.cancel", ["results.assessment_id must be a UUID string"])
    return payload


# --- checking the partner's updates -------------------------------------------------------------


def data_value_problems(value: Any, where: str) -> list[str]:
    """An AssessmentDataValue: identifier, label, a known type, and a value of that type."""
    if not isinstance(value, dict):
        return [f"{where} must be a DataValue object"]
    problems = [f"{where}.{key} must be a non-empty string" for key in ("identifier", "label")
                if not isinstance(value.get(key), str) or not value[key]]
    if "description" in value and not isinstance(value["description"], str):
        problems.append(f"{where}.description must be a string")
    kind, item = value.get("type"), value.get("value")
    if kind not in DATA_VALUE_TYPES:
        return [*problems, f"{where}.type must be one of {sorted(DATA_VALUE_TYPES)}"]
    fits = {
        "numeric_score": _is_number(item),
        "numeric_duration_minutes": _is_number(item),
        "url": _is_url(item),
        "string": isinstance(item, str),
        "boolean_success": isinstance(item, bool),
    }[kind]
    if not fits:
        problems.append(f"{where}.value {item!r} does not fit type {kind}")
    return problems


def update_problems(body: Any) -> list[str]:
    """What makes an ``assessment.update`` body invalid (Ashby's ``invalid_input``)."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = []
    if not isinstance(body.get("assessment_id"), str) or not body["assessment_id"]:
        problems.append("assessment_id is required")
    stamp = body.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or not 0 < stamp < 2**63:
        problems.append("timestamp must be an int64 of milliseconds since the epoch")
    elif stamp < 10**12:
        problems.append("timestamp looks like seconds; Ashby wants milliseconds")
    for name in DATA_VALUE_FIELDS:
        if body.get(name) is not None:
            problems += data_value_problems(body[name], name)
    if body.get("assessment_status") is None and body.get("cancelled_reason") is None:
        problems.append("assessment_status is required unless cancelled_reason is sent")
    if body.get("assessment_result") is not None:
        profile = body.get("assessment_profile_url")
        if not isinstance(profile, dict) or profile.get("type") != "url":
            problems.append("assessment_profile_url of type url is required with assessment_result")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, list):
        problems.append("metadata must be a list of DataValues")
    listed = metadata if isinstance(metadata, list) else []
    for index, item in enumerate(listed):
        problems += data_value_problems(item, f"metadata[{index}]")
    # Identifiers are unique "with respect to other data provided to /assessment.update".
    values = [body.get(name) for name in DATA_VALUE_FIELDS] + listed
    identifiers = [value.get("identifier") for value in values if isinstance(value, dict)]
    duplicates = sorted({str(i) for i in identifiers if identifiers.count(i) > 1})
    if duplicates:
        problems.append(f"DataValue identifiers must be unique, repeated: {duplicates}")
    return problems


# --- state ------------------------------------------------------------------------------------


@dataclass
class ReceivedUpdate:
    """One call to ``assessment.update``, whatever we answered."""

    at: float
    headers: dict[str, str]
    raw: bytes
    body: Any
    status: int
    answer: Any
    problems: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def assessment_id(self) -> str | None:
        return self.body.get("assessment_id") if isinstance(self.body, dict) else None


@dataclass
class Assessment:
    """One assessment Ashby started, and what the partner reported about it since."""

    assessment_id: str
    assessment_type_id: str
    application_id: str
    started_with: JSON
    cancelled_in_ashby: bool = False
    last_timestamp: int | None = None
    last_body: Any = None
    status: str | None = None
    result: JSON | None = None
    profile_url: str | None = None
    cancelled_reason: str | None = None
    metadata: dict[str, JSON] = field(default_factory=dict)
    updates: list[ReceivedUpdate] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.result is not None

    def as_dict(self) -> JSON:
        return {key: getattr(self, key) for key in (
            "assessment_id", "assessment_type_id", "application_id", "cancelled_in_ashby", "last_timestamp",
            "status", "result", "profile_url", "cancelled_reason", "metadata")} | {"updates": len(self.updates)}


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    names = [key for key in environ if key.startswith("HTTP_")]
    headers = {key.removeprefix("HTTP_").replace("_", "-").title(): environ[key] for key in names}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = environ[key]
    return headers


def _basic_user(header: str) -> str | None:
    """The user name of ``Basic base64(user:)``; None for another scheme or a password."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return user if colon and not password else None


def _error(code: str, message: str) -> JSON:
    return {"success": False, "errors": [code], "errorInfo": {"code": code, "message": message,
                                                               "requestId": uuid.uuid4().hex.upper()[:26]}}


class AshbySimulator:
    """Ashby for one customer: the ``assessment.update`` server (WSGI) and the driver of
    the partner's RPCs. ``permissions`` are those of the customer's API key."""

    def __init__(self, partner_base_url: str = "", inbound_key: str = "", api_key: str = DEFAULT_API_KEY, *,
                 permissions: tuple[str, ...] = (WRITE_PERMISSION,), key_as_password: bool = False,
                 timeout: float = 10.0, clock: Callable[[], float] = time.time) -> None:
        self.partner_base_url = partner_base_url
        self.inbound_key = inbound_key
        self.api_key = api_key
        self.permissions = permissions
        self.key_as_password = key_as_password
        self.timeout, self.clock = timeout, clock
        self.public_url: str | None = None
        self._lock = threading.Condition()
        self._updates: list[ReceivedUpdate] = []
        self._assessments: dict[str, Assessment] = {}
        self._violations: list[str] = []
        self._failures: list[tuple[int, JSON | None]] = []

    # -- lifecycle --

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> LoopbackServer:
        """A loopback server (not yet started: ``with simulator.serve():``) for this
        simulator; ``public_url`` is its address, the ``api_base_url`` to configure."""
        server = LoopbackServer(self, host=host, port=port)
        self.public_url = server.url
        return server

    # -- recorded state (copies, safe to read from tests) --

    @property
    def updates(self) -> list[ReceivedUpdate]:
        with self._lock:
            return list(self._updates)

    @property
    def violations(self) -> list[str]:
        """What the partner did that Ashby's protocol forbids."""
        with self._lock:
            return list(self._violations)

    def assessment(self, assessment_id: str) -> Assessment | None:
        with self._lock:
            return self._assessments.get(assessment_id)

    def fail_next_updates(self, count: int, status: int = 503, *, code: str | None = None) -> None:
        """Answer the next ``count`` updates with ``status`` or, with ``code``, with a 200
        ``success: false`` carrying that error code; ``count=0`` cancels what is left."""
        with self._lock:
            if count == 0:
                self._failures.clear()
            self._failures += [(200, _error(code, "injected")) if code else (status, None)] * count

    def wait_for(self, predicate: Callable[[Assessment], bool], assessment_id: str,
                 timeout: float = 5.0) -> Assessment:
        """Block until the assessment meets ``predicate`` (deliveries are asynchronous)."""
        with self._lock:
            met = self._lock.wait_for(
                lambda: (found := self._assessments.get(assessment_id)) is not None and predicate(found), timeout
            )
            if not met:
                raise AssertionError(f"assessment {assessment_id} never met the condition; "
                                     f"violations: {self._violations}")
            return self._assessments[assessment_id]

    # -- the server Ashby is (WSGI) --

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        if path == STATE_PATH and method == "GET":
            status, payload, content_type = 200, self.state(), "application/json"
        elif path.rstrip("/") == UPDATE_PATH:
            status, payload, content_type = self._update(method, environ)
        else:
            status, payload, content_type = 404, _error("not_found", f"No endpoint {path}"), "application/json"
        body = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        start_response(f"{status} {REASONS.get(status, 'Status')}",
                       [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    wsgi_app = __call__

    def state(self) -> JSON:
        """Everything recorded, as JSON, for tests against a simulator in a subprocess."""
        with self._lock:
            return {"assessments": {key: value.as_dict() for key, value in self._assessments.items()},
                    "updates": [{"status": u.status, "body": u.body, "problems": u.problems}
                                for u in self._updates],
                    "violations": list(self._violations)}

    def _update(self, method: str, environ: dict[str, Any]) -> tuple[int, Any, str]:
        length = str(environ.get("CONTENT_LENGTH") or "")
        raw = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
        headers = _headers(environ)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = None
        with self._lock:
            status, answer, content_type = self._judge(method, headers, raw, body)
            self._lock.notify_all()
        return status, answer, content_type

    def _judge(self, method: str, headers: dict[str, str], raw: bytes, body: Any) -> tuple[int, Any, str]:
        """Decide and record the answer to one update; called with the lock held.
        Order, as at Ashby: Cloudflare, the injected outage, auth, permission, the body."""
        received = ReceivedUpdate(self.clock(), headers, raw, body, 200, None)
        self._updates.append(received)
        agent = headers.get("User-Agent", "").strip().lower()
        if not agent or agent.startswith(BLOCKED_USER_AGENT_PREFIXES):
            self._violations.append(f"update sent with user agent {agent!r}, which Cloudflare blocks")
            received.status, received.answer = 403, "error code: 1010"
            return 403, received.answer, "text/plain"
        if self._failures:
            received.status, received.answer = self._failures.pop(0)
            return received.status, received.answer or _error("internal_error", "injected outage"), "application/json"
        received.status, received.answer = self._answer(method, headers, body, received)
        return received.status, received.answer, "application/json"

    def _answer(self, method: str, headers: dict[str, str], body: Any, received: ReceivedUpdate) -> tuple[int, JSON]:
        if method != "POST":
            return 405, _error("method_not_allowed", "Use POST")
        authorization = headers.get("Authorization", "")
        if not authorization:
            return 401, _error("unauthenticated", "Missing API key: send it as the Basic user name")
        user = _basic_user(authorization)
        if user is None or not hmac.compare_digest(user.encode(), self.api_key.encode()):
            return 403, _error("forbidden", "The API key is wrong or deactivated")
        if WRITE_PERMISSION not in self.permissions:
            return 403, _error("missing_endpoint_permission", f"The API key lacks {WRITE_PERMISSION}")
        if headers.get("Accept") != ACCEPT:
            self._violations.append(f"update sent with Accept {headers.get('Accept')!r}, not {ACCEPT!r}")
        if not headers.get("Content-Type", "").lower().startswith("application/json"):
            return 200, _error("invalid_input", "Content-Type must be application/json")
        if body == {}:
            return 200, _error("invalid_input", "Request payload is malformed")  # e.g. a key check
        received.problems = update_problems(body)
        if received.problems:
            self._violations += [f"update: {problem}" for problem in received.problems]
            return 200, _error("invalid_input", "; ".join(received.problems))
        assessment = self._assessments.get(body["assessment_id"])
        if assessment is None:
            self._violations.append(f"update for an assessment Ashby never started: {body['assessment_id']}")
            return 200, _error("invalid_input", "Unknown assessment_id")
        assessment.updates.append(received)
        received.applied = self._apply(assessment, body)
        return 200, {"success": True}

    def _apply(self, assessment: Assessment, body: JSON) -> bool:
        """Keep the newest state. A replay (same timestamp, same body) changes nothing; an
        older timestamp, or a different body at the same one, is a violation Ashby ignores."""
        stamp, last = body["timestamp"], assessment.last_timestamp
        if last is not None and (stamp < last or (stamp == last and body != assessment.last_body)):
            self._violations.append(f"{assessment.assessment_id}: timestamp {stamp} does not follow {last}")
            return False
        closed = assessment.cancelled_reason is not None or assessment.cancelled_in_ashby
        if closed and body.get("cancelled_reason") is None:
            self._violations.append(f"{assessment.assessment_id}: an update after the cancellation")
            return False
        assessment.last_timestamp, assessment.last_body = stamp, body
        if body.get("assessment_status") is not None:
            assessment.status = body["assessment_status"]["value"]
        if body.get("assessment_result") is not None:
            assessment.result = body["assessment_result"]
            assessment.profile_url = body["assessment_profile_url"]["value"]
        if body.get("cancelled_reason") is not None:
            assessment.cancelled_reason = body["cancelled_reason"]["value"]
        for item in body.get("metadata") or []:
            assessment.metadata[item["identifier"]] = item
        return True

    # -- the driver: Ashby calling the partner --

    def url(self, rpc: str) -> str:
        """The partner's base URL and the RPC name, joined with exactly one ``/``."""
        return f"{self.partner_base_url.rstrip('/')}/{rpc}"

    def request(self, rpc: str, body: Any = None, *, key: str | None = None, anonymous: bool = False,
                headers: Mapping[str, str] | None = None, raw: bytes | None = None) -> requests.Response:
        """One raw call, no checks: for tests of error answers."""
        key = self.inbound_key if key is None else key
        credentials = f":{key}" if self.key_as_password else f"{key}:"
        sent = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "Ashby-Simulator/1"}
        if not anonymous:
            sent["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        sent.update(headers or {})
        data = raw if raw is not None else json.dumps({} if body is None else body).encode()
        with requests.Session() as session:
            session.trust_env = False  # an environment proxy must not see loopback traffic
            return session.post(self.url(rpc), data=data, headers=sent, timeout=self.timeout, allow_redirects=False)

    @staticmethod
    def _json(rpc: str, response: requests.Response) -> Any:
        if not response.headers.get("Content-Type", "").lower().startswith("application/json"):
            raise ProtocolViolation(rpc, [f"Content-Type {response.headers.get('Content-Type')!r}"])
        try:
            return response.json()
        except ValueError:
            raise ProtocolViolation(rpc, ["the body is not JSON"]) from None

    def _ok(self, rpc: str, response: requests.Response) -> Any:
        if response.status_code != 200:
            raise AshbySimulatorError(rpc, status=response.status_code, body=response.text)
        return self._json(rpc, response)

    def list_assessments(self) -> list[JSON]:
        """What the picker shows when an admin adds the partner's assessment to a stage."""
        return validate_list(self._ok("assessment.list", self.request("assessment.list", {})))

    def start_body(self, assessment_type_id: str, *, application_id: str | None = None,
                   candidate: Mapping[str, Any] | None = None, job: Mapping[str, Any] | None = None,
                   additional_fields: Mapping[str, Any] | None = None) -> JSON:
        """A start as the reference documents it, every required field present."""
        candidate_id = str(uuid.uuid4())
        body = {
            "assessment_type_id": assessment_type_id,
            "candidate": {"ashby_id": candidate_id, "first_name": "Ada", "last_name": "Lovelace",
                          "email": "ada@example.com",
                          "ashby_profile_url": f"https://app.ashbyhq.com/candidates/{candidate_id}",
                          **(candidate or {})},
            "application": {"ashby_id": application_id or str(uuid.uuid4()), "status": "Active"},
            "job": {"ashby_id": "4b0e1c5c-3a55-4bd5-9c65-b3d0b8a0f3a1", "name": "Backend Engineer",
                    "req_id": "REQ-12", "ashby_job_url": "https://app.ashbyhq.com/jobs/4b0e1c5c",
                    "hiringTeam": [{"userId": "0f9c3f8e-3b1d-4d2b-8a86-2f1f3c0a7d10", "firstName": "Joey",
                                    "lastName": "Joe", "email": "joey@example.com", "role": "Hiring Manager"}],
                    **(job or {})},
        }
        if additional_fields is not None:
            body["additional_fields"] = dict(additional_fields)
        return body

    def start(self, assessment_type_id: str, **details: Any) -> str:
        """A user clicks "Start Assessment": the ``assessment_id`` the partner returned.
        Raises ``StartRefused`` for a 422 (whose message Ashby shows its user)."""
        body = self.start_body(assessment_type_id, **details)
        response = self.request("assessment.start", body)
        if response.status_code == 422:
            payload = self._json("assessment.start", response)
            if not isinstance(payload, dict) or not isinstance(payload.get("message"), str) or not payload["message"]:
                raise ProtocolViolation("assessment.start", ['a 422 must be {"message": "<shown to the user>"}'])
            raise StartRefused(payload["message"], response.text)
        assessment_id = validate_start(self._ok("assessment.start", response))
        with self._lock:
            known = self._assessments.get(assessment_id)
            if known is None:
                self._assessments[assessment_id] = Assessment(assessment_id, assessment_type_id,
                                                              body["application"]["ashby_id"], body)
            elif known.application_id != body["application"]["ashby_id"]:
                self._violations.append(f"start answered {assessment_id}, another application's assessment")
        return assessment_id

    def cancel(self, assessment_id: str) -> JSON:
        """A user cancels in Ashby: the validated answer (success, or the error envelope)."""
        payload = validate_cancel(self._ok("assessment.cancel", self.request("assessment.cancel",
                                                                             {"assessment_id": assessment_id})))
        with self._lock:
            if payload["success"] and assessment_id in self._assessments:
                self._assessments[assessment_id].cancelled_in_ashby = True
        return payload


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Serve an Ashby simulator on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--partner-url", default="", help="the partner's base URL, e.g. …/connectors/ashby/")
    parser.add_argument("--inbound-key", default="", help="the key the partner issued to Ashby")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the customer's Ashby API key")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    simulator = AshbySimulator(args.partner_url, args.inbound_key, args.api_key)
    server = LoopbackServer(simulator, host=args.host, port=args.port)
    print(f"Ashby simulator on {server.url}; assessment.update at {server.url}{UPDATE_PATH}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
