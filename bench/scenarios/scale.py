"""Scenario 4: a million orders. The first page of the list against a page deep in the
cursor chain (keyset pagination should make them cost the same), and the resident
memory of the gunicorn workers before and after those requests.

The orders are loaded with ``COPY`` into their own account, so the other scenarios'
data stays small; ``VACUUM ANALYZE`` follows, as autovacuum would do on a live table.
"""

from __future__ import annotations

import time

from bench import fixtures
from bench.context import Bench, ratio
from bench.load import Call
from bench.stack import rss_kib
from gateway.api.query import encode_cursor

ORDERS = "/unified/ats/assessments/orders"
DEEP_FRACTION = 0.9  # the "position 900,000" of a million


def load_orders(bench: Bench) -> dict:
    keys = bench.data["reader"]["keys"]
    account, _ = fixtures.account_new(keys.tenant_id, "greenhouse", settings={"callback_hosts": ["127.0.0.1"]})
    package = fixtures.catalog_publish(account, 1)[0]
    started = time.monotonic()
    ids = fixtures.orders_copy(account, package, bench.sizes.scale_orders)
    seconds = time.monotonic() - started
    bench.data["scale"] = {"account_id": account.id, "deep_id": ids[int(len(ids) * DEEP_FRACTION) - 1]}
    return {"orders": len(ids), "load_seconds": round(seconds, 1)}


def run(bench: Bench) -> dict:
    loaded = load_orders(bench)
    bench.log(f"  loaded {loaded}")
    scale = bench.data["scale"]
    headers = bench.data["reader"]["keys"].headers(scale["account_id"])
    deep = encode_cursor(scale["deep_id"])
    calls = {
        "first_page": lambda i: Call("GET", f"{ORDERS}?page_size=25", headers),
        "deep_page": lambda i: Call("GET", f"{ORDERS}?page_size=25&next={deep}", headers),
    }
    pids = bench.stack.web_worker_pids()
    rss_before = {pid: rss_kib(pid) for pid in pids}
    for make_call in calls.values():
        bench.warm(make_call)
    measured = bench.compare(calls)
    rss_after = {pid: rss_kib(pid) for pid in pids}
    first, deep_page = measured["first_page"], measured["deep_page"]
    return {
        **loaded,
        "deep_position": int(loaded["orders"] * DEEP_FRACTION),
        "first_page": first.summary(),
        "deep_page": deep_page.summary(),
        "deep_over_first_p50": ratio(deep_page.percentile(50), first.percentile(50)),
        "deep_over_first_p99": ratio(deep_page.percentile(99), first.percentile(99)),
        "worker_rss_mib_before": [round(rss_before[p] / 1024, 1) for p in pids],
        "worker_rss_mib_after": [round(rss_after[p] / 1024, 1) for p in pids],
    }
