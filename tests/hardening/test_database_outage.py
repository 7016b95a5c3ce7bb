"""While the database is down, every kind of endpoint answers 503 in the contract's error
body with ``Retry-After``, never a 500 or a stack trace. Simulated here by making the
first query fail (on any database); ``test_faults.py`` restarts a real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from tests.conftest import basic
from tests.hardening.world import World
from tests.helpers import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[OperationalError, InterfaceError], ids=["OperationalError", "InterfaceError"])
def database_down(request: Any) -> Iterator[None]:
    """Every query raises what psycopg raises when the server is gone."""
    error = request.param

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise error("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    with connection.execute_wrapper(refuse):
        yield


def _calls(world: World) -> dict[str, Any]:
    """One request per kind of endpoint (``world`` was built before the outage began)."""
    key = basic(world.tenant.api_key)
    client = Client(raise_request_exception=False)
    return {
        "platform": lambda: client.get("/accounts", HTTP_AUTHORIZATION=key),
        "platform write": lambda: client.post(
            "/webhook_endpoints",
            {"url": "https://x.example/h", "events": ["*"]},
            content_type="application/json",
            HTTP_AUTHORIZATION=key,
        ),
        "unified": lambda: client.get(
            "/unified/ats/assessments/orders", HTTP_AUTHORIZATION=key, HTTP_X_ACCOUNT_ID=world.gh_account
        ),
        "idempotent write": lambda: client.put(
            "/unified/ats/assessments/packages",
            {"packages": []},
            content_type="application/json",
            HTTP_AUTHORIZATION=key,
            HTTP_X_ACCOUNT_ID=world.gh_account,
            HTTP_IDEMPOTENCY_KEY="k-1",
        ),
        "greenhouse": lambda: client.get("/connectors/greenhouse/list_tests", HTTP_AUTHORIZATION=basic(world.gh_key)),
        "softgarden": lambda: client.get("/connectors/softgarden/tests", HTTP_AUTHORIZATION=f"Bearer {world.sg_key}"),
        "testdome": lambda: client.post(
            f"/connectors/testdome/webhooks/{world.td_token}", {"candidateId": 1}, content_type="application/json"
        ),
        "candidate link": lambda: client.get(f"/t/{world.link_token}"),
    }


def test_every_endpoint_answers_503_while_the_database_is_down(world: World, database_down: None) -> None:
    for label, call in _calls(world).items():
        response = call()
        body = error_of(response, 503)
        assert "database" in body["message"].lower(), label
        assert response["Retry-After"].isdigit(), label


def test_health_says_which_dependency_is_down(world: World, database_down: None) -> None:
    response = Client().get("/health")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
