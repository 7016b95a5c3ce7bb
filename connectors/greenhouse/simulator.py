"""Greenhouse, simulated, for tests and the offline demo (https://developers.greenhouse.io/).

Greenhouse *calls* the partner (``list_tests``, ``send_test``, ``test_status``,
``response_error``) and checks each answer strictly: the driver methods do that with
``requests``. It *is called* by the partner (the "Mark test as completed" PATCH and Harvest
v1): :meth:`GreenhouseSimulator.wsgi_app` serves both. Plain WSGI and in-memory state, so
tests without a database and a bare ``python -m`` on a fresh machine can both use it.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import itertools
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import responses as REASONS
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from gateway.sdk.loopback import LoopbackServer

JSON = dict[str, Any]
Reply = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body
TAKE_HOME_PREFIX = "/v1/partner/take_home_tests/"
PROFILE_URL = "https://app.greenhouse.io/people/{candidate_id}"
DEFAULT_SENT_BY = "recruiter@customer.example"
DEFAULT_HARVEST_KEY = "harvest-demo-key"
HARVEST_KINDS = ("candidates", "applications", "jobs", "users")


class GreenhouseSimulatorError(Exception):
    """A partner call ended unexpectedly; ``status`` and ``body`` say how."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None):
        super().__init__(message if status is None else f"{message} (HTTP {status}: {body!r})")
        self.status, self.body = status, body


class ProtocolViolation(GreenhouseSimulatorError):
    """A 2xx answer Greenhouse would refuse (and report through ``response_error``)."""

    def __init__(self, api_call: str, errors: list[str]):
        super().__init__(f"{api_call}: " + "; ".join(errors))
        self.api_call, self.errors = api_call, errors


def _is_number(value: Any) -> bool:
    # bool is an int in Python but not a JSON number; NaN and infinity are not JSON at all.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def validate_list_tests(payload: Any) -> list[JSON]:
    """A bare array (no wrapper object) of ``{partner_test_id: str, partner_test_name: str}``."""
    if not isinstance(payload, list):
        raise ProtocolViolation("list_tests", ["response must be a bare JSON array"])
    errors = [
        f"[{index}].{key} must be a non-empty string"
        for index, item in enumerate(payload)
        for key in ("partner_test_id", "partner_test_name")
        if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key]
    ]
    if errors:
        raise ProtocolViolation("list_tests", errors)
    return payload


def validate_send_test_response(payload: Any) -> str:
    """Exactly ``{"partner_interview_id": str}``; returns the id."""
    if not isinstance(payload, dict):
        raise ProtocolViolation("send_test", ["response must be a JSON object"])
    errors = []
    interview_id = payload.get("partner_interview_id")
    if not isinstance(interview_id, str) or not interview_id:
        errors.append("partner_interview_id must be a non-empty string")
    if set(payload) - {"partner_interview_id"}:
        errors.append(f"unexpected keys {sorted(set(payload) - {'partner_interview_id'})}")
    if errors:
        raise ProtocolViolation("send_test", errors)
    return interview_id


def _metadata_errors(metadata: Any) -> list[str]:
    if metadata is None:
        return []
    if not isinstance(metadata, dict):
        return ["metadata must be a flat object or null"]
    # The docs allow the JavaScript primitives, null included; nested values are refused.
    return [
        f"metadata[{key!r}] must be a string, number, boolean or null"
        for key, value in metadata.items()
        if value is not None and not isinstance(value, str | bool) and not _is_number(value)
    ]


def validate_test_status(payload: Any) -> JSON:
    """``partner_status`` always; an http(s) URL and a numeric score once it is ``"complete"``."""
    if not isinstance(payload, dict):
        raise ProtocolViolation("test_status", ["response must be a JSON object"])
    errors = []
    status = payload.get("partner_status")
    if not isinstance(status, str) or not status:
        errors.append("partner_status must be a non-empty string")
    complete = status == "complete"
    url, score = payload.get("partner_profile_url"), payload.get("partner_score")
    if (complete or url is not None) and not _is_url(url):
        errors.append("partner_profile_url must be an http(s) URL" + ("" if complete else "/null"))
    if (complete or score is not None) and not _is_number(score):
        errors.append("partner_score must be a number" + ("" if complete else "/null"))
    errors += _metadata_errors(payload.get("metadata"))
    if errors:
        raise ProtocolViolation("test_status", errors)
    return payload


