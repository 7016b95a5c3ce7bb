"""TestDome's candidate model and webhook event → the gateway's unified order status,
result and provider state.

Every guess about TestDome's data lives in this module, marked **UNCONFIRMED** against
TestDome's public API guide (https://testdome.com/integrations/api) and its webhook page
(https://testdome.com/integrations/api/webhooks), so that checking them against the live
Swagger schema means editing one file. The functions are pure: no HTTP, no storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.sdk import OrderStatus, ProviderState, ResultData, ResultValue

# --- TestDome statuses ------------------------------------------------------------------

# UNCONFIRMED: the full v3 enum. These are the values working third-party code reads;
# webhooks send PascalCase final states only. Compared case-insensitively.
_NOT_STARTED = frozenset({"sendinginvitation", "invited"})
_UNDERWAY = frozenset({"started", "paused"})
_COMPLETED = "completed"
_DID_NOT_TAKE = "didnottake"
_CANCELED = frozenset({"canceled", "cancelled"})

# --- links and units ----------------------------------------------------------------------

# UNCONFIRMED: ``score`` is a percentage (0-100), like ``cutoffScore``. The simulator
# serves percent; third-party code also accepts a 0-1 fraction. If real candidates show
# fractions, set this to "fraction" (no per-value guessing: 1.0 would be ambiguous).
SCORE_UNIT = "percent"

# UNCONFIRMED: the logged-in report page (seen in third-party code), used when no
# no-login sharing URL could be created.
APP_REPORT_URL = "https://app.testdome.com/my-candidates/report/{id}"

# UNCONFIRMED: candidate fields that might hold the candidate's personal test link. None
# is documented (``invitationKey`` probably forms it, in an unknown format), so email
# invitations normally get ``test_url = None``: TestDome emails the link itself.
_TEST_LINK_FIELDS = ("invitationUrl", "testLink", "url")
_TEST_LINK_RELS = ("invitation", "test-link", "testUrl")

# UNCONFIRMED: no "completed at" field is documented; the completion is read from the
# activity log (expand ``activities``): the newest entry that mentions completion.
_COMPLETION_WORDS = ("complet", "finish", "submit")


# --- the webhook event ----------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateEvent:
    """TestDome's ``CandidateEvent``, as strings: the ids only serve to look things up.

    UNCONFIRMED: the documented sample ``candidateId`` is a GUID, not the numeric v3
    candidate id; both are accepted, and a GUID is resolved through ``testId``.
    """

    candidate_id: str
    test_id: str | None
    status: str


def candidate_event(payload: Any) -> CandidateEvent | None:
    """The event, or None if it names no candidate. Unknown fields are ignored, and so is
    a ``testId`` or ``status`` of the wrong type (the event is a trigger, not data)."""
    if not isinstance(payload, Mapping):
        return None
    candidate_id, test_id, status = payload.get("candidateId"), payload.get("testId"), payload.get("status")
    if isinstance(candidate_id, bool) or not isinstance(candidate_id, str | int):
        return None
    candidate_id = str(candidate_id).strip()
    if not candidate_id or len(candidate_id) > 100:
        return None
    if isinstance(test_id, bool) or not isinstance(test_id, str | int) or not str(test_id).strip():
        test_id = None
    return CandidateEvent(
        candidate_id=candidate_id,
        test_id=None if test_id is None else str(test_id).strip()[:100],
        status=status.strip()[:50] if isinstance(status, str) else "",
    )


# --- the candidate ----------------------------------------------------------------------------


def normalized_status(candidate: Mapping[str, Any]) -> str:
    return str(candidate.get("status") or "").strip().lower()


def is_final(candidate: Mapping[str, Any]) -> bool:
    """Nothing more will change without a human: no need to re-read it on a schedule."""
    status = normalized_status(candidate)
    if status == _COMPLETED:
        return not candidate.get("needsScoring")
    return status == _DID_NOT_TAKE or status in _CANCELED


def needs_share_url(candidate: Mapping[str, Any]) -> bool:
    """A report exists once the candidate finished, even while scoring is pending."""
    return normalized_status(candidate) == _COMPLETED


def order_status(candidate: Mapping[str, Any]) -> str | None:
    """The unified order status, or None for a status this module does not know (the
    order then keeps its status; the result says ``unmapped_value``).

    A completed candidate whose answers still need manual scoring stays ``in_progress``:
    its score can change, and TestDome sends no webhook when scoring ends, so the
    reconciliation keeps re-reading it until ``needsScoring`` clears.
    """
    status = normalized_status(candidate)
    if status in _NOT_STARTED:
        return OrderStatus.OPEN
    if status in _UNDERWAY:
        return OrderStatus.IN_PROGRESS
    if status == _COMPLETED:
        return OrderStatus.IN_PROGRESS if candidate.get("needsScoring") else OrderStatus.COMPLETED
    if status == _DID_NOT_TAKE:
        return OrderStatus.EXPIRED
    if status in _CANCELED:
        return OrderStatus.CANCELLED
    return None


def result_value(candidate: Mapping[str, Any]) -> str | None:
    """``passedOverride`` (a human's decision) wins over ``passed`` (the cutoff)."""
    status = normalized_status(candidate)
    if status in _NOT_STARTED:
        return None  # nothing to report yet: the order has no result
    if status in _UNDERWAY or (status == _COMPLETED and candidate.get("needsScoring")):
        return ResultValue.IN_PROGRESS
    if status == _COMPLETED:
        override = candidate.get("passedOverride")
        passed = override if isinstance(override, bool) else bool(candidate.get("passed"))
        return ResultValue.PASSED if passed else ResultValue.FAILED
    if status == _DID_NOT_TAKE:
        return ResultValue.EXPIRED
    if status in _CANCELED:
        return ResultValue.CANCELLED
    return ResultValue.UNMAPPED


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def format_number(value: float) -> str:
    """``80.0`` → ``"80"``, ``72.456`` → ``"72.46"``: score parts are strings (StackOne)."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def score_percent(candidate: Mapping[str, Any]) -> float | None:
    raw = _number(candidate.get("score"))
    if raw is None:
        return None
    return raw * 100 if SCORE_UNIT == "fraction" else raw


def score(candidate: Mapping[str, Any]) -> dict[str, str] | None:
    percent = score_percent(candidate)
    if percent is None:
        return None
    return {"label": "score", "value": format_number(percent), "min": "0", "max": "100"}


def parse_date(value: Any) -> datetime | None:
    """ISO-8601 to an aware UTC datetime; a naive value counts as UTC (UNCONFIRMED)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _activities(candidate: Mapping[str, Any]) -> list[tuple[datetime, str]]:
    raw = candidate.get("activities")
    items = raw.get("value") if isinstance(raw, Mapping) else raw  # list or a paged envelope
    found = []
    for item in items if isinstance(items, Sequence) and not isinstance(items, str) else ():
        if isinstance(item, Mapping) and (when := parse_date(item.get("date"))) is not None:
            found.append((when, str(item.get("description") or "")))
    return sorted(found)


def submission_date(candidate: Mapping[str, Any]) -> datetime | None:
    if normalized_status(candidate) != _COMPLETED:
        return None
    activities = _activities(candidate)
    completions = [w for w, text in activities if any(k in text.lower() for k in _COMPLETION_WORDS)]
    # "Scoring finished" comes later than the submission: prefer the first completion.
    if completions:
        return completions[0]
    return activities[-1][0] if activities else None


def start_date(candidate: Mapping[str, Any], submitted: datetime | None) -> datetime | None:
    """Submission minus ``timeTaken`` (seconds): no start date is documented either."""
    taken = _number(candidate.get("timeTaken"))
    if submitted is None or not taken or taken <= 0:
        return None
    return submitted - timedelta(seconds=taken)


def summary(candidate: Mapping[str, Any]) -> str | None:
    parts = []
    percent = score_percent(candidate)
    if percent is not None:
        parts.append(f"Score {format_number(percent)}%.")
    if candidate.get("needsScoring"):
        potential = _number(candidate.get("maxScore"))
        extra = f" (up to {format_number(potential)}%)" if potential is not None else ""
        parts.append(f"Awaiting manual scoring: the score is provisional{extra}.")
    if isinstance(candidate.get("passedOverride"), bool):
        parts.append("Pass/fail set manually by the recruiter.")
    taken = _number(candidate.get("timeTaken"))
    if taken and taken > 0:
        parts.append(f"Time taken {round(taken / 60)} min.")
    if candidate.get("possibleCheating"):
        parts.append("TestDome flagged possible cheating.")
    return " ".join(parts) or None


def personal_test_url(candidate: Mapping[str, Any]) -> str | None:
    """The candidate's personal test link, if the API ever exposes one (see above)."""
    for name in _TEST_LINK_FIELDS:
        value = candidate.get(name)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    links = candidate.get("_links")
    if isinstance(links, Mapping):
        for rel in _TEST_LINK_RELS:
            link = links.get(rel)
            href = link.get("href") if isinstance(link, Mapping) else link
            if isinstance(href, str) and href.startswith(("https://", "http://")):
                return href
    return None


def report_url(candidate: Mapping[str, Any]) -> str | None:
    cid = candidate.get("id")
    return APP_REPORT_URL.format(id=cid) if cid is not None else None


def candidate_test_id(candidate: Mapping[str, Any]) -> str | None:
    """The test a candidate belongs to: ``test`` is an object (expanded or ``{"id"}``)."""
    test = candidate.get("test")
    test_id = test.get("id") if isinstance(test, Mapping) else candidate.get("testId")
    return None if test_id is None else str(test_id)


def candidate_email(candidate: Mapping[str, Any]) -> str:
    return str(candidate.get("email") or "").strip().lower()


def candidate_mapped(candidate: Mapping[str, Any], *, result_url: str | None = None) -> ProviderState:
    """The unified state of one candidate, as ``fetch_result`` hands it to the core.

    ``result_url`` is the no-login sharing link when the caller has one; otherwise the
    logged-in report page is used once the candidate has finished. A candidate that has
    not started yet has no result.
    """
    cid = candidate.get("id")
    return ProviderState(
        status=order_status(candidate),
        remote_id=None if cid is None else str(cid),
        test_url=personal_test_url(candidate),
        result=candidate_result(candidate, result_url=result_url),
    )


def candidate_result(candidate: Mapping[str, Any], *, result_url: str | None = None) -> ResultData | None:
    value = result_value(candidate)
    if value is None:
        return None
    submitted = submission_date(candidate)
    finished = needs_share_url(candidate)
    return ResultData(
        result_value=value,
        result_source_value=str(candidate.get("status") or ""),
        score=score(candidate),
        result_url=(result_url or report_url(candidate)) if finished else None,
        summary=summary(candidate),
        start_date=start_date(candidate, submitted),
        submission_date=submitted,
        # Stable provider facts only: a volatile field (``betterThan`` moves whenever
        # another candidate finishes) would announce a change that is not one.
        passthrough={
            "testdome": {
                "candidate_id": candidate.get("id"),
                "status": candidate.get("status"),
                "score": candidate.get("score"),
                "max_score": candidate.get("maxScore"),
                "passed": candidate.get("passed"),
                "passed_override": candidate.get("passedOverride"),
                "needs_scoring": bool(candidate.get("needsScoring")),
                "time_taken_seconds": candidate.get("timeTaken"),
                "possible_cheating": candidate.get("possibleCheating"),
                "report_url": report_url(candidate) if finished else None,
            }
        },
    )
