"""The pure mapping functions: scores, profile URLs, statuses and Harvest objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.greenhouse import mapping
from gateway.sdk import OrderView, ResultView

NOW = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (None, None),
        ({}, None),
        ({"value": "87"}, 87),
        ({"value": "87%"}, 87),
        ({"value": 87.5}, 87.5),
        ({"value": " 3.25 "}, 3.25),
        ({"value": "42", "min": "0", "max": "50"}, 84),
        ({"value": "2", "min": "1", "max": "4"}, 33),
        ({"value": "4.5", "max": "5"}, 4.5),  # min missing: the value as written
        ({"value": "60", "min": "100", "max": "0"}, 60),  # a reversed range is not a range
        ({"value": "55", "min": "0", "max": "50"}, 110),  # not clamped
        ({"value": "excellent"}, None),
        ({"value": True}, None),
        ({"value": "NaN"}, None),
        ({"value": float("inf")}, None),
    ],
)
def test_partner_score(score: dict[str, Any] | None, expected: Any) -> None:
    result = mapping.partner_score(score)
    assert result == expected
    assert result is None or (isinstance(result, int | float) and not isinstance(result, bool))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.greenhouse.io/people/5550001?application_id=7770002", ("5550001", "7770002")),
        ("https://app.greenhouse.io/people/5550001", ("5550001", None)),
        ("https://app.greenhouse.io/people/1?application_id=2&application_id=3", ("1", None)),
        ("https://app.greenhouse.io/candidates/1?application_id=2", (None, None)),
        ("javascript:alert(1)//people/1", (None, None)),
        ("not a url", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_profile_ids(url: str | None, expected: tuple[str | None, str | None]) -> None:
    assert mapping.profile_ids(url) == expected


def _result(**fields: Any) -> ResultView:
    defaults: dict[str, Any] = dict(
        id="res_1",
        result_value=None,
        result_source_value=None,
        result_url=None,
        score=None,
        summary=None,
        start_date=None,
        submission_date=None,
    )
    return ResultView(**{**defaults, **fields})


def _order(status: str, package: dict[str, Any]) -> OrderView:
    return OrderView(
        id="ord_1", account_id="acc_1", remote_id=None, status=status, package=package, candidate=None,
        application=None, job=None, requester=None, passthrough=None, test_url=None, deadline=None,
        partner_callback_url=None, candidate_link=None, received_from_partner=True, erased=False, version=1,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def test_pending_statuses_follow_the_order() -> None:
    for status, expected in [
        ("open", "open"),
        ("in_progress", "in_progress"),
        ("cancelled", "cancelled"),
        ("expired", "expired"),
        ("failed", "error"),
    ]:
        order = _order(status, {})
        assert mapping.test_status_body(order, None)["partner_status"] == expected


def test_complete_needs_url_and_score() -> None:
    order = _order("completed", {"name": "T"})
    done = _result(result_value="completed", result_url="https://v.example/r", score={"value": "1"})
    assert mapping.test_status_body(order, done)["partner_status"] == "complete"
    assert (
        mapping.test_status_body(order, _result(result_value="completed", score={"value": "1"}))["partner_status"]
        == mapping.AWAITING_DETAILS
    )
    assert mapping.test_status_body(order, _result(result_value="unmapped_value"))["partner_status"] == "in_progress"


def test_metadata_leaves_out_empty_values() -> None:
    order = _order("completed", {"name": None})
    done = _result(result_value="completed", result_url="https://v.example/r", score={"value": "1"}, summary="   ")
    assert mapping.metadata(order, done) == {"Result": "completed", "Score": "1"}


def test_parse_response_error_keeps_what_it_can() -> None:
    report = mapping.parse_response_error(
        {"api_call": "send_test", "errors": ["a", None, 3] + ["x"] * 60, "extra": "ignored"}
    )
    assert report["api_call"] == "send_test"
    assert report["errors"][:2] == ["a", "3"] and len(report["errors"]) <= mapping.MAX_REPORT_ERRORS
    assert report["partner_interview_id"] is None and "extra" not in report
    odd = mapping.parse_response_error({"errors": "one string", "api_call": 3, "partner_test_id": 7})
    assert (odd["api_call"], odd["errors"], odd["partner_test_id"]) == ("3", ["one string"], "7")
    assert mapping.parse_response_error({"api_call": "x" * 5000})["api_call"] == "x" * mapping.MAX_REPORT_TEXT


def test_parse_send_test_strips_and_keeps_blank_optionals_as_none() -> None:
    sent = mapping.parse_send_test(
        {
            "partner_test_id": " tpl-1 ",
            "url": "https://app.greenhouse.io/t/1",
            "candidate": {"first_name": " Ada ", "last_name": "N", "email": "ada@example.org ", "phone_number": "  "},
            "sent_by": None,
        }
    )
    assert (sent.partner_test_id, sent.first_name, sent.email) == ("tpl-1", "Ada", "ada@example.org")
    assert sent.phone_number is None and sent.profile_url is None and sent.sent_by is None
    order = mapping.received_order(sent, callback_hosts=["*.greenhouse.io"])
    assert (order.callback_url, order.callback_field, tuple(order.callback_hosts)) == (
        "https://app.greenhouse.io/t/1", "url", ("*.greenhouse.io",)
    )
    assert order.candidate["passthrough"] is None and order.application is None and order.requester is None


def test_harvest_job_and_application_mapping() -> None:
    job = {
        "id": 2201,
        "name": "Backend Engineer",
        "hiring_team": {
            "hiring_managers": [{"id": 1, "first_name": "H", "last_name": "M", "responsible": True}],
            "recruiters": [{"id": 2, "first_name": "R", "last_name": "O"}],
            "coordinators": [],
            "sourcers": None,
        },
    }
    assert mapping.job_from_harvest(job) == {
        "remote_id": "2201",
        "title": "Backend Engineer",
        "hiring_team": [
            {
                "user_id": None,
                "remote_user_id": "1",
                "first_name": "H",
                "last_name": "M",
                "email": None,
                "role": "hiring_manager",
            },
            {
                "user_id": None,
                "remote_user_id": "2",
                "first_name": "R",
                "last_name": "O",
                "email": None,
                "role": "recruiter",
            },
        ],
    }
    assert mapping.application_status({"status": "rejected"}) == {"value": "rejected", "source_value": "rejected"}
    assert mapping.application_status({"status": "on_hold"}) == {"value": "unmapped_value", "source_value": "on_hold"}
    assert mapping.application_job_id({"jobs": [{"id": 5, "name": "x"}]}) == "5"
    assert mapping.application_job_id({"jobs": []}) is None  # a prospect