@dataclass
class RecordedRequest:
    """One request the simulator received, kept so tests can assert on exact traffic."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class TakeHomeTest:
    """Greenhouse's record of one sent test: where to ask, with which key, what it heard."""

    id: int
    url: str
    partner_base_url: str
    inbound_key: str
    request_body: JSON
    partner_interview_id: str | None = None
    patches_accepted: int = 0
    status_checks: int = 0
    latest_status: JSON | None = None
    follow_up_errors: list[str] = field(default_factory=list)


def basic_auth_header(key: str) -> str:
    """``Basic base64(key + ":")``: the key is the user name and the password is empty."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    body = json.dumps(payload).encode()
    return status, [("Content-Type", "application/json; charset=utf-8"), *headers], body


def _not_found(headers: Iterable[tuple[str, str]] = ()) -> Reply:
    return _reply(404, {"message": "Resource not found"}, headers)


def _blank(nulls: str = "", lists: str = "", objects: str = "") -> JSON:
    """The many null / [] / {} fields of a Harvest object, named space-separated."""
    return {**dict.fromkeys(nulls.split()), **{k: [] for k in lists.split()},
            **{k: {} for k in objects.split()}}


def _user_ref(user: JSON) -> JSON:
    return {key: user[key] for key in ("id", "first_name", "last_name", "name", "employee_id")}


class GreenhouseSimulator:
    """In-memory Greenhouse: receives PATCHes and Harvest calls, and drives a partner.

    ``public_url`` is the base of the take-home test URLs; :meth:`serve` fills it in. ``clock``
    (epoch seconds) is injectable so rate windows are testable without sleeping. Each take-home
    test keeps the ``partner_base_url`` and ``inbound_key`` it was sent with (a rotated key is
    entered by setting ``tests[id].inbound_key``, as a customer would in Greenhouse).
    """

    def __init__(self, *, partner_base_url: str | None = None, inbound_key: str | None = None,
                 public_url: str | None = None,
                 harvest_api_keys: Iterable[str] = (DEFAULT_HARVEST_KEY,),
                 rate_limit: int = 50, rate_window: float = 10.0,
                 clock: Callable[[], float] = time.time, timeout: float = 10.0,
                 report_errors: bool = True, auto_follow_up: bool = True) -> None:
        self.partner_base_url = partner_base_url.rstrip("/") if partner_base_url else None
        self.inbound_key = inbound_key
        self.public_url = public_url.rstrip("/") if public_url else None
        self.harvest_api_keys = set(harvest_api_keys)
        self.rate_limit, self.rate_window, self.clock = rate_limit, rate_window, clock
        self.timeout, self.report_errors = timeout, report_errors
        self.auto_follow_up, self.patch_status = auto_follow_up, 200
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.tests: dict[int, TakeHomeTest] = {}
        self._lock = threading.RLock()  # re-entrant: public readers are also used inside
        self._changed = threading.Condition(self._lock)
        self._failures_left, self._failure_status = 0, 503
        self._windows: dict[str, list[float]] = {}  # key -> [window start, calls in it]
        self._store: dict[str, dict[int, JSON]] = {kind: {} for kind in HARVEST_KINDS}
        self._test_names: dict[str, str] = {}
        # Distinct id ranges per kind make a candidate id used as an application id obvious.
        starts = {"users": 4401, "jobs": 2201, "stages": 3301, "candidates": 5550001,
                  "applications": 7770001, "tests": 9990001}
        self._ids = {kind: itertools.count(start) for kind, start in starts.items()}

    # --- serving ---------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> LoopbackServer:
        """A loopback server (not yet started) for this simulator; sets ``public_url``."""
        server = LoopbackServer(self.wsgi_app, host=host, port=port)
        self.public_url = self.public_url or server.url
        return server

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        return self.wsgi_app(environ, start_response)

    def wsgi_app(self, environ: dict, start_response: Callable) -> list[bytes]:
        request = self._read_request(environ)
        with self._lock:
            self.requests.append(request)
        status, headers, body = self._dispatch(request, environ)
        request.status = status
        start_response(f"{status} {REASONS.get(status, 'Unknown')}", headers)
        return [body]

    def _read_request(self, environ: dict) -> RecordedRequest:
        headers = {key[5:].replace("_", "-").title(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return RecordedRequest(
            method=environ["REQUEST_METHOD"].upper(), path=environ.get("PATH_INFO") or "/",
            query=parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            headers=headers, body=environ["wsgi.input"].read(length) if length > 0 else b"",
            at=self.clock())

    def _dispatch(self, request: RecordedRequest, environ: dict) -> Reply:
        match = re.fullmatch(re.escape(TAKE_HOME_PREFIX) + r"(\d+)/?", request.path)
        if match:
            if request.method != "PATCH":
                return _reply(405, {"message": "Method not allowed"}, [("Allow", "PATCH")])
            return self._receive_patch(request, int(match.group(1)))
        if request.path.startswith("/v1/"):
            return self._harvest(request, environ)
        return _not_found()

    @property
    def patches(self) -> list[RecordedRequest]:
        """Every PATCH received on a take-home test URL, failed ones included."""
        with self._lock:
            return [r for r in self.requests
                    if r.method == "PATCH" and r.path.startswith(TAKE_HOME_PREFIX)]

    # --- the "Mark test as completed" receiver ------------------------------------------

    def fail_next_patches(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` PATCHes with ``status`` so the partner's retries show."""
        with self._lock:
            self._failures_left, self._failure_status = count, status

    def _receive_patch(self, request: RecordedRequest, test_id: int) -> Reply:
        with self._lock:
            # An unavailable server fails before it looks at credentials or ids.
            if self._failures_left > 0:
                self._failures_left -= 1
                return _reply(self._failure_status, {"message": "injected failure"})
            test = self.tests.get(test_id)
            if test is None:
                return _not_found()
            if _basic_credentials(request.headers.get("Authorization")) != (test.inbound_key, ""):
                return _reply(401, {"message": "Invalid credentials"})
            if request.body.strip():
                self.violations.append(f"PATCH {request.path} had a body {request.body[:200]!r}")
            if not 200 <= self.patch_status < 300:
                return _reply(self.patch_status, {"message": "configured failure"})
            test.patches_accepted += 1
        if self.auto_follow_up:
            # Its own thread: the partner gets its answer without waiting on its own test_status.
            threading.Thread(target=self._follow_up, args=(test,), daemon=True).start()
        return self.patch_status, [("Content-Length", "0")], b""

    def _follow_up(self, test: TakeHomeTest) -> None:
        """What Greenhouse does after a PATCH: read ``test_status`` for that interview."""
        error = None
        try:
            if test.partner_interview_id is None:
                raise GreenhouseSimulatorError("PATCH before send_test returned an interview id")
            self.test_status(test.partner_interview_id)
        except (GreenhouseSimulatorError, requests.RequestException) as exc:
            error = str(exc)
        with self._changed:
            test.follow_up_errors += [error] if error else []
            test.status_checks += 1
            self._changed.notify_all()

    def wait_for_status_checks(self, partner_interview_id: str, count: int = 1,
                               timeout: float = 5.0) -> TakeHomeTest:
        """Block until ``count`` post-PATCH ``test_status`` reads have finished, or raise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                test = self.test_for_interview(partner_interview_id)
                if test is not None and test.status_checks >= count:
                    return test
                if time.monotonic() >= deadline:
                    raise GreenhouseSimulatorError(
                        f"no {count} status check(s) for {partner_interview_id!r} in {timeout}s")
                self._changed.wait(deadline - time.monotonic())

    def test_for_interview(self, partner_interview_id: str) -> TakeHomeTest | None:
        with self._lock:
            return next((t for t in self.tests.values()
                         if t.partner_interview_id == partner_interview_id), None)

    # --- Harvest v1 -------------------------------------------------------------------

    def _rate_take(self, key: str, consume: bool) -> tuple[bool, list[tuple[str, str]]]:
        """A fixed window per API key; returns (allowed, the rate-limit headers)."""
        now = self.clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or now >= window[0] + self.rate_window:
                window = self._windows[key] = [now, 0]
            allowed = window[1] < self.rate_limit
            window[1] += 1 if consume and allowed else 0
            remaining = max(0, self.rate_limit - int(window[1]))
            reset_at = window[0] + self.rate_window
        headers = [("X-RateLimit-Limit", str(self.rate_limit)),
                   ("X-RateLimit-Remaining", str(remaining)),
                   ("X-RateLimit-Reset", str(math.ceil(reset_at)))]
        if not allowed:
            headers.append(("Retry-After", str(max(1, math.ceil(reset_at - now)))))
        return allowed, headers

    def _harvest(self, request: RecordedRequest, environ: dict) -> Reply:
        credentials = _basic_credentials(request.headers.get("Authorization"))
        key = credentials[0] if credentials else ""
        if key not in self.harvest_api_keys:
            return _reply(401, {"message": "Invalid Basic Auth credentials"},
                          self._rate_take(key, consume=False)[1])
        allowed, headers = self._rate_take(key, consume=True)
        if not allowed:
            return _reply(429, {"message": "Too many requests"}, headers)
        parts = request.path.strip("/").split("/")[1:]
        if request.method != "GET" or not parts or parts[0] not in HARVEST_KINDS:
            return _not_found(headers)
        if len(parts) == 2 and parts[1].isdigit():
            found = self.get(parts[0], int(parts[1]))
            return _reply(200, found, headers) if found else _not_found(headers)
        if len(parts) != 1:
            return _not_found(headers)
        return self._harvest_list(parts[0], request, environ, headers)

    def _harvest_list(self, kind: str, request: RecordedRequest, environ: dict,
                      headers: list[tuple[str, str]]) -> Reply:
        query = dict(request.query)
        try:
            per_page, page = int(query.get("per_page", 100)), int(query.get("page", 1))
        except ValueError:
            per_page = page = 0
        if not 1 <= per_page <= 500 or page < 1:
            error = {"message": "per_page must be 1 to 500 and page at least 1",
                     "field": "page" if 1 <= per_page <= 500 else "per_page"}
            return _reply(422, {"message": "Validation error", "errors": [error]}, headers)
        with self._lock:
            items = [self.get(kind, item_id) for item_id in sorted(self._store[kind])]
        items = [item for item in items if _list_filter(kind, item, query)]
        last = max(1, math.ceil(len(items) / per_page))
        links = _link_header(environ, request, page, per_page, last,
                             skip_count=query.get("skip_count") == "true")
        headers = headers + ([("Link", links)] if links else [])
        return _reply(200, items[(page - 1) * per_page: page * per_page], headers)

    def get(self, kind: str, item_id: int) -> JSON | None:
        """A copy of a Harvest object as ``GET /v1/{kind}/{id}`` returns it, or None."""
        with self._lock:
            stored = self._store[kind].get(item_id)
            if stored is None:
                return None
            item = json.loads(json.dumps(stored))  # a deep copy: callers cannot alter state
            if kind == "candidates":
                apps = [a for a in self._store["applications"].values()
                        if a["candidate_id"] == item_id]
                item["application_ids"] = [a["id"] for a in apps]
                item["applications"] = json.loads(json.dumps(apps))
            return item

    # --- seeding ----------------------------------------------------------------------

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def _insert(self, kind: str, item: JSON) -> JSON:
        with self._lock:
            item = {"id": next(self._ids[kind]), **item}
            self._store[kind][item["id"]] = item
            return self.get(kind, item["id"])  # type: ignore[return-value]

    def _stored(self, kind: str, item_id: int) -> JSON:
        with self._lock:
            if item_id not in self._store[kind]:
                raise ValueError(f"no {kind} with id {item_id}")
            return self._store[kind][item_id]

    def add_user(self, first_name: str, last_name: str, email: str, **extra: Any) -> JSON:
        now = self._now()
        return self._insert("users", {
            "name": f"{first_name} {last_name}", "first_name": first_name, "last_name": last_name,
            "primary_email_address": email, "emails": [email], "employee_id": None,
            "disabled": False, "site_admin": False, "created_at": now, "updated_at": now,
            "linked_candidate_ids": [], **extra})

    def add_job(self, name: str, *, status: str = "open", recruiter_id: int | None = None,
                **extra: Any) -> JSON:
        now = self._now()
        recruiter = _user_ref(self._stored("users", recruiter_id)) if recruiter_id else None
        team = _blank(lists="hiring_managers coordinators sourcers")
        team["recruiters"] = [{**recruiter, "responsible": True}] if recruiter else []
        return self._insert("jobs", {
            "name": name, "status": status, "confidential": False, "is_template": False,
            "created_at": now, "updated_at": now, "opened_at": now if status == "open" else None,
            **_blank("requisition_id notes closed_at copied_from_id",
                     "departments offices openings", "custom_fields keyed_custom_fields"),
            "hiring_team": team, **extra})

    def add_candidate(self, first_name: str, last_name: str, email: str, *,
                      phone: str | None = None, recruiter_id: int | None = None,
                      **extra: Any) -> JSON:
        now = self._now()
        recruiter = _user_ref(self._stored("users", recruiter_id)) if recruiter_id else None
        return self._insert("candidates", {
            "first_name": first_name, "last_name": last_name, "created_at": now,
            "updated_at": now, "last_activity": now, "is_private": False, "can_email": True,
            "email_addresses": [{"value": email, "type": "personal"}],
            "phone_numbers": [{"value": phone, "type": "mobile"}] if phone else [],
            "recruiter": recruiter,
            **_blank("company title photo_url coordinator",
                     "attachments tags educations employments linked_user_ids addresses "
                     "website_addresses social_media_addresses",
                     "custom_fields keyed_custom_fields"),
            **extra})

    def add_application(self, candidate_id: int, job_id: int, *, status: str = "active",
                        stage_name: str = "Take Home Test", **extra: Any) -> JSON:
        job, now = self._stored("jobs", job_id), self._now()
        return self._insert("applications", {
            "candidate_id": candidate_id, "prospect": False, "status": status,
            "applied_at": now, "last_activity_at": now,
            "jobs": [{"id": job["id"], "name": job["name"]}],
            "current_stage": {"id": next(self._ids["stages"]), "name": stage_name},
            "source": {"id": 1, "public_name": "Company website"},
            "recruiter": self._stored("candidates", candidate_id)["recruiter"],
            **_blank("rejected_at job_post_id credited_to coordinator rejection_reason "
                     "rejection_details location prospective_office prospective_department "
                     "prospect_detail", "answers attachments", "custom_fields keyed_custom_fields"),
            **extra})

    def seed_demo(self) -> dict[str, list[JSON]]:
        """A coherent small organisation; its recruiter is the default ``sent_by``."""
        recruiter = self.add_user("Rita", "Okafor", DEFAULT_SENT_BY)
        manager = self.add_user("Hugo", "Lindqvist", "hugo.l@customer.example")
        jobs = [self.add_job(name, recruiter_id=recruiter["id"])
                for name in ("Backend Engineer", "Data Analyst")]
        people = [("Ada", "Nakamura", "ada.n@example.org", jobs[0]),
                  ("Bruno", "Esposito", "bruno.e@example.org", jobs[0]),
                  ("Chiara", "Mwangi", "chiara.m@example.org", jobs[1])]
        candidates, applications = [], []
        for first, last, email, job in people:
            candidate = self.add_candidate(first, last, email, recruiter_id=recruiter["id"])
            applications.append(self.add_application(candidate["id"], job["id"]))
            candidates.append(self.get("candidates", candidate["id"]))
        return {"users": [recruiter, manager], "jobs": jobs, "candidates": candidates,
                "applications": applications}

    # --- the driver: Greenhouse calling the partner ---------------------------------------

    def call_partner(self, method: str, endpoint: str, *, params: JSON | None = None,
                     body: Any = None, inbound_key: str | None = None, auth: bool = True,
                     partner_base_url: str | None = None) -> requests.Response:
        """The raw call, for tests that expect 401 or 404: no status or shape checks."""
        base = (partner_base_url or self.partner_base_url or "").rstrip("/")
        key = inbound_key or self.inbound_key
        if not base or (auth and not key):
            raise GreenhouseSimulatorError("partner_base_url and inbound_key must be set")
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = basic_auth_header(key)  # type: ignore[arg-type]
        with requests.Session() as session:  # one per call: follow-ups run in other threads
            session.trust_env = False  # no proxies from the environment: partners are local
            return session.request(method, f"{base}/{endpoint}", params=params, json=body,
                                   headers=headers, timeout=self.timeout, allow_redirects=False)

    def _checked(self, response: requests.Response, api_call: str,
                 validator: Callable[[Any], Any], context: JSON) -> Any:
        """Non-2xx raises; a malformed 2xx is recorded, reported as Greenhouse does, raised."""
        if not 200 <= response.status_code < 300:
            raise GreenhouseSimulatorError(f"{api_call} failed", status=response.status_code,
                                           body=response.text[:500])
        try:
            return validator(response.json())
        except ValueError as exc:  # not JSON at all; ProtocolViolation is no ValueError
            violation = ProtocolViolation(api_call, [f"response is not JSON: {exc}"])
        except ProtocolViolation as exc:
            violation = exc
        with self._lock:
            self.violations += [f"{api_call}: {error}" for error in violation.errors]
        if self.report_errors:
            try:
                self.response_error(api_call, violation.errors, **context)
            except (GreenhouseSimulatorError, requests.RequestException):
                pass  # the partner's failure to take the report is not the violation at hand
        raise violation

    def _context(self, test: TakeHomeTest) -> JSON:
        """What Greenhouse knows about a test, for ``response_error``."""
        test_id = test.request_body["partner_test_id"]
        return {"partner_test_id": test_id, "partner_test_name": self._test_names.get(test_id),
                "candidate_email": test.request_body["candidate"].get("email")}

    def list_tests(self) -> list[JSON]:
        tests = self._checked(self.call_partner("GET", "list_tests"), "list_tests",
                              validate_list_tests, {})
        with self._lock:
            self._test_names.update({t["partner_test_id"]: t["partner_test_name"] for t in tests})
        return tests

    def send_test(self, partner_test_id: str, candidate: JSON | None = None, *,
                  candidate_id: int | None = None, application_id: int | None = None,
                  sent_by: str | None = DEFAULT_SENT_BY) -> JSON:
        """POST the body Greenhouse sends; remember the take-home test for its PATCH.

        A lone ``candidate`` dict gets Harvest records, so the profile URL's ids resolve."""
        if self.public_url is None:
            raise GreenhouseSimulatorError("public_url is unset: serve() the simulator first")
        if candidate_id is None:
            if candidate is None:
                raise ValueError("give a candidate dict or a candidate_id")
            candidate_id, application_id = self._harvest_records_for(candidate)
        stored = self.get("candidates", candidate_id) or {}
        if application_id is None and stored.get("application_ids"):
            application_id = stored["application_ids"][0]
        profile = PROFILE_URL.format(candidate_id=candidate_id)
        profile += f"?application_id={application_id}" if application_id is not None else ""
        fields = candidate if candidate is not None else _send_test_candidate(stored)
        fields = {**_blank("first_name last_name preferred_name resume_url phone_number email"),
                  **fields, "greenhouse_profile_url": profile}
        with self._lock:
            test_id = next(self._ids["tests"])
            url = f"{self.public_url}{TAKE_HOME_PREFIX}{test_id}"
            body = {"partner_test_id": partner_test_id, "candidate": fields,
                    "sent_by": sent_by, "url": url}
            test = self.tests[test_id] = TakeHomeTest(
                id=test_id, url=url, partner_base_url=self.partner_base_url or "",
                inbound_key=self.inbound_key or "", request_body=body)
        return self.resend_test(test.id)

    def resend_test(self, take_home_test_id: int) -> JSON:
        """POST that test's ``send_test`` body (again: same ``url``, for idempotency tests)."""
        test = self.tests[take_home_test_id]
        response = self.call_partner("POST", "send_test", body=test.request_body,
                                     inbound_key=test.inbound_key,
                                     partner_base_url=test.partner_base_url)
        interview_id = self._checked(response, "send_test", validate_send_test_response,
                                     self._context(test))
        with self._lock:
            test.partner_interview_id = interview_id
        return response.json()

    def _harvest_records_for(self, candidate: JSON) -> tuple[int, int]:
        created = self.add_candidate(candidate.get("first_name") or "",
                                     candidate.get("last_name") or "", candidate.get("email") or "")
        with self._lock:
            jobs = [j["id"] for j in self._store["jobs"].values() if j["status"] == "open"]
        job_id = jobs[0] if jobs else self.add_job("Software Engineer")["id"]
        return created["id"], self.add_application(created["id"], job_id)["id"]

    def test_status(self, partner_interview_id: str) -> JSON:
        """GET test_status with the key of the test that owns this interview id."""
        test = self.test_for_interview(partner_interview_id)
        context = {**(self._context(test) if test else {}),
                   "partner_interview_id": partner_interview_id}
        response = self.call_partner(
            "GET", "test_status", params={"partner_interview_id": partner_interview_id},
            inbound_key=test.inbound_key if test else None,
            partner_base_url=test.partner_base_url if test else None)
        payload = self._checked(response, "test_status", validate_test_status, context)
        if test is not None:
            with self._lock:
                test.latest_status = payload
        return payload

    def response_error(self, api_call: str, errors: list[str], **context: str | None) -> None:
        """POST a ``response_error`` report. ``context``: partner_test_id, partner_test_name,
        partner_interview_id, candidate_email; unknown ones are left out, as Greenhouse does."""
        body = {"api_call": api_call, "errors": list(errors),
                **{key: value for key, value in context.items() if value is not None}}
        response = self.call_partner("POST", "response_error", body=body)
        if not 200 <= response.status_code < 300:
            raise GreenhouseSimulatorError("response_error failed", status=response.status_code,
                                           body=response.text[:500])


