"""Scenario 3: results turned into signed callbacks, end to end, by the real workers.

TestDome orders, each with a ``results_update_url`` on the loopback receiver, get a final
result at a paced rate (``pipeline_loader``). The Celery worker sends each
``ats_assessments.updated`` callback, signed; beat's sweeper runs as in production.
Measured per phase: deliveries per second from the first commit to the last arrival,
commit-to-receipt latency, duplicates (at least once allows them) and losses (never).

Three phases: the issue's 10,000 results offered at the target rate (300/s), which shows
what the machine sustains with result commits and deliveries sharing its two cores; a
shorter one offered at 60% of the rate the first phase delivered, which shows the
latency when the pipeline is not saturated; and a backlog: results committed while the
worker is stopped, then drained, which shows what the delivery side alone sustains
(deliveries/s from the first arrival to the last; commit-to-receipt latency there
mostly measures how long the worker was stopped).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

from django.db import close_old_connections

from bench import fixtures
from bench.context import Bench, CpuMeter
from bench.load import percentile
from bench.stack import VENV_BIN, http_json

SUSTAINED_SHARE = 0.6
BACKLOG = "backlog"  # a phase's rate: commit with the worker stopped, then drain
AS_FAST_AS_THEY_GO = 100_000.0  # the loaders' rate while the worker is stopped


def setup(bench: Bench) -> None:
    keys = fixtures.tenant_new("bench pipeline")
    sim = bench.stack.testdome_url
    account, _ = fixtures.account_new(
        keys.tenant_id, "testdome",
        credentials={"client_id": fixtures.TESTDOME_CLIENT_ID, "client_secret": fixtures.TESTDOME_CLIENT_SECRET},
        settings={"api_base_url": sim + "/v3", "token_url": sim + "/token"},
    )
    from gateway.assessments.models import Package

    # Provider packages are never stored; the orders only need a package reference.
    package = Package(id="pkg_rbench", account=account, remote_id="41001", name="Bench test", description=None)
    url = bench.stack.receiver_url + "/callbacks"
    total = sum(count for count, _rate in bench.sizes.pipeline_phases)
    ids = fixtures.orders_create(account, package, total, results_update_url=url)
    bench.data["pipeline"] = {"keys": keys, "account_id": account.id, "order_ids": ids}


def _commit(bench: Bench, ids: list[str], rate: float, tag: str) -> tuple[dict[str, float], float, float]:
    """Run the loaders; returns commit time per order id, the rate they achieved and the
    CPU seconds they used."""
    loaders_count, run_dir = bench.sizes.pipeline_loaders, bench.stack.run_dir
    ids_file = run_dir / f"pipeline-ids-{tag}.json"
    ids_file.write_text(json.dumps(ids))
    start = time.time() + 5  # time for the loaders to start Django
    loaders = []
    for shard in range(loaders_count):
        out = run_dir / f"pipeline-commits-{tag}-{shard}.json"
        args = [str(VENV_BIN / "python"), "-m", "bench.pipeline_loader", "--ids", str(ids_file), "--out", str(out),
                "--start", str(start), "--rate", str(rate), "--shard", str(shard), "--shards", str(loaders_count)]
        log = (run_dir / f"pipeline-loader-{tag}-{shard}.log").open("ab")
        loaders.append((subprocess.Popen(args, env=bench.stack.env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True), out))
    commits: dict[str, float] = {}
    cpu = 0.0
    for process, out in loaders:
        process.wait(timeout=len(ids) / rate * 10 + 120)
        if process.returncode != 0:
            raise RuntimeError(f"a pipeline loader failed; see {run_dir}")
        written = json.loads(out.read_text())
        cpu += written["cpu_seconds"]
        for order_id, _due, committed in written["rows"]:
            commits[order_id] = committed
    span = max(commits.values()) - min(commits.values())
    return commits, (len(commits) - 1) / span if span > 0 else 0.0, cpu


def _task_census(worker_log: Path, since: int) -> dict[str, int]:
    """How many delivery tasks the worker ran after byte ``since`` of its log, by name
    (``delivery.drain``, ``delivery.sweep``, and ``delivery.send``: a row's own task,
    which Celery workers no longer queue)."""
    with worker_log.open("rb") as handle:
        handle.seek(since)
        text = handle.read().decode(errors="replace")
    return dict(Counter(re.findall(r"Task (delivery\.\w+)\[[^\]]+\] succeeded", text)))


def _drain(bench: Bench, expected: int, stall: float = 90.0, cap: float = 1200.0) -> None:
    """Wait until the receiver has every callback, as long as they keep arriving: a
    backlog is drained and measured, a stalled pipeline is reported after ``stall``
    seconds without progress (and the run stops waiting after ``cap`` seconds)."""
    stats_url = bench.stack.receiver_url + "/_stats"
    deadline = time.monotonic() + cap
    seen, progress_at = -1, time.monotonic()
    while time.monotonic() < deadline:
        unique = http_json(stats_url)["unique"]
        if unique >= expected:
            return
        if unique > seen:
            seen, progress_at = unique, time.monotonic()
        elif time.monotonic() - progress_at > stall:
            break
        time.sleep(0.5)
    bench.log(f"  stopped waiting with {seen} of {expected} callbacks received")


def _phase(bench: Bench, ids: list[str], rate: float | str, tag: str) -> dict:
    receiver = bench.stack.receiver_url
    worker_log = bench.stack.run_dir / "worker.log"
    http_json(receiver + "/_reset", method="POST")
    if rate == BACKLOG:
        bench.stack.stop_worker()
        commits, commit_rate, loader_cpu = _commit(bench, ids, AS_FAST_AS_THEY_GO, tag)
        log_offset = worker_log.stat().st_size
        bench.stack.start_worker()
        meter = CpuMeter(bench)
    else:
        log_offset = worker_log.stat().st_size
        meter = CpuMeter(bench)
        commits, commit_rate, loader_cpu = _commit(bench, ids, float(rate), tag)
    _drain(bench, len(ids))
    cpu = meter.stop() if rate == BACKLOG else meter.stop(loaders=loader_cpu)
    time.sleep(2)  # let late duplicates, if any, arrive too
    close_old_connections()  # this process's connection may be minutes old by now
    rows = http_json(receiver + "/_dump", timeout=60)
    summary = _outcome(ids, commits, rows, backlog=rate == BACKLOG)
    return {
        "results": len(ids),
        "offered_rate": rate if rate == BACKLOG else round(float(rate), 1),
        "commit_rate": round(commit_rate, 1),
        **summary,
        "delivery_tasks": _task_census(worker_log, log_offset),
        "cpu_seconds": cpu,
    }


def _outcome(ids: list[str], commits: dict[str, float], rows: list, *, backlog: bool) -> dict:
    """What the receiver got for these orders' outbox rows: losses, duplicates, signatures,
    rate and commit-to-receipt latency."""
    from gateway.delivery.models import Delivery

    first_arrival: dict[str, float] = {}
    counts: Counter = Counter()
    bad_signatures = 0
    for msg_id, arrived, ok in rows:
        counts[msg_id] += 1
        bad_signatures += not ok
        first_arrival[msg_id] = min(arrived, first_arrival.get(msg_id, arrived))
    deliveries = Delivery.objects.filter(order_id__in=ids)
    events = dict(deliveries.values_list("event_id", "order_id"))
    latencies = [first_arrival[event] - commits[order] for event, order in events.items()
                 if event in first_arrival and order in commits]
    delivered = sum(1 for event in events if event in first_arrival)
    arrivals = sorted(first_arrival.values())
    if backlog:  # the backlog was there before the worker: time its draining only
        span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
        rate = (delivered - 1) / span if span > 0 else None
    else:
        span = arrivals[-1] - min(commits.values()) if arrivals else 0.0
        rate = delivered / span if span > 0 else None
    return {
        "outbox_rows": len(events),
        "delivered": delivered,
        "lost": len(ids) - delivered,
        "duplicates": sum(c - 1 for c in counts.values() if c > 1),
        "bad_signatures": bad_signatures,
        "unknown_arrivals": sum(1 for msg_id in counts if msg_id not in events),
        "deliveries_per_s": round(rate, 1) if rate else None,
        "drain_after_last_commit_s": round(arrivals[-1] - max(commits.values()), 2) if arrivals else None,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p90_ms": round(percentile(latencies, 90) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "outbox_statuses": dict(Counter(deliveries.values_list("status", flat=True))),
    }


def run(bench: Bench) -> dict:
    ids = bench.data["pipeline"]["order_ids"]
    phases, start, previous = [], 0, None
    for count, rate in bench.sizes.pipeline_phases:
        if rate is None:  # a share of what the previous phase delivered
            rate = max(5.0, SUSTAINED_SHARE * (previous or {}).get("deliveries_per_s", 10.0))
        tag = f"{len(phases) + 1}"
        bench.log(f"  phase {tag}: {count} results " + (
            "committed with the worker stopped, then drained" if rate == BACKLOG else f"offered at {rate:.0f}/s"))
        previous = _phase(bench, ids[start:start + count], rate, tag)
        bench.log(f"  phase {tag}: {json.dumps(previous)}")
        phases.append(previous)
        start += count
    return {"phases": phases}
