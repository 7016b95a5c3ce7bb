"""The mapping from TestDome's candidate model to unified values, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.testdome import mapping
from gateway.sdk import ProviderState


def cand(**fields: Any) -> dict[str, Any]:
    base = {
        "id": 7,
        "email": "A@Example.com",
        "status": "completed",
        "score": 80.0,
        "passed": True,
        "passedOverride": None,
        "needsScoring": False,
        "timeTaken": 600,
        "test": {"id": 41},
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("status", "extra", "order", "value"),
    [
        ("sendingInvitation", {}, "open", None),
        ("Invited", {}, "open", None),
        ("started", {}, "in_progress", "in_progress"),
        ("paused", {}, "in_progress", "in_progress"),
        ("completed", {}, "completed", "passed"),
        ("Completed", {"passed": False}, "completed", "failed"),
        ("completed", {"needsScoring": True}, "in_progress", "in_progress"),
        ("didNotTake", {}, "expired", "expired"),
        ("DidNotTake", {}, "expired", "expired"),
        ("canceled", {}, "cancelled", "cancelled"),
        ("Canceled", {}, "cancelled", "cancelled"),
        ("proctoringReview", {}, None, "unmapped_value"),
    ],
)
def test_status_table(status: str, extra: dict[str, Any], order: str | None, value: str | None) -> None:
    candidate = cand(status=status, **extra)
    assert mapping.order_status(candidate) == order
    assert mapping.result_value(candidate) == value


@pytest.mark.parametrize(
    ("passed", "override", "value"),
    [
        (True, None, "passed"),
        (False, None, "failed"),
        (False, True, "passed"),
        (True, False, "failed"),
    ],
)
def test_passed_override_wins_over_passed(passed: bool, override: bool | None, value: str) -> None:
    assert mapping.result_value(cand(passed=passed, passedOverride=override)) == value


def test_final_states() -> None:
    assert mapping.is_final(cand())
    assert not mapping.is_final(cand(needsScoring=True))
    assert mapping.is_final(cand(status="didNotTake")) and mapping.is_final(cand(status="canceled"))
    assert not mapping.is_final(cand(status="invited"))


@pytest.mark.parametrize(("raw", "text"), [(80.0, "80"), (72.456, "72.46"), (0, "0"), (99.5, "99.5"), (-0.0, "0")])
def test_score_strings(raw: float, text: str) -> None:
    assert mapping.score(cand(score=raw)) == {"label": "score", "value": text, "min": "0", "max": "100"}


def test_no_score_until_finished() -> None:
    assert mapping.score(cand(score=None)) is None
    assert mapping.score(cand(score=True)) is None  # a bool is not a number


def test_dates_come_from_the_activity_log() -> None:
    candidate = cand(
        timeTaken=900,
        activities=[
            {"date": "2026-01-10T09:00:00Z", "description": "Invited via email"},
            {"date": "2026-01-12T10:15:00Z", "description": "Completed the test"},
            {"date": "2026-01-13T08:00:00Z", "description": "Scoring finished"},
            {"date": "not a date", "description": "noise"},
        ],
    )
    submitted = mapping.submission_date(candidate)
    assert submitted == datetime(2026, 1, 12, 10, 15, tzinfo=UTC)
    assert mapping.start_date(candidate, submitted) == datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
    assert mapping.submission_date(cand(status="started", activities=candidate["activities"])) is None
    assert mapping.submission_date(cand(activities=None)) is None
    assert mapping.start_date(cand(timeTaken=0), submitted) is None


def test_summary() -> None:
    text = mapping.summary(
        cand(score=50, needsScoring=True, maxScore=90, passedOverride=True, possibleCheating=True, timeTaken=1500)
    )
    assert text == (
        "Score 50%. Awaiting manual scoring: the score is provisional (up to 90%). "
        "Pass/fail set manually by the recruiter. Time taken 25 min. "
        "TestDome flagged possible cheating."
    )
    assert mapping.summary({"status": "invited"}) is None


def test_links() -> None:
    assert mapping.personal_test_url(cand()) is None
    assert mapping.personal_test_url(cand(invitationUrl="https://t.example/x")) == "https://t.example/x"
    assert (
        mapping.personal_test_url(cand(_links={"invitation": {"href": "https://t.example/y"}})) == "https://t.example/y"
    )
    assert mapping.report_url(cand()) == "https://app.testdome.com/my-candidates/report/7"


def test_candidate_mapped() -> None:
    state = mapping.candidate_mapped(cand(), result_url="https://share.example/r/1")
    assert isinstance(state, ProviderState)
    assert (state.remote_id, state.status, state.test_url) == ("7", "completed", None)
    result = state.result
    assert (result.result_value, result.result_source_value) == ("passed", "completed")
    assert result.result_url == "https://share.example/r/1"
    assert result.score == {"label": "score", "value": "80", "min": "0", "max": "100"}
    assert result.passthrough["testdome"]["report_url"].endswith("/report/7")
    fallback = mapping.candidate_mapped(cand()).result.result_url
    assert fallback == "https://app.testdome.com/my-candidates/report/7"
    assert mapping.candidate_mapped(cand(status="invited")).result is None
    assert mapping.candidate_mapped(cand(status="didNotTake")).result.result_url is None
    linked = mapping.candidate_mapped(cand(status="invited", invitationUrl="https://t.example/x"))
    assert linked.test_url == "https://t.example/x" and linked.status == "open"


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        ({"candidateId": "ab12", "testId": 7, "status": "Completed"}, ("ab12", "7", "Completed")),
        ({"candidateId": 12, "testId": "7", "extra": 1}, ("12", "7", "")),
        ({"candidateId": "x", "testId": True, "status": 5}, ("x", None, "")),
        ({"candidateId": True}, None),
        ({"candidateId": " "}, None),
        ({"candidateId": "x" * 101}, None),
        (["candidateId"], None),
    ],
)
def test_candidate_event(payload: Any, parsed: tuple[str, str | None, str] | None) -> None:
    event = mapping.candidate_event(payload)
    assert (event and (event.candidate_id, event.test_id, event.status)) == parsed


def test_identity_helpers() -> None:
    assert mapping.candidate_email(cand()) == "a@example.com"
    assert mapping.candidate_test_id(cand()) == "41"
    assert mapping.candidate_test_id({"testId": 5}) == "5"
    assert mapping.candidate_test_id({}) is None
    assert mapping.parse_date("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert mapping.parse_date(None) is None
