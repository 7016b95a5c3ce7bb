"""The connector as the registry and the platform API see it: its declaration, the
entry point, linking, and the webhook route the core mounts for it."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from connectors.testdome.connector import TestDomeConnector
from gateway.registry import load_from_entry_points, validate_connector
from gateway.sdk import Capability, InboundKind, Role

PACKAGE = Path(__file__).resolve().parents[3] / "connectors" / "testdome"


def test_the_connector_validates() -> None:
    validate_connector(TestDomeConnector(), "testdome")


def test_the_declaration() -> None:
    connector = TestDomeConnector()
    assert connector.role is Role.PROVIDER and connector.inbound is InboundKind.WEBHOOK_TOKEN
    assert connector.capabilities == {
        Capability.LIST_PACKAGES,
        Capability.CREATE_ORDER,
        Capability.CANCEL_ORDER,
        Capability.FETCH_RESULT,
        Capability.HANDLE_WEBHOOK,
        Capability.CHECK,
    }
    assert connector.allowed_hosts == ("api.testdome.com",) and connector.reconcile_every == 600
    assert list(connector.endpoints()) == []  # the core mounts the webhook route itself


def test_the_entry_point_loads_it() -> None:
    connector = load_from_entry_points().get("testdome")
    assert isinstance(connector, TestDomeConnector)


def test_it_imports_nothing_of_the_gateway_but_the_sdk() -> None:
    imported = set()
    for source in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    gateway = {name for name in imported if name.split(".")[0] == "gateway"}
    assert gateway and all(name == "gateway.sdk" or name.startswith("gateway.sdk.") for name in gateway), gateway
    assert not {name for name in imported if name.split(".")[0] in ("django", "rest_framework", "celery")}


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


def test_the_webhook_endpoint_is_mounted_by_name() -> None:
    from django.urls import reverse

    assert reverse("testdome:webhook", args=["tok"]) == "/connectors/testdome/webhooks/tok"
    urls = TestDomeConnector().inbound_urls(account_id="acc_1", secret="s3", public_url="https://gw.example")
    assert urls == {"webhook_url": "https://gw.example/connectors/testdome/webhooks/s3"}
