"""Fixtures of the hardening suite: the TestDome simulator on loopback, and two fully
populated tenants (``world`` and ``other_world``) on the real connectors. Also registers
the session-wide log capture of ``log_capture`` (every credential searched for in every
log record of the run)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from connectors.testdome.simulator import TestDomeSimulator
from gateway.sdk.loopback import LoopbackServer
from tests.hardening.log_capture import (  # noqa: F401  (the session-wide secrets-in-logs check)
    pytest_configure,
    pytest_runtest_setup,
    pytest_runtestloop,
    pytest_sessionfinish,
)
from tests.hardening.world import TD_EMAIL, World, build_world


@dataclass(frozen=True)
class Simulator:
    sim: TestDomeSimulator
    url: str
    password: str


@pytest.fixture(scope="session")
def td_sim() -> Iterator[Simulator]:
    """One TestDome for the whole session; every world gets its own tests in it."""
    password = f"td-pass-{secrets.token_hex(12)}"
    sim = TestDomeSimulator(email=TD_EMAIL, api_password=password)
    with LoopbackServer(sim) as server:
        yield Simulator(sim=sim, url=server.url, password=password)


@pytest.fixture(autouse=True)
def _no_rate_limit(settings: Any) -> None:
    """The fuzzer and the matrix send thousands of requests with one key; the limit
    itself is tested in tests/api."""
    settings.GATEWAY_RATE_LIMIT = "1000000/min"


def _world(make_tenant: Any, td_sim: Simulator, name: str) -> World:
    tenant = make_tenant(f"{name}-{secrets.token_hex(3)}")
    test_id = td_sim.sim.add_test(f"Python {name}", cutoff_score=60)
    return build_world(tenant, td_url=td_sim.url, td_password=td_sim.password, td_test_id=test_id)


@pytest.fixture
def world(make_tenant: Any, td_sim: Simulator) -> World:
    return _world(make_tenant, td_sim, "acme")


@pytest.fixture
def other_world(make_tenant: Any, td_sim: Simulator) -> World:
    return _world(make_tenant, td_sim, "globex")


@pytest.fixture
def in_process_wsgi() -> Iterator[None]:
    """Call the real WSGI application inside the test's transaction.

    Django closes "old" connections at each request's start and end; inside a test
    transaction that would discard it. Django's own test client disconnects the same
    two handlers around each request; this does it around the whole test.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
