"""A linked softgarden account seen from both sides: softgarden (Bearer on the partner
endpoints) and the assessment vendor, i.e. the tenant (the unified API); and the SDK's
plain values, for the tests that need no database."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from gateway.sdk import AccountSnapshot, Context, OrderView, ResultView
from tests.conftest import TenantHandle

PREFIX = "/connectors/softgarden"
CALLBACK = "https://app.softgarden.io/api/rest/v3/frontend/assessmentProvider/invitationRequiresUpdate"
CREDENTIALS = {"notify_client_id": "sg-client", "notify_client_secret": "sg-secret"}
CATALOG = [
    {"remote_id": "py-senior", "name": "Python (Senior)", "description": "Ninety minutes."},
    {"remote_id": "sql-basics", "name": "SQL Basics"},
]
ERROR_KEYS = {"statusCode", "message", "timestamp", "request_id", "errors", "provider_errors"}
T0 = datetime(2026, 3, 26, 10, 0, 0, 123456, tzinfo=UTC)

_ORDER = OrderView(
    id="ord_1",
    account_id="acc_1",
    remote_id=None,
    status="open",
    package={"id": "pkg_1", "remote_id": "py-senior", "name": "Python (Senior)", "description": None},
    candidate={"first_name": "Jane", "emails": [{"type": None, "value": "jane@example.com"}]},
    application={"remote_id": "app-1"},
    job=None,
    requester=None,
    passthrough=None,
    test_url=None,
    deadline=None,
    partner_callback_url=CALLBACK,
    candidate_link="https://gw.example.com/t/tok",
    received_from_partner=True,
    erased=False,
    version=1,
    created_at=T0,
    updated_at=T0,
)
_RESULT = ResultView(
    id="res_1",
    score=None,
    result_value=None,
    result_source_value=None,
    result_url=None,
    summary=None,
    start_date=None,
    submission_date=None,
)


def order_view(**changes: Any) -> OrderView:
    """An order as the core hands it to the connector, with ``changes``."""
    return replace(_ORDER, **changes)


def result_view(**changes: Any) -> ResultView:
    return replace(_RESULT, **changes)


def account_context(credentials: dict[str, Any], settings: dict[str, Any] | None = None) -> Context:
    """A context holding only the account: what ``deliver_result`` reads. The ports are
    absent, so a connector that reached for one would fail the test."""
    absent: Any = None
    account = AccountSnapshot(
        id="acc_1",
        provider="softgarden",
        status="active",
        credentials=credentials,
        settings={"callback_hosts": ["*.softgarden.io"]} if settings is None else settings,
    )
    return Context(
        account=account,
        http=absent,
        tokens=absent,
        cache=absent,
        orders=absent,
        catalog=absent,
        defer=absent,
        public_url="https://gw.example.com",
        clock=time.time,
        sleep=time.sleep,
    )


def error_body(response: Any, status: int) -> dict[str, Any]:
    """Assert a contract error (CONTRACT §1.3) with ``status``; return its body."""
    assert response.status_code == status, (response.status_code, response.content[:1000])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["statusCode"] == status
    return body


def bearer_client(key: str | None) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}") if key is not None else Client()


@dataclass
class Softgarden:
    tenant: TenantHandle
    account: dict[str, Any]
    key: str
    partner: Client = field(init=False)
    vendor: APIClient = field(init=False)

    def __post_init__(self) -> None:
        self.partner = bearer_client(self.key)
        self.vendor = self.tenant.unified(self.account["id"])

    @property
    def id(self) -> str:
        return self.account["id"]

    # softgarden's side

    def invite(
        self,
        test_id: Any = "py-senior",
        *,
        candidate_id: Any = None,
        callback: str = CALLBACK,
        client: Client | None = None,
        **person: Any,
    ) -> Any:
        candidate = {
            "id": candidate_id or str(uuid.uuid4()),
            "firstName": "Jane",
            "lastName": "Doe",
            "email": "jane.doe@example.com",
            **person,
        }
        body = {"testId": test_id, "candidate": candidate, "callback": callback}
        return (client or self.partner).post(f"{PREFIX}/invitations", json.dumps(body), content_type="application/json")

    def invitation(self, **kwargs: Any) -> dict[str, Any]:
        response = self.invite(**kwargs)
        assert response.status_code == 200, response.content
        return response.json()

    def result(self, invitation_id: str, client: Client | None = None) -> Any:
        return (client or self.partner).get(f"{PREFIX}/results/{invitation_id}")

    def delete(self, invitation_id: str, client: Client | None = None) -> Any:
        return (client or self.partner).delete(f"{PREFIX}/invitations/{invitation_id}")

    # the vendor's side

    def set_test_url(self, order_id: str, test_url: str) -> dict[str, Any]:
        response = self.vendor.patch(
            f"/unified/ats/assessments/orders/{order_id}", {"test_url": test_url}, format="json"
        )
        assert response.status_code == 200, response.content
        return response.json()["data"]

    def report(self, order_id: str, body: dict[str, Any]) -> None:
        response = self.vendor.patch(f"/unified/ats/assessments/orders/{order_id}/result", body, format="json")
        assert response.status_code == 200, response.content

    def publish(self, packages: list[dict[str, Any]]) -> None:
        response = self.vendor.put("/unified/ats/assessments/packages", {"packages": packages}, format="json")
        assert response.status_code == 200, response.content


@pytest.fixture
def link_softgarden() -> Callable[..., Softgarden]:
    def link(
        tenant: TenantHandle,
        *,
        settings: dict[str, Any] | None = None,
        credentials: dict[str, Any] | None = None,
        catalog: list[dict[str, Any]] | None = None,
    ) -> Softgarden:
        body: dict[str, Any] = {"label": "softgarden", "credentials": credentials or CREDENTIALS}
        if settings is not None:
            body["settings"] = settings
        account = tenant.link("softgarden", **body)
        linked = Softgarden(tenant=tenant, account=account, key=account["inbound"]["api_key"])
        linked.publish(CATALOG if catalog is None else catalog)
        return linked

    return link


@pytest.fixture
def sg(tenant: TenantHandle, link_softgarden: Callable[..., Softgarden]) -> Softgarden:
    return link_softgarden(tenant)


@pytest.fixture
def other_sg(other_tenant: TenantHandle, link_softgarden: Callable[..., Softgarden]) -> Softgarden:
    """Another tenant's softgarden account, with a catalog using the same test ids."""
    return link_softgarden(other_tenant)
