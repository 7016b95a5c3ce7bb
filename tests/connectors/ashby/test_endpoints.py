"""The three RPCs Ashby calls, through the Django test client: authentication and
Ashby's envelopes, the stable ids, idempotent starts, cancellation, and isolation
between accounts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connectors.ashby import mapping
from gateway.delivery.models import Delivery, DeliveryKind
from tests.conftest import TenantHandle, basic
from tests.connectors.ashby.conftest import BASE, CATALOG, FINAL_RESULT, AshbyAccount, PartnerClient, link_ashby

pytestmark = pytest.mark.django_db


def ashby_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert body["success"] is False and body["errors"] == [body["errorInfo"]["message"]]
    assert body["errorInfo"]["code"] == code and body["errorInfo"]["requestId"]
    return body


def test_linking_hands_out_one_base_url_and_the_key(ashby: AshbyAccount) -> None:
    inbound = ashby.linked["inbound"]
    assert inbound["urls"] == {
        "base": "http://testserver/connectors/ashby/",
        "assessment.list": "http://testserver/connectors/ashby/assessment.list",
        "assessment.start": "http://testserver/connectors/ashby/assessment.start",
        "assessment.cancel": "http://testserver/connectors/ashby/assessment.cancel",
    }
    assert ashby.linked["settings"] == {"api_base_url": "https://api.ashbyhq.com",
                                        "callback_hosts": ["api.ashbyhq.com"]}
    assert "credentials" not in ashby.linked


def test_the_api_key_is_required_and_write_only(tenant: TenantHandle) -> None:
    response = tenant.client.post("/accounts", {"provider": "ashby", "credentials": {}}, format="json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("credentials")
    listed = tenant.client.get("/connectors").json()["data"]
    (ashby,) = [c for c in listed if c["provider"] == "ashby"]
    assert ashby["role"] == "ats" and set(ashby["capabilities"]) == {"deliver_result", "check"}
    assert ashby["credentials_schema"]["properties"]["api_key"]["writeOnly"] is True


@pytest.mark.parametrize("authorization", [None, basic("wrong-key"), "Bearer {key}", basic("{key}", "x")])
def test_a_bad_or_missing_key_is_a_401_in_ashbys_envelope(ashby: AshbyAccount, authorization: str | None) -> None:
    client = PartnerClient(authorization.replace("{key}", ashby.key) if authorization else None)
    for rpc in ("assessment.list", "assessment.start", "assessment.cancel"):
        response = client.post(rpc, {})
        ashby_error(response, 401, "unauthenticated")
        assert response["WWW-Authenticate"].startswith("Basic")


def test_the_key_is_accepted_as_the_basic_password(ashby: AshbyAccount) -> None:
    response = PartnerClient(basic("", ashby.key)).post("assessment.list", {})
    assert response.status_code == 200 and response.json()["success"] is True


def test_the_list_shows_the_published_catalog_with_stable_uuids(ashby: AshbyAccount,
                                                                other_tenant: TenantHandle) -> None:
    response = ashby.partner.post("assessment.list", {})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(item["name"], item["description"]) for item in results] == [
        ("Python (Senior)", "Ninety minutes."), ("SQL Basics", "")]
    assert [item["assessment_type_id"] for item in results] == [
        mapping.assessment_type_id(ashby.id, package["remote_id"]) for package in CATALOG]
    ashby.publish(list(reversed(CATALOG)))
    assert sorted(ashby.type_ids().items()) == sorted({i["name"]: i["assessment_type_id"] for i in results}.items())
    other = link_ashby(other_tenant)
    assert set(other.type_ids().values()).isdisjoint(item["assessment_type_id"] for item in results)


def test_a_start_creates_one_open_order(ashby: AshbyAccount) -> None:
    type_id = ashby.type_ids()["Python (Senior)"]
    assessment_id = ashby.started(type_id, application_id="app-1", additional_fields={"level": "senior"})
    assert mapping.canonical_uuid(assessment_id) == assessment_id
    order = ashby.order_for(assessment_id)
    assert order["status"] == "open" and order["package"]["remote_id"] == "py-senior"
    assert order["candidate"]["emails"] == [{"type": None, "value": "ada@example.com"}]
    assert order["application"]["remote_id"] == "app-1"
    assert order["application"]["application_status"] == {"value": "active", "source_value": "Active"}
    assert order["job"]["title"] == "Backend Engineer"
    assert order["job"]["hiring_team"][0]["role"] == "hiring_manager"
    assert order["passthrough"] == {"assessment_id": assessment_id, "assessment_type_id": type_id,
                                    "additional_fields": {"level": "senior"}}


def test_a_start_is_announced_to_the_tenant(ashby: AshbyAccount) -> None:
    response = ashby.tenant.client.post("/webhook_endpoints", {"url": "https://hooks.example.com/gw",
                                                               "events": ["*"]}, format="json")
    assert response.status_code == 201
    order_id = ashby.order_for(ashby.started(ashby.type_ids()["SQL Basics"]))["id"]
    assert Delivery.objects.filter(order_id=order_id, event_type="ats_assessments.created").count() == 1


def test_the_same_start_again_is_the_same_assessment(ashby: AshbyAccount) -> None:
    types = ashby.type_ids()
    first = ashby.started(types["Python (Senior)"], application_id="app-1")
    assert ashby.started(types["Python (Senior)"].upper(), application_id="app-1") == first
    other_type = ashby.started(types["SQL Basics"], application_id="app-1")
    other_application = ashby.started(types["Python (Senior)"], application_id="app-2")
    assert len({first, other_type, other_application}) == 3
    assert len(ashby.orders()) == 3


def test_a_start_after_a_cancellation_is_a_new_assessment(ashby: AshbyAccount) -> None:
    type_id = ashby.type_ids()["Python (Senior)"]
    first = ashby.started(type_id, application_id="app-1")
    assert ashby.partner.post("assessment.cancel", {"assessment_id": first}).json()["success"] is True
    second = ashby.started(type_id, application_id="app-1")
    ashby.report_result(ashby.order_for(second)["id"], {**FINAL_RESULT, "result": {"value": "completed"}})
    assert ashby.started(type_id, application_id="app-1") == second  # completed is not cancelled
    ashby.report_result(ashby.order_for(second)["id"], {"result": {"value": "cancelled"}})
    third = ashby.started(type_id, application_id="app-1")
    assert len({first, second, third}) == 3
    assert ashby.started(type_id, application_id="app-1") == third
    assert sorted(o["status"] for o in ashby.orders()) == ["cancelled", "cancelled", "open"]


def test_an_unknown_assessment_type_is_a_422_with_a_message(ashby: AshbyAccount) -> None:
    for type_id in (str(uuid.uuid4()), "py-senior", mapping.assessment_type_id("acc_other", "py-senior")):
        response = ashby.start(type_id)
        assert response.status_code == 422, response.content
        assert response.json() == {"message": mapping.unknown_type_message()}
    assert ashby.orders() == []


def test_a_withdrawn_type_still_answers_a_repeated_start(ashby: AshbyAccount) -> None:
    type_id = ashby.type_ids()["SQL Basics"]
    first = ashby.started(type_id, application_id="app-1")
    ashby.publish(CATALOG[:1])
    assert ashby.started(type_id, application_id="app-1") == first
    assert ashby.start(type_id, application_id="app-2").status_code == 422


@pytest.mark.parametrize("change", [
    lambda body: body.pop("application"),
    lambda body: body["candidate"].pop("email"),
    lambda body: body.update(assessment_type_id=7),
])
def test_a_start_ashby_could_not_have_sent_is_a_400(ashby: AshbyAccount, change: Any) -> None:
    from connectors.ashby.simulator import AshbySimulator

    body = AshbySimulator().start_body(ashby.type_ids()["SQL Basics"])
    change(body)
    error = ashby_error(ashby.partner.post("assessment.start", body), 400, "invalid_input")
    assert error["errorInfo"]["meta"]["errors"]


def test_bodies_must_be_json(ashby: AshbyAccount) -> None:
    ashby_error(ashby.partner.post("assessment.list", "{", content_type="application/json"), 400, "invalid_input")
    ashby_error(ashby.partner.post("assessment.list", "a=b", content_type="application/x-www-form-urlencoded"),
                415, "unsupported_media_type")
    response = ashby.partner.client.get(f"{BASE}/assessment.list")
    ashby_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


def test_cancel_closes_the_order(ashby: AshbyAccount) -> None:
    assessment_id = ashby.started(ashby.type_ids()["SQL Basics"])
    response = ashby.partner.post("assessment.cancel", {"assessment_id": assessment_id.upper()})
    assert response.status_code == 200
    assert response.json() == {"success": True, "results": {"assessment_id": assessment_id}}
    assert ashby.order_for(assessment_id)["status"] == "cancelled"
    # Again: already closed, still a success.
    assert ashby.partner.post("assessment.cancel", {"assessment_id": assessment_id}).json()["success"] is True


def test_cancel_leaves_a_finished_order_as_it_is(ashby: AshbyAccount) -> None:
    assessment_id = ashby.started(ashby.type_ids()["SQL Basics"])
    ashby.report_result(ashby.order_for(assessment_id)["id"], FINAL_RESULT)
    assert ashby.partner.post("assessment.cancel", {"assessment_id": assessment_id}).json()["success"] is True
    assert ashby.order_for(assessment_id)["status"] == "completed"


def test_cancel_of_an_unknown_or_foreign_assessment_is_not_found(ashby: AshbyAccount,
                                                                 other_tenant: TenantHandle) -> None:
    other = link_ashby(other_tenant)
    foreign = other.started(other.type_ids()["SQL Basics"])
    for assessment_id in (foreign, str(uuid.uuid4()), "ord_01JXYZ"):
        response = ashby.partner.post("assessment.cancel", {"assessment_id": assessment_id},
                                      HTTP_X_REQUEST_ID="req-from-ashby")
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is False and body["errorInfo"]["code"] == "not_found"
        assert body["errorInfo"]["requestId"] == "req-from-ashby"
    assert other.order_for(foreign)["status"] == "open"


def test_an_erased_assessment_cancels_quietly_and_starts_anew(ashby: AshbyAccount) -> None:
    type_id = ashby.type_ids()["SQL Basics"]
    first = ashby.started(type_id, application_id="app-1")
    order_id = ashby.order_for(first)["id"]
    assert ashby.unified().delete(f"/unified/ats/assessments/orders/{order_id}").status_code == 204
    assert ashby.partner.post("assessment.cancel", {"assessment_id": first}).json()["success"] is True
    second = ashby.started(type_id, application_id="app-1")
    assert second != first and ashby.order_for(second)["status"] == "open"


def test_a_result_queues_an_update_for_ashby(ashby: AshbyAccount) -> None:
    from connectors.ashby.connector import AshbyConnector
    from gateway.ports import context_for
    from gateway.tenancy.models import Account

    assessment_id = ashby.started(ashby.type_ids()["SQL Basics"])
    order_id = ashby.order_for(assessment_id)["id"]
    ashby.report_result(order_id, FINAL_RESULT)
    assert Delivery.objects.filter(order_id=order_id, kind=DeliveryKind.PARTNER).count() == 1
    ctx = context_for(Account.objects.get(id=ashby.id))
    spec = AshbyConnector().deliver_result(ctx, ctx.orders.get(order_id))
    assert spec is not None and spec.url == "https://api.ashbyhq.com/assessment.update"
    assert spec.headers["Authorization"] == basic("ashby-customer-key")
    assert spec.headers["Accept"] == "application/json; version=1" and spec.headers["User-Agent"]
    assert spec.allowed_hosts == ("api.ashbyhq.com",) and spec.secrets == ("ashby-customer-key",)
    assert spec.json["assessment_id"] == assessment_id and spec.json["assessment_result"]["value"] == 84
    assert spec.json["assessment_profile_url"]["value"] == FINAL_RESULT["result_url"]
    ashby.unified().delete(f"/unified/ats/assessments/orders/{order_id}")
    assert AshbyConnector().deliver_result(ctx, ctx.orders.get(order_id)) is None
