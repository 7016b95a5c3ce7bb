"""What every scenario receives: the running stack, the run's sizes, and helpers."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.load import Call, LoadResult, run_load
from bench.stack import Stack


@dataclass(frozen=True)
class Sizes:
    """How big each load is. ``full`` is the issue's; ``quick`` is for developing the bench
    on a shared machine (small, so it disturbs nobody's tests)."""

    requests: int  # per measured endpoint and round
    seconds: float  # time bound per measured endpoint and round
    concurrency: int
    warmup: int
    rounds: int  # measurements interleaved with their baseline, to share any noise
    read_orders: int
    # (results, offered rate per second); a rate of None is a share of what the
    # previous phase delivered, "backlog" commits them first and drains them after
    # (see scenarios/pipeline.py)
    pipeline_phases: tuple[tuple[int, float | str | None], ...]
    pipeline_loaders: int
    scale_orders: int


FULL = Sizes(requests=2000, seconds=30, concurrency=8, warmup=200, rounds=2, read_orders=2000,
             pipeline_phases=((10_000, 300.0), (2_000, None), (10_000, "backlog")),
             pipeline_loaders=6, scale_orders=1_000_000)
QUICK = Sizes(requests=300, seconds=10, concurrency=4, warmup=50, rounds=1, read_orders=200,
              pipeline_phases=((600, 150.0), (200, None), (600, "backlog")), pipeline_loaders=4, scale_orders=20_000)


@dataclass
class Bench:
    stack: Stack
    sizes: Sizes
    data: dict[str, Any] = field(default_factory=dict)

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def load(self, make_call: Callable[[int], Call], *, port: int | None = None, count: int | None = None,
             concurrency: int | None = None, expect: tuple[int, ...] = (200,)) -> LoadResult:
        return run_load(
            port or self.stack.web_port, make_call, count=count or self.sizes.requests,
            seconds=self.sizes.seconds, concurrency=concurrency or self.sizes.concurrency, expect=expect,
        )

    def warm(self, make_call: Callable[[int], Call], *, port: int | None = None,
             expect: tuple[int, ...] = (200,)) -> None:
        run_load(port or self.stack.web_port, make_call, count=self.sizes.warmup, seconds=30,
                 concurrency=self.sizes.concurrency, expect=expect)

    def compare(self, named: dict[str, Callable[[int], Call]], *, port_of: dict[str, int] | None = None,
                concurrency: int | None = None, expect: tuple[int, ...] = (200,)) -> dict[str, LoadResult]:
        """Measure several endpoints in interleaved rounds; one merged result per name."""
        port_of = port_of or {}
        merged: dict[str, LoadResult] = {}
        for _ in range(self.sizes.rounds):
            for name, make_call in named.items():
                meter = CpuMeter(self)
                result = self.load(make_call, port=port_of.get(name), concurrency=concurrency, expect=expect)
                result.cpu = meter.stop()
                self.log(f"  {name}: {result.summary()}")
                if name in merged:
                    previous = merged[name]
                    previous.latencies.extend(result.latencies)
                    previous.statuses.update(result.statuses)
                    previous.errors += result.errors
                    previous.elapsed += result.elapsed
                    previous.cpu = {k: round(v + result.cpu.get(k, 0.0), 2) for k, v in previous.cpu.items()}
                else:
                    merged[name] = result
        return merged


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


class CpuMeter:
    """CPU seconds each part of the stack used between ``start`` and ``stop``, with the
    wall time and the whole machine's busy time (other people's work included): where
    the two cores went during a measurement."""

    def __init__(self, bench: Bench) -> None:
        from bench.stack import cpu_seconds, machine_cpu_seconds

        self._sessions = bench.stack.sessions()
        self._cpu, self._machine = cpu_seconds, machine_cpu_seconds
        self._before = cpu_seconds(self._sessions)
        self._machine_before = machine_cpu_seconds()
        self._started = time.monotonic()

    def stop(self, **extra: float) -> dict[str, float]:
        after = self._cpu(self._sessions)
        used = {name: round(after[name] - self._before[name], 2) for name in after}
        used.update({name: round(value, 2) for name, value in extra.items()})
        used["machine_busy"] = round(self._machine() - self._machine_before, 2)
        used["wall"] = round(time.monotonic() - self._started, 2)
        return used
