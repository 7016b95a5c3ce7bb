"""Scenario 2: provider pass-through. ``GET …/packages`` on a TestDome account (read live
from the simulator on every call) against calling the simulator directly, and how many
token requests the gateway made (it should reuse one cached token).

Measured twice: at the run's concurrency (throughput ratio) and with one connection,
where latencies carry no queueing, so their difference is the latency the gateway adds.
With one connection the baseline of scenario 1 (a minimal authenticated DRF endpoint on
the same server) is measured too: the part of that added latency any API request pays.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from bench import fixtures
from bench.context import Bench, ratio
from bench.load import Call
from bench.stack import http_json

PACKAGES = "/unified/ats/assessments/packages"
# What the connector asks for (connectors/testdome/connector.py list_packages).
DIRECT_QUERY = urllib.parse.urlencode(
    {"$filter[archived]": "false", "$filter[isPublished]": "true", "$top": 100, "$skip": 0}
)


def setup(bench: Bench) -> None:
    keys = bench.data["reader"]["keys"]
    sim = bench.stack.testdome_url
    account, _ = fixtures.account_new(
        keys.tenant_id, "testdome",
        credentials={"client_id": fixtures.TESTDOME_CLIENT_ID, "client_secret": fixtures.TESTDOME_CLIENT_SECRET},
        settings={"api_base_url": sim + "/v3", "token_url": sim + "/token"},
    )
    bench.data["testdome_account_id"] = account.id


def _direct_token(bench: Bench) -> str:
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": fixtures.TESTDOME_CLIENT_ID,
                                   "client_secret": fixtures.TESTDOME_CLIENT_SECRET}).encode()
    with urllib.request.urlopen(bench.stack.testdome_url + "/token", data=form, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())["access_token"]


def run(bench: Bench) -> dict:
    keys = bench.data["reader"]["keys"]
    headers = keys.headers(bench.data["testdome_account_id"])
    stats_url = bench.stack.testdome_url + "/_bench/stats"
    tokens_before = http_json(stats_url)["token_requests"]
    direct_headers = {"Authorization": f"Bearer {_direct_token(bench)}", "Accept": "application/json"}
    calls = {
        "direct": lambda i: Call("GET", f"/v3/tests?{DIRECT_QUERY}", direct_headers),
        "gateway": lambda i: Call("GET", PACKAGES, headers),
    }
    ports = {"direct": bench.stack.testdome_port}
    for name, make_call in calls.items():
        bench.warm(make_call, port=ports.get(name))
    loaded = bench.compare(calls, port_of=ports)
    baseline = {"baseline": lambda i: Call("GET", "/bench/baseline", keys.headers())}
    single = bench.compare({**calls, **baseline}, port_of=ports, concurrency=1)
    gateway_calls = sum(r.completed for r in (loaded["gateway"], single["gateway"])) + bench.sizes.warmup
    tokens = http_json(stats_url)["token_requests"] - tokens_before - 1  # minus the direct client's own
    return {
        "concurrency": bench.sizes.concurrency,
        "direct": loaded["direct"].summary(),
        "gateway": loaded["gateway"].summary(),
        "direct_c1": single["direct"].summary(),
        "gateway_c1": single["gateway"].summary(),
        "baseline_c1": single["baseline"].summary(),
        "throughput_ratio": ratio(loaded["gateway"].rps, loaded["direct"].rps),
        "added_p50_ms_c1": round((single["gateway"].percentile(50) - single["direct"].percentile(50)) * 1000, 2),
        "added_p99_ms_c1": round((single["gateway"].percentile(99) - single["direct"].percentile(99)) * 1000, 2),
        "added_p50_ms": round((loaded["gateway"].percentile(50) - loaded["direct"].percentile(50)) * 1000, 2),
        "added_p99_ms": round((loaded["gateway"].percentile(99) - loaded["direct"].percentile(99)) * 1000, 2),
        "gateway_calls": gateway_calls,
        "token_requests": tokens,
    }
