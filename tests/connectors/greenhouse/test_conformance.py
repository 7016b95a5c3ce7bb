"""The Greenhouse connector as the registry and the platform API see it."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest
from django.urls import reverse

from connectors.base import Capability, ResultDeliverer, Role
from connectors.greenhouse.connector import GreenhouseConnector
from connectors.registry import ENTRY_POINT_GROUP, ConnectorRegistry, validate_connector


def test_the_connector_validates() -> None:
    connector = GreenhouseConnector()
    validate_connector(connector, "greenhouse")
    assert connector.role is Role.ATS
    assert connector.capabilities == frozenset({Capability.DELIVER_RESULT})
    assert isinstance(connector, ResultDeliverer)
    assert ConnectorRegistry([connector]).get("greenhouse") is connector


def test_the_entry_point_loads_this_connector() -> None:
    (entry_point,) = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == "greenhouse"]
    assert entry_point.load() is GreenhouseConnector


def test_partner_endpoints_are_mounted_by_name() -> None:
    names = {pattern.name for pattern in GreenhouseConnector().urls()}
    assert names == {"list_tests", "send_test", "test_status", "response_error"}
    assert reverse("greenhouse:send_test") == "/connectors/greenhouse/send_test"


def test_inbound_urls_are_the_four_endpoints() -> None:
    urls = GreenhouseConnector().inbound_urls(account_id="acc_1", secret="s", public_url="https://gw.example/")
    assert urls == {
        name: f"https://gw.example/connectors/greenhouse/{name}"
        for name in ("list_tests", "send_test", "test_status", "response_error")
    }


@pytest.mark.django_db
def test_linking_returns_the_key_and_urls_once(tenant: Any) -> None:
    linked = tenant.link("greenhouse", label="GH")
    inbound = linked["inbound"]
    assert len(inbound["api_key"]) <= 170
    assert set(inbound["urls"]) == {"list_tests", "send_test", "test_status", "response_error"}
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
