"""An Ashby account seen from both sides: Ashby calling the RPCs (Basic ``<key>:``) and
the assessment vendor, i.e. the tenant, on the unified API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from connectors.ashby.connector import AshbyConnector
from connectors.ashby.simulator import AshbySimulator
from gateway.registry import override_registry
from tests.conftest import TenantHandle, basic

BASE = "/connectors/ashby"
API_KEY = "ashby-customer-key"
CATALOG = [
    {"remote_id": "py-senior", "name": "Python (Senior)", "description": "Ninety minutes."},
    {"remote_id": "sql-basics", "name": "SQL Basics"},
]
FINAL_RESULT = {
    "score": {"label": "Points", "value": "42", "min": "0", "max": "50"},
    "result": {"value": "passed", "source_value": "PASS"},
    "result_url": "https://vendor.example/results/r-1",
    "summary": "Strong debugging approach",
    "start_date": "2026-03-02T14:05:00Z",
    "submission_date": "2026-03-02T14:49:00Z",
}


@pytest.fixture(autouse=True)
def ashby_registry() -> Iterator[None]:
    with override_registry(AshbyConnector()):
        yield


class PartnerClient:
    """Calls the RPCs the way Ashby does: POST, a JSON body, Basic ``<key>:``."""

    def __init__(self, authorization: str | None) -> None:
        self.client = Client(**({"HTTP_AUTHORIZATION": authorization} if authorization else {}))

    def post(self, rpc: str, body: Any = None, **extra: Any) -> Any:
        raw = body if isinstance(body, bytes | str) else json.dumps({} if body is None else body)
        extra.setdefault("content_type", "application/json")
        return self.client.post(f"{BASE}/{rpc}", raw, **extra)


@dataclass
class AshbyAccount:
    tenant: TenantHandle
    id: str
    key: str
    linked: dict[str, Any]
    partner: PartnerClient = field(init=False)

    def __post_init__(self) -> None:
        self.partner = PartnerClient(basic(self.key))

    def unified(self) -> Any:
        return self.tenant.unified(self.id)

    def publish(self, packages: list[dict[str, Any]]) -> None:
        response = self.unified().put("/unified/ats/assessments/packages", {"packages": packages}, format="json")
        assert response.status_code == 200, response.content

    def type_ids(self) -> dict[str, str]:
        """Package name → ``assessment_type_id``, read from ``assessment.list``."""
        response = self.partner.post("assessment.list", {})
        assert response.status_code == 200, response.content
        return {item["name"]: item["assessment_type_id"] for item in response.json()["results"]}

    def start(self, type_id: str, **details: Any) -> Any:
        return self.partner.post("assessment.start", AshbySimulator().start_body(type_id, **details))

    def started(self, type_id: str, **details: Any) -> str:
        response = self.start(type_id, **details)
        assert response.status_code == 200, response.content
        return response.json()["results"]["assessment_id"]

    def orders(self) -> list[dict[str, Any]]:
        response = self.unified().get("/unified/ats/assessments/orders")
        assert response.status_code == 200, response.content
        return response.json()["data"]

    def order_for(self, assessment_id: str) -> dict[str, Any]:
        found = [order for order in self.orders() if (order["passthrough"] or {}).get("assessment_id") == assessment_id]
        assert len(found) == 1, found
        return found[0]

    def report_result(self, order_id: str, body: dict[str, Any]) -> None:
        response = self.unified().patch(f"/unified/ats/assessments/orders/{order_id}/result", body, format="json")
        assert response.status_code == 200, response.content


def link_ashby(tenant: TenantHandle, *, publish: bool = True, **body: Any) -> AshbyAccount:
    body.setdefault("credentials", {"api_key": API_KEY})
    linked = tenant.link("ashby", label="Ashby", **body)
    account = AshbyAccount(tenant=tenant, id=linked["id"], key=linked["inbound"]["api_key"], linked=linked)
    if publish:
        account.publish(CATALOG)
    return account


@pytest.fixture
def ashby(tenant: TenantHandle) -> AshbyAccount:
    return link_ashby(tenant)
