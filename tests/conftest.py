"""Fixtures shared by the whole suite: tenants with API clients, accounts on the test
connectors, and a registry holding exactly those connectors."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from gateway.registry import override_registry
from tests.fakes import FakeAtsConnector, FakeProviderConnector

# Every log record of the run is kept and searched for the credentials it used.
pytest_plugins = ["tests.hardening.log_capture"]


@pytest.fixture(scope="session", autouse=True)
def _mount_real_connectors() -> None:
    """Import the URLconf before any test swaps the registry: it mounts the partner
    endpoints of the registry active at import time, which must be the real one."""
    import gateway.urls  # noqa: F401


@pytest.fixture
def fake_provider() -> FakeProviderConnector:
    return FakeProviderConnector()


@pytest.fixture
def connectors(fake_provider: FakeProviderConnector) -> Iterator[None]:
    with override_registry(FakeAtsConnector(), fake_provider):
        yield


@dataclass
class TenantHandle:
    id: str
    api_key: str
    signing_secret: str
    tenant: Any
    client: APIClient

    def link(self, provider: str, **body: Any) -> dict[str, Any]:
        response = self.client.post("/accounts", {"provider": provider, **body}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    def unified(self, account_id: str) -> APIClient:
        """A client that sends ``x-account-id`` on every call."""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=basic(self.api_key), HTTP_X_ACCOUNT_ID=account_id)
        return client


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def make_tenant(db: None) -> Any:
    from gateway.tenancy.services import tenant_create

    def factory(name: str = "acme") -> TenantHandle:
        created = tenant_create(name=name)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=basic(created.api_key))
        return TenantHandle(
            id=created.tenant.id,
            api_key=created.api_key,
            signing_secret=created.signing_secret,
            tenant=created.tenant,
            client=client,
        )

    return factory


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:
    return make_tenant("acme")


@pytest.fixture
def other_tenant(make_tenant: Any) -> TenantHandle:
    return make_tenant("globex")


@pytest.fixture
def ats_account(tenant: TenantHandle, connectors: None) -> dict[str, Any]:
    return tenant.link("fake_ats", label="ATS", credentials={"notify_secret": "s3cret-notify"})


@pytest.fixture
def provider_account(tenant: TenantHandle, connectors: None) -> dict[str, Any]:
    return tenant.link("fake_provider", label="Provider", credentials={"api_key": "prov-key-123"})
