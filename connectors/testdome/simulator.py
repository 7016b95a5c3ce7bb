"""Stand-alone simulator of the TestDome API: OAuth token endpoint, v3 REST API, webhooks.

It follows TestDome's public API guide and webhook page (https://testdome.com/integrations/api)
so the gateway's connector can be exercised over real loopback HTTP with no internet. Where the
guide leaves a detail open (UNCONFIRMED in ``mapping.py``), the simulator picks one plausible
behaviour and the docstring at that spot says which. It also serves the report page
behind sharing URLs and a tiny ``/_sim`` control surface, so a demo can play the candidate.

    python -m connectors.testdome.simulator --port 8103 --email demo@example.com \\
        --api-password secret [--client-id ID --client-secret S] [--seed-tests 130]
"""

from __future__ import annotations

import argparse
import hmac
import html
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import requests

from gateway.sdk.loopback import LoopbackServer

TOKEN_PATH = "/token"
API_PREFIX = "/v3"
MAX_TOP = 100
STATUSES = ("sendingInvitation", "invited", "started", "paused", "completed", "didNotTake",
            "canceled")
OPEN_STATUSES = frozenset(STATUSES[:4])
WEBHOOK_STATUS = {"completed": "Completed", "didNotTake": "DidNotTake", "canceled": "Canceled"}
WEBHOOK_MODES = ("once", "duplicate", "duplicate_new_id", "drop")
TEST_FILTERS = {"archived", "excludeDeleted", "hasQuestions", "isPublished",
                "notContainsQuestions", "term"}