def _send_test_candidate(stored: JSON) -> JSON:
    """The ``send_test`` candidate fields Greenhouse derives from its own candidate record."""
    phones = stored.get("phone_numbers") or []
    resumes = [a["url"] for a in stored.get("attachments", []) if a.get("type") == "resume"]
    return {"first_name": stored.get("first_name"), "last_name": stored.get("last_name"),
            "preferred_name": None, "resume_url": resumes[0] if resumes else None,
            "phone_number": phones[0]["value"] if phones else None,
            "email": (stored.get("email_addresses") or [{"value": None}])[0]["value"]}


def _list_filter(kind: str, item: JSON, query: dict[str, str]) -> bool:
    """The list filters a gateway uses (emails find a candidate or an On-Behalf-Of user)."""
    email = query.get("email", "").lower()
    if kind == "candidates" and email:
        return email in {e["value"].lower() for e in item["email_addresses"]}
    if kind == "users" and email:
        return email in {e.lower() for e in item["emails"]}
    if kind == "applications" and "status" in query:
        return item["status"] == query["status"]  # an invalid status gives [], not an error
    return True


def _link_header(environ: dict, request: RecordedRequest, page: int, per_page: int,
                 last: int, skip_count: bool) -> str:
    """RFC 5988 links built from the request's own URL, so clients can follow them verbatim."""
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    base = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{request.path}"
    kept = [(k, v) for k, v in request.query if k not in ("page", "per_page")]

    def link(target: int, rel: str) -> str:
        query = urlencode([*kept, ("page", target), ("per_page", per_page)])
        return f'<{base}?{query}>; rel="{rel}"'

    links = [link(page + 1, "next")] if page < last else []
    links += [link(page - 1, "prev")] if page > 1 else []
    links += [link(last, "last")] if links and not skip_count else []
    return ", ".join(links)


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted; ``--send-test`` also sends one test, as a recruiter would."""
    parser = argparse.ArgumentParser(description="Greenhouse simulator (Harvest v1, PATCH)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--partner-url", help="e.g. http://127.0.0.1:8000/connectors/greenhouse")
    parser.add_argument("--inbound-key", help="the gateway's inbound key for the account")
    parser.add_argument("--public-url", help="base of take-home test URLs (default: own URL)")
    parser.add_argument("--harvest-key", default=DEFAULT_HARVEST_KEY)
    parser.add_argument("--send-test", metavar="PARTNER_TEST_ID", help="send it to Ada at start")
    args = parser.parse_args(argv)
    simulator = GreenhouseSimulator(
        partner_base_url=args.partner_url, inbound_key=args.inbound_key,
        public_url=args.public_url, harvest_api_keys=[args.harvest_key])
    ada = simulator.seed_demo()["candidates"][0]
    server = simulator.serve(args.host, args.port).start()
    print(f"Greenhouse simulator on {server.url} (Harvest key {args.harvest_key!r})", flush=True)
    try:
        if args.send_test:
            answer = simulator.send_test(args.send_test, candidate_id=ada["id"])
            print(json.dumps(answer), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
