"""Faults with real processes: Celery worker and beat, a private Redis, gunicorn, the test
PostgreSQL, and receivers that count what arrives and in which order.

* 1,000 deliveries (100 orders, 10 result updates each) with the worker SIGKILLed
  mid-way: nothing lost, and per order the receiver never sees an older result after a
  newer one (the envelope's ``data.result.score.value`` never goes down).
* A partner that answers 500 for a while, and one that hangs past
  ``GATEWAY_OUTBOUND_TIMEOUT``, then recover: everything delivered, in order.
* PostgreSQL stopped and started while deliveries flow and the API is called: the API
  answers 503 in the contract's error body (never a 500, never hanging) while it is
  down, recovers, and nothing is lost. This one stops the machine's PostgreSQL for a
  few seconds, which every other user of it notices: it is last, and CI runs the suite
  alone.

PostgreSQL only (worker processes cannot share an in-memory SQLite database). Reuses the
harness of ``tests/delivery/test_faults.py``; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from gateway.assessments.models import Order, Package
from gateway.assessments.services import order_receive, result_update
from gateway.delivery.models import Delivery, DeliveryKind, DeliveryStatus
from gateway.sdk.loopback import LoopbackServer
from gateway.tenancy.models import Account
from tests.conftest import TenantHandle, basic
from tests.delivery.test_faults import VENV_BIN, PrivateRedis, Process, _free_port, _wait
from tests.hardening.log_capture import find_leaks, known_secrets
from tests.helpers import ERROR_KEYS

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OUTBOUND_TIMEOUT = 1.0  # seconds; the "hang" receiver holds requests three times as long
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Receiver:
    """Where deliveries land: tenant webhooks (``/hook``, the order's state inside) and
    softgarden notifications (``/notify``). Can answer 500, or hang, until a deadline.

    What arrives is recorded on arrival, before the small delay that keeps deliveries
    in flight long enough for faults to land mid-send.
    """

    delay: float = 0.005
    fault: str = ""  # "500" or "hang", from the first request on, for ``fault_seconds``
    fault_seconds: float = 0.0
    fault_until: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    events: Counter[str] = field(default_factory=Counter)
    scores: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    notifications: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    hung: int = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        now = time.monotonic()
        with self.lock:
            if self.fault_until is None:
                self.fault_until = now + self.fault_seconds
            failing = now < self.fault_until
            self.hung += failing and self.fault == "hang"
            self.refused += failing and self.fault == "500"
        if failing and self.fault == "hang":
            time.sleep(OUTBOUND_TIMEOUT * 3)
            start_response("200 OK", [])  # far too late: the gateway gave up long ago
            return [b""]
        if failing and self.fault == "500":
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"partner down"]
        body = json.loads(raw or b"{}")
        with self.lock:
            if environ["PATH_INFO"] == "/notify":
                self.notifications[body["invitationId"]] += 1
            else:
                self.events[environ.get("HTTP_WEBHOOK_ID", "")] += 1
                order = body["data"]
                score = ((order.get("result") or {}).get("score") or {}).get("value")
                self.scores[order["id"]].append(int(score or 0))
        time.sleep(self.delay)
        start_response("204 No Content", [])
        return [b""]

    def received(self) -> int:
        with self.lock:
            return len(self.events)

    def out_of_order(self) -> dict[str, list[int]]:
        with self.lock:
            return {order: seen for order, seen in self.scores.items() if seen != sorted(seen)}


@dataclass
class Stack:
    redis: PrivateRedis
    receiver: Receiver
    url: str
    tmp: Path
    env: dict[str, str]
    worker: Process
    beat: Process

    def logs(self, full: bool = False) -> str:
        """The processes' logs: their ends (for a failure message), or all of them."""
        return "\n".join(
            f"--- {name}.log ---\n" + (self.tmp / f"{name}.log").read_text(errors="replace")[0 if full else -3000 :]
            for name in ("worker", "beat", "gunicorn")
            if (self.tmp / f"{name}.log").exists()
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL: worker processes cannot share an in-memory SQLite database")
    if shutil.which("redis-server") is None:
        pytest.skip("Needs redis-server to run a private Redis")
    redis = PrivateRedis(tmp_path)
    redis.start()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis.url,
        "GATEWAY_TASK_RUNNER": "celery",
        # Drains start a row only while their lease outlasts its slowest send (twice the
        # outbound timeout): 10 s leave each batch 8 s.
        "GATEWAY_DELIVERY_LEASE_SECONDS": "10",
        "GATEWAY_SWEEP_SECONDS": "1",
        "GATEWAY_DELIVERY_BACKOFF": "1,1,1,2,2,2,3,3,3,5,5,5,8,8,8,13,13",
        "GATEWAY_OUTBOUND_TIMEOUT": str(OUTBOUND_TIMEOUT),
        "GATEWAY_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
        "GATEWAY_RATE_LIMIT": "1000000/min",
    }
    celery = str(VENV_BIN / "celery")
    worker = Process(
        [
            celery,
            "-A",
            "gateway",
            "worker",
            "--pool=prefork",
            "--concurrency=4",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        env,
        tmp_path / "worker.log",
    )
    beat = Process(
        [celery, "-A", "gateway", "beat", "--loglevel=INFO", "--schedule", str(tmp_path / "beat-schedule")],
        env,
        tmp_path / "beat.log",
    )
    receiver = Receiver()
    server = LoopbackServer(receiver).start()
    try:
        yield Stack(redis, receiver, server.url, tmp_path, env, worker, beat)
    finally:
        for process in (worker, beat):
            process.stop()
        server.stop()
        redis.stop()
        connection.close()


def _ats_orders(tenant: TenantHandle, hook_url: str, count: int) -> tuple[Account, list[Order]]:
    """``count`` Greenhouse orders (with no Greenhouse callback: their partner rows have
    nothing to send) and a webhook endpoint for their updates."""
    response = tenant.client.post(
        "/webhook_endpoints", {"url": hook_url, "events": ["ats_assessments.updated"]}, format="json"
    )
    assert response.status_code == 201, response.content
    account = Account.objects.get(id=tenant.link("greenhouse")["id"])
    package = Package.objects.create(account=account, remote_id="t1", name="Test")
    orders = [
        order_receive(account=account, source_key=f"src-{n}", package=package, fields={})[0] for n in range(count)
    ]
    return account, orders


def _report(order: Order, score: int, final: bool = False) -> None:
    result_update(
        order=order,
        data={
            "score": {"label": "points", "value": str(score), "min": "0", "max": "100"},
            "result": {"value": "passed" if final else "in_progress"},
        },
    )


def _webhook_event_ids(account: Account) -> set[str]:
    return set(Delivery.objects.filter(account=account, kind=DeliveryKind.WEBHOOK).values_list("event_id", flat=True))


def _assert_all_delivered_in_order(stack: Stack, account: Account, orders: list[Order], last_score: int) -> None:
    expected = _webhook_event_ids(account)
    receiver = stack.receiver
    _wait(lambda: receiver.received() >= len(expected), 240, f"{len(expected)} deliveries\n" + stack.logs())
    with receiver.lock:
        missing = expected - set(receiver.events)
        duplicates = sum(n - 1 for n in receiver.events.values() if n > 1)
        last = {order.id: receiver.scores[order.id][-1] for order in orders}
    assert not missing, f"{len(missing)} deliveries never arrived"
    assert not receiver.out_of_order(), f"older states after newer ones: {receiver.out_of_order()}"
    assert set(last.values()) == {last_score}, "every order's newest state must arrive last"
    _wait(
        lambda: not Delivery.objects.filter(account=account, status=DeliveryStatus.PENDING).exists(),
        60,
        "the outbox to settle",
    )
    assert not Delivery.objects.filter(account=account).exclude(status=DeliveryStatus.SUCCEEDED).exists()
    # The worker, beat and gunicorn write their own logs, outside this process's capture.
    leaks = find_leaks(stack.logs(full=True), known_secrets())
    assert not leaks, "Credentials in the processes' logs:\n" + "\n".join(leaks)
    print(f"\n{len(expected)} delivered, 0 lost, 0 out of order, {duplicates} duplicates")


def test_a_worker_killed_in_the_middle_of_1000_deliveries_loses_and_reorders_nothing(
    stack: Stack, tenant: TenantHandle
) -> None:
    account, orders = _ats_orders(tenant, stack.url + "/hook", 100)
    for score in range(1, 5):  # ten result updates per order: four before the workers start…
        for order in orders:
            _report(order, score)
    stack.worker.start()
    stack.beat.start()
    killed_at: int | None = None
    for score in range(5, 11):  # …and six while deliveries flow, so states change mid-send
        for order in orders:
            _report(order, score, final=score == 10)
        if killed_at is None and stack.receiver.received() >= 150:
            killed_at = stack.receiver.received()
            stack.worker.kill()
            stack.worker.start()
    if killed_at is None:
        _wait(lambda: stack.receiver.received() >= 150, 120, "the first deliveries\n" + stack.logs())
        killed_at = stack.receiver.received()
        stack.worker.kill()
        stack.worker.start()
    assert killed_at < 1000, "the kill must land mid-delivery"
    print(f"\nworker SIGKILLed after {killed_at} of 1000 deliveries")
    assert len(_webhook_event_ids(account)) == 1000
    _assert_all_delivered_in_order(stack, account, orders, last_score=10)


def _softgarden_orders(tenant: TenantHandle, stack: Stack, count: int) -> tuple[Account, list[Order]]:
    """softgarden invitations whose callback is the receiver (notifications), plus a
    webhook endpoint on the same receiver (the order's state)."""
    linked = tenant.link(
        "softgarden",
        credentials={"notify_client_id": "sg-id", "notify_client_secret": "sg-secret-faults"},
        settings={"callback_hosts": ["127.0.0.1"]},
    )
    vendor = tenant.unified(linked["id"])
    response = vendor.put(
        "/unified/ats/assessments/packages", {"packages": [{"remote_id": "t1", "name": "T"}]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (
        tenant.client.post(
            "/webhook_endpoints", {"url": stack.url + "/hook", "events": ["ats_assessments.updated"]}, format="json"
        ).status_code
        == 201
    )
    partner = Client(HTTP_AUTHORIZATION=f"Bearer {linked['inbound']['api_key']}")
    ids = []
    for n in range(count):
        body = {"testId": "t1", "candidate": {"id": f"app-{n}"}, "callback": stack.url + "/notify"}
        answer = partner.post("/connectors/softgarden/invitations", json.dumps(body), content_type="application/json")
        assert answer.status_code == 200, answer.content
        ids.append(answer.json()["invitationId"])
    account = Account.objects.get(id=linked["id"])
    return account, list(Order.objects.filter(id__in=ids))


@pytest.mark.parametrize("fault", ["answers 500", "hangs past the timeout"])
def test_a_partner_that_fails_for_a_while_gets_everything_in_order(
    stack: Stack, tenant: TenantHandle, fault: str
) -> None:
    account, orders = _softgarden_orders(tenant, stack, 20)
    for score in (1, 2, 3):
        for order in orders:
            _report(order, score, final=score == 3)
    stack.receiver.fault = "500" if fault == "answers 500" else "hang"
    stack.receiver.fault_seconds = 6  # from the first request it receives
    stack.worker.start()
    stack.beat.start()
    _assert_all_delivered_in_order(stack, account, orders, last_score=3)
    receiver = stack.receiver
    assert (receiver.refused if fault == "answers 500" else receiver.hung) > 0, "the fault never happened"
    notified = Delivery.objects.filter(account=account, kind=DeliveryKind.PARTNER)
    assert notified.count() == 60 and not notified.exclude(status=DeliveryStatus.SUCCEEDED).exists()
    assert set(receiver.notifications) == {order.id for order in orders}
    assert Delivery.objects.filter(account=account, attempts__gt=1).exists(), "nothing was retried"


# --- PostgreSQL restart: keep last ----------------------------------------------------------


def _pg_cluster(action: str) -> None:
    """``pg_ctlcluster`` as .ci/run starts the cluster (stop's default mode is fast:
    open connections are cut, as in a crash of the server's host)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        timeout=120,
        capture_output=True,
    )


def _can_restart_postgresql() -> bool:
    return os.path.isdir("/etc/postgresql") and shutil.which("pg_ctlcluster") is not None and os.geteuid() == 0


@dataclass
class Poller:
    """Calls the API over HTTP every 50 ms and keeps every answer (or hang)."""

    base: str
    api_key: str
    account_id: str
    answers: list[tuple[float, str, int, bytes]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def call(self, path: str, **headers: str) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, headers={"Authorization": basic(self.api_key), **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            return -1, repr(error).encode()

    def run(self) -> None:
        paths = [
            ("/accounts", {}),
            ("/unified/ats/assessments/orders", {"x-account-id": self.account_id}),
            ("/health", {}),
        ]
        while not self.stopped.is_set():
            for path, headers in paths:
                status, body = self.call(path, **headers)
                self.answers.append((time.monotonic(), path, status, body))
            time.sleep(0.05)


@pytest.fixture
def gunicorn(stack: Stack) -> Iterator[str]:
    port = _free_port()
    server = Process(
        [
            str(VENV_BIN / "gunicorn"),
            "gateway.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "30",
        ],
        {**stack.env, "PYTHONPATH": str(ROOT)},
        stack.tmp / "gunicorn.log",
    )
    server.start()
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            urllib.request.urlopen(base + "/health", timeout=2)
            return True
        except Exception:
            return False

    try:
        _wait(answers, 30, "gunicorn to start\n" + stack.logs())
        yield base
    finally:
        server.stop()


def test_a_postgresql_restart_answers_503_meanwhile_and_loses_nothing(
    stack: Stack, tenant: TenantHandle, gunicorn: str
) -> None:
    if not _can_restart_postgresql():
        pytest.skip("Needs root and pg_ctlcluster (a Debian-style PostgreSQL cluster) to restart PostgreSQL")
    account, orders = _ats_orders(tenant, stack.url + "/hook", 30)
    for score in range(1, 11):
        for order in orders:
            _report(order, score, final=score == 10)
    expected = len(_webhook_event_ids(account))
    stack.worker.start()
    stack.beat.start()
    _wait(lambda: stack.receiver.received() >= 30, 120, "the first deliveries\n" + stack.logs())

    poller = Poller(gunicorn, tenant.api_key, account.id)
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    time.sleep(0.5)
    connections.close_all()  # the test's own connection does not survive the restart
    down_at = time.monotonic()
    _pg_cluster("stop")
    try:
        in_flight = expected - stack.receiver.received()
        time.sleep(4)  # deliveries and API calls meet a database that is gone
    finally:
        _pg_cluster("start")
    up_at = time.monotonic()
    assert in_flight > 0, "the restart must land while deliveries flow"
    _wait(
        lambda: any(t > up_at and status == 200 and path == "/accounts" for t, path, status, _ in poller.answers),
        60,
        "the API to recover\n" + stack.logs(),
    )
    time.sleep(1)
    poller.stopped.set()
    thread.join(timeout=15)

    during = [(path, status, body) for t, path, status, body in poller.answers if down_at < t < up_at]
    assert during, "no API call while the database was down"
    statuses = Counter(status for _, status, _ in during)
    assert statuses[503] > 0, statuses
    unexpected = [body[:200] for _, status, body in during if status not in (200, 503)]
    assert set(statuses) <= {200, 503}, f"while down: {statuses} {unexpected}"
    for path, status, body in during:
        if status == 503 and path != "/health":
            error = json.loads(body)
            assert set(error) == ERROR_KEYS and error["statusCode"] == 503, error
            assert "database" in error["message"].lower(), error
    assert not [a for a in poller.answers if a[2] not in (200, 503)], "a 500 or a hang at some point"
    print(f"\nAPI while PostgreSQL was down: {dict(statuses)}")

    assert expected == 300
    _assert_all_delivered_in_order(stack, account, orders, last_score=10)
