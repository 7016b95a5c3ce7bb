"""Fixtures for the TestDome connector: the simulator on real loopback HTTP, a TestDome
account linked through the platform API, a connector ``Context`` built by the core with
an injectable clock and sleep, webhook replay and the core's reconciliation.

TestDome's webhook POSTs are captured over real HTTP by a loopback receiver and then
replayed into the gateway through Django's test client, so they run inside the test's
database transaction (a second thread could not see its uncommitted rows). Background
work runs inline (``GATEWAY_TASK_RUNNER=sync``): the test client closes each response,
which queues the core's webhook processing, which then runs at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache

from connectors.testdome.connector import TestDomeConnector
from connectors.testdome.simulator import TestDomeSimulator
from gateway.assessments.pipeline import provider_reconcile
from gateway.ports import context_for
from gateway.registry import override_registry
from gateway.sdk import Context
from gateway.sdk.loopback import LoopbackServer
from gateway.tenancy.models import Account

EMAIL, PASSWORD = "recruiter@acme.example", "td-api-pass-7Yq2xK"
CLIENT_ID, CLIENT_SECRET = "td-client-42", "td-client-secret-Zr81"
REPLY_TO = "hr@acme.example"
RESULTS_URL = "https://ats.acme.example/assessments/results/123"
ORDERS = "/unified/ats/assessments/orders"


class Slot:
    """A loopback server whose WSGI app each test swaps (stopping a server is slow)."""

    def __init__(self) -> None:
        self.app: Any = None
        self.server = LoopbackServer(self)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Hit:
    path: str
    body: bytes
    content_type: str
    headers: dict[str, str]


class Recorder:
    """Stands where the gateway's webhook URL would be: records every POST, answers 200."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        with self._lock:
            self.hits.append(Hit(environ["PATH_INFO"], body, environ.get("CONTENT_TYPE", ""), headers))
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    def take(self) -> list[Hit]:
        with self._lock:
            hits, self.hits = self.hits, []
        return hits


class Clock:
    """A wall clock for the context: starts at real time, moves only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def slots() -> Iterator[tuple[Slot, Slot]]:
    api_slot, hook_slot = Slot(), Slot()
    with api_slot.server, hook_slot.server:
        yield api_slot, hook_slot


@pytest.fixture(autouse=True)
def _isolated(settings: Any) -> Iterator[None]:
    """Background work runs inline. Cache keys carry the account id, unique per test; the
    in-process cache is also emptied, but a shared Redis is never flushed (other test runs
    may be using it)."""
    settings.GATEWAY_TASK_RUNNER = "sync"
    _forget_local_cache(settings)
    yield
    _forget_local_cache(settings)


def _forget_local_cache(settings: Any) -> None:
    cache.delete("reconcile:account_cursor:testdome")
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()


@pytest.fixture
def recorder(slots: tuple[Slot, Slot]) -> Recorder:
    slots[1].app = Recorder()
    return slots[1].app


@pytest.fixture
def sim(slots: tuple[Slot, Slot], recorder: Recorder) -> TestDomeSimulator:
    simulator = TestDomeSimulator(
        email=EMAIL,
        api_password=PASSWORD,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_url=f"{slots[1].url}/hook",
    )
    slots[0].app = simulator
    return simulator


@pytest.fixture
def sim_url(sim: TestDomeSimulator, slots: tuple[Slot, Slot]) -> str:
    return slots[0].url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connector() -> Iterator[TestDomeConnector]:
    """A registry holding only TestDome, so the other connectors' state cannot matter."""
    instance = TestDomeConnector()
    with override_registry(instance):
        yield instance


def account_settings(sim_url: str, **extra: Any) -> dict[str, Any]:
    return {"api_base_url": sim_url + "/v3", "token_url": sim_url + "/token", "reply_to": REPLY_TO, **extra}


@pytest.fixture
def account(tenant: Any, connector: TestDomeConnector, sim_url: str) -> dict[str, Any]:
    return tenant.link(
        "testdome",
        label="TestDome",
        credentials={"email": EMAIL, "api_password": PASSWORD},
        settings=account_settings(sim_url),
    )


@pytest.fixture
def make_ctx(clock: Clock, sleeps: list[float]) -> Any:
    """The core's ``Context`` for a linked account, on the test's clock and sleep."""

    def build(account_id: str, **overrides: Any) -> Context:
        return context_for(Account.objects.get(pk=account_id), clock=clock, sleep=sleeps.append, **overrides)

    return build


@pytest.fixture
def ctx(account: dict[str, Any], make_ctx: Any) -> Context:
    return make_ctx(account["id"])


@pytest.fixture
def api(tenant: Any, account: dict[str, Any]) -> Any:
    return tenant.unified(account["id"])


@pytest.fixture
def webhook_path(account: dict[str, Any]) -> str:
    return urlsplit(account["inbound"]["webhook_url"]).path


@pytest.fixture
def deliver(sim: TestDomeSimulator, recorder: Recorder, client: Any, webhook_path: str) -> Any:
    """Have the simulator send its queued webhooks (real HTTP), then replay each one into
    the gateway; returns the gateway's responses (each processed once it was answered)."""

    def run() -> list[Any]:
        sim.deliver_webhooks()
        return [
            client.post(
                webhook_path,
                data=hit.body,
                content_type=hit.content_type,
                headers={"X-TestDome-CorrelationId": hit.headers.get("x-testdome-correlationid", "")},
            )
            for hit in recorder.take()
        ]

    return run


def reconcile() -> int:
    """One run of the core's reconciliation for TestDome; how many orders changed."""
    return provider_reconcile("testdome")


def order_body(test_id: int | str, email: str = "jane.doe@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "package": {"remote_id": str(test_id)},
        "candidate": {"first_name": "Jane", "last_name": "Doe", "emails": [{"type": "personal", "value": email}]},
        "job": {"title": "Backend engineer"},
        "results_update_url": RESULTS_URL,
        **extra,
    }


@pytest.fixture
def place_order(api: Any, sim: TestDomeSimulator) -> Any:
    """POST an order for a fresh test; returns ``(response body, sim candidate id)``."""

    def run(
        email: str = "jane.doe@example.com", test_id: int | None = None, **extra: Any
    ) -> tuple[dict[str, Any], int]:
        test_id = test_id or sim.add_test("Python backend", cutoff_score=60)
        response = api.post(ORDERS, order_body(test_id, email, **extra), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        return body, int(body["remote_id"])

    return run
