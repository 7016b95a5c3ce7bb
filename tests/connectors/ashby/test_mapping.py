"""Ashby's shapes, one translation at a time: ids, the start → order mapping, the update
body (checked against the simulator's own reading of Ashby's spec), the answers."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.ashby import mapping
from connectors.ashby.simulator import AshbySimulator, update_problems
from gateway.sdk import DeliveryOutcome, OrderView, ResultView

ACCOUNT = "acc_01JTESTACCOUNT"
AID = "5b0d7a8e-1f0c-4a51-9d1e-3c2b1a0f9e87"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def result(**changes: Any) -> ResultView:
    base = ResultView(
        id="res_1", score={"label": "Points", "value": "42", "min": "0", "max": "50"}, result_value="passed",
        result_source_value="PASS", result_url="https://vendor.example/results/r-1", summary="Strong",
        start_date=T0, submission_date=T0 + timedelta(minutes=44), attachments=(), updated_at=T0,
    )
    return replace(base, **changes)


def order(status: str = "open", res: ResultView | None = None, **changes: Any) -> OrderView:
    base = OrderView(
        id="ord_1", account_id=ACCOUNT, remote_id=None, status=status,
        package={"id": "pkg_1", "remote_id": "py-senior", "name": "Python", "description": None},
        candidate=None, application=None, job=None, requester=None,
        passthrough={"assessment_id": AID, "assessment_type_id": str(uuid.uuid4())}, test_url=None, deadline=None,
        partner_callback_url=None, candidate_link=None, received_from_partner=True, erased=False, version=2,
        created_at=T0, updated_at=T0 + timedelta(hours=1), result=res,
    )
    return replace(base, **changes)


def valid(body: dict[str, Any]) -> dict[str, Any]:
    assert update_problems(body) == [], body
    return body


# --- ids -------------------------------------------------------------------------------------------


def test_assessment_type_ids_are_stable_uuids_per_account() -> None:
    first = mapping.assessment_type_id(ACCOUNT, "py-senior")
    assert first == mapping.assessment_type_id(ACCOUNT, "py-senior") == str(uuid.UUID(first))
    assert first != mapping.assessment_type_id(ACCOUNT, "sql-basics")
    assert first != mapping.assessment_type_id("acc_other", "py-senior")


def test_each_attempt_is_another_assessment() -> None:
    ids = {mapping.assessment_id(ACCOUNT, application_id="app", type_id="t", attempt=n) for n in range(3)}
    ids.add(mapping.assessment_id("acc_other", application_id="app", type_id="t", attempt=0))
    ids.add(mapping.assessment_id(ACCOUNT, application_id="app2", type_id="t", attempt=0))
    assert len(ids) == 5 and all(mapping.canonical_uuid(i) == i for i in ids)


def test_canonical_uuid() -> None:
    assert mapping.canonical_uuid(AID.upper()) == AID
    assert mapping.canonical_uuid("ord_01J") is None and mapping.canonical_uuid(None) is None


def test_partner_urls_share_one_base() -> None:
    urls = mapping.partner_urls("https://gw.example.com/")
    assert urls == {
        "base": "https://gw.example.com/connectors/ashby/",
        "assessment.list": "https://gw.example.com/connectors/ashby/assessment.list",
        "assessment.start": "https://gw.example.com/connectors/ashby/assessment.start",
        "assessment.cancel": "https://gw.example.com/connectors/ashby/assessment.cancel",
    }
    assert mapping.api_url("https://api.ashbyhq.com/", "assessment.update") == "https://api.ashbyhq.com/assessment.update"


# --- start → order ---------------------------------------------------------------------------------


def test_a_start_becomes_an_order() -> None:
    body = AshbySimulator().start_body("type", application_id="app-1", additional_fields={"level": "senior"})
    received = mapping.received_order(body, assessment_id=AID, type_id="type")
    candidate = body["candidate"]
    assert received.candidate == {
        "remote_id": candidate["ashby_id"], "first_name": "Ada", "last_name": "Lovelace",
        "emails": [{"type": None, "value": "ada@example.com"}], "profile_url": candidate["ashby_profile_url"],
        "passthrough": None,
    }
    assert received.application == {"remote_id": "app-1", "application_status": {"value": "active",
                                                                                  "source_value": "Active"},
                                     "passthrough": None}
    assert received.job == {
        "remote_id": body["job"]["ashby_id"], "title": "Backend Engineer",
        "hiring_team": [{"remote_user_id": "0f9c3f8e-3b1d-4d2b-8a86-2f1f3c0a7d10", "first_name": "Joey",
                         "last_name": "Joe", "email": "joey@example.com", "role": "hiring_manager"}],
        "passthrough": {"req_id": "REQ-12", "ashby_job_url": "https://app.ashbyhq.com/jobs/4b0e1c5c"},
    }
    assert received.passthrough == {"assessment_id": AID, "assessment_type_id": "type",
                                    "additional_fields": {"level": "senior"}}
    assert received.callback_url is None and received.candidate_link is False


def test_a_sparse_start_still_maps() -> None:
    body = {"assessment_type_id": "t", "candidate": {"ashby_id": "c", "email": " ada@example.com "},
            "application": {"ashby_id": "a", "status": "IN_REVIEW"}, "job": {"hiringTeam": None},
            "additional_fields": ["not", "an", "object"]}
    received = mapping.received_order(body, assessment_id=AID, type_id="t")
    assert received.candidate["emails"] == [{"type": None, "value": "ada@example.com"}]
    assert received.application["application_status"] == {"value": "unmapped_value", "source_value": "IN_REVIEW"}
    assert received.job == {"remote_id": None, "title": None, "hiring_team": [], "passthrough": None}
    assert received.passthrough == {"assessment_id": AID, "assessment_type_id": "t"}


def test_only_cancelled_or_erased_assessments_start_anew() -> None:
    assert mapping.starts_anew(order("cancelled")) and mapping.starts_anew(order("completed", erased=True))
    assert not any(mapping.starts_anew(order(status)) for status in ("open", "in_progress", "completed", "expired"))


# --- error bodies -----------------------------------------------------------------------------------


def test_errors_use_ashbys_envelope_and_422_its_message() -> None:
    body = mapping.error_body(status=401, message="Missing or invalid API key.", errors=[], request_id="req_1")
    assert body == {"success": False, "errors": ["Missing or invalid API key."],
                    "errorInfo": {"code": "unauthenticated", "message": "Missing or invalid API key.",
                                  "requestId": "req_1"}}
    field = mapping.error_body(status=400, message="Invalid", errors=[{"field": "job", "message": "required"}],
                               request_id=None)
    assert field["errorInfo"] == {"code": "invalid_input", "message": "Invalid",
                                  "meta": {"errors": [{"field": "job", "message": "required"}]}}
    assert mapping.error_body(status=422, message="Pick another", errors=[], request_id="r") == {
        "message": "Pick another"}
    assert mapping.error_body(status=502, message="x", errors=[], request_id=None)["errorInfo"]["code"] == (
        "internal_error")


# --- the update body -------------------------------------------------------------------------------


def test_an_open_order_sends_its_status_only() -> None:
    body = valid(mapping.update_body(order("open"), assessment_id=AID))
    assert body == {"assessment_id": AID, "timestamp": 1772463600000,
                    "assessment_status": {"identifier": "status", "label": "Status", "type": "string",
                                          "value": "Pending"}}
    started = valid(mapping.update_body(order("in_progress", result(result_value="in_progress")), assessment_id=AID))
    assert started["assessment_status"]["value"] == "Started" and "assessment_result" not in started


def test_a_final_result_completes_the_assessment() -> None:
    attachments = ({"url": "https://vendor.example/r-1.pdf", "content_type": None}, {"url": "ftp://nope"})
    body = valid(mapping.update_body(order("completed", result(attachments=attachments)), assessment_id=AID))
    assert body["assessment_status"]["value"] == "Completed"
    assert body["assessment_result"] == {"identifier": "score", "label": "Score", "type": "numeric_score",
                                         "value": 84, "description": "Percent of the maximum score"}
    assert body["assessment_profile_url"] == {"identifier": "report", "label": "Report", "type": "url",
                                              "value": "https://vendor.example/results/r-1"}
    items = {item["identifier"]: item for item in body["metadata"]}
    assert list(items) == ["result-max", "result-raw", "passed", "duration", "summary", "attachment-1"]
    assert items["result-max"]["value"] == 50 and items["result-raw"] == {
        "identifier": "result-raw", "label": "Points", "type": "numeric_score", "value": 42,
        "description": "The score as the assessment counts it"}
    assert items["passed"]["value"] is True and items["duration"]["value"] == 44
    assert items["attachment-1"]["value"] == "https://vendor.example/r-1.pdf"


def test_a_score_without_maximum_is_sent_as_it_is() -> None:
    res = result(score={"value": "7.5"}, result_value="completed")
    body = valid(mapping.update_body(order("completed", res), assessment_id=AID))
    assert body["assessment_result"] == {"identifier": "score", "label": "Score", "type": "numeric_score",
                                         "value": 7.5}
    assert [item["identifier"] for item in body["metadata"]] == ["duration", "summary"]


def test_pass_fail_without_a_score_is_the_result() -> None:
    res = result(score=None, result_value="failed", summary=None, start_date=None)
    body = valid(mapping.update_body(order("completed", res), assessment_id=AID))
    assert body["assessment_result"] == {"identifier": "passed", "label": "Passed", "type": "boolean_success",
                                         "value": False}
    assert "metadata" not in body


def test_the_test_url_stands_in_for_a_missing_result_url() -> None:
    res = result(result_url=None)
    with_test = valid(mapping.update_body(order("completed", res, test_url="https://vendor.example/t/1"),
                                          assessment_id=AID))
    assert with_test["assessment_profile_url"]["value"] == "https://vendor.example/t/1"
    without = valid(mapping.update_body(order("completed", res), assessment_id=AID))
    assert "assessment_result" not in without and without["assessment_status"]["value"] == "Completed"


def test_cancellations_and_expiry_send_a_reason() -> None:
    by_ashby = valid(mapping.update_body(order("cancelled", result(result_value="in_progress")), assessment_id=AID))
    assert by_ashby["cancelled_reason"]["value"] == "Cancelled in Ashby"
    assert "assessment_result" not in by_ashby and "metadata" not in by_ashby
    by_vendor = mapping.update_body(order("cancelled", result(result_value="cancelled", summary="Withdrew")),
                                    assessment_id=AID)
    assert valid(by_vendor)["cancelled_reason"]["value"] == "Withdrew"
    expired = valid(mapping.update_body(order("expired"), assessment_id=AID))
    assert expired["cancelled_reason"]["value"] == "Expired" and expired["assessment_status"]["value"] == "Expired"


def test_the_timestamp_is_the_newest_change_in_milliseconds() -> None:
    newer = result(updated_at=T0 + timedelta(hours=2, microseconds=1500))
    assert mapping.update_timestamp(order("completed", newer)) == 1772467200001
    assert mapping.update_timestamp(order("open", updated_at=datetime(2026, 3, 2, 15))) == 1772463600000
    later = replace(order("open"), updated_at=T0 + timedelta(hours=1, milliseconds=1))
    assert mapping.update_timestamp(later) > mapping.update_timestamp(order("open"))


# --- Ashby's answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "outcome"), [
    ({"success": True}, DeliveryOutcome()),
    (None, DeliveryOutcome()),
    ({"success": False, "errorInfo": {"code": "invalid_input", "message": "Bad"}},
     DeliveryOutcome(error="Ashby refused the update: invalid_input: Bad")),
    ({"success": False, "errors": ["rate_limit_exceeded"]},
     DeliveryOutcome(error="Ashby refused the update: rate_limit_exceeded: rate_limit_exceeded", retry=True)),
    ({"success": False, "errorInfo": {"code": "missing_endpoint_permission"}},
     DeliveryOutcome(error="Ashby refused the update: missing_endpoint_permission: missing_endpoint_permission",
                     account_error=True)),
])
def test_update_outcome(body: Any, outcome: DeliveryOutcome) -> None:
    assert mapping.update_outcome(200, body) == outcome


@pytest.mark.parametrize(("status", "body", "problem"), [
    (200, {"success": False, "errorInfo": {"code": "invalid_input"}}, None),
    (400, {"success": False, "errorInfo": {"code": "invalid_input"}}, None),
    (200, {"success": True}, None),
    (401, None, ("Ashby refused the API key: HTTP 401", True)),
    (403, {"success": False, "errorInfo": {"code": "missing_endpoint_permission"}},
     ("Ashby refused the API key: HTTP 403 (missing_endpoint_permission)", True)),
    (404, None, ("Ashby answered HTTP 404", False)),
    (503, None, ("Ashby answered HTTP 503", False)),
])
def test_check_problem(status: int, body: Any, problem: tuple[str, bool] | None) -> None:
    assert mapping.check_problem(status, body) == problem
