"""``GreenhouseConnector.deliver_result``: the "Mark Test as Completed" PATCH, built at send
time from the order's current state (Greenhouse's Assessment API, CONTRACT §4.1)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.greenhouse.connector import GreenhouseConnector
from gateway.delivery.models import Delivery, DeliveryKind, DeliveryStatus
from gateway.outbound import host_matches
from gateway.sdk import OutboundRequestSpec
from gateway.tenancy.models import Account
from tests.conftest import basic
from tests.connectors.greenhouse.conftest import (
    CALLBACK_URL,
    FINAL_RESULT,
    GreenhouseAccount,
    link_greenhouse,
)

pytestmark = pytest.mark.django_db


def _deliver(account: GreenhouseAccount, interview_id: str) -> OutboundRequestSpec | None:
    ctx = account.context()
    order = ctx.orders.get(interview_id)
    assert order is not None
    return GreenhouseConnector().deliver_result(ctx, order)


def _send(row_id: str) -> Delivery:
    from gateway.delivery.sender import delivery_send

    delivery_send(row_id)
    return Delivery.objects.get(id=row_id)


def test_a_final_result_gives_an_empty_patch_to_the_stored_url(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    spec = _deliver(gh, interview_id)
    assert spec is not None
    assert spec.method == "PATCH"
    assert spec.url == CALLBACK_URL
    assert spec.json is None
    assert dict(spec.headers) == {"Authorization": basic(gh.key)}
    assert tuple(spec.secrets) == (gh.key,)
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
    assert _deliver(gh, interview_id) is None


def test_allowed_hosts_come_from_the_accounts_callback_hosts(tenant: Any) -> None:
    account = link_greenhouse(tenant, settings={"callback_hosts": ["127.0.0.1", "*.gh.example"]})
    interview_id = account.partner.send_test(url="https://eu.gh.example/take_home_tests/1")
    account.report_result(interview_id, FINAL_RESULT)
    spec = _deliver(account, interview_id)
    assert spec is not None and tuple(spec.allowed_hosts) == ("127.0.0.1", "*.gh.example")
    assert not host_matches("app.greenhouse.io", spec.allowed_hosts)


def test_the_credential_is_the_current_inbound_key(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    rotated = gh.tenant.client.post(f"/accounts/{gh.id}/inbound_key").json()["inbound"]["api_key"]
    spec = _deliver(gh, interview_id)
    assert spec is not None and spec.headers["Authorization"] == basic(rotated)


def test_an_erased_order_or_unlinked_account_sends_nothing(gh: GreenhouseAccount, tenant: Any) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    assert gh.unified().delete(f"/unified/ats/assessments/orders/{interview_id}").status_code == 204
    assert _deliver(gh, interview_id) is None

    other = link_greenhouse(tenant)
    second = other.partner.send_test()
    other.report_result(second, FINAL_RESULT)
    order = other.context().orders.get(second)
    assert tenant.client.delete(f"/accounts/{other.id}").status_code == 204
    ctx = other.context()  # what the sender sees now: the key is revoked
    assert ctx.account.inbound_key is None
    assert order is not None and GreenhouseConnector().deliver_result(ctx, order) is None


def test_a_corrected_result_is_delivered_again(gh: GreenhouseAccount) -> None:
    interview_id = gh.partner.send_test()
    gh.report_result(interview_id, FINAL_RESULT)
    gh.report_result(interview_id, {**FINAL_RESULT, "score": {"value": "50", "max": "50", "min": "0"}})
    assert Delivery.objects.filter(order_id=interview_id, kind=DeliveryKind.PARTNER).count() == 2
    assert _deliver(gh, interview_id) is not None


def test_an_empty_allowlist_is_refused_and_never_means_any_host(tenant: Any) -> None:
    response = tenant.client.post(
        "/accounts", {"provider": "greenhouse", "settings": {"callback_hosts": []}}, format="json"
    )
    assert response.status_code == 422
    account = link_greenhouse(tenant)
    interview_id = account.partner.send_test()
    account.report_result(interview_id, FINAL_RESULT)
    Account.objects.filter(id=account.id).update(settings={"callback_hosts": []})  # legacy row
    row = _send(Delivery.objects.get(order_id=interview_id, kind=DeliveryKind.PARTNER).id)
    assert row.status == DeliveryStatus.FAILED
    assert "callback_hosts" in row.last_error and row.last_status_code is None


def test_the_pipeline_refuses_a_callback_no_longer_in_callback_hosts(tenant: Any) -> None:
    """send_test refuses a url outside callback_hosts; one stored before the setting
    changed is refused at send time, before any connection."""
    account = link_greenhouse(tenant, settings={"callback_hosts": ["127.0.0.1"]})
    interview_id = account.partner.send_test(url="http://127.0.0.1:9/v1/partner/take_home_tests/1")
    patched = account.tenant.client.patch(
        f"/accounts/{account.id}", {"settings": {"callback_hosts": ["*.greenhouse.io"]}}, format="json"
    )
    assert patched.status_code == 200, patched.content
    account.report_result(interview_id, FINAL_RESULT)
    row = _send(Delivery.objects.get(order_id=interview_id, kind=DeliveryKind.PARTNER).id)
    assert row.status == DeliveryStatus.FAILED and "callback_hosts" in row.last_error
    assert row.last_status_code is None
