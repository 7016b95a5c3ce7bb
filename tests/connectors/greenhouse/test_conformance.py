"""The Greenhouse connector as the registry and the platform API see it."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest
from django.urls import reverse

from connectors.greenhouse.connector import GreenhouseConnector
from gateway.registry import ENTRY_POINT_GROUP, ConnectorRegistry, validate_connector
from gateway.sdk import Capability, InboundAuth, InboundKind, Role
from gateway.sdk.connector import ResultDeliverer

ENDPOINTS = {
    "list_tests": "GET",
    "send_test": "POST",
    "test_status": "GET",
    "response_error": "POST",
}


def test_the_connector_validates() -> None:
    connector = GreenhouseConnector()
    validate_connector(connector, "greenhouse")
    assert connector.role is Role.ATS
    assert connector.inbound is InboundKind.API_KEY
    assert connector.capabilities == frozenset({Capability.DELIVER_RESULT})
    assert isinstance(connector, ResultDeliverer)
    assert connector.allowed_hosts == ("*.greenhouse.io",)
    assert connector.jobs == ("enrich_order",)
    assert ConnectorRegistry([connector]).get("greenhouse") is connector


def test_the_entry_point_loads_this_connector() -> None:
    (entry_point,) = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == "greenhouse"]
    assert entry_point.load() is GreenhouseConnector


def test_the_four_endpoints_are_declared_with_basic_key_auth() -> None:
    declared = GreenhouseConnector().endpoints()
    assert {e.name: e.method for e in declared} == ENDPOINTS
    assert all(e.path == e.name and e.auth is InboundAuth.BASIC_KEY for e in declared)
    by_name = {e.name: e for e in declared}
    assert by_name["send_test"].request_schema is not None
    assert by_name["test_status"].query_schema is not None
    assert all(e.response_schema is not None for e in declared)


@pytest.mark.django_db
def test_partner_endpoints_are_mounted_by_name() -> None:
    assert reverse("greenhouse:send_test") == "/connectors/greenhouse/send_test"
    assert {name: reverse(f"greenhouse:{name}") for name in ENDPOINTS} == {
        name: f"/connectors/greenhouse/{name}" for name in ENDPOINTS
    }


def test_inbound_urls_are_the_four_endpoints() -> None:
    urls = GreenhouseConnector().inbound_urls(account_id="acc_1", secret="s", public_url="https://gw.example/")
    assert urls == {name: f"https://gw.example/connectors/greenhouse/{name}" for name in ENDPOINTS}


@pytest.mark.django_db
def test_linking_returns_the_key_and_urls_once(tenant: Any) -> None:
    linked = tenant.link("greenhouse", label="GH")
    inbound = linked["inbound"]
    assert len(inbound["api_key"]) <= 170
    assert set(inbound["urls"]) == set(ENDPOINTS)
    assert linked["settings"]["callback_hosts"] == ["*.greenhouse.io"]
    assert "inbound" not in tenant.client.get(f"/accounts/{linked['id']}").json()
    listed = tenant.client.get("/connectors").json()["data"]
    assert [(c["provider"], c["capabilities"]) for c in listed] == [("greenhouse", ["deliver_result"])]


@pytest.mark.django_db
def test_credentials_are_validated(tenant: Any) -> None:
    response = tenant.client.post(
        "/accounts", {"provider": "greenhouse", "credentials": {"password": "x"}}, format="json"
    )
    assert response.status_code == 422


@pytest.mark.django_db
def test_the_partner_endpoints_are_in_the_openapi_document(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for name, method in ENDPOINTS.items():
        assert method.lower() in paths[f"/connectors/greenhouse/{name}"], name
