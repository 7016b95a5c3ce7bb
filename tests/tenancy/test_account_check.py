"""``POST /accounts/{id}/check`` over the test connectors: ok, refused, unsupported,
another tenant's account."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.sdk import Capability, Context, ProviderError
from gateway.tenancy.models import Account
from tests.conftest import TenantHandle
from tests.fakes import FakeProviderConnector
from tests.helpers import error_of

pytestmark = pytest.mark.django_db


class CheckingProvider(FakeProviderConnector):
    capabilities = FakeProviderConnector.capabilities | {Capability.CHECK}
    refuse = False

    def check(self, ctx: Context) -> None:
        if self.refuse:
            raise ProviderError("wrong key", status=401, account_error=True)


@pytest.fixture
def checking(tenant: TenantHandle) -> Any:
    from gateway.registry import override_registry
    from tests.fakes import FakeAtsConnector

    connector = CheckingProvider()
    with override_registry(FakeAtsConnector(), connector):
        yield connector


def test_a_good_check_is_ok_and_a_refusal_turns_the_account_to_error(tenant: TenantHandle, checking: Any) -> None:
    account = tenant.link("fake_provider", credentials={"api_key": "k"})
    response = tenant.client.post(f"/accounts/{account['id']}/check")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    checking.refuse = True
    body = tenant.client.post(f"/accounts/{account['id']}/check").json()
    assert body["status"] == "error" and body["provider_errors"][0]["status"] == 401
    assert Account.objects.get(id=account["id"]).status == "error"
    assert tenant.client.get(f"/accounts/{account['id']}").json()["status"] == "error"
    checking.refuse = False
    tenant.client.post(f"/accounts/{account['id']}/check")
    assert Account.objects.get(id=account["id"]).status == "active"


def test_a_connector_that_cannot_check_answers_501(tenant: TenantHandle, connectors: None) -> None:
    account = tenant.link("fake_ats")
    error_of(tenant.client.post(f"/accounts/{account['id']}/check"), 501)


def test_another_tenants_account_is_404(tenant: TenantHandle, other_tenant: TenantHandle, checking: Any) -> None:
    account = tenant.link("fake_provider", credentials={"api_key": "k"})
    error_of(other_tenant.client.post(f"/accounts/{account['id']}/check"), 404)
