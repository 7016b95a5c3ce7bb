"""The connector as the registry and the platform API see it."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import Capability, Role
from connectors.registry import load_from_entry_points, validate_connector
from connectors.testdome.connector import TestDomeConnector


def test_the_connector_validates() -> None:
    validate_connector(TestDomeConnector(), "testdome")


def test_the_entry_point_loads_it() -> None:
    registry = load_from_entry_points()
    connector = registry.get("testdome")
    assert isinstance(connector, TestDomeConnector) and connector.role is Role.PROVIDER
    assert connector.capabilities == {
        Capability.LIST_PACKAGES,
        Capability.CREATE_ORDER,
        Capability.CANCEL_ORDER,
        Capability.FETCH_RESULT,
        Capability.HANDLE_WEBHOOK,
    }


@pytest.mark.django_db
def test_linking_returns_the_webhook_url(tenant: Any, connector: Any, sim_url: str) -> None:
    listed = tenant.client.get("/connectors").json()["data"]
    [entry] = [c for c in listed if c["provider"] == "testdome"]
    assert entry["role"] == "provider" and "handle_webhook" in entry["capabilities"]
    linked = tenant.link(
        "testdome",
        credentials={"email": "a@b.example", "api_password": "pw"},
        settings={"api_base_url": sim_url + "/v3", "token_url": sim_url + "/token"},
    )
    url = linked["inbound"]["webhook_url"]
    assert url.startswith("http://testserver/connectors/testdome/webhooks/") and len(url.rsplit("/", 1)[1]) >= 40
    assert linked["settings"]["invite_deadline_days"] == 7
    assert "credentials" not in linked


@pytest.mark.django_db
def test_credentials_are_one_of_two_kinds(tenant: Any, connector: Any) -> None:
    response = tenant.client.post(
        "/accounts", {"provider": "testdome", "credentials": {"email": "a@b.example"}}, format="json"
    )
    assert response.status_code == 422


def test_handle_webhook_accepts_a_trigger(monkeypatch: Any) -> None:
    seen: list[Any] = []
    monkeypatch.setattr("connectors.testdome.webhooks.webhook_accept", lambda **kw: seen.append(kw))

    class Account:
        id = "acc_1"

    connector = TestDomeConnector()
    connector.handle_webhook(
        Account(), {"candidateId": 5, "testId": 9, "status": "Completed"}, {"x-testdome-correlationid": "c-1"}
    )
    connector.handle_webhook(Account(), {"nothing": True}, {})
    [call] = seen
    assert call["account_id"] == "acc_1" and call["correlation_id"] == "c-1"
    assert (call["event"].candidate_id, call["event"].test_id) == ("5", "9")


def test_the_webhook_endpoint_is_mounted_by_name() -> None:
    from django.urls import reverse

    assert [p.name for p in TestDomeConnector().urls()] == ["webhook"]
    assert reverse("testdome:webhook", args=["tok"]) == "/connectors/testdome/webhooks/tok"
    urls = TestDomeConnector().inbound_urls(account_id="acc_1", secret="s3", public_url="https://gw.example")
    assert urls == {"webhook_url": "https://gw.example/connectors/testdome/webhooks/s3"}
