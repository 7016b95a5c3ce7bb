"""Fixtures for the Greenhouse connector: a registry holding it, a linked account with a
published catalog, a Django client that calls the partner endpoints as Greenhouse, and
the context the core hands the connector for that account."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from connectors.greenhouse.connector import GreenhouseConnector
from gateway.registry import override_registry
from gateway.sdk import Context
from tests.conftest import TenantHandle, basic

BASE = "/connectors/greenhouse"
CATALOG = [
    {"remote_id": "tpl-backend-01", "name": "Backend debugging (45 min)"},
    {"remote_id": "tpl-sql-02", "name": "SQL fundamentals"},
]
PROFILE_URL = "https://app.greenhouse.io/people/5550001?application_id=7770002"
CALLBACK_URL = "https://app.greenhouse.io/integrations/testing_partners/take_home_tests/9990003"


def send_test_body(**changes: Any) -> dict[str, Any]:
    """The documented send_test body, with top-level changes."""
    body = {
        "partner_test_id": "tpl-backend-01",
        "candidate": {
            "first_name": "Ada",
            "last_name": "Nakamura",
            "preferred_name": None,
            "resume_url": "https://files.example-signed-host.test/resume/abc?sig=x",
            "phone_number": None,
            "email": "ada.n@example.org",
            "greenhouse_profile_url": PROFILE_URL,
        },
        "sent_by": "recruiter@customer.example",
        "url": CALLBACK_URL,
    }
    body.update(changes)
    return body


@pytest.fixture(autouse=True)
def greenhouse_registry() -> Iterator[None]:
    with override_registry(GreenhouseConnector()):
        yield


class PartnerClient:
    """Calls the partner endpoints the way Greenhouse does: Basic ``<key>:``, JSON bodies."""

    def __init__(self, key: str | None) -> None:
        headers = {"HTTP_AUTHORIZATION": basic(key)} if key is not None else {}
        self.client = Client(**headers)

    def get(self, endpoint: str, **params: str) -> Any:
        return self.client.get(f"{BASE}/{endpoint}", params)

    def post(self, endpoint: str, body: Any, **extra: Any) -> Any:
        raw = body if isinstance(body, bytes | str) else json.dumps(body)
        extra.setdefault("content_type", "application/json")
        return self.client.post(f"{BASE}/{endpoint}", raw, **extra)

    def send_test(self, **changes: Any) -> str:
        response = self.post("send_test", send_test_body(**changes))
        assert response.status_code == 200, response.content
        return response.json()["partner_interview_id"]

    def status(self, interview_id: str) -> Any:
        return self.get("test_status", partner_interview_id=interview_id)


@dataclass
class GreenhouseAccount:
    tenant: TenantHandle
    id: str
    key: str
    linked: dict[str, Any]
    partner: PartnerClient = field(init=False)

    def __post_init__(self) -> None:
        self.partner = PartnerClient(self.key)

    def unified(self) -> Any:
        return self.tenant.unified(self.id)

    def publish(self, packages: list[dict[str, Any]]) -> None:
        response = self.unified().put("/unified/ats/assessments/packages", {"packages": packages}, format="json")
        assert response.status_code == 200, response.content

    def report_result(self, order_id: str, body: dict[str, Any]) -> None:
        response = self.unified().patch(f"/unified/ats/assessments/orders/{order_id}/result", body, format="json")
        assert response.status_code == 200, response.content

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.unified().get(f"/unified/ats/assessments/orders/{order_id}")
        assert response.status_code == 200, response.content
        return response.json()["data"]

    def context(self) -> Context:
        """What the core hands the connector for this account (a fresh snapshot)."""
        from gateway.ports import context_for
        from gateway.tenancy.models import Account

        return context_for(Account.objects.get(id=self.id))

    def subscribe(self, events: list[str], url: str = "https://hooks.example.com/gw") -> str:
        response = self.tenant.client.post("/webhook_endpoints", {"url": url, "events": events}, format="json")
        assert response.status_code == 201, response.content
        return response.json()["id"]


def link_greenhouse(tenant: TenantHandle, *, publish: bool = True, **body: Any) -> GreenhouseAccount:
    linked = tenant.link("greenhouse", label="Greenhouse", **body)
    account = GreenhouseAccount(tenant=tenant, id=linked["id"], key=linked["inbound"]["api_key"], linked=linked)
    if publish:
        account.publish(CATALOG)
    return account


@pytest.fixture
def gh(tenant: TenantHandle) -> GreenhouseAccount:
    return link_greenhouse(tenant)


FINAL_RESULT = {
    "score": {"label": "Points", "value": "42", "min": "0", "max": "50"},
    "result": {"value": "passed", "source_value": "PASS"},
    "result_url": "https://vendor.example/results/r-1",
    "summary": "Strong debugging approach",
    "start_date": "2026-03-02T14:05:00Z",
    "submission_date": "2026-03-02T14:49:00Z",
}


class FakeClock:
    """Epoch seconds that only move when someone sleeps: rate limits without waiting."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(start if start is not None else time.time()))
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
