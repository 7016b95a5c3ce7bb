"""The OpenAPI schema, the docs page and the health check (CONTRACT §2)."""

from __future__ import annotations

import json

import yaml
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

UNIFIED_PATHS = {
    "/unified/ats/assessments/packages",
    "/unified/ats/assessments/packages/{package_id}",
    "/unified/ats/assessments/orders",
    "/unified/ats/assessments/orders/{order_id}",
    "/unified/ats/assessments/orders/{order_id}/result",
    "/unified/ats/assessments/results",
    "/unified/ats/assessments/results/{result_id}",
}
PLATFORM_PATHS = {
    "/connectors", "/accounts", "/accounts/{account_id}", "/accounts/{account_id}/inbound_key",
    "/webhook_endpoints", "/webhook_endpoints/{endpoint_id}", "/signing_secret", "/health",
}


def test_the_schema_generates_and_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert UNIFIED_PATHS | PLATFORM_PATHS <= set(schema["paths"])
    operation_ids = [
        operation["operationId"] for path in schema["paths"].values() for operation in path.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))
    assert {"basicAuth", "bearerAuth", "greenhouseInboundKey", "softgardenInboundKey"} <= set(
        schema["components"]["securitySchemes"]
    )
    assert schema["paths"]["/accounts"]["get"]["security"] == [{"basicAuth": []}, {"bearerAuth": []}]


def test_openapi_json_is_served_without_auth(db):
    response = APIClient().get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema = json.loads(response.content)  # JSON, as the path says (not YAML)
    assert UNIFIED_PATHS <= set(schema["paths"])
    order_list = schema["paths"]["/unified/ats/assessments/orders"]
    assert {"get", "post"} <= set(order_list)
    headers = [p["name"] for p in order_list["get"]["parameters"] if p["in"] == "header"]
    assert "x-account-id" in headers


def test_docs_page_is_served_without_auth(db):
    response = APIClient().get("/docs")
    assert response.status_code == 200
    content = response.content.decode()
    assert "swagger" in content.lower()
    assert "/openapi.json" in content


def test_health(db):
    response = APIClient().get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok" if settings.REDIS_URL else "embedded",
    }
    assert response["X-Request-Id"].startswith("req_")
