"""Nothing is lost when a worker dies or Redis restarts: real Celery worker and beat
processes, a private Redis, PostgreSQL, and a receiver that counts what arrives.

The test process only writes outbox rows (as the web tier does); beat's sweeper and the
worker do the rest, which is exactly the recovery path these faults exercise.
Runs on PostgreSQL only: worker processes cannot share an in-memory SQLite database.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, transaction

from gateway.assessments.models import Package
from gateway.assessments.services import order_receive
from gateway.delivery.models import Delivery, DeliveryStatus, EventType
from gateway.delivery.services import event_emit
from gateway.sdk.loopback import LoopbackServer
from gateway.tenancy.models import Account

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DELIVERIES = 300
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


class CountingReceiver:
    """A tenant's webhook endpoint that is a little slow, so faults land mid-delivery."""

    def __init__(self, delay: float = 0.04) -> None:
        self.delay = delay
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(length)
        time.sleep(self.delay)
        with self.lock:
            self.counts[environ.get("HTTP_WEBHOOK_ID", "")] += 1
        start_response("204 No Content", [])
        return [b""]

    def unique(self) -> int:
        with self.lock:
            return len(self.counts)


class PrivateRedis:
    """A Redis of our own, so restarting it disturbs nothing else on the machine."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait(self._answers, 10, "Redis to start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class Process:
    """A Celery process in its own session, so SIGKILL takes its whole pool with it."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict]:
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
        "GATEWAY_DELIVERY_LEASE_SECONDS": "3",
        # Sends may take twice this: a 3 s lease then leaves drains a 1 s window per batch.
        "GATEWAY_OUTBOUND_TIMEOUT": "1",
        "GATEWAY_SWEEP_SECONDS": "1",
        "GATEWAY_DELIVERY_BACKOFF": "1,1,2,2,3,3,5,5,8,8",
        "GATEWAY_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
    }
    celery = str(VENV_BIN / "celery")
    worker_args = [celery, "-A", "gateway", "worker", "--pool=prefork", "--concurrency=2",
                   "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
    beat_args = [celery, "-A", "gateway", "beat", "--loglevel=INFO",
                 "--schedule", str(tmp_path / "beat-schedule")]
    processes = {
        "worker": Process(worker_args, env, tmp_path / "worker.log"),
        "beat": Process(beat_args, env, tmp_path / "beat.log"),
    }
    receiver = CountingReceiver()
    server = LoopbackServer(receiver).start()
    try:
        yield {"redis": redis, "receiver": receiver, "url": server.url, "tmp": tmp_path, **processes}
    finally:
        for process in processes.values():
            process.stop()
        server.stop()
        redis.stop()
        connection.close()


def _emit_deliveries(tenant, receiver_url: str, count: int) -> list[str]:
    """``count`` orders each with one result update, delivered to one endpoint."""
    tenant.client.post(
        "/webhook_endpoints", {"url": receiver_url + "/hook", "events": ["ats_assessments.updated"]},
        format="json",
    )
    account = Account.objects.get(id=tenant.link("fake_ats")["id"])
    package = Package.objects.create(account=account, remote_id="t1", name="Test")
    event_ids = []
    for n in range(count):
        order, _ = order_receive(account=account, source_key=f"src-{n}", package=package, fields={})
        with transaction.atomic():
            rows = event_emit(account=account, event_type=EventType.UPDATED, order=order)
        event_ids.extend(row.event_id for row in rows)
    return event_ids


def _report(stack: dict, event_ids: list[str]) -> tuple[set[str], int]:
    received = stack["receiver"].counts
    missing = set(event_ids) - set(received)
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    return missing, duplicates


def _logs(stack: dict) -> str:
    return "\n".join(
        f"--- {name}.log ---\n" + (stack["tmp"] / f"{name}.log").read_text(errors="replace")[-3000:]
        for name in ("worker", "beat")
    )


def test_a_worker_killed_mid_delivery_loses_nothing(stack, tenant, connectors):
    event_ids = _emit_deliveries(tenant, stack["url"], DELIVERIES)
    stack["worker"].start()
    stack["beat"].start()
    receiver = stack["receiver"]
    _wait(lambda: receiver.unique() >= DELIVERIES // 5, 60, "the first deliveries\n" + _logs(stack))
    assert receiver.unique() < DELIVERIES, "the kill must land mid-delivery"

    stack["worker"].kill()
    time.sleep(1)
    stack["worker"].start()

    _wait(lambda: receiver.unique() >= DELIVERIES, 120, "every delivery\n" + _logs(stack))
    missing, duplicates = _report(stack, event_ids)
    assert not missing
    _wait(
        lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == DELIVERIES, 30,
        "the outbox to record every success",
    )
    assert not Delivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists()
    # At least once: a send cut off by the kill may arrive twice, never more than that.
    assert duplicates <= 2 * 2  # two pool processes, each with at most one send in flight
    print(f"\nworker SIGKILL: {DELIVERIES} delivered, 0 lost, {duplicates} duplicates")


def test_a_redis_restart_loses_nothing(stack, tenant, connectors):
    event_ids = _emit_deliveries(tenant, stack["url"], DELIVERIES)
    stack["worker"].start()
    stack["beat"].start()
    receiver = stack["receiver"]
    _wait(lambda: receiver.unique() >= DELIVERIES // 5, 60, "the first deliveries\n" + _logs(stack))
    assert receiver.unique() < DELIVERIES, "the restart must land mid-delivery"

    # Redis keeps nothing on disk here: every queued task message is lost.
    stack["redis"].stop()
    time.sleep(2)
    stack["redis"].start()

    _wait(lambda: receiver.unique() >= DELIVERIES, 150, "every delivery\n" + _logs(stack))
    missing, duplicates = _report(stack, event_ids)
    assert not missing
    _wait(
        lambda: Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == DELIVERIES, 30,
        "the outbox to record every success",
    )
    print(f"\nRedis restart: {DELIVERIES} delivered, 0 lost, {duplicates} duplicates")
