"""A bounded, closed-loop HTTP load generator with per-request timings.

``concurrency`` threads, each with its own keep-alive connection (``http.client``, the
standard library's: it costs the client a fraction of what ``requests`` does, which
matters when client and server share two cores), send requests back to back until
``count`` requests were sent or ``seconds`` passed, whichever comes first. Every
request's latency is recorded; percentiles come from those timings, not from averages.

Targets are always 127.0.0.1: the constructor refuses anything else.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class LoadResult:
    """What one load run measured; latencies in seconds, in completion order."""

    latencies: list[float]
    statuses: Counter
    errors: int
    elapsed: float
    cpu: dict[str, float] = field(default_factory=dict)  # see context.CpuMeter

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)

    def summary(self) -> dict:
        return {
            "requests": self.completed,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": round(self.elapsed, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(50) * 1000, 2),
            "p90_ms": round(self.percentile(90) * 1000, 2),
            "p99_ms": round(self.percentile(99) * 1000, 2),
            **({"cpu_seconds": self.cpu} if self.cpu else {}),
        }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every value reported was observed)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class _Worker(threading.Thread):
    def __init__(self, host: str, port: int, next_call: Callable[[], Call | None], expect: frozenset[int],
                 deadline: float) -> None:
        super().__init__(daemon=True)
        self.host, self.port, self.next_call, self.expect, self.deadline = host, port, next_call, expect, deadline
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.errors = 0
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return self.conn

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            call = self.next_call()
            if call is None:
                break
            started = time.perf_counter()
            try:
                conn = self._connection()
                conn.request(call.method, call.path, body=call.body, headers=call.headers)
                response = conn.getresponse()
                response.read()
                if response.will_close:
                    conn.close()
                    self.conn = None
            except (OSError, http.client.HTTPException):
                self.errors += 1
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                continue
            self.latencies.append(time.perf_counter() - started)
            self.statuses[response.status] += 1
            if response.status not in self.expect:
                self.errors += 1
        if self.conn is not None:
            self.conn.close()


def run_load(port: int, make_call: Callable[[int], Call], *, count: int, seconds: float, concurrency: int,
             expect: Sequence[int] = (200,), host: str = "127.0.0.1") -> LoadResult:
    """Send up to ``count`` calls (``make_call(i)`` builds the i-th) within ``seconds``."""
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError("the benchmark only targets loopback")
    counter = itertools.count()
    lock = threading.Lock()

    def next_call() -> Call | None:
        with lock:
            index = next(counter)
        return make_call(index) if index < count else None

    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    workers = [_Worker(host, port, next_call, frozenset(expect), deadline) for _ in range(concurrency)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 60)
    elapsed = time.perf_counter() - started
    latencies = [value for worker in workers for value in worker.latencies]
    statuses: Counter = Counter()
    for worker in workers:
        statuses.update(worker.statuses)
    return LoadResult(latencies, statuses, sum(worker.errors for worker in workers), elapsed)
