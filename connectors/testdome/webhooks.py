"""``POST /connectors/testdome/webhooks/<token>``: TestDome's candidate events.

TestDome signs nothing (shared/providers/testdome.md §8), so the unguessable token in
the path only selects the account, and the body is a *trigger*: the task re-reads the
candidate through the authenticated API and never trusts the payload's status.

TestDome wants a 2xx within 30 s and retries once at most, so the view answers at once
and works only after the response is formed (in ``close()``, which the WSGI server
calls once the bytes are out). Duplicates (same correlation id, or same candidate and
status) are dropped with ``cache.add`` markers kept two days; a lost marker (cache
flush) only means one harmless extra re-read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import ParseError

from gateway.api.errors import error_response
from gateway.api.parsers import parse_json_bytes
from gateway.runner import enqueue
from gateway.tenancy.selectors import account_for_inbound_secret

logger = logging.getLogger(__name__)

DEDUPE_TTL = 2 * 24 * 3600  # TestDome's retry comes within hours; keep two days
CORRELATION_HEADER = "X-TestDome-CorrelationId"


@dataclass(frozen=True)
class CandidateEvent:
    """TestDome's ``CandidateEvent``, as strings: the ids only serve to look things up."""

    candidate_id: str
    test_id: str | None
    status: str


def candidate_event_parse(payload: Any) -> CandidateEvent | None:
    """The event, or None if it names no candidate. Unknown fields are ignored."""
    if not isinstance(payload, Mapping):
        return None
    candidate_id, test_id = payload.get("candidateId"), payload.get("testId")
    if isinstance(candidate_id, bool) or not isinstance(candidate_id, str | int):
        return None
    candidate_id = str(candidate_id).strip()
    if not candidate_id or len(candidate_id) > 100:
        return None
    if isinstance(test_id, bool) or not isinstance(test_id, str | int) or not str(test_id).strip():
        test_id = None
    status = payload.get("status")
    return CandidateEvent(
        candidate_id=candidate_id,
        test_id=None if test_id is None else str(test_id).strip()[:100],
        status=str(status).strip()[:50] if isinstance(status, str) else "",
    )


def webhook_accept(*, account_id: str, event: CandidateEvent, correlation_id: str | None) -> bool:
    """Record the trigger and queue its processing, unless it is a duplicate.

    Returns whether it was queued. Both markers are set either way, so a retry under a
    new correlation id is still recognised by candidate and status.
    """
    markers = [f"testdome:webhook:candidate:{account_id}:{event.candidate_id}:{event.status.lower()}"]
    if correlation_id:
        markers.append(f"testdome:webhook:correlation:{account_id}:{correlation_id.strip()[:100]}")
    fresh = [cache.add(key, 1, DEDUPE_TTL) for key in markers]
    if not all(fresh):
        logger.info(
            "TestDome webhook for candidate %s (%s) on %s is a duplicate; ignored",
            event.candidate_id,
            event.status,
            account_id,
        )
        return False
    logger.info(
        "TestDome webhook: candidate %s, test %s, status %s, correlation %s, account %s",
        event.candidate_id,
        event.test_id,
        event.status,
        correlation_id,
        account_id,
    )
    from connectors.testdome.tasks import testdome_webhook_process

    enqueue(testdome_webhook_process, account_id, event.candidate_id, event.test_id, event.status)
    return True


class _AnswerThenRun(JsonResponse):
    """A response that runs ``work`` after it has been sent (WSGI calls ``close()``
    once the body is written). ``work`` must not raise into the server: it is logged."""

    def __init__(self, data: Any, work: Callable[[], None]) -> None:
        super().__init__(data)
        self._work = work

    def close(self) -> None:
        try:
            self._work()
        except Exception:
            logger.exception("Processing a TestDome webhook failed")
        finally:
            super().close()


@csrf_exempt
def webhook_receive(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":
        return error_response(request, 405, "Method not allowed", headers={"Allow": "POST"})
    account = account_for_inbound_secret(provider="testdome", secret=token)
    if account is None:
        return error_response(request, 404, "Not found")
    if request.content_type and "json" not in request.content_type.lower():
        return error_response(request, 415, "Send application/json.")
    limit = settings.GATEWAY_MAX_BODY_BYTES
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return error_response(request, 413, f"Request body exceeds {limit} bytes")
    try:
        # The gateway's strict parser: a 10,000-deep body, duplicate keys, NaN or a NUL
        # would otherwise crash json.loads (RecursionError) or the queries behind it.
        payload = parse_json_bytes(raw) if raw.strip() else None
    except ParseError as exc:
        return error_response(request, 400, str(exc.detail))
    event = candidate_event_parse(payload)
    if event is None:
        return error_response(
            request,
            422,
            "Validation error",
            errors=[{"field": "candidateId", "message": "A candidate id is required."}],
        )
    correlation_id = request.headers.get(CORRELATION_HEADER)
    account_id = account.id
    return _AnswerThenRun(
        {"received": True},
        lambda: webhook_accept(account_id=account_id, event=event, correlation_id=correlation_id),
    )
