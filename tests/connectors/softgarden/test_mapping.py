"""The mapping module and the request schema on their own: no HTTP, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from connectors.softgarden import mapping
from connectors.softgarden.schemas import INVITATION_REQUEST
from gateway.sdk import OrderStatus, PackageView, ReceivedOrder
from tests.connectors.softgarden.conftest import T0, order_view, result_view

LINK = "https://gw.example.com/t/tok"


def result(**fields: Any) -> Any:
    return result_view(**{"updated_at": T0 + timedelta(hours=1), **fields})


def test_every_order_status_has_a_softgarden_status() -> None:
    assert {status.value: mapping.softgarden_status(order_view(status=status)) for status in OrderStatus} == {
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
    assert mapping.report_url(result(attachments=(other, pdf))) == "https://v.example.com/r.PDF"
    assert mapping.report_url(result(attachments=(other,))) is None
    explicit = result(attachments=(pdf,), passthrough={"report_url": "https://v.example.com/report"})
    assert mapping.report_url(explicit) == "https://v.example.com/report"
    assert mapping.report_url(result(passthrough={"report_url": "ftp://v.example.com/r.pdf"})) is None


def test_tests_payload_is_id_and_name_only() -> None:
    packages = [PackageView(id="pkg_1", remote_id="7", name="Algorithms", description="Long.", type="skills")]
    assert mapping.tests_payload(packages) == [{"id": "7", "name": "Algorithms"}]


def test_pending_without_a_result() -> None:
    assert mapping.result_payload(order_view(), None, link_url=LINK) == {
        "status": "PENDING",
        "result": {"resultUrl": LINK},
    }


def test_completed_uses_the_submission_date_else_the_result_time_else_the_orders() -> None:
    completed = order_view(status="completed")
    submitted = result(submission_date=T0, score={"value": "9"}, result_url="https://v.example.com/r")
    assert mapping.result_payload(completed, submitted, link_url=LINK) == {
        "status": "COMPLETED",
        "completionTime": "2026-03-26T10:00:00Z",
        "result": {"resultUrl": "https://v.example.com/r", "score": "9"},
    }
    assert mapping.result_payload(completed, result(), link_url=LINK)["completionTime"] == "2026-03-26T11:00:00Z"
    undated = mapping.result_payload(completed, result(updated_at=None), link_url=LINK)
    assert undated["completionTime"] == "2026-03-26T10:00:00Z"


def test_expired_uses_the_deadline_when_there_is_one() -> None:
    deadline = datetime(2026, 4, 1, tzinfo=UTC)
    assert mapping.result_payload(order_view(status="expired", deadline=deadline), result(), link_url=LINK) == {
        "status": "EXPIRED",
        "expirationTime": "2026-04-01T00:00:00Z",
        "result": {"resultUrl": LINK},
    }
    cancelled = mapping.result_payload(order_view(status="cancelled"), result(), link_url=LINK)
    assert cancelled["expirationTime"] == "2026-03-26T11:00:00Z"


def test_invitation_payload() -> None:
    assert mapping.invitation_payload(order_view(), link_url=LINK) == {"invitationId": "ord_1", "testUrl": LINK}
    deadline = datetime(2026, 4, 1, tzinfo=UTC)
    assert mapping.invitation_payload(
        order_view(deadline=deadline, test_url="https://v.example.com/s"), link_url=LINK
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
    received = mapping.received_order(parsed, hosts=["*.softgarden.io"])
    assert isinstance(received, ReceivedOrder)
    assert received.candidate["emails"] == []
    assert received.candidate["remote_id"] is None  # softgarden's id is the application's
    assert received.application is not None and received.application["remote_id"] == "app"
    assert received.callback_url == "https://app.softgarden.io/cb"
    assert (received.callback_field, list(received.callback_hosts)) == ("callback", ["*.softgarden.io"])
    assert received.candidate_link is True


def test_the_source_key_is_the_test_and_the_application() -> None:
    """Unchanged since the first release: a new key would duplicate orders on a retry."""
    parsed = mapping.invitation_parse({"testId": 7, "candidate": {"id": 42}, "callback": "https://x.softgarden.io"})
    assert mapping.invitation_source_key(parsed) == json.dumps(["7", "42"])


def test_callback_hosts_default_when_absent_and_none_when_empty() -> None:
    assert mapping.callback_hosts({}) == ["*.softgarden.io", "*.softgarden.de"]
    assert mapping.callback_hosts({"callback_hosts": []}) == []
    assert mapping.callback_hosts({"callback_hosts": ["a.example.com", 5]}) == ["a.example.com"]


@pytest.mark.parametrize(
    "body",
    [
        {"testId": "1", "candidate": {"id": "a"}, "callback": "https://app.softgarden.io/cb"},
        {"testId": 1234567, "candidate": {"id": 42}, "callback": "https://app.softgarden.io/cb"},
        {
            "testId": "1",
            "candidate": {"id": "a", "firstName": None, "lastName": "", "email": "j@example.com", "phone": "1"},
            "callback": "https://app.softgarden.io/cb",
            "locale": "de",
        },
    ],
)
def test_the_request_schema_lets_every_real_invitation_through(body: dict[str, Any]) -> None:
    """The core validates before the handler parses: the schema must not refuse what the
    parser accepts."""
    assert list(Draft202012Validator(INVITATION_REQUEST).iter_errors(body)) == []
    mapping.invitation_parse(body)
