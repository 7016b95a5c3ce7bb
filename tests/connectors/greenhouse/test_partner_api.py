"""The four Greenhouse partner endpoints, through Django's test client, exactly as
Greenhouse's Assessment API and CONTRACT §4.1 describe them. The core mounts, authenticates
and validates them from the connector's declaration; these tests hold it to the contract."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest

from connectors.greenhouse.connector import GreenhouseConnector
from connectors.greenhouse.simulator import (
    validate_list_tests,
    validate_send_test_response,
    validate_test_status,
)
from gateway.assessments.models import Order, PartnerErrorReport
from gateway.delivery.models import Delivery, DeliveryKind, EventType
from tests.connectors.greenhouse.conftest import (
    CALLBACK_URL,
    CATALOG,
    FINAL_RESULT,
    PROFILE_URL,
    GreenhouseAccount,
    PartnerClient,
    link_greenhouse,
    send_test_body,
)

pytestmark = pytest.mark.django_db


def _raw_auth_client(header: str) -> PartnerClient:
    client = PartnerClient(None)
    client.client.defaults["HTTP_AUTHORIZATION"] = header
    return client


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["list_tests", "test_status"])
def test_missing_key_is_401_with_a_challenge(gh: GreenhouseAccount, endpoint: str) -> None:
    response = PartnerClient(None).get(endpoint, partner_interview_id="ord_x")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="gateway"'
    assert response.json()["statusCode"] == 401


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"not-the-key:").decode(),
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b":").decode(),
        "Digest abc",
        "",
    ],
)
def test_bad_key_is_401(gh: GreenhouseAccount, header: str) -> None:
    for endpoint in ("send_test", "response_error"):
        response = _raw_auth_client(header).post(endpoint, send_test_body())
        assert response.status_code == 401, endpoint
        assert "WWW-Authenticate" in response
    assert Order.objects.count() == 0


def test_bearer_is_not_greenhouse_auth(gh: GreenhouseAccount) -> None:
    assert _raw_auth_client(f"Bearer {gh.key}").get("list_tests").status_code == 401


def test_a_near_miss_key_is_401(gh: GreenhouseAccount) -> None:
    assert PartnerClient(gh.key + "x").get("list_tests").status_code == 401


def test_unlinked_accounts_key_is_401(gh: GreenhouseAccount) -> None:
    assert gh.tenant.client.delete(f"/accounts/{gh.id}").status_code == 204
    assert gh.partner.get("list_tests").status_code == 401
    assert gh.partner.post("send_test", send_test_body()).status_code == 401


def test_rotated_key_replaces_the_old_one(gh: GreenhouseAccount) -> None:
    rotated = gh.tenant.client.post(f"/accounts/{gh.id}/inbound_key").json()["inbound"]
    assert gh.partner.get("list_tests").status_code == 401
    assert PartnerClient(rotated["api_key"]).get("list_tests").status_code == 200


def test_wrong_method_is_405(gh: GreenhouseAccount) -> None:
    response = gh.partner.post("list_tests", {})
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["message"] == "Method POST not allowed."
    wrong = gh.partner.get("send_test")
    assert wrong.status_code == 405 and wrong["Allow"] == "POST"


# --- list_tests ----------------------------------------------------------------------------


def test_list_tests_is_a_bare_array_of_published_tests(gh: GreenhouseAccount) -> None:
    response = gh.partner.get("list_tests")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    expected = [{"partner_test_id": p["remote_id"], "partner_test_name": p["name"]} for p in CATALOG]
    assert response.json() == expected
    assert validate_list_tests(response.json()) == expected


def test_list_tests_leaves_out_withdrawn_tests_and_other_accounts(gh: GreenhouseAccount, other_tenant: Any) -> None:
    gh.publish(CATALOG[1:])
    other = link_greenhouse(other_tenant, publish=False)
    other.publish([{"remote_id": "globex-only", "name": "Globex test"}])
    assert gh.partner.get("list_tests").json() == [
        {"partner_test_id": "tpl-sql-02", "partner_test_name": "SQL fundamentals"}
    ]
    assert [t["partner_test_id"] for t in other.partner.get("list_tests").json()] == ["globex-only"]


def test_list_tests_without_a_catalog_is_empty(tenant: Any) -> None:
    account = link_greenhouse(tenant, publish=False)
    assert account.partner.get("list_tests").json() == []


# --- send_test -------------------------------------------------------------------------------


def test_send_test_creates_an_open_order_with_the_candidate_mapped(gh: GreenhouseAccount) -> None:
    response = gh.partner.post("send_test", send_test_body(unknown_future_field={"x": 1}))
    assert response.status_code == 200
    interview_id = validate_send_test_response(response.json())
    assert set(response.json()) == {"partner_interview_id"}

    order = gh.order(interview_id)
    assert order["id"] == interview_id
    assert order["status"] == "open"
    assert order["package"]["remote_id"] == "tpl-backend-01"
    assert order["package"]["name"] == "Backend debugging (45 min)"
    candidate = order["candidate"]
    assert (candidate["first_name"], candidate["last_name"]) == ("Ada", "Nakamura")
    assert candidate["emails"] == [{"type": "personal", "value": "ada.n@example.org"}]
    assert candidate["profile_url"] == PROFILE_URL
    assert candidate["remote_id"] == "5550001"
    assert candidate["passthrough"] == {"resume_url": "https://files.example-signed-host.test/resume/abc?sig=x"}
    assert order["application"]["remote_id"] == "7770002"
    assert order["requester"]["email"] == "recruiter@customer.example"
    assert order["job"] is None and order["result"] is None
    stored = Order.objects.get(id=interview_id)
    assert stored.partner_callback_url == CALLBACK_URL
    assert "9990003" not in stored.source_key  # only a digest of the url is kept


def test_send_test_is_idempotent_on_url(gh: GreenhouseAccount) -> None:
    gh.subscribe(["ats_assessments.created"])
    first = gh.partner.send_test()
    again = gh.partner.send_test()
    assert first == again
    assert Order.objects.count() == 1
    assert Delivery.objects.filter(event_type=EventType.CREATED).count() == 1
    other = gh.partner.send_test(url=CALLBACK_URL.replace("9990003", "9990004"))
    assert other != first
    assert Delivery.objects.filter(event_type=EventType.CREATED).count() == 2


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/v1/partner/take_home_tests/1",
        "https://app.greenhouse.io.evil.example/take_home_tests/1",
        "https://greenhouse.io@evil.example/take_home_tests/1",
    ],
)
def test_send_test_refuses_a_url_outside_callback_hosts(gh: GreenhouseAccount, url: str) -> None:
    gh.subscribe(["ats_assessments.created"])
    response = gh.partner.post("send_test", send_test_body(url=url))
    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == ["url"]
    assert Order.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_send_test_accepts_a_url_on_the_accounts_callback_hosts(tenant: Any) -> None:
    account = link_greenhouse(tenant, settings={"callback_hosts": ["*.gh.example"]})
    assert account.partner.post("send_test", send_test_body()).status_code == 400  # *.greenhouse.io no longer
    interview_id = account.partner.send_test(url="https://eu.gh.example/take_home_tests/1")
    assert Order.objects.get(id=interview_id).partner_callback_url == "https://eu.gh.example/take_home_tests/1"


def test_send_test_emits_created_for_subscribed_endpoints(gh: GreenhouseAccount) -> None:
    gh.subscribe(["ats_assessments.created"])
    gh.subscribe(["ats_assessments.partner_error"], url="https://hooks.example.com/other")
    interview_id = gh.partner.send_test()
    rows = Delivery.objects.filter(order_id=interview_id)
    assert [(r.kind, r.event_type) for r in rows] == [(DeliveryKind.WEBHOOK, EventType.CREATED)]


def test_send_test_repeat_finds_the_order_after_the_test_was_withdrawn(gh: GreenhouseAccount) -> None:
    first = gh.partner.send_test()
    gh.publish(CATALOG[1:])
    assert gh.partner.send_test() == first
    response = gh.partner.post("send_test", send_test_body(url=CALLBACK_URL + "0"))
    assert response.status_code == 404


def test_send_test_unknown_test_is_404(gh: GreenhouseAccount, other_tenant: Any) -> None:
    response = gh.partner.post("send_test", send_test_body(partner_test_id="no-such-test"))
    assert response.status_code == 404
    assert "partner_test_id" in response.json()["message"]
    # Another account's test is just as unknown.
    other = link_greenhouse(other_tenant, publish=False)
    other.publish([{"remote_id": "globex-only", "name": "Globex test"}])
    assert gh.partner.post("send_test", send_test_body(partner_test_id="globex-only")).status_code == 404
    assert Order.objects.count() == 0


def _without_candidate_field(name: str) -> dict[str, Any]:
    body = send_test_body()
    del body["candidate"][name]
    return body


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({k: v for k, v in send_test_body().items() if k != "url"}, ["url"]),
        ({k: v for k, v in send_test_body().items() if k != "candidate"}, ["candidate"]),
        (send_test_body(partner_test_id=None), ["partner_test_id"]),
        (send_test_body(partner_test_id=12345), ["partner_test_id"]),
        (send_test_body(url="ftp://app.greenhouse.io/x"), ["url"]),
        (send_test_body(url="https://app.greenhouse.io/" + "x" * 2000), ["url"]),
        (send_test_body(candidate="Ada"), ["candidate"]),
        (_without_candidate_field("email"), ["candidate.email"]),
        (_without_candidate_field("first_name"), ["candidate.first_name"]),
        (send_test_body(candidate={**send_test_body()["candidate"], "email": "not-an-email"}), ["candidate.email"]),
        (
            send_test_body(candidate={"email": None, "first_name": 1, "last_name": ""}),
            ["candidate.email", "candidate.first_name", "candidate.last_name"],  # in field order
        ),
        (send_test_body(candidate={**send_test_body()["candidate"], "last_name": "   "}), ["candidate.last_name"]),
        (send_test_body(candidate={**send_test_body()["candidate"], "phone_number": 5}), ["candidate.phone_number"]),
        (send_test_body(sent_by=["r@example.org"]), ["sent_by"]),
    ],
)
def test_send_test_refuses_an_incomplete_body_with_field_errors(
    gh: GreenhouseAccount, body: dict[str, Any], fields: list[str]
) -> None:
    response = gh.partner.post("send_test", body)
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["statusCode"] == 400 and payload["message"]
    assert [error["field"] for error in payload["errors"]] == fields
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{not json", 400),
        (b"", 400),
        (b"[]", 400),
        (b'{"url": 1, "url": 2}', 400),
        (b'{"partner_test_id": NaN}', 400),
        (b"\xff\xfe", 400),
    ],
)
def test_send_test_refuses_malformed_json(gh: GreenhouseAccount, raw: bytes, status: int) -> None:
    response = gh.partner.post("send_test", raw)
    assert response.status_code == status
    assert response.json()["statusCode"] == status


def test_send_test_refuses_a_huge_body(gh: GreenhouseAccount) -> None:
    body = send_test_body(padding="x" * (1024 * 1024 + 1))
    response = gh.partner.post("send_test", body)
    assert response.status_code == 413
    assert Order.objects.count() == 0


def test_send_test_refuses_a_form_body(gh: GreenhouseAccount) -> None:
    response = gh.partner.client.post("/connectors/greenhouse/send_test", {"partner_test_id": "x"})
    assert response.status_code == 415


def test_send_test_accepts_a_body_without_content_type(gh: GreenhouseAccount) -> None:
    response = gh.partner.post("send_test", send_test_body(), content_type="")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("profile_url", "candidate_id", "application"),
    [
        ("https://app.greenhouse.io/people/5550001", "5550001", None),
        ("https://app.eu.greenhouse.io/people/42/?application_id=43", "42", {"remote_id": "43"}),
        ("https://app.greenhouse.io/people/abc?application_id=7", None, None),
        ("https://app.greenhouse.io/people/5?application_id=x7", "5", None),
        (None, None, None),
    ],
)
def test_send_test_parses_ids_only_from_the_documented_profile_url(
    gh: GreenhouseAccount, profile_url: str | None, candidate_id: str | None, application: dict[str, str] | None
) -> None:
    body = send_test_body(candidate={**send_test_body()["candidate"], "greenhouse_profile_url": profile_url})
    interview_id = gh.partner.post("send_test", body).json()["partner_interview_id"]
    order = gh.order(interview_id)
    assert order["candidate"]["remote_id"] == candidate_id
    assert order["candidate"]["profile_url"] == profile_url
    assert (order["application"] and {"remote_id": order["application"]["remote_id"]}) == application


def test_send_test_without_sent_by_has_no_requester(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test(sent_by=None)
    assert gh.order(interview_id)["requester"] is None


def test_send_test_defers_enrichment_of_new_orders_with_a_harvest_key(
    tenant: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    settings.GATEWAY_TASK_RUNNER = "sync"
    enriched: list[tuple[str, str]] = []

    def enrich_order(self: GreenhouseConnector, ctx: Any, *, order_id: str) -> bool:
        enriched.append((ctx.account_id, order_id))
        return True

    monkeypatch.setattr(GreenhouseConnector, "enrich_order", enrich_order)
    plain = link_greenhouse(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        plain.partner.send_test()
    assert enriched == []

    harvest = link_greenhouse(tenant, credentials={"harvest_api_key": "hk"})
    with django_capture_on_commit_callbacks(execute=True):
        interview_id = harvest.partner.send_test()
        assert enriched == []  # run only once the order is committed
    assert enriched == [(harvest.id, interview_id)]
    with django_capture_on_commit_callbacks(execute=True):
        harvest.partner.send_test()  # a repeat creates nothing, so defers nothing
    assert enriched == [(harvest.id, interview_id)]


def test_send_test_survives_a_broker_that_refuses_the_job(
    tenant: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from gateway.assessments.tasks import connector_job_task

    refused: list[Any] = []

    def refuse(*args: Any) -> None:
        refused.append(args)
        raise ConnectionError("broker down")

    settings.GATEWAY_TASK_RUNNER = "celery"
    monkeypatch.setattr(connector_job_task, "delay", refuse)
    account = link_greenhouse(tenant, credentials={"harvest_api_key": "hk"})
    with django_capture_on_commit_callbacks(execute=True):
        response = account.partner.post("send_test", send_test_body())
    assert response.status_code == 200
    assert Order.objects.count() == 1
    assert len(refused) == 1  # the job was offered to the broker, which refused it


# --- test_status -------------------------------------------------------------------------------


def test_test_status_needs_the_interview_id(gh: GreenhouseAccount) -> None:
    response = gh.partner.get("test_status")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "partner_interview_id"


def test_test_status_unknown_id_is_404(gh: GreenhouseAccount) -> None:
    assert gh.partner.status("ord_01JUNKNOWN").status_code == 404


def test_test_status_before_and_after_the_result(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    pending = gh.partner.status(interview_id).json()
    assert pending == {"partner_status": "open", "partner_profile_url": None, "partner_score": None, "metadata": None}
    validate_test_status(pending)

    started = gh.unified().patch(
        f"/unified/ats/assessments/orders/{interview_id}", {"status": "in_progress"}, format="json"
    )
    assert started.status_code == 200
    assert gh.partner.status(interview_id).json()["partner_status"] == "in_progress"

    gh.report_result(interview_id, {"result": {"value": "in_progress"}})
    assert gh.partner.status(interview_id).json()["partner_status"] == "in_progress"

    gh.report_result(interview_id, FINAL_RESULT)
    complete = gh.partner.status(interview_id).json()
    validate_test_status(complete)
    assert complete["partner_status"] == "complete"
    assert complete["partner_profile_url"] == "https://vendor.example/results/r-1"
    assert complete["partner_score"] == 84  # 42 of 0..50, as a percentage
    assert complete["metadata"] == {
        "Test": "Backend debugging (45 min)",
        "Result": "passed",
        "Result (vendor)": "PASS",
        "Passed": True,
        "Score": "42",
        "Score label": "Points",
        "Min score": "0",
        "Max score": "50",
        "Started": "2026-03-02 14:05 UTC",
        "Submitted": "2026-03-02 14:49 UTC",
        "Summary": "Strong debugging approach",
    }


def test_test_status_metadata_is_flat_primitives(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(
        interview_id,
        {
            "score": {"value": 7.5},
            "result": {"value": "failed"},
            "result_url": "https://vendor.example/r/2",
            "summary": "x" * 5000,
            "passthrough": {"nested": {"deep": [1, 2]}},
            "attachments": [{"url": "https://vendor.example/report.pdf"}],
        },
    )
    body = gh.partner.status(interview_id).json()
    assert body["partner_score"] == 7.5  # no min/max: the value as written
    assert all(isinstance(v, str | int | float | bool) for v in body["metadata"].values())
    assert body["metadata"]["Passed"] is False
    assert len(body["metadata"]["Summary"]) <= 1000
    validate_test_status(body)


@pytest.mark.parametrize(
    "result",
    [
        {"result": {"value": "completed"}, "score": {"value": "90"}},  # no result_url
        {"result": {"value": "passed"}, "result_url": "https://vendor.example/r/3"},  # no score
        {"result": {"value": "passed"}, "result_url": "https://vendor.example/r/3", "score": {"value": "excellent"}},
    ],
)
def test_a_final_result_without_url_or_score_is_not_reported_complete(
    gh: GreenhouseAccount, result: dict[str, Any]
) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, result)
    body = gh.partner.status(interview_id).json()
    assert body["partner_status"] == "awaiting_result_details"
    validate_test_status(body)


@pytest.mark.parametrize(("value", "status"), [("cancelled", "cancelled"), ("expired", "expired")])
def test_closed_orders_say_so(gh: GreenhouseAccount, value: str, status: str) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, {"result": {"value": value}})
    assert gh.partner.status(interview_id).json()["partner_status"] == status


def test_another_accounts_key_cannot_read_this_interview(gh: GreenhouseAccount, tenant: Any, other_tenant: Any) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    same_tenant = link_greenhouse(tenant)
    other = link_greenhouse(other_tenant)
    for intruder in (same_tenant, other):
        response = intruder.partner.status(interview_id)
        assert response.status_code == 404
        assert "vendor.example" not in response.content.decode()
    assert gh.partner.status(interview_id).status_code == 200


def test_an_erased_interview_is_404(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    assert gh.unified().delete(f"/unified/ats/assessments/orders/{interview_id}").status_code == 204
    assert gh.partner.status(interview_id).status_code == 404


def test_a_result_queues_the_partner_notification(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    partner = Delivery.objects.filter(order_id=interview_id, kind=DeliveryKind.PARTNER)
    assert partner.count() == 1
    assert partner.get().account_id == gh.id


# --- response_error ----------------------------------------------------------------------------

REPORT = {
    "api_call": "test_status",
    "errors": ["partner_profile_url missing although partner_status is complete"],
    "partner_test_id": "tpl-backend-01",
    "partner_test_name": "Backend debugging (45 min)",
    "partner_interview_id": "inv_unknown",
    "candidate_email": "ada.n@example.org",
}


def test_response_error_is_stored_as_a_partner_error_event(
    gh: GreenhouseAccount, caplog: pytest.LogCaptureFixture
) -> None:
    subscribed = gh.subscribe(["ats_assessments.partner_error"])
    everything = gh.subscribe(["*"], url="https://hooks.example.com/all")
    gh.subscribe(["ats_assessments.created"], url="https://hooks.example.com/created")
    interview_id = gh.partner.send_test()
    with caplog.at_level(logging.WARNING, logger="connectors.greenhouse.connector"):
        response = gh.partner.post("response_error", {**REPORT, "partner_interview_id": interview_id})
    assert response.status_code == 200
    assert response.json() == {"status": 200}

    rows = Delivery.objects.filter(event_type=EventType.PARTNER_ERROR)
    assert {row.endpoint_id for row in rows} == {subscribed, everything}
    assert len({row.event_id for row in rows}) == 1
    payload = rows.first().payload
    assert payload["api_call"] == "test_status"
    assert payload["errors"] == REPORT["errors"]
    assert payload["partner_interview_id"] == interview_id
    assert payload["order_id"] == interview_id
    assert payload["provider"] == "greenhouse"
    assert payload["received_at"].endswith("Z")
    assert all(row.order_id is None and row.account_id == gh.id for row in rows)
    stored = PartnerErrorReport.objects.get(account_id=gh.id)
    assert (stored.api_call, stored.errors, stored.order_id) == ("test_status", REPORT["errors"], interview_id)
    assert any(gh.id in record.getMessage() for record in caplog.records)
    assert not any("ada.n@example.org" in record.getMessage() for record in caplog.records)


def test_response_error_with_minimal_or_odd_reports(gh: GreenhouseAccount) -> None:
    gh.subscribe(["ats_assessments.partner_error"])
    assert gh.partner.post("response_error", {"api_call": "list_tests", "errors": ["bad"]}).status_code == 200
    assert gh.partner.post("response_error", {"errors": "one string", "api_call": 3}).status_code == 200
    payloads = [row.payload for row in Delivery.objects.order_by("created_at", "id")]
    assert {p["api_call"] for p in payloads} == {"list_tests", "3"}
    assert {tuple(p["errors"]) for p in payloads} == {("bad",), ("one string",)}
    assert all(p["order_id"] is None for p in payloads)


def test_response_error_does_not_link_another_accounts_interview(gh: GreenhouseAccount, other_tenant: Any) -> None:
    interview_id = gh.partner.send_test()
    other = link_greenhouse(other_tenant)
    other.subscribe(["*"])
    other.partner.post("response_error", {**REPORT, "partner_interview_id": interview_id})
    row = Delivery.objects.get(event_type=EventType.PARTNER_ERROR)
    assert row.tenant_id == other.tenant.id and row.payload["order_id"] is None


@pytest.mark.parametrize("raw", [b"{oops", b"[1, 2]", b""])
def test_response_error_refuses_a_malformed_body(gh: GreenhouseAccount, raw: bytes) -> None:
    assert gh.partner.post("response_error", raw).status_code == 400


def test_every_error_carries_the_request_id(gh: GreenhouseAccount) -> None:
    response = gh.partner.post("send_test", b"{", HTTP_X_REQUEST_ID="req-from-greenhouse")
    assert response["X-Request-Id"] == "req-from-greenhouse"
    assert json.loads(response.content)["request_id"] == "req-from-greenhouse"
