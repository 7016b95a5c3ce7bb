"""``AshbyConnector.check``: one cheap call with the customer's key, against the
simulator over real HTTP, through the context the core builds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.ashby.connector import AshbyConnector
from connectors.ashby.simulator import AshbySimulator
from gateway.ports import context_for
from gateway.sdk import Context, ProviderError
from gateway.sdk.loopback import LoopbackServer
from gateway.tenancy.models import Account
from tests.conftest import TenantHandle
from tests.connectors.ashby.conftest import API_KEY, link_ashby

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulator() -> Iterator[AshbySimulator]:
    ashby = AshbySimulator(api_key=API_KEY)
    with ashby.serve():
        yield ashby


def context(tenant: TenantHandle, base_url: str, key: str = API_KEY) -> Context:
    account = link_ashby(tenant, publish=False, credentials={"api_key": key}, settings={"api_base_url": base_url})
    return context_for(Account.objects.get(id=account.id))


def test_a_good_key_passes(tenant: TenantHandle, simulator: AshbySimulator) -> None:
    ctx = context(tenant, f"{simulator.public_url}/")
    AshbyConnector().check(ctx)
    (call,) = ctx.calls
    assert call.url == f"{simulator.public_url}/assessment.update" and call.status == 200
    (update,) = simulator.updates
    assert update.body == {} and simulator.violations == []
    assert update.headers["Accept"] == "application/json; version=1"


@pytest.mark.parametrize(("key", "permissions"), [("wrong-key", ("candidatesWrite",)), (API_KEY, ())])
def test_a_refused_key_is_an_account_error(tenant: TenantHandle, simulator: AshbySimulator, key: str,
                                           permissions: tuple[str, ...]) -> None:
    simulator.permissions = permissions
    ctx = context(tenant, simulator.public_url, key)
    with pytest.raises(ProviderError) as refused:
        AshbyConnector().check(ctx)
    assert refused.value.account_error and refused.value.status == 403
    assert refused.value.calls == ctx.calls and len(ctx.calls) == 1
    assert key not in str(refused.value.calls[0].as_dict())


def test_an_outage_is_not_the_keys_fault(tenant: TenantHandle, simulator: AshbySimulator) -> None:
    simulator.fail_next_updates(1, 503)
    with pytest.raises(ProviderError) as failed:
        AshbyConnector().check(context(tenant, simulator.public_url))
    assert not failed.value.account_error and failed.value.status == 503


def test_an_unreachable_ashby_is_a_provider_error(tenant: TenantHandle) -> None:
    def nothing(environ: Any, start_response: Any) -> list[bytes]:
        raise AssertionError("never called")

    with LoopbackServer(nothing) as server:
        url = server.url
    with pytest.raises(ProviderError) as failed:
        AshbyConnector().check(context(tenant, url))
    assert failed.value.status is None and not failed.value.account_error and len(failed.value.calls) == 1
