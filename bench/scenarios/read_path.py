"""Scenario 1: the unified read path against a minimal authenticated DRF endpoint.

Both run in the same gunicorn, with the same authentication, throttle and middleware, in
interleaved rounds; the ratio of their throughputs is what the read itself costs.
"""

from __future__ import annotations

from bench import fixtures
from bench.context import Bench, ratio
from bench.load import Call

ORDERS = "/unified/ats/assessments/orders"


def setup(bench: Bench) -> None:
    keys = fixtures.tenant_new("bench reader")
    account, _ = fixtures.account_new(keys.tenant_id, "greenhouse", settings={"callback_hosts": ["127.0.0.1"]})
    package = fixtures.catalog_publish(account, 5)[0]
    ids = fixtures.orders_create(account, package, bench.sizes.read_orders, results_every=2)
    bench.data["reader"] = {"keys": keys, "account_id": account.id, "order_ids": ids}


def run(bench: Bench) -> dict:
    reader = bench.data["reader"]
    headers = reader["keys"].headers(reader["account_id"])
    ids = reader["order_ids"]
    calls = {
        "baseline": lambda i: Call("GET", "/bench/baseline", headers),
        "order_detail": lambda i: Call("GET", f"{ORDERS}/{ids[i % len(ids)]}", headers),
        "order_list": lambda i: Call("GET", f"{ORDERS}?page_size=25", headers),
    }
    for make_call in calls.values():
        bench.warm(make_call)
    measured = bench.compare(calls)
    base = measured["baseline"]
    return {
        "concurrency": bench.sizes.concurrency,
        "baseline": base.summary(),
        "order_detail": measured["order_detail"].summary(),
        "order_list": measured["order_list"].summary(),
        "detail_throughput_ratio": ratio(measured["order_detail"].rps, base.rps),
        "list_throughput_ratio": ratio(measured["order_list"].rps, base.rps),
    }
