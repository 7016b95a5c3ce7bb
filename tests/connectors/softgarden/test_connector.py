"""The connector's declaration and the notification it asks the delivery pipeline to send."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import pytest

from connectors.base import AccountContext, Capability, Role
from connectors.registry import registry, validate_connector
from connectors.softgarden.callback import basic_authorization, callback_problem
from connectors.softgarden.connector import SoftgardenConnector
from gateway.assessments.models import Order
from tests.connectors.softgarden.conftest import CALLBACK, Softgarden

CONNECTOR = SoftgardenConnector()


def order(callback: str | None = CALLBACK, *, erased: bool = False) -> Any:
    return SimpleNamespace(
        id="ord_1",
        partner_callback_url=callback,
        link_token="t" * 32 if callback else None,
        erased_at="2026-01-01" if erased else None,
    )


def ctx(credentials: dict[str, Any], settings: dict[str, Any] | None = None) -> AccountContext:
    return AccountContext(
        account_id="acc_1",
        credentials=credentials,
        settings={"callback_hosts": ["*.softgarden.io"]} if settings is None else settings,
    )


def decoded(header: str) -> str:
    scheme, _, value = header.partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value, validate=True).decode()


# --- declaration ----------------------------------------------------------------------------


def test_the_connector_validates_and_is_registered() -> None:
    validate_connector(CONNECTOR, "softgarden")
    assert isinstance(registry().get("softgarden"), SoftgardenConnector)
    assert CONNECTOR.role is Role.ATS
    assert CONNECTOR.capabilities == frozenset({Capability.DELIVER_RESULT})


def test_connector_list_shows_softgarden(tenant: Any) -> None:
    listed = {c["provider"]: c for c in tenant.client.get("/connectors").json()["data"]}
    assert listed["softgarden"]["role"] == "ats"
    assert listed["softgarden"]["capabilities"] == ["deliver_result"]


def test_the_partner_urls_are_the_four_endpoints() -> None:
    assert sorted(str(p.pattern) for p in CONNECTOR.urls()) == [
        "invitations",
        "invitations/<str:invitation_id>",
        "results/<str:invitation_id>",
        "tests",
    ]


@pytest.mark.parametrize(
    ("credentials", "field"),
    [
        ({}, "credentials.notify_client_id"),
        ({"notify_client_id": ""}, "credentials.notify_client_id"),
        ({"notify_client_id": "x", "api_key": "y"}, "credentials"),
    ],
)
def test_linking_validates_the_notification_credentials(tenant: Any, credentials: dict[str, Any], field: str) -> None:
    response = tenant.client.post("/accounts", {"provider": "softgarden", "credentials": credentials}, format="json")
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


def test_linking_fills_the_default_callback_hosts(sg: Softgarden) -> None:
    assert sg.account["settings"] == {"callback_hosts": ["*.softgarden.io", "*.softgarden.de"]}
    assert "credentials" not in sg.account


# --- deliver_result ---------------------------------------------------------------------------


def test_deliver_result_posts_the_invitation_id_with_basic_auth() -> None:
    spec = CONNECTOR.deliver_result(ctx({"notify_client_id": "sg-client", "notify_client_secret": "s3cret"}), order())
    assert spec is not None
    assert spec.method == "POST"
    assert spec.url == CALLBACK
    assert spec.json == {"invitationId": "ord_1"}
    assert decoded(spec.headers["Authorization"]) == "sg-client:s3cret"
    assert spec.headers["Content-Type"] == "application/json"
    assert list(spec.allowed_hosts) == ["*.softgarden.io"]


@pytest.mark.parametrize(
    "credentials", [{"notify_client_id": "10"}, {"notify_client_id": "10", "notify_client_secret": ""}]
)
def test_a_public_client_sends_its_id_and_an_empty_password(credentials: dict[str, Any]) -> None:
    spec = CONNECTOR.deliver_result(ctx(credentials), order())
    assert spec is not None
    # softgarden's docs print "MTA=" for client 10; that lacks the colon. curl -u "10:" sends "MTA6".
    assert spec.headers["Authorization"] == "Basic MTA6"
    assert basic_authorization("10", None) == "Basic MTA6"


def test_allowed_hosts_fall_back_to_the_default() -> None:
    spec = CONNECTOR.deliver_result(ctx({"notify_client_id": "x"}, settings={}), order())
    assert spec is not None and list(spec.allowed_hosts) == ["*.softgarden.io", "*.softgarden.de"]
    spec = CONNECTOR.deliver_result(ctx({"notify_client_id": "x"}, settings={"callback_hosts": []}), order())
    assert spec is not None and list(spec.allowed_hosts) == []


def test_nothing_to_deliver_for_an_erased_order() -> None:
    assert CONNECTOR.deliver_result(ctx({"notify_client_id": "x"}), order(erased=True)) is None
    assert CONNECTOR.deliver_result(ctx({"notify_client_id": "x"}), order(callback=None)) is None


def test_deliver_result_on_a_real_order_uses_the_stored_callback(sg: Softgarden) -> None:
    from gateway.assessments.connectors import account_context

    invitation_id = sg.invitation(callback=CALLBACK + "?x=1")["invitationId"]
    stored = Order.objects.select_related("account").get(pk=invitation_id)
    spec = CONNECTOR.deliver_result(account_context(stored.account), stored)
    assert spec is not None
    assert spec.url == CALLBACK + "?x=1"
    assert spec.json == {"invitationId": invitation_id}
    assert decoded(spec.headers["Authorization"]) == "sg-client:sg-secret"
    sg.delete(invitation_id)
    stored.refresh_from_db()
    assert CONNECTOR.deliver_result(account_context(stored.account), stored) is None


# --- callback checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://app.softgarden.io/api/notify", True),
        ("http://app.softgarden.de/notify", True),
        ("https://APP.SOFTGARDEN.IO/notify", True),
        ("https://softgarden.io/notify", False),
        ("https://evilsoftgarden.io/notify", False),
        ("https://app.softgarden.io.evil.example/", False),
        ("javascript://app.softgarden.io/", False),
        ("https://user@app.softgarden.io/", False),
        ("https:///nohost", False),
        ("https://app.softgarden.io:99999/", False),
    ],
)
def test_callback_problem(url: str, ok: bool) -> None:
    assert (callback_problem(url, hosts=["*.softgarden.io", "*.softgarden.de"]) is None) is ok


def test_a_blocked_literal_address_needs_the_operators_allowance() -> None:
    assert callback_problem("http://10.0.0.5/notify", hosts=["10.0.0.5"]) is not None
    assert callback_problem("http://10.0.0.5/notify", hosts=["10.0.0.5"], outbound_allowed=["10.0.0.5"]) is None
