"""The system under test, started the production way and torn down afterwards.

One ``Stack`` owns: the ``gateway_bench`` PostgreSQL database, Redis database 14, and the
processes ``make web``/``make worker``/``make beat`` would run (gunicorn with its worker
processes, a Celery worker, Celery beat), plus the loopback partners: the TestDome
simulator and a callback receiver. Every process runs in its own session so that it is
stopped, with its children, by its own process group id and nothing else.

The benchmark never touches the ``gateway``/``test_gateway`` databases nor Redis db 15
(other people's tests use them): the names below are fixed, not taken from the caller's
environment.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "gateway_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_DB = 14
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
# The comparison point is StackOne's 1,000 requests a minute per key; the bench
# must measure the gateway, not its limiter, so the limit is raised out of the way.
RATE_LIMIT = "100000000/min"

# How the processes are sized: the Makefile's production targets.
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
CELERY_CONCURRENCY = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, step: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise RuntimeError(f"Timed out after {timeout:.0f} s waiting for {what}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return response.status == 200
    except OSError:
        return False


def http_json(url: str, timeout: float = 30, method: str = "GET") -> Any:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
        body = response.read()
    return json.loads(body) if body else None


@dataclass
class Process:
    """A child in its own session: ``stop()`` signals its group, never anyone else."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> Process:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.args, env=self.env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


@dataclass
class Stack:
    """Ports, environment and processes of one benchmark run."""

    run_dir: Path
    web_port: int = field(default_factory=free_port)
    testdome_port: int = field(default_factory=free_port)
    receiver_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(40))
    encryption_key: str = field(default_factory=lambda: Fernet.generate_key().decode())

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def testdome_url(self) -> str:
        return f"http://127.0.0.1:{self.testdome_port}"

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"

    def env(self) -> dict[str, str]:
        """The production settings, from the environment as in production (CONTRACT §6)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "GATEWAY_"))}
        return {
            **base,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "GATEWAY_ENCRYPTION_KEYS": self.encryption_key,
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GATEWAY_PUBLIC_URL": self.web_url,
            "GATEWAY_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
            "GATEWAY_RATE_LIMIT": RATE_LIMIT,
            "GATEWAY_VAR_DIR": str(self.run_dir / "var"),
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
            # The code next to this bench, whatever the virtualenv's editable install points at.
            "PYTHONPATH": str(REPO),
        }

    def configure_this_process(self) -> None:
        """Point this process's Django at the bench database before ``django.setup()``."""
        env = self.env()
        os.environ.clear()
        os.environ.update(env)

    # --- data stores -----------------------------------------------------------------

    def database_create(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def database_drop(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')

    def redis_flush(self) -> None:
        redis.Redis.from_url(REDIS_URL).flushdb()

    # --- processes ---------------------------------------------------------------------

    def _process(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Process:
        process = Process(name, args, env or self.env(), self.run_dir / f"{name}.log")
        self.processes[name] = process.start()
        return process

    def start_partners(self, *, testdome_client_id: str, testdome_client_secret: str, signing_secret: str,
                       seed_tests: int) -> None:
        python = str(VENV_BIN / "python")
        self._process("testdome", [python, "-m", "bench.testdome_sim", "--port", str(self.testdome_port),
                                   "--client-id", testdome_client_id, "--client-secret", testdome_client_secret,
                                   "--seed-tests", str(seed_tests)])
        self._process("receiver", [python, "-m", "bench.receiver", "--port", str(self.receiver_port)],
                      env={**self.env(), "BENCH_SIGNING_SECRET": signing_secret})
        wait_until(lambda: http_ok(self.testdome_url + "/_bench/stats"), 30, "the TestDome simulator")
        wait_until(lambda: http_ok(self.receiver_url + "/_stats"), 30, "the receiver")

    def start_gateway(self) -> None:
        bin_ = VENV_BIN
        self._process("web", [str(bin_ / "gunicorn"), "gateway.wsgi:application",
                              "--bind", f"127.0.0.1:{self.web_port}", "--workers", str(GUNICORN_WORKERS),
                              "--threads", str(GUNICORN_THREADS)])
        self.start_worker()
        self._process("beat", [str(bin_ / "celery"), "-A", "gateway", "beat", "--loglevel=INFO",
                               "--schedule", str(self.run_dir / "beat-schedule")])
        wait_until(lambda: http_ok(self.web_url + "/health"), 60, "gunicorn")

    def start_worker(self) -> None:
        """The Celery worker, as ``make worker`` runs it; returns once it is ready."""
        log = self.run_dir / "worker.log"
        offset = log.stat().st_size if log.exists() else 0
        self._process("worker", [str(VENV_BIN / "celery"), "-A", "gateway", "worker", "--loglevel=INFO",
                                 "--concurrency", str(CELERY_CONCURRENCY)])

        def ready() -> bool:
            with log.open("rb") as handle:
                handle.seek(offset)
                return b"ready" in handle.read()

        wait_until(ready, 60, "the Celery worker")

    def stop_worker(self) -> None:
        self.processes.pop("worker").stop()

    def web_worker_pids(self) -> list[int]:
        """gunicorn's worker processes: the master's children."""
        master = self.processes["web"].pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return sorted(int(pid) for pid in children)

    def sessions(self) -> dict[str, int]:
        """Session id (= pid, see ``Process``) of each running process, by name."""
        return {name: process.pid for name, process in self.processes.items() if process.alive()}

    def stop(self) -> None:
        for name in ("beat", "worker", "web", "receiver", "testdome"):
            process = self.processes.get(name)
            if process is not None:
                process.stop()


def rss_kib(pid: int) -> int:
    """Resident memory of one process (``VmRSS`` in /proc), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(command, session id, CPU seconds) of one process, from /proc/<pid>/stat: its
    own and that of the children it has reaped, so that a PostgreSQL backend that ends
    mid-measurement moves its time to the postmaster instead of taking it away."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    command = raw[raw.index("(") + 1: raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return command, int(fields[3]), sum(int(value) for value in fields[11:15]) / _TICKS


def cpu_seconds(sessions: dict[str, int]) -> dict[str, float]:
    """CPU time used so far by each named session (a process and its children, exited
    ones included), and by every PostgreSQL and Redis process on the machine,
    ours or not: a rough split of where the cores went."""
    totals = dict.fromkeys([*sessions, "postgres (all)", "redis (all)"], 0.0)
    by_sid = {sid: name for name, sid in sessions.items()}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or (stat := _stat(pid)) is None:
            continue
        command, sid, seconds = stat
        if sid in by_sid:
            totals[by_sid[sid]] += seconds
        elif command.startswith("postgres"):
            totals["postgres (all)"] += seconds
        elif command.startswith("redis-server"):
            totals["redis (all)"] += seconds
    return totals


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / _TICKS