CANDIDATE_FILTERS = {"archived", "minScore", "maxScore", "status", "term", "tests"}
TEST_CANDIDATE_FILTERS = {"archived", "notified", "status", "term"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Response = tuple[int, list[tuple[str, str]], bytes]
Record = dict[str, Any]


class ApiError(Exception):
    """An error answered as ``{"code", "message", "innerError"}``.

    The real shape is UNCONFIRMED; one nested ``innerError`` makes clients walk inner codes,
    as TestDome's versioning policy asks them to.
    """

    def __init__(self, status: int, code: str, message: str, inner: str | None = None,
                 headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.inner = status, code, message, inner
        self.headers = list(headers)

    def response(self) -> Response:
        inner = {"code": self.inner, "message": self.message, "innerError": None}
        return _json(self.status, {"code": self.code, "message": self.message,
                                   "innerError": inner if self.inner else None}, self.headers)


def _invalid(inner: str, message: str) -> ApiError:
    return ApiError(400, "ValidationFailed", message, inner)


def _not_found(kind: str, ident: object) -> ApiError:
    return ApiError(404, "NotFound", f"{kind} {ident} was not found.", f"{kind}NotFound")


def _json(status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return status, [("Content-Type", "application/json; charset=utf-8"), *headers], \
        json.dumps(data).encode()


def _same(given: str, expected: str | None) -> bool:
    """Constant-time comparison, so the simulator does not model a timing leak."""
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(value: object) -> float | None:
    """ISO-8601 date(-time) to epoch seconds; naive counts as UTC (the format is UNCONFIRMED)."""
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _sort_key(name: str) -> Callable[[Record], tuple[bool, Any]]:
    """Order by one field; nulls sort together, after the values."""
    return lambda item: (item[name] is None, 0 if item[name] is None else item[name])


@dataclass
class ApiCall:
    """One logged ``/v3`` request, so tests can assert what the gateway really sent."""
    method: str
    path: str
    query: dict[str, list[str]]
    status: int


@dataclass
class WebhookDelivery:
    """One webhook POST attempt; ``status`` is None when the request itself failed."""
    correlation_id: str
    payload: dict[str, Any]
    attempt: int
    status: int | None
    error: str | None = None


@dataclass
class _Webhook:
    payload: dict[str, Any]
    correlation_id: str
    queued_at: float
    attempt: int = 1


class _Request:
    """The parts of a WSGI environ the handlers need, parsed once."""

    def __init__(self, environ: dict[str, Any], public_url: str | None) -> None:
        self.environ, self.method = environ, environ["REQUEST_METHOD"].upper()
        self.path = (environ.get("PATH_INFO") or "/").rstrip("/") or "/"
        self.query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.body = environ["wsgi.input"].read(length) if length else b""
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        self.base_url = public_url or f"{environ.get('wsgi.url_scheme', 'http')}://{host}"

    def header(self, name: str) -> str:
        return str(self.environ.get("HTTP_" + name.upper().replace("-", "_"), ""))

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json_object(self) -> Record:
        try:
            body = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise _invalid("InvalidJson", "The request body is not valid JSON.") from exc
        if not isinstance(body, dict):
            raise _invalid("InvalidBody", "The request body must be a JSON object.")
        return body

    def one(self, key: str) -> str | None:
        values = self.query.get(key)
        return values[-1] if values and values[-1] != "" else None

    def many(self, key: str) -> list[str]:
        """Arrays as repeated parameters or comma lists (the exact form is UNCONFIRMED)."""
        return [p.strip() for v in self.query.get(key, []) for p in v.split(",") if p.strip()]

    def check_filters(self, allowed: set[str]) -> None:
        """Reject unknown ``$filter[...]`` names, so a misspelt filter fails loudly in tests."""
        for key in self.query:
            if key.startswith("$filter[") and key[8:-1] not in allowed:
                raise _invalid("UnknownFilter", f"Unknown filter {key}.")

    def flag(self, key: str) -> bool | None:
        raw = self.one(key)
        if raw is not None and raw.lower() not in ("true", "false"):
            raise _invalid("InvalidBoolean", f"{key} must be true or false.")
        return None if raw is None else raw.lower() == "true"

    def number(self, key: str, default: float | None = None) -> float | None:
        raw = self.one(key)
        try:
            return default if raw is None else float(raw)
        except ValueError as exc:
            raise _invalid("InvalidNumber", f"{key} must be a number.") from exc


_ROUTES = [(m, re.compile(p), h) for m, p, h in [
    ("GET", r"/v3/tests", "_list_tests"),
    ("GET", r"/v3/tests/(\d+)", "_get_test_one"),
    ("GET", r"/v3/tests/(\d+)/candidates", "_list_test_candidates"),
    ("POST", r"/v3/tests/(\d+)/candidates/invite-via-email", "_invite"),
    ("GET", r"/v3/candidates", "_list_candidates"),
    ("GET", r"/v3/candidates/(\d+)", "_get_candidate_one"),
    ("POST", r"/v3/candidates/(\d+)/cancel-invite", "_cancel_invite"),
    ("POST", r"/v3/candidates/(\d+)/sharing-url", "_sharing_url"),
    ("POST", r"/v3/candidates/(archive|unarchive)", "_set_archived"),
]]


class TestDomeSimulator:
    """An in-memory TestDome account: a WSGI app, plus Python helpers that play the candidate.

    All state sits behind one lock, so a threading server can serve the app while a test drives
    the helpers. Time is ``clock()`` plus ``advance_time()`` offsets, so token expiry and
    invitation deadlines are testable without sleeping. Tests and candidates are stored in
    their v3 JSON shape; keys starting with ``_`` are private and never served.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, *, email: str | None = None, api_password: str | None = None,
                 client_id: str | None = None, client_secret: str | None = None,
                 token_ttl: int = 1800, webhook_url: str | None = None,
                 webhook_mode: str = "once", webhook_candidate_ids: str = "v3",
                 webhook_timeout: float = 30.0, public_url: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if webhook_mode not in WEBHOOK_MODES or webhook_candidate_ids not in ("v3", "guid"):
            raise ValueError("bad webhook_mode or webhook_candidate_ids")
        self.email, self.api_password = email, api_password
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl, self.webhook_url, self.webhook_mode = token_ttl, webhook_url, webhook_mode
        self.webhook_candidate_ids, self.webhook_timeout = webhook_candidate_ids, webhook_timeout
        self.public_url, self._clock, self._offset = public_url, clock, 0.0
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._tests: dict[int, Record] = {}
        self._candidates: dict[int, Record] = {}
        self._next_test_id, self._next_candidate_id = 41_001, 7_300_001
        self._faults: list[tuple[str, float]] = []
        self._outbox: list[_Webhook] = []
        self.token_requests = 0
        self.api_calls: list[ApiCall] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.dropped_webhooks: list[dict[str, Any]] = []

    def now(self) -> float:
        return self._clock() + self._offset

    def advance_time(self, seconds: float) -> None:
        """Move simulated time forward: tokens expire, deadlines pass (→ didNotTake)."""
        with self._lock:
            self._offset += seconds

    def expire_all_tokens(self) -> None:
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, float("-inf"))

    def add_test(self, name: str, *, archived: bool = False, published: bool = True,
                 cutoff_score: float = 60.0, time_limit: int = 1800, questions_count: int = 5,
                 manual_scoring: bool = False) -> int:
        """Create a test. ``timeLimit`` is served in seconds; the real unit is UNCONFIRMED.

        ``isPublished`` is served as a field because ``$filter[isPublished]`` exists, though
        the published TestModel summary does not list such a field.
        """
        with self._lock:
            test_id, self._next_test_id = self._next_test_id, self._next_test_id + 1
            self._tests[test_id] = {
                "id": test_id, "name": name, "description": f"{name} (simulated)",
                "archived": archived, "isPublished": published, "created": _iso(self.now()),
                "cutoffScore": cutoff_score, "expectedPassRate": None,
                "questionsCount": questions_count, "questions": None, "skills": [],
                "timeLimit": time_limit, "testUrls": [], "testUrlStatus": "none",
                "urlSettings": None, "notifyTo": [], "owner": {"email": self.email},
                "proctoringConsent": False, "inviteViaEmailParameters": None,
                "notifyCandidatesParameters": None, "affectedByNextDeprecation": False,
                "daysUntilNextDeprecation": None, "_manual": manual_scoring}
            return test_id

    def seed_tests(self, n: int, *, archived_every: int = 10, unpublished_every: int = 7,
                   prefix: str = "Simulated Test") -> list[int]:
        """Add ``n`` tests; every ``archived_every``-th is archived and every
        ``unpublished_every``-th unpublished, so the gateway has something to filter out."""
        return [self.add_test(f"{prefix} {i}",
                              archived=archived_every > 0 and i % archived_every == 0,
                              published=not (unpublished_every > 0 and i % unpublished_every == 0))
                for i in range(1, n + 1)]

    def candidate(self, candidate_id: int) -> Record:
        """The candidate's v3 model (test and activities expanded), for assertions."""
        with self._lock:
            self._sweep_overdue()
            return self._candidate_model(self._find("Candidate", candidate_id),
                                         {"test", "activities"}, "")

    def candidate_ids(self, email: str | None = None, test_id: int | None = None) -> list[int]:
        with self._lock:
            return [c["id"] for c in self._candidates.values()
                    if (email is None or c["email"].lower() == email.lower())
                    and (test_id is None or c["_testId"] == test_id)]

    def complete_candidate(self, candidate_id: int, score: float = 80.0, *,
                           passed: bool | None = None, needs_scoring: bool = False,
                           max_score: float | None = None, time_taken: int = 1500,
                           name: str | None = None, webhook: str | None = None) -> None:
        """Finish the test with ``score`` in percent (0-100) and queue a Completed webhook.

        ``passed`` defaults to ``score >= cutoffScore``. With ``needs_scoring`` the score is
        provisional and ``maxScore`` the potential maximum (default 100). ``webhook`` is
        ``once``, ``duplicate`` (same correlation id twice), ``duplicate_new_id`` or ``drop``
        (never sent: a missed webhook); None means ``self.webhook_mode``.
        """
        with self._lock:
            cand = self._open_candidate(candidate_id)
            cand["name"] = name or cand["name"] or cand["email"].split("@")[0].title()
            cand.update(timeTaken=time_taken, needsScoring=needs_scoring, skillScores=[])
            cand["_maxScore"] = (100.0 if max_score is None else max_score) if needs_scoring \
                else None
            self._score(cand, score, passed)
            self._finish(cand, "completed", "Completed the test", webhook)

    def finish_scoring(self, candidate_id: int, score: float, *,
                       passed: bool | None = None) -> None:
        """Manual scoring is done: the score changes but, as documented, no webhook fires."""
        with self._lock:
            cand = self._find("Candidate", candidate_id)
            cand.update(needsScoring=False, _maxScore=None)
            self._score(cand, score, passed)
            self._activity(cand, "Scoring finished")

    def set_passed_override(self, candidate_id: int, value: bool | None) -> None:
        with self._lock:
            self._find("Candidate", candidate_id)["passedOverride"] = value

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """The next ``n`` /v3 calls answer ``status``."""
        self._inject("fail", n, status)

    def hang_next(self, n: int = 1, seconds: float = 5.0) -> None:
        """The next ``n`` /v3 calls sleep ``seconds``, then answer normally (client timeouts)."""
        self._inject("hang", n, seconds)

    def rate_limit_next(self, n: int = 1, retry_after: int = 1) -> None:
        """The next ``n`` /v3 calls answer 429 with ``Retry-After`` (real limits UNCONFIRMED)."""
        self._inject("429", n, retry_after)

    def _inject(self, kind: str, n: int, arg: float) -> None:
        with self._lock:
            self._faults += [(kind, arg)] * n

    def deliver_webhooks(self, min_age: float = 0.0) -> list[WebhookDelivery]:
        """POST queued events at least ``min_age`` seconds old to ``webhook_url``.

        Events wait while no URL is set. A non-2xx answer or a network error requeues the event
        once (sent by the next call, same correlation id); a second failure loses it, as
        TestDome documents.
        """
        with self._lock:
            self._sweep_overdue()
            url, now = self.webhook_url, self.now()
            due = [w for w in self._outbox if url and now - w.queued_at >= min_age]
            self._outbox = [w for w in self._outbox if w not in due]
        results = [self._send_webhook(url or "", w) for w in due]
        with self._lock:
            self.webhook_deliveries += results
            for hook, result in zip(due, results, strict=True):
                if not (result.status and 200 <= result.status < 300) and hook.attempt == 1:
                    hook.attempt, hook.queued_at = 2, self.now()
                    self._outbox.append(hook)
        return results

    def run_webhook_pump(self, delay: float, stop: threading.Event,
                         interval: float = 0.5) -> None:
        """Deliver events ``delay`` seconds after they happen, until ``stop`` is set
        (TestDome itself may lag up to an hour)."""
        while not stop.wait(interval):
            self.deliver_webhooks(min_age=delay)

    def _send_webhook(self, url: str, hook: _Webhook) -> WebhookDelivery:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-TestDome-CorrelationId": hook.correlation_id}
        try:
            resp = requests.post(url, data=json.dumps(hook.payload).encode(), headers=headers,
                                 timeout=self.webhook_timeout)
        except requests.RequestException as exc:
            return WebhookDelivery(hook.correlation_id, hook.payload, hook.attempt, None, str(exc))
        return WebhookDelivery(hook.correlation_id, hook.payload, hook.attempt, resp.status_code)

    def _queue_webhook(self, cand: Record, mode: str | None) -> None:
        """``candidateId`` is the v3 id as a string or, with ``webhook_candidate_ids="guid"``,
        a 32-hex id found nowhere in the v3 API, like the documented sample."""
        mode = mode or self.webhook_mode
        if mode not in WEBHOOK_MODES:
            raise ValueError(f"unknown webhook mode {mode!r}")
        cid = cand["_guid"] if self.webhook_candidate_ids == "guid" else str(cand["id"])
        payload = {"candidateId": cid, "testId": cand["_testId"],
                   "status": WEBHOOK_STATUS[cand["status"]]}
        if mode == "drop":
            self.dropped_webhooks.append(payload)
            return
        first = str(uuid.uuid4())
        extra = {"duplicate": [first], "duplicate_new_id": [str(uuid.uuid4())]}.get(mode, [])
        for corr in [first, *extra]:
            self._outbox.append(_Webhook(dict(payload), corr, self.now()))

    def _find(self, kind: str, ident: int | str) -> Record:
        """Look up a ``Test`` or ``Candidate`` by id, or raise the 404 the API answers."""
        record = (self._tests if kind == "Test" else self._candidates).get(int(ident))
        if record is None:
            raise _not_found(kind, ident)
        return record

    def _open_candidate(self, candidate_id: int | str) -> Record:
        cand = self._find("Candidate", candidate_id)
        if cand["status"] not in OPEN_STATUSES:
            raise ApiError(409, "Conflict", f"Candidate {cand['id']} is already "
                           f"{cand['status']}.", "CandidateStatusFinal")
        return cand

    def _score(self, cand: Record, score: float, passed: bool | None) -> None:
        cutoff = self._tests[cand["_testId"]]["cutoffScore"]
        cand["_score"], cand["passed"] = float(score), score >= cutoff if passed is None else passed

    def _activity(self, cand: Record, text: str) -> None:
        cand["activities"].append({"date": _iso(self.now()), "description": text})

    def _finish(self, cand: Record, status: str, text: str, webhook: str | None) -> None:
        cand["status"] = status
        self._activity(cand, text)
        self._queue_webhook(cand, webhook)

    def _sweep_overdue(self) -> None:
        """Candidates past their deadline become didNotTake lazily, as time is observed."""
        now = self.now()
        for cand in self._candidates.values():
            if cand["status"] in OPEN_STATUSES and cand["_deadline"] < now:
                self._finish(cand, "didNotTake", "Did not take the test before the deadline",
                             None)

    def _new_candidate(self, test_id: int, email: str, deadline: float, proctoring: bool) -> None:
        cid, self._next_candidate_id = self._next_candidate_id, self._next_candidate_id + 1
        self._candidates[cid] = cand = {
            "id": cid, "name": "", "email": email, "status": "invited", "passed": False,
            "passedOverride": None, "betterThan": None, "skillScores": None, "questions": None,
            "timeTaken": 0, "invitationKey": secrets.token_hex(16), "testUrl": None,
            "activities": [], "needsScoring": False, "possibleCheating": False,
            "possibleCheatingAttempts": None, "proctoringEnabled": proctoring,
            "proctoringStatus": "pending" if proctoring else None, "certificate": None,
            "tags": [], "notes": None, "archived": False, "anonymized": None,
            "shouldNotify": False, "_testId": test_id, "_guid": uuid.uuid4().hex,
            "_deadline": deadline, "_score": None, "_maxScore": None, "_share": None}
        self._activity(cand, "Invited via email")

    def _test_model(self, test: Record, base: str) -> Record:
        cands = [c for c in self._candidates.values() if c["_testId"] == test["id"]]
        pending = sum(1 for c in cands if c["needsScoring"])
        return {**{k: v for k, v in test.items() if not k.startswith("_")},
                "candidatesCount": len(cands),
                "scheduledCandidatesCount": sum(c["status"] in OPEN_STATUSES for c in cands),
                "needsScoring": pending if test["_manual"] else None,
                "_links": {"self": f"{base}{API_PREFIX}/tests/{test['id']}"}}

    def _candidate_model(self, cand: Record, expand: set[str], base: str) -> Record:
        """``score`` is in percent (unit UNCONFIRMED) and ``maxScore`` is set only when it
        differs from ``score``. ``betterThan`` is the percentage of this test's other completed
        candidates who scored lower; its real shape is UNCONFIRMED, as is the unexpanded
        ``test`` (here ``{"id", "name"}``)."""
        test, done = self._tests[cand["_testId"]], cand["status"] == "completed"
        peers = [c["_score"] for c in self._candidates.values() if c is not cand
                 and c["_testId"] == cand["_testId"] and c["_score"] is not None]
        better = (round(100 * sum(s < cand["_score"] for s in peers) / len(peers)) if peers
                  else 0) if done else None
        max_score = cand["_maxScore"] if cand["_maxScore"] != cand["_score"] else None
        return {**{k: v for k, v in cand.items() if not k.startswith("_")},
                "score": cand["_score"], "maxScore": max_score,
                "passed": done and cand["passed"], "betterThan": better,
                "deadline": _iso(cand["_deadline"]),
                "test": (self._test_model(test, base) if "test" in expand
                         else {"id": test["id"], "name": test["name"]}),
                "activities": ([dict(a) for a in cand["activities"]]
                               if "activities" in expand else None),
                "_links": {"self": f"{base}{API_PREFIX}/candidates/{cand['id']}"}}

    @staticmethod
    def _page(req: _Request, items: list[Record]) -> Record:
        """``$sort`` (``field``, ``-field`` or ``field desc``; syntax UNCONFIRMED), then a slice by
        ``$top`` (1-100, default 100) and ``$skip``; out-of-range values are a 400. ``$select``
        is ignored: clients get every field, which tolerant clients must handle anyway."""
        for spec in reversed(req.many("$sort")):
            name = spec.lstrip("+-").split(" ")[0]
            if items and name not in items[0]:
                raise _invalid("InvalidSort", f"Cannot sort by {name}.")
            items.sort(key=_sort_key(name),
                       reverse=spec.startswith("-") or spec.lower().endswith(" desc"))
        top, skip = req.number("$top", float(MAX_TOP)), req.number("$skip", 0.0)
        if top is None or not top.is_integer() or not 1 <= top <= MAX_TOP:
            raise _invalid("InvalidTop", f"$top must be an integer from 1 to {MAX_TOP}.")
        if skip is None or not skip.is_integer() or skip < 0:
            raise _invalid("InvalidSkip", "$skip must be a non-negative integer.")
        top_i, skip_i = int(top), int(skip)
        return {"value": items[skip_i:skip_i + top_i],
                "hasMoreItems": skip_i + top_i < len(items), "skip": skip_i, "top": top_i,
                "totalCount": len(items), "_links": {}}

    @staticmethod
    def _filter_candidates(req: _Request, cands: Iterable[Record]) -> list[Record]:
        """Candidate filters; ``term`` matches name or email, case-insensitively."""
        archived, term = req.flag("$filter[archived]"), (req.one("$filter[term]") or "").lower()
        statuses = {s.lower() for s in req.many("$filter[status]")}
        if statuses - {s.lower() for s in STATUSES}:
            raise _invalid("InvalidStatus", f"Unknown status in {sorted(statuses)}.")
        try:
            tests = {int(t) for t in req.many("$filter[tests]")}
        except ValueError as exc:
            raise _invalid("InvalidNumber", "$filter[tests] must hold test ids.") from exc
        low, high = req.number("$filter[minScore]"), req.number("$filter[maxScore]")
        req.flag("$filter[notified]")  # nobody is notified: this simulator sends no emails
        return [c for c in cands
                if (archived is None or c["archived"] == archived)
                and (term in c["email"].lower() or term in c["name"].lower())
                and (not statuses or c["status"].lower() in statuses)
                and (not tests or c["_testId"] in tests)
                and (low is None or (c["_score"] is not None and c["_score"] >= low))
                and (high is None or (c["_score"] is not None and c["_score"] <= high))]

    def _list_tests(self, req: _Request) -> Response:
        req.check_filters(TEST_FILTERS)
        archived, published = req.flag("$filter[archived]"), req.flag("$filter[isPublished]")
        has_questions, term = req.flag("$filter[hasQuestions]"), req.one("$filter[term]") or ""
        req.flag("$filter[excludeDeleted]")  # deleted tests do not exist here
        tests = [t for t in self._tests.values()
                 if (archived is None or t["archived"] == archived)
                 and (published is None or t["isPublished"] == published)
                 and (has_questions is None or (t["questionsCount"] > 0) == has_questions)
                 and term.lower() in t["name"].lower()]
        return _json(200, self._page(req, [self._test_model(t, req.base_url) for t in tests]))

    def _get_test_one(self, req: _Request, test_id: str) -> Response:
        return _json(200, self._test_model(self._find("Test", test_id), req.base_url))

    def _list_candidates(self, req: _Request) -> Response:
        req.check_filters(CANDIDATE_FILTERS)
        return self._candidate_page(req, self._candidates.values())

    def _list_test_candidates(self, req: _Request, test_id: str) -> Response:
        req.check_filters(TEST_CANDIDATE_FILTERS)
        tid = self._find("Test", test_id)["id"]
        return self._candidate_page(req, (c for c in self._candidates.values()
                                          if c["_testId"] == tid))

    def _candidate_page(self, req: _Request, cands: Iterable[Record]) -> Response:
        expand = set(req.many("$expand"))
        models = [self._candidate_model(c, expand, req.base_url)
                  for c in self._filter_candidates(req, cands)]
        return _json(200, self._page(req, models))

    def _get_candidate_one(self, req: _Request, candidate_id: str) -> Response:
        return _json(200, self._candidate_model(self._find("Candidate", candidate_id),
                                                set(req.many("$expand")), req.base_url))

    def _invite(self, req: _Request, test_id: str) -> Response:
        """Invite each email; malformed ones land in ``failedEmails``. Every documented body
        field is required. ``result`` holds plain messages, not ids (its content is
        UNCONFIRMED), so clients must look the new candidates up by email."""
        test, body = self._find("Test", test_id), req.json_object()
        emails, deadline = body.get("emails"), _parse_iso(body.get("deadline"))
        if not isinstance(emails, list) or not emails or \
                not all(isinstance(e, str) for e in emails):
            raise _invalid("EmailsRequired", "emails must be a non-empty list of strings.")
        if deadline is None or deadline <= self.now():
            raise _invalid("InvalidDeadline", "deadline must be a future ISO-8601 date.")
        for name in ("body", "replyTo"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise _invalid(name[0].upper() + name[1:] + "Required", f"{name} is required.")
        if not isinstance(body.get("proctoringEnabled"), bool):
            raise _invalid("ProctoringEnabledRequired", "proctoringEnabled must be a boolean.")
        if test["archived"] or not test["isPublished"]:
            raise _invalid("TestNotAvailable", "The test is archived or not published.")
        failed = [e for e in emails if not _EMAIL.match(e.strip())]
        sent = [e.strip() for e in emails if e not in failed]
        for email in sent:
            self._new_candidate(test["id"], email, deadline, body["proctoringEnabled"])
        return _json(200, {"failedEmails": failed,
                           "message": "Some invitations could not be sent." if failed else None,
                           "result": [f"Invitation sent to {e}." for e in sent], "_links": {}})

    def _cancel_invite(self, req: _Request, candidate_id: str) -> Response:
        """Cancel an open invitation: 204 (the real response is UNCONFIRMED); final → 409."""
        self._finish(self._open_candidate(candidate_id), "canceled", "Invitation canceled", None)
        return 204, [], b""

    def _sharing_url(self, req: _Request, candidate_id: str) -> Response:
        """A no-login report link, stable per candidate, served by this simulator."""
        cand = self._find("Candidate", candidate_id)
        cand["_share"] = cand["_share"] or secrets.token_urlsafe(18)
        return _json(200, {"shareUrl": f"{req.base_url}/public/report/{cand['_share']}"})

    def _set_archived(self, req: _Request, action: str) -> Response:
        ids = req.json_object().get("candidateIds")
        if not isinstance(ids, list):
            raise _invalid("InvalidBody", "candidateIds must be a list.")
        failed = [cid for cid in ids if type(cid) is not int or cid not in self._candidates]
        for cid in ids:
            if cid not in failed:
                self._candidates[cid]["archived"] = action == "archive"
        return _json(200, {"failedCandidates": failed})

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        req = _Request(environ, self.public_url)
        try:
            if req.path == TOKEN_PATH:
                status, headers, body = self._token(req)
            elif req.path == API_PREFIX or req.path.startswith(API_PREFIX + "/"):
                status, headers, body = self._api(req)
            else:
                status, headers, body = self._extras(req)
        except ApiError as err:
            status, headers, body = err.response()
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [*headers, ("Content-Length", str(len(body)))])
        return [body]

    __call__ = wsgi_app

    def _token(self, req: _Request) -> Response:
        """OAuth2 token endpoint (form fields only). Bad password: 400 ``invalid_grant``; bad
        client: 401 ``invalid_client`` (RFC 6749 §5.2; TestDome's error body is UNCONFIRMED)."""
        with self._lock:
            self.token_requests += 1
        if req.method != "POST":
            return _json(405, {"error": "invalid_request"}, [("Allow", "POST")])
        form = req.form()
        grant = form.get("grant_type")
        if grant == "password":
            if not (self.email and form.get("username", "").lower() == self.email.lower()
                    and _same(form.get("password", ""), self.api_password)):
                return _json(400, {"error": "invalid_grant",
                                   "error_description": "The user name or password is wrong."})
        elif grant == "client_credentials":
            if not (self.client_id and form.get("client_id") == self.client_id
                    and _same(form.get("client_secret", ""), self.client_secret)):
                return _json(401, {"error": "invalid_client",
                                   "error_description": "Client authentication failed."})
        else:
            return _json(400, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self.now() + self.token_ttl
        return _json(200, {"access_token": token, "token_type": "Bearer",
                           "expires_in": self.token_ttl}, [("Cache-Control", "no-store")])

    def _api(self, req: _Request) -> Response:
        try:
            self._apply_fault()
            self._authenticate(req)
            handler, args = self._route(req)
            with self._lock:
                self._sweep_overdue()
                result = handler(req, *args)
        except ApiError as err:
            result = err.response()
        with self._lock:
            self.api_calls.append(ApiCall(req.method, req.path, req.query, result[0]))
        return result

    def _apply_fault(self) -> None:
        with self._lock:
            kind, arg = self._faults.pop(0) if self._faults else ("", 0.0)
        if kind == "hang":
            time.sleep(arg)
        elif kind == "429":
            raise ApiError(429, "TooManyRequests", "Rate limit exceeded.", "RateLimited",
                           [("Retry-After", str(int(arg)))])
        elif kind == "fail":
            phrase = HTTPStatus(int(arg)).phrase
            raise ApiError(int(arg), phrase.replace(" ", ""), f"Simulated {phrase}.")

    def _authenticate(self, req: _Request) -> None:
        """401 for a missing, unknown or expired bearer token, with distinct inner codes."""
        scheme, _, token = req.header("Authorization").partition(" ")
        with self._lock:
            expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        inner = ("MissingToken" if scheme.lower() != "bearer" or not token.strip()
                 else "InvalidToken" if expiry is None
                 else "TokenExpired" if self.now() >= expiry else None)
        if inner:
            raise ApiError(401, "Unauthorized", "A valid bearer token is required.", inner,
                           [("WWW-Authenticate", 'Bearer error="invalid_token"')])

    def _route(self, req: _Request) -> tuple[Callable[..., Response], tuple[str, ...]]:
        matches = [(m, h, hit.groups()) for m, p, h in _ROUTES if (hit := p.fullmatch(req.path))]
        for method, name, groups in matches:
            if method == req.method:
                return getattr(self, name), groups
        if matches:
            raise ApiError(405, "MethodNotAllowed", f"{req.method} is not allowed here.")
        raise ApiError(404, "NotFound", f"No route for {req.path}.", "RouteNotFound")

    def _extras(self, req: _Request) -> Response:
        parts = req.path.strip("/").split("/")
        if parts[:2] == ["public", "report"] and len(parts) == 3 and req.method == "GET":
            with self._lock:
                found = [c for c in self._candidates.values() if c["_share"] == parts[2]]
                return self._report_page(found[0]) if found else _json(404, {"code": "NotFound"})
        if parts[0] == "_sim" and req.method == "POST":
            return self._control(req, parts[1:])
        raise ApiError(404, "NotFound", f"No route for {req.path}.", "RouteNotFound")

    def _report_page(self, cand: Record) -> Response:
        rows = "".join(f"<tr><th>{k}</th><td>{html.escape(str(cand[f]))}</td></tr>" for k, f in
                       (("Name", "name"), ("Email", "email"), ("Status", "status"),
                        ("Score %", "_score"), ("Passed", "passed")))
        title = html.escape(f"TestDome report: {self._tests[cand['_testId']]['name']}")
        page = f"<!doctype html><title>{title}</title><h1>{title}</h1><table>{rows}</table>"
        return 200, [("Content-Type", "text/html; charset=utf-8")], page.encode()

    def _control(self, req: _Request, parts: list[str]) -> Response:
        """``POST /_sim/webhook-url {"url"}`` and ``POST /_sim/candidates/{id}/complete
        {"score", "passed", "needsScoring", "webhook"}``: what a human does in TestDome's UI."""
        body = req.json_object()
        if parts == ["webhook-url"]:
            self.webhook_url = body.get("url")
            return _json(200, {"webhookUrl": self.webhook_url})
        if len(parts) == 3 and parts[0] == "candidates" and parts[2] == "complete":
            self.complete_candidate(int(parts[1]), float(body.get("score", 80)),
                                    passed=body.get("passed"), webhook=body.get("webhook"),
                                    needs_scoring=bool(body.get("needsScoring", False)))
            return _json(200, self.candidate(int(parts[1])))
        raise ApiError(404, "NotFound", "Unknown simulator control.", "RouteNotFound")


def main(argv: list[str] | None = None) -> None:
    """Serve forever; a background thread delivers queued webhooks after ``--webhook-delay``."""
    parser = argparse.ArgumentParser(description="Serve a simulated TestDome API on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8103)
    for name in ("--email", "--api-password", "--client-id", "--client-secret",
                 "--webhook-url", "--public-url"):
        parser.add_argument(name)
    parser.add_argument("--seed-tests", type=int, default=5)
    parser.add_argument("--token-ttl", type=int, default=1800)
    parser.add_argument("--webhook-delay", type=float, default=2.0,
                        help="seconds between a final status and its webhook")
    parser.add_argument("--webhook-candidate-ids", choices=("v3", "guid"), default="v3")
    args = parser.parse_args(argv)
    if not (args.email and args.api_password) and not (args.client_id and args.client_secret):
        parser.error("give --email and --api-password, or --client-id and --client-secret")
    sim = TestDomeSimulator(email=args.email, api_password=args.api_password,
                            client_id=args.client_id, client_secret=args.client_secret,
                            token_ttl=args.token_ttl, webhook_url=args.webhook_url,
                            webhook_candidate_ids=args.webhook_candidate_ids,
                            public_url=args.public_url)
    sim.seed_tests(args.seed_tests)
    stop = threading.Event()
    threading.Thread(target=sim.run_webhook_pump, args=(args.webhook_delay, stop),
                     name="testdome-webhooks", daemon=True).start()
    server = LoopbackServer(sim, host=args.host, port=args.port)
    print(f"TestDome simulator: token {server.url}{TOKEN_PATH}, API {server.url}{API_PREFIX}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()


if __name__ == "__main__":
    main()
