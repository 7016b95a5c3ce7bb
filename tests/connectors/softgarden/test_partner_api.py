"""The four endpoints softgarden calls, through Django's test client (CONTRACT §4.2):
the connector's handlers behind the core's authentication, body reading and validation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client

from gateway.assessments.models import Order, Result
from gateway.delivery.models import Delivery, DeliveryKind, DeliveryStatus
from tests.connectors.softgarden.conftest import CALLBACK, PREFIX, Softgarden, bearer_client, error_body

ENDPOINTS = [
    ("get", f"{PREFIX}/tests"),
    ("post", f"{PREFIX}/invitations"),
    ("get", f"{PREFIX}/results/ord_x"),
    ("delete", f"{PREFIX}/invitations/ord_x"),
]


def call(client: Client, method: str, path: str) -> Any:
    if method == "post":
        return client.post(path, "{}", content_type="application/json")
    return getattr(client, method)(path)


def link_of(invitation: dict[str, Any]) -> str:
    return invitation["testUrl"]


# --- authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer wrong-key", "Token gwi_x", "Basic !!!"],
    ids=["missing", "empty", "wrong", "other-scheme", "garbage"],
)
def test_bad_or_missing_key_is_401(sg: Softgarden, method: str, path: str, header: str | None) -> None:
    client = Client(HTTP_AUTHORIZATION=header) if header is not None else Client()
    response = call(client, method, path)
    error_body(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["X-Request-Id"]


def test_the_key_sent_as_basic_is_refused(sg: Softgarden) -> None:
    """softgarden sends Bearer; the same key in another scheme is not accepted."""
    client = Client(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{sg.key}:".encode()).decode())
    error_body(client.get(f"{PREFIX}/tests"), 401)


def test_another_connectors_inbound_key_is_401(sg: Softgarden) -> None:
    greenhouse = sg.tenant.link("greenhouse", label="gh")
    error_body(bearer_client(greenhouse["inbound"]["api_key"]).get(f"{PREFIX}/tests"), 401)


def test_an_unlinked_accounts_key_is_401(sg: Softgarden) -> None:
    invitation = sg.invitation()
    assert sg.tenant.client.delete(f"/accounts/{sg.id}").status_code == 204
    for method, path in [*ENDPOINTS, ("get", f"{PREFIX}/results/{invitation['invitationId']}")]:
        error_body(call(sg.partner, method, path), 401)


def test_a_rotated_key_stops_working_at_once(sg: Softgarden) -> None:
    rotated = sg.tenant.client.post(f"/accounts/{sg.id}/inbound_key")
    assert rotated.status_code == 200
    error_body(sg.partner.get(f"{PREFIX}/tests"), 401)
    assert bearer_client(rotated.json()["inbound"]["api_key"]).get(f"{PREFIX}/tests").status_code == 200


def test_another_accounts_key_sees_only_its_own_data(sg: Softgarden, other_sg: Softgarden) -> None:
    other_sg.publish([{"remote_id": "go", "name": "Go"}])
    mine = sg.invitation()["invitationId"]
    assert [t["id"] for t in other_sg.partner.get(f"{PREFIX}/tests").json()] == ["go"]
    error_body(other_sg.result(mine), 404)
    error_body(other_sg.delete(mine), 400)
    error_body(other_sg.invite("py-senior"), 400)  # my test id is unknown to the other account
    assert Order.objects.get(pk=mine).candidate is not None  # untouched
    assert sg.result(mine).status_code == 200


def test_inbound_urls_are_the_four_onboarding_urls(sg: Softgarden) -> None:
    assert sg.account["inbound"]["urls"] == {
        "tests": "http://testserver/connectors/softgarden/tests",
        "invitations": "http://testserver/connectors/softgarden/invitations",
        "results": "http://testserver/connectors/softgarden/results",
        "deletion": "http://testserver/connectors/softgarden/invitations",
    }


# --- tests ----------------------------------------------------------------------------------


def test_tests_is_a_bare_array_of_the_published_catalog(sg: Softgarden) -> None:
    response = sg.partner.get(f"{PREFIX}/tests")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == [
        {"id": "py-senior", "name": "Python (Senior)"},
        {"id": "sql-basics", "name": "SQL Basics"},
    ]


def test_tests_follow_the_catalog_replacement(sg: Softgarden) -> None:
    sg.publish([{"remote_id": "sql-basics", "name": "SQL Basics II"}, {"remote_id": "7", "name": "Algorithms"}])
    assert sg.partner.get(f"{PREFIX}/tests").json() == [
        {"id": "7", "name": "Algorithms"},
        {"id": "sql-basics", "name": "SQL Basics II"},
    ]
    sg.publish([])
    assert sg.partner.get(f"{PREFIX}/tests").json() == []


def test_tests_refuses_other_methods(sg: Softgarden) -> None:
    response = sg.partner.post(f"{PREFIX}/tests", "{}", content_type="application/json")
    error_body(response, 405)
    assert "GET" in response["Allow"]


# --- invitations --------------------------------------------------------------------------


def test_invitation_creates_an_open_order_and_answers_with_the_candidate_link(sg: Softgarden) -> None:
    response = sg.invite("py-senior", candidate_id="ff6f133b-0000-4b4e-b141-000000000000")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"invitationId", "testUrl"}  # no duration or deadline known: omitted
    assert body["invitationId"].startswith("ord_")
    assert body["testUrl"].startswith("http://testserver/t/")
    assert len(body["testUrl"].rsplit("/", 1)[1]) >= 32

    order = sg.vendor.get(f"/unified/ats/assessments/orders/{body['invitationId']}").json()["data"]
    assert order["status"] == "open"
    assert order["package"]["remote_id"] == "py-senior"
    assert order["package"]["name"] == "Python (Senior)"
    assert order["candidate"]["first_name"] == "Jane"
    assert order["candidate"]["last_name"] == "Doe"
    assert order["candidate"]["emails"] == [{"type": None, "value": "jane.doe@example.com"}]
    assert order["application"]["remote_id"] == "ff6f133b-0000-4b4e-b141-000000000000"
    assert order["test_url"] is None
    assert order["result"] is None


def test_invitation_emits_ats_assessments_created(sg: Softgarden) -> None:
    endpoint = sg.tenant.client.post(
        "/webhook_endpoints", {"url": "https://hooks.example.com/x", "events": ["*"]}, format="json"
    )
    assert endpoint.status_code == 201
    invitation_id = sg.invitation()["invitationId"]
    rows = Delivery.objects.filter(order_id=invitation_id, kind=DeliveryKind.WEBHOOK)
    assert [row.event_type for row in rows] == ["ats_assessments.created"]


def test_invitation_is_idempotent_on_candidate_and_test(sg: Softgarden) -> None:
    first = sg.invitation(candidate_id="app-1")
    again = sg.invitation(candidate_id="app-1", firstName="Janet")
    assert again == first
    assert Order.objects.filter(account_id=sg.id).count() == 1
    assert sg.invitation(candidate_id="app-1", test_id="sql-basics")["invitationId"] != first["invitationId"]
    assert sg.invitation(candidate_id="app-2")["invitationId"] != first["invitationId"]
    assert Order.objects.filter(account_id=sg.id).count() == 3


def test_same_candidate_and_test_on_two_accounts_are_two_orders(sg: Softgarden, other_sg: Softgarden) -> None:
    assert sg.invitation(candidate_id="app-1") != other_sg.invitation(candidate_id="app-1")


def test_the_idempotency_key_holds_no_personal_data(sg: Softgarden) -> None:
    invitation_id = sg.invitation(candidate_id="ff6f133b-aaaa")["invitationId"]
    key = Order.objects.get(pk=invitation_id).source_key
    assert key and "ff6f133b" not in key and "py-senior" not in key


def test_numeric_ids_are_taken_as_strings(sg: Softgarden) -> None:
    sg.publish([{"remote_id": "1234567", "name": "Java"}])
    first = sg.invitation(test_id=1234567, candidate_id=42)
    assert sg.invitation(test_id="1234567", candidate_id="42") == first


def test_test_url_is_the_vendors_once_it_is_known(sg: Softgarden) -> None:
    first = sg.invitation(candidate_id="app-1")
    assert first["testUrl"].startswith("http://testserver/t/")
    sg.set_test_url(first["invitationId"], "https://vendor.example.com/start/abc")
    assert sg.invitation(candidate_id="app-1") == {
        "invitationId": first["invitationId"],
        "testUrl": "https://vendor.example.com/start/abc",
    }


def test_unknown_or_unpublished_test_id_is_400(sg: Softgarden) -> None:
    body = error_body(sg.invite("no-such-test"), 400)
    assert [e["field"] for e in body["errors"]] == ["testId"]
    sg.publish([{"remote_id": "sql-basics", "name": "SQL Basics"}])
    error_body(sg.invite("py-senior"), 400)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),  # the core names the whole body "body"
        ("just a string", "body"),
        ({"candidate": {"id": "a"}, "callback": CALLBACK}, "testId"),
        ({"testId": "", "candidate": {"id": "a"}, "callback": CALLBACK}, "testId"),
        ({"testId": True, "candidate": {"id": "a"}, "callback": CALLBACK}, "testId"),
        ({"testId": "x" * 256, "candidate": {"id": "a"}, "callback": CALLBACK}, "testId"),
        ({"testId": "py-senior", "callback": CALLBACK}, "candidate"),
        ({"testId": "py-senior", "candidate": "Jane", "callback": CALLBACK}, "candidate"),
        ({"testId": "py-senior", "candidate": {}, "callback": CALLBACK}, "candidate.id"),
        ({"testId": "py-senior", "candidate": {"id": None}, "callback": CALLBACK}, "candidate.id"),
        ({"testId": "py-senior", "candidate": {"id": "a", "email": ["x"]}, "callback": CALLBACK}, "candidate.email"),
        ({"testId": "py-senior", "candidate": {"id": "a"}}, "callback"),
        ({"testId": "py-senior", "candidate": {"id": "a"}, "callback": 5}, "callback"),
    ],
)
def test_bad_invitation_body_is_400_naming_the_field(sg: Softgarden, body: Any, field: str) -> None:
    response = sg.partner.post(f"{PREFIX}/invitations", json.dumps(body), content_type="application/json")
    assert field in [e["field"] for e in error_body(response, 400)["errors"]]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "callback",
    [
        "https://evil.example.com/notify",
        "https://softgarden.io/notify",  # the wildcard covers subdomains only
        "https://evilsoftgarden.io/notify",
        "https://app.softgarden.io.evil.example/notify",
        "ftp://app.softgarden.io/notify",
        "javascript://app.softgarden.io/",
        "https://user:pw@app.softgarden.io/notify",
        "https://user@app.softgarden.io/",
        "https:///nohost",
        "https://app.softgarden.io:99999/",
        "/relative/notify",
        "https://" + "a" * 2000 + ".softgarden.io/",
    ],
)
def test_callback_outside_callback_hosts_is_400(sg: Softgarden, callback: str) -> None:
    body = error_body(sg.invite(callback=callback), 400)
    assert [e["field"] for e in body["errors"]] == ["callback"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "callback",
    ["https://app.softgarden.io/api/notify", "http://app.softgarden.de/notify", "https://APP.SOFTGARDEN.IO/notify"],
)
def test_callback_on_the_default_hosts_is_accepted(sg: Softgarden, callback: str) -> None:
    assert sg.invite(callback=callback).status_code == 200


def test_callback_hosts_come_from_the_account(tenant: Any, link_softgarden: Any) -> None:
    linked = link_softgarden(tenant, settings={"callback_hosts": ["hooks.example.net"]})
    error_body(linked.invite(), 400)
    assert linked.invite(callback="https://hooks.example.net/sg").status_code == 200


def test_a_blocked_literal_address_needs_the_operators_allowance(
    tenant: Any, link_softgarden: Any, settings: Any
) -> None:
    """The SSRF rule for every submitted URL (CONTRACT §5), even for a listed callback host."""
    linked = link_softgarden(tenant, settings={"callback_hosts": ["10.0.0.5"]})
    body = error_body(linked.invite(callback="http://10.0.0.5/notify"), 400)
    assert [e["field"] for e in body["errors"]] == ["callback"]
    settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS = ["10.0.0.5"]
    assert linked.invite(callback="http://10.0.0.5/notify").status_code == 200


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"testId": 1, "testId": 2}', "application/json", 400),
        (b"", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"testId": "py-senior"}', "text/plain", 415),
        (b'{"testId": "py-senior"}', "application/x-www-form-urlencoded", 415),
    ],
)
def test_malformed_bodies(sg: Softgarden, raw: bytes, content_type: str, status: int) -> None:
    error_body(sg.partner.post(f"{PREFIX}/invitations", raw, content_type=content_type), status)


def test_an_oversized_body_is_413(sg: Softgarden) -> None:
    raw = json.dumps({"testId": "py-senior", "pad": "x" * (1024 * 1024)})
    error_body(sg.partner.post(f"{PREFIX}/invitations", raw, content_type="application/json"), 413)


def test_unknown_fields_are_ignored(sg: Softgarden) -> None:
    body = {
        "testId": "py-senior",
        "candidate": {"id": "a", "firstName": "J", "lastName": "D", "email": "j@example.com", "phone": "1"},
        "callback": CALLBACK,
        "locale": "de",
    }
    response = sg.partner.post(f"{PREFIX}/invitations", json.dumps(body), content_type="application/json")
    assert response.status_code == 200


def test_reinviting_an_erased_invitation_is_409(sg: Softgarden) -> None:
    invitation_id = sg.invitation(candidate_id="app-1")["invitationId"]
    assert sg.delete(invitation_id).status_code == 204
    error_body(sg.invite(candidate_id="app-1"), 409)


# --- results ------------------------------------------------------------------------------


def test_result_is_pending_with_the_candidate_link_until_reported(sg: Softgarden) -> None:
    invitation = sg.invitation()
    response = sg.result(invitation["invitationId"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "PENDING", "result": {"resultUrl": link_of(invitation)}}

    sg.vendor.patch(
        f"/unified/ats/assessments/orders/{invitation['invitationId']}", {"status": "in_progress"}, format="json"
    )
    assert sg.result(invitation["invitationId"]).json()["status"] == "PENDING"


def test_result_is_completed_after_the_vendor_reports_it(sg: Softgarden) -> None:
    invitation_id = sg.invitation()["invitationId"]
    sg.report(
        invitation_id,
        {
            "score": {"label": "Overall", "value": 78, "min": 0, "max": 100},
            "result": {"value": "passed", "source_value": "PASS"},
            "result_url": "https://vendor.example.com/results/abc",
            "submission_date": "2026-03-26T10:00:00.456Z",
            "attachments": [
                {"url": "https://vendor.example.com/results/abc.json", "content_type": {"value": "application/json"}},
                {"url": "https://vendor.example.com/report?id=abc", "content_type": {"value": "application/pdf"}},
            ],
            "passthrough": {"share_url": "https://vendor.example.com/share/xyz"},
        },
    )
    assert sg.result(invitation_id).json() == {
        "status": "COMPLETED",
        "completionTime": "2026-03-26T10:00:00Z",
        "result": {
            "resultUrl": "https://vendor.example.com/results/abc",
            "reportUrl": "https://vendor.example.com/report?id=abc",
            "shareUrl": "https://vendor.example.com/share/xyz",
            "score": "78",
        },
    }
    partner = Delivery.objects.filter(order_id=invitation_id, kind=DeliveryKind.PARTNER)
    assert partner.count() == 1 and partner[0].status == DeliveryStatus.PENDING


def test_completed_without_submission_date_or_result_url(sg: Softgarden) -> None:
    invitation = sg.invitation()
    sg.report(invitation["invitationId"], {"result": {"value": "completed"}, "score": {"value": "78%"}})
    body = sg.result(invitation["invitationId"]).json()
    assert body["status"] == "COMPLETED"
    assert body["completionTime"].endswith("Z") and len(body["completionTime"]) == 20
    assert body["result"] == {"resultUrl": link_of(invitation), "score": "78%"}


def test_a_corrected_score_is_served_and_notified_again(sg: Softgarden) -> None:
    invitation_id = sg.invitation()["invitationId"]
    sg.report(invitation_id, {"result": {"value": "completed"}, "score": {"value": 70}})
    sg.report(invitation_id, {"result": {"value": "completed"}, "score": {"value": 75}})
    assert sg.result(invitation_id).json()["result"]["score"] == "75"
    assert Delivery.objects.filter(order_id=invitation_id, kind=DeliveryKind.PARTNER).count() == 2


def test_a_score_while_in_progress_is_not_shown(sg: Softgarden) -> None:
    invitation = sg.invitation()
    sg.report(invitation["invitationId"], {"result": {"value": "in_progress"}, "score": {"value": 10}})
    assert sg.result(invitation["invitationId"]).json() == {
        "status": "PENDING",
        "result": {"resultUrl": link_of(invitation)},
    }


@pytest.mark.parametrize("value", ["expired", "cancelled"])
def test_expired_and_cancelled_are_expired(sg: Softgarden, value: str) -> None:
    invitation = sg.invitation()
    sg.report(invitation["invitationId"], {"result": {"value": value}, "score": {"value": 0}})
    body = sg.result(invitation["invitationId"]).json()
    assert body["status"] == "EXPIRED"
    assert body["expirationTime"].endswith("Z")
    assert body["result"] == {"resultUrl": link_of(invitation)}
    assert "completionTime" not in body


def test_result_of_unknown_or_foreign_invitation_is_404(sg: Softgarden, other_sg: Softgarden) -> None:
    error_body(sg.result("ord_doesnotexist"), 404)
    theirs = other_sg.invitation()["invitationId"]
    error_body(sg.result(theirs), 404)


# --- deletion -----------------------------------------------------------------------------


def test_delete_erases_the_personal_data(sg: Softgarden) -> None:
    invitation = sg.invitation(
        candidate_id="ff6f133b-0000-4b4e-b141-000000000000",
        firstName="Jane",
        lastName="Doe",
        email="jane.doe@example.com",
    )
    invitation_id = invitation["invitationId"]
    sg.set_test_url(invitation_id, "https://vendor.example.com/start/abc")
    sg.report(
        invitation_id,
        {
            "result": {"value": "passed"},
            "score": {"value": 78},
            "result_url": "https://vendor.example.com/results/abc",
            "summary": "Jane did well",
        },
    )

    response = sg.delete(invitation_id)
    assert response.status_code == 204
    assert response.content == b""

    order = Order.objects.get(pk=invitation_id)
    assert order.erased_at is not None
    assert (order.candidate, order.application, order.job, order.requester, order.passthrough) == (None,) * 5
    assert order.test_url is None and order.results_update_url is None
    assert not Result.objects.filter(order_id=invitation_id).exists()
    stored = json.dumps({f.attname: str(getattr(order, f.attname)) for f in Order._meta.concrete_fields})
    for personal in (
        "Jane",
        "Doe",
        "jane.doe@example.com",
        "ff6f133b",
        "softgarden.io",
        invitation["testUrl"].rsplit("/", 1)[1],
        "vendor.example.com",
    ):
        assert personal not in stored, personal
    assert not Delivery.objects.filter(
        order_id=invitation_id, kind=DeliveryKind.PARTNER, status=DeliveryStatus.PENDING
    ).exists()

    error_body(sg.result(invitation_id), 404)
    assert sg.delete(invitation_id).status_code == 204  # already erased: no false alarm
    assert Client().get(invitation["testUrl"].removeprefix("http://testserver")).status_code == 404


def test_delete_of_a_never_seen_invitation_is_400(sg: Softgarden, other_sg: Softgarden) -> None:
    error_body(sg.delete("ord_doesnotexist"), 400)
    theirs = other_sg.invitation()["invitationId"]
    error_body(sg.delete(theirs), 400)
    assert Order.objects.get(pk=theirs).erased_at is None


def test_delete_emits_ats_assessments_deleted(sg: Softgarden) -> None:
    sg.tenant.client.post("/webhook_endpoints", {"url": "https://hooks.example.com/x", "events": ["*"]}, format="json")
    invitation_id = sg.invitation()["invitationId"]
    sg.delete(invitation_id)
    events = Delivery.objects.filter(order_id=invitation_id, kind=DeliveryKind.WEBHOOK).values_list(
        "event_type", flat=True
    )
    assert "ats_assessments.deleted" in list(events)


def test_get_is_not_a_deletion(sg: Softgarden) -> None:
    """The docs' curl example says GET; only DELETE erases (softgarden.md §7)."""
    invitation_id = sg.invitation()["invitationId"]
    error_body(sg.partner.get(f"{PREFIX}/invitations/{invitation_id}"), 405)
    assert Order.objects.get(pk=invitation_id).erased_at is None
