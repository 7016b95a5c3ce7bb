"""The mapping module on its own: no HTTP, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from connectors.softgarden import mapping
from gateway.assessments.models import OrderStatus

T0 = datetime(2026, 3, 26, 10, 0, 0, 123456, tzinfo=UTC)
LINK = "https://gw.example.com/t/tok"


def order(status: str, *, deadline: datetime | None = None, test_url: str | None = None) -> Any:
    return SimpleNamespace(id="ord_1", status=status, deadline=deadline, test_url=test_url, updated_at=T0)


def result(**fields: Any) -> Any:
    base = {
        "score": None,
        "result_url": None,
        "submission_date": None,
        "updated_at": T0 + timedelta(hours=1),
        "attachments": [],
        "passthrough": None,
    }
    return SimpleNamespace(**{**base, **fields})


def test_every_order_status_has_a_softgarden_status() -> None:
    assert {status.value: mapping.softgarden_status(order(status)) for status in OrderStatus} == {
        "open": "PENDING",
        "in_progress": "PENDING",
        "completed": "COMPLETED",
        "expired": "EXPIRED",
        "cancelled": "EXPIRED",
        "failed": "EXPIRED",
    }


def test_timestamps_are_utc_seconds_with_z() -> None:
    assert mapping.timestamp(T0) == "2026-03-26T10:00:00Z"
    assert (
        mapping.timestamp(datetime(2026, 3, 26, 12, 0, tzinfo=timezone(timedelta(hours=2)))) == "2026-03-26T10:00:00Z"
    )


@pytest.mark.parametrize(
    ("score", "text"),
    [
        (None, None),
        ({}, None),
        ({"value": None}, None),
        ({"value": ""}, None),
        ({"value": "78"}, "78"),
        ({"value": "78%", "max": "100"}, "78%"),
        ({"value": 300}, "300"),
        ("78", None),
    ],
)
def test_score_text(score: Any, text: str | None) -> None:
    assert mapping.score_text(score) == text


def test_report_url_prefers_the_explicit_one_then_a_pdf_attachment() -> None:
    pdf = {"url": "https://v.example.com/r.PDF", "content_type": None}
    other = {"url": "https://v.example.com/r.json", "content_type": {"value": "application/json"}}
    assert mapping.report_url(result(attachments=[other, pdf])) == "https://v.example.com/r.PDF"
    assert mapping.report_url(result(attachments=[other])) is None
    explicit = result(attachments=[pdf], passthrough={"report_url": "https://v.example.com/report"})
    assert mapping.report_url(explicit) == "https://v.example.com/report"
    assert mapping.report_url(result(passthrough={"report_url": "ftp://v.example.com/r.pdf"})) is None


def test_pending_without_a_result() -> None:
    assert mapping.result_payload(order("open"), None, link_url=LINK) == {
        "status": "PENDING",
        "result": {"resultUrl": LINK},
    }


def test_completed_uses_the_submission_date_else_the_result_time() -> None:
    submitted = result(submission_date=T0, score={"value": "9"}, result_url="https://v.example.com/r")
    assert mapping.result_payload(order("completed"), submitted, link_url=LINK) == {
        "status": "COMPLETED",
        "completionTime": "2026-03-26T10:00:00Z",
        "result": {"resultUrl": "https://v.example.com/r", "score": "9"},
    }
    assert (
        mapping.result_payload(order("completed"), result(), link_url=LINK)["completionTime"] == "2026-03-26T11:00:00Z"
    )


def test_expired_uses_the_deadline_when_there_is_one() -> None:
    deadline = datetime(2026, 4, 1, tzinfo=UTC)
    assert mapping.result_payload(order("expired", deadline=deadline), result(), link_url=LINK) == {
        "status": "EXPIRED",
        "expirationTime": "2026-04-01T00:00:00Z",
        "result": {"resultUrl": LINK},
    }


def test_invitation_payload() -> None:
    assert mapping.invitation_payload(order("open"), link_url=LINK) == {"invitationId": "ord_1", "testUrl": LINK}
    deadline = datetime(2026, 4, 1, tzinfo=UTC)
    assert mapping.invitation_payload(
        order("open", deadline=deadline, test_url="https://v.example.com/s"), link_url=LINK
    ) == {
        "invitationId": "ord_1",
        "testUrl": "https://v.example.com/s",
        "deadline": "2026-04-01T00:00:00Z",
    }


def test_invitation_parse_keeps_what_softgarden_sent() -> None:
    parsed = mapping.invitation_parse(
        {
            "testId": "1",
            "candidate": {"id": "app", "firstName": " Jane ", "lastName": "", "email": None},
            "callback": " https://app.softgarden.io/cb ",
        }
    )
    assert parsed == mapping.Invitation(
        test_id="1",
        candidate_id="app",
        first_name="Jane",
        last_name=None,
        email=None,
        callback_url="https://app.softgarden.io/cb",
    )
    fields = mapping.invitation_order_fields(parsed)
    assert fields["candidate"]["emails"] == []
    assert fields["application"]["remote_id"] == "app"
