"""``GreenhouseConnector.deliver_result``: the "Mark Test as Completed" PATCH, built at send
time from the order's current state (greenhouse.md §1.8, CONTRACT §4.1)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import AccountContext, OutboundRequestSpec
from connectors.greenhouse.connector import GreenhouseConnector
from gateway.assessments.connectors import account_context
from gateway.assessments.models import Order
from gateway.delivery.outbound import host_matches
from gateway.tenancy.models import Account
from tests.conftest import basic
from tests.connectors.greenhouse.conftest import (
    CALLBACK_URL,
    FINAL_RESULT,
    GreenhouseAccount,
    link_greenhouse,
    send_test_body,
)

pytestmark = pytest.mark.django_db


def _deliver(account_id: str, interview_id: str) -> OutboundRequestSpec | None:
    account = Account.objects.get(id=account_id)
    order = Order.objects.get(id=interview_id)
    return GreenhouseConnector().deliver_result(account_context(account), order)


def test_a_final_result_gives_an_empty_patch_to_the_stored_url(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    spec = _deliver(gh.id, interview_id)
    assert spec is not None
    assert spec.method == "PATCH"
    assert spec.url == CALLBACK_URL
    assert spec.json is None
    assert dict(spec.headers) == {"Authorization": basic(gh.key)}
    assert tuple(spec.allowed_hosts) == ("*.greenhouse.io",)  # the schema's default
    assert host_matches("app.greenhouse.io", spec.allowed_hosts)


@pytest.mark.parametrize(
    "result",
    [
        None,
        {"result": {"value": "in_progress"}},
        {"result": {"value": "initiated"}, "score": {"value": "10"}, "result_url": "https://v.example/r"},
        {"result": {"value": "cancelled"}},
        {"result": {"value": "passed"}, "result_url": "https://v.example/r"},  # no numeric score
        {"result": {"value": "passed"}, "score": {"value": "90"}},  # no profile URL
    ],
)
def test_nothing_to_send_until_test_status_would_say_complete(
    gh: GreenhouseAccount, result: dict[str, Any] | None
) -> None:
    interview_id = gh.partner.send_test()
    if result is not None:
        gh.report_result(interview_id, result)
    assert _deliver(gh.id, interview_id) is None


def test_allowed_hosts_come_from_the_accounts_callback_hosts(tenant: Any) -> None:
    account = link_greenhouse(tenant, settings={"callback_hosts": ["127.0.0.1", "*.gh.example"]})
    interview_id = account.partner.send_test()
    account.report_result(interview_id, FINAL_RESULT)
    spec = _deliver(account.id, interview_id)
    assert spec is not None and tuple(spec.allowed_hosts) == ("127.0.0.1", "*.gh.example")
    # The URL came from Greenhouse: the pipeline refuses it when its host is not allowed.
    assert not host_matches("app.greenhouse.io", spec.allowed_hosts)


def test_the_credential_is_the_current_inbound_key(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    rotated = gh.tenant.client.post(f"/accounts/{gh.id}/inbound_key").json()["inbound"]["api_key"]
    spec = _deliver(gh.id, interview_id)
    assert spec is not None and spec.headers["Authorization"] == basic(rotated)


def test_the_context_need_not_carry_the_key(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    ctx = AccountContext(account_id=gh.id, credentials={}, settings={})
    spec = GreenhouseConnector().deliver_result(ctx, Order.objects.get(id=interview_id))
    assert spec is not None and spec.headers["Authorization"] == basic(gh.key)
    assert tuple(spec.allowed_hosts) == ("*.greenhouse.io",)


def test_an_erased_order_or_unlinked_account_sends_nothing(gh: GreenhouseAccount, tenant: Any) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    assert gh.unified().delete(f"/unified/ats/assessments/orders/{interview_id}").status_code == 204
    assert _deliver(gh.id, interview_id) is None

    other = link_greenhouse(tenant)
    second = other.partner.send_test()
    other.report_result(second, FINAL_RESULT)
    order = Order.objects.get(id=second)
    ctx = account_context(Account.objects.get(id=other.id))
    assert tenant.client.delete(f"/accounts/{other.id}").status_code == 204
    assert GreenhouseConnector().deliver_result(ctx, order) is None


def test_a_corrected_result_is_delivered_again(gh: GreenhouseAccount) -> None:
    from gateway.delivery.models import Delivery, DeliveryKind

    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    gh.report_result(interview_id, {**FINAL_RESULT, "score": {"value": "50", "max": "50", "min": "0"}})
    assert Delivery.objects.filter(order_id=interview_id, kind=DeliveryKind.PARTNER).count() == 2
    assert _deliver(gh.id, interview_id) is not None


def test_an_empty_allowlist_is_refused_and_never_means_any_host(tenant: Any) -> None:
    response = tenant.client.post(
        "/accounts", {"provider": "greenhouse", "settings": {"callback_hosts": []}}, format="json"
    )
    assert response.status_code == 422
    account = link_greenhouse(tenant)
    interview_id = account.partner.send_test()
    account.report_result(interview_id, FINAL_RESULT)
    Account.objects.filter(id=account.id).update(settings={"callback_hosts": []})  # legacy row
    from gateway.delivery.models import Delivery, DeliveryKind, DeliveryStatus
    from gateway.delivery.sender import delivery_send

    row = Delivery.objects.get(order_id=interview_id, kind=DeliveryKind.PARTNER)
    delivery_send(row.id)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED
    assert "callback_hosts" in row.last_error and row.last_status_code is None


def test_the_pipeline_refuses_a_callback_outside_callback_hosts(gh: GreenhouseAccount) -> None:
    sender = pytest.importorskip("gateway.delivery.sender")
    from gateway.delivery.models import Delivery, DeliveryKind

    interview_id = gh.partner.post(
        "send_test", {**send_test_body(), "url": "http://127.0.0.1:9/v1/partner/take_home_tests/1"}
    ).json()["partner_interview_id"]
    gh.report_result(interview_id, FINAL_RESULT)
    row = Delivery.objects.get(order_id=interview_id, kind=DeliveryKind.PARTNER)
    assert sender.delivery_send(row.id) == "failed"
    row.refresh_from_db()
    assert row.status == "failed" and "callback_hosts" in row.last_error
