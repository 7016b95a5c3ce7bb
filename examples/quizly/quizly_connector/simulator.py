"""Quizly, simulated: the API the connector calls and the webhook it receives, in memory.

A WSGI app (serve it with ``gateway.sdk.loopback.LoopbackServer``) plus helpers that play
the recruiter and the candidate (``add_quiz``, ``finish``) and Quizly's own side
(``deliver_webhooks``, ``fail_next``). One Quizly workspace, one API key.

Run: ``python -m quizly_connector.simulator --port 8110 --api-key KEY``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import requests

from gateway.sdk.loopback import LoopbackServer

Reply = tuple[int, Any]
_INVITATION = re.compile(r"^/v1/invitations/([A-Za-z0-9_-]+)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Received:
    """One request the simulator answered, for tests that look at the traffic."""

    method: str
    path: str
    status: int
    authorization: str


class QuizlySimulator:
    """Quizly's API under ``/v1`` for one workspace.

    ``page_size`` is small by default so that list calls page. Each invitation keeps the
    webhook events it caused until ``deliver_webhooks()`` posts them to ``webhook_url``.
    """

    def __init__(self, *, api_key: str, page_size: int = 2, webhook_url: str | None = None) -> None:
        self.api_key, self.page_size, self.webhook_url = api_key, page_size, webhook_url
        self.public_url = "http://quizly.invalid"
        self.quizzes: dict[str, dict[str, Any]] = {}
        self.invitations: dict[str, dict[str, Any]] = {}
        self.received: list[Received] = []
        self._outbox: list[dict[str, Any]] = []
        self._failures: list[int] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # --- the recruiter, the candidate, Quizly itself -------------------------------------

    def add_quiz(self, title: str, summary: str | None = None) -> str:
        with self._lock:
            quiz_id = f"qz_{next(self._ids)}"
            self.quizzes[quiz_id] = {"id": quiz_id, "title": title, "summary": summary}
            return quiz_id

    def start(self, invitation_id: str) -> None:
        with self._lock:
            self._move(invitation_id, "started", started_at=_now())

    def finish(self, invitation_id: str, score: float, *, max_score: float = 100.0, passed: bool | None = None,
               notify: bool = True) -> None:
        """The candidate submits; ``notify=False`` loses the webhook (Quizly sends each once)."""
        with self._lock:
            invitation = self.invitations[invitation_id]
            invitation["started_at"] = invitation["started_at"] or _now()
            self._move(invitation_id, "finished", score=score, max_score=max_score, passed=passed,
                       finished_at=_now(), report_url=f"{self.public_url}/reports/{invitation_id}",
                       notify=notify)

    def _move(self, invitation_id: str, state: str, *, notify: bool = True, **changes: Any) -> None:
        invitation = self.invitations[invitation_id]
        invitation.update(state=state, **changes)
        if notify:
            self._outbox.append({"event": f"invitation.{state}", "invitation_id": invitation_id})

    def deliver_webhooks(self) -> list[int]:
        """POST every queued event to ``webhook_url``; returns the statuses (0: unreachable)."""
        with self._lock:
            events, self._outbox = self._outbox, []
            url = self.webhook_url
        statuses = []
        for event in events:
            try:
                statuses.append(requests.post(url or "", json=event, timeout=10).status_code)
            except requests.RequestException:
                statuses.append(0)
        return statuses

    def fail_next(self, count: int, status: int = 500) -> None:
        """The next ``count`` API calls answer ``status``; ``count=0`` clears what is left."""
        with self._lock:
            self._failures = [status] * count

    # --- the API -------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        status, payload = self._answer(method, path, environ, authorization)
        with self._lock:
            self.received.append(Received(method, path, status, authorization))
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = [("Content-Length", str(len(body)))] + ([("Content-Type", "application/json")] if body else [])
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    def _answer(self, method: str, path: str, environ: dict[str, Any], authorization: str) -> Reply:
        with self._lock:
            if self._failures:
                return self._failures.pop(0), {"error": "injected_failure"}
        if not secrets.compare_digest(authorization.encode(), f"Bearer {self.api_key}".encode()):
            return 401, {"error": "invalid_api_key"}
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if (method, path) == ("GET", "/v1/me"):
            return 200, {"workspace": "Quizly workspace"}
        if (method, path) == ("GET", "/v1/quizzes"):
            return self._quizzes(query)
        if (method, path) == ("POST", "/v1/invitations"):
            return self._invite(environ)
        match = _INVITATION.match(path)
        if match and method == "GET":
            with self._lock:
                found = self.invitations.get(match.group(1))
            return (200, dict(found)) if found else (404, {"error": "invitation_not_found"})
        if match and method == "DELETE":
            return self._cancel(match.group(1))
        return 404, {"error": "not_found"}

    def _quizzes(self, query: dict[str, list[str]]) -> Reply:
        try:
            page = max(1, int((query.get("page") or ["1"])[0]))
        except ValueError:
            return 422, {"error": "invalid_page"}
        with self._lock:
            quizzes = list(self.quizzes.values())
        start = (page - 1) * self.page_size
        more = start + self.page_size < len(quizzes)
        return 200, {"quizzes": quizzes[start: start + self.page_size], "next_page": page + 1 if more else None}

    def _invite(self, environ: dict[str, Any]) -> Reply:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"null")
        except ValueError:
            return 400, {"error": "invalid_json"}
        if not isinstance(body, dict) or not _EMAIL.match(str(body.get("email") or "")):
            return 422, {"error": "invalid_email"}
        with self._lock:
            if body.get("quiz_id") not in self.quizzes:
                return 404, {"error": "quiz_not_found"}
            invitation_id = f"inv_{secrets.token_hex(6)}"
            self.invitations[invitation_id] = {
                "id": invitation_id, "quiz_id": body["quiz_id"], "email": body["email"], "state": "sent",
                "url": f"{self.public_url}/take/{invitation_id}", "score": None, "max_score": None,
                "passed": None, "report_url": None, "started_at": None, "finished_at": None,
            }
            return 201, dict(self.invitations[invitation_id])

    def _cancel(self, invitation_id: str) -> Reply:
        with self._lock:
            invitation = self.invitations.get(invitation_id)
            if invitation is None:
                return 404, {"error": "invitation_not_found"}
            if invitation["state"] not in ("sent", "started"):
                return 409, {"error": "invitation_closed"}
            self._move(invitation_id, "cancelled")
        return 204, None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Quizly simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8110)
    parser.add_argument("--api-key", default="quizly-demo-key")
    args = parser.parse_args(argv)
    simulator = QuizlySimulator(api_key=args.api_key)
    simulator.add_quiz("Python basics", "Twenty minutes of everyday Python.")
    server = LoopbackServer(simulator, host=args.host, port=args.port)
    simulator.public_url = server.url
    print(f"Quizly simulator on {server.url}/v1 (API key {args.api_key!r})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
