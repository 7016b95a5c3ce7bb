"""The connector's declaration and the notification it asks the delivery pipeline to send."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.urls import reverse

from connectors.softgarden.connector import SoftgardenConnector
from gateway.registry import registry, validate_connector
from gateway.sdk import Capability, InboundAuth, InboundKind, Role, basic_authorization
from tests.connectors.softgarden.conftest import CALLBACK, Softgarden, account_context, order_view

CONNECTOR = SoftgardenConnector()


def decoded(header: str) -> str:
    scheme, _, value = header.partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value, validate=True).decode()


# --- declaration ----------------------------------------------------------------------------


def test_the_connector_validates_and_is_registered() -> None:
    validate_connector(CONNECTOR, "softgarden")
    assert isinstance(registry().get("softgarden"), SoftgardenConnector)
    assert CONNECTOR.role is Role.ATS
    assert CONNECTOR.inbound is InboundKind.API_KEY
    assert CONNECTOR.capabilities == frozenset({Capability.DELIVER_RESULT})  # no check: softgarden offers none
    assert CONNECTOR.allowed_hosts == ("*.softgarden.io", "*.softgarden.de")


def test_connector_list_shows_softgarden(tenant: Any) -> None:
    listed = {c["provider"]: c for c in tenant.client.get("/connectors").json()["data"]}
    assert listed["softgarden"]["role"] == "ats"
    assert listed["softgarden"]["capabilities"] == ["deliver_result"]


def test_the_partner_endpoints_are_the_four_of_the_contract() -> None:
    assert sorted((e.name, e.method, e.path, e.auth) for e in CONNECTOR.endpoints()) == [
        ("invitation", "DELETE", "invitations/{invitationId}", InboundAuth.BEARER_KEY),
        ("invitations", "POST", "invitations", InboundAuth.BEARER_KEY),
        ("result", "GET", "results/{invitationId}", InboundAuth.BEARER_KEY),
        ("tests", "GET", "tests", InboundAuth.BEARER_KEY),
    ]
    assert all(e.response_schema for e in CONNECTOR.endpoints() if e.method == "GET")


def test_the_endpoints_are_mounted_under_their_names() -> None:
    one = {"invitationId": "ord_1"}
    assert reverse("softgarden:tests") == "/connectors/softgarden/tests"
    assert reverse("softgarden:invitations") == "/connectors/softgarden/invitations"
    assert reverse("softgarden:invitation", kwargs=one) == "/connectors/softgarden/invitations/ord_1"
    assert reverse("softgarden:result", kwargs=one) == "/connectors/softgarden/results/ord_1"


def test_the_openapi_document_has_the_four_paths(tenant: Any) -> None:
    paths = tenant.client.get("/openapi.json").json()["paths"]
    assert {"get"} <= set(paths["/connectors/softgarden/tests"])
    assert {"post"} <= set(paths["/connectors/softgarden/invitations"])
    assert {"delete"} <= set(paths["/connectors/softgarden/invitations/{invitationId}"])
    assert {"get"} <= set(paths["/connectors/softgarden/results/{invitationId}"])


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
    ctx = account_context({"notify_client_id": "sg-client", "notify_client_secret": "s3cret"})
    spec = CONNECTOR.deliver_result(ctx, order_view())
    assert spec is not None
    assert spec.method == "POST"
    assert spec.url == CALLBACK
    assert spec.json == {"invitationId": "ord_1"}
    assert decoded(spec.headers["Authorization"]) == "sg-client:s3cret"
    assert spec.headers["Content-Type"] == "application/json"
    assert list(spec.allowed_hosts) == ["*.softgarden.io"]
    assert list(spec.secrets) == ["s3cret"]


@pytest.mark.parametrize(
    "credentials", [{"notify_client_id": "10"}, {"notify_client_id": "10", "notify_client_secret": ""}]
)
def test_a_public_client_sends_its_id_and_an_empty_password(credentials: dict[str, Any]) -> None:
    spec = CONNECTOR.deliver_result(account_context(credentials), order_view())
    assert spec is not None
    # softgarden's docs print "MTA=" for client 10; that lacks the colon. curl -u "10:" sends "MTA6".
    assert spec.headers["Authorization"] == "Basic MTA6"
    assert basic_authorization("10", None) == "Basic MTA6"
    assert list(spec.secrets) == []  # nothing to redact: an empty secret would match everywhere


def test_allowed_hosts_fall_back_to_the_default() -> None:
    spec = CONNECTOR.deliver_result(account_context({"notify_client_id": "x"}, settings={}), order_view())
    assert spec is not None and list(spec.allowed_hosts) == ["*.softgarden.io", "*.softgarden.de"]
    spec = CONNECTOR.deliver_result(
        account_context({"notify_client_id": "x"}, settings={"callback_hosts": []}), order_view()
    )
    assert spec is not None and list(spec.allowed_hosts) == []


def test_nothing_to_deliver_for_an_erased_order() -> None:
    ctx = account_context({"notify_client_id": "x"})
    assert CONNECTOR.deliver_result(ctx, order_view(erased=True)) is None
    assert CONNECTOR.deliver_result(ctx, order_view(partner_callback_url=None)) is None


def test_deliver_result_on_a_real_order_uses_the_stored_callback(sg: Softgarden) -> None:
    """Through the core's own context: the callback softgarden sent is what is notified."""
    from gateway.ports import context_for
    from gateway.tenancy.models import Account

    invitation_id = sg.invitation(callback=CALLBACK + "?x=1")["invitationId"]
    ctx = context_for(Account.objects.get(pk=sg.id))
    order = ctx.orders.get(invitation_id)
    assert order is not None
    spec = CONNECTOR.deliver_result(ctx, order)
    assert spec is not None
    assert spec.url == CALLBACK + "?x=1"
    assert spec.json == {"invitationId": invitation_id}
    assert decoded(spec.headers["Authorization"]) == "sg-client:sg-secret"
    assert list(spec.allowed_hosts) == ["*.softgarden.io", "*.softgarden.de"]
    sg.delete(invitation_id)
    erased = ctx.orders.get(invitation_id)
    assert erased is not None and erased.erased
    assert CONNECTOR.deliver_result(ctx, erased) is None
