"""``python -m bench.profile WHAT [-n N] [--time-only]``: where one request's time goes.

Runs the request in-process (Django's test client, no gunicorn) against a fresh
``gateway_bench`` database holding the same data as the benchmark, under ``cProfile``,
and prints the functions with the most cumulative time (``PROFILE_SORT=tottime`` for
own time, ``PROFILE_FILTER=regex`` to keep some files) and the SQL of one request.
This is how the benchmark's numbers were turned into fixes; it is a tool, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from bench.context import QUICK, Bench
from bench.stack import Stack

WHAT = ["detail", "list", "baseline", "packages", "send_test", "invitations", "deliver", "commit"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=WHAT)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--time-only", action="store_true", help="time the calls, no profiler")
    args = parser.parse_args()
    global _TIME_ONLY
    _TIME_ONLY = args.time_only
    stack = Stack(Path(tempfile.mkdtemp(prefix="gateway-profile-")))
    bench = Bench(stack, QUICK)
    stack.configure_this_process()
    stack.database_create()
    try:
        _profile(bench, args.what, args.n, args.top)
    finally:
        from django.db import connections

        connections.close_all()
        stack.database_drop()
        stack.redis_flush()  # rate-limit counters and the tasks the writes queued


def _profile(bench: Bench, what: str, n: int, top: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    from bench.scenarios import partner, read_path

    read_path.setup(bench)
    reader = bench.data["reader"]
    given = reader["keys"].headers(reader["account_id"])
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in given.items()}
    client = Client(HTTP_HOST="127.0.0.1")
    ids = reader["order_ids"]
    if what in ("send_test", "invitations"):
        partner.setup(bench)
    if what in ("deliver", "commit"):
        _profile_deliver(bench, n, top, commits=what == "commit")
        return
    if what == "packages":
        headers["HTTP_X_ACCOUNT_ID"] = _testdome_account(bench)

    def one(i: int) -> None:
        if what == "detail":
            response = client.get(f"/unified/ats/assessments/orders/{ids[i % len(ids)]}", **headers)
        elif what == "list":
            response = client.get("/unified/ats/assessments/orders?page_size=25", **headers)
        elif what == "baseline":
            response = client.get("/bench/baseline", **headers)
        elif what == "packages":
            response = client.get("/unified/ats/assessments/packages", **headers)
        elif what == "send_test":
            response = client.post("/connectors/greenhouse/send_test", content_type="application/json",
                                   HTTP_AUTHORIZATION=_basic(bench.data["partner"]["greenhouse_key"]),
                                   data={"partner_test_id": "test-1", "url": f"http://127.0.0.1/gh/{i}",
                                         "candidate": {"first_name": "G", "last_name": "H",
                                                       "email": f"g{i}@example.com"}})
        else:
            response = client.post("/connectors/softgarden/invitations", content_type="application/json",
                                   HTTP_AUTHORIZATION="Bearer " + bench.data["partner"]["softgarden_key"],
                                   data={"testId": "test-1", "callback": "http://127.0.0.1/sg",
                                         "candidate": {"id": f"c{i}", "email": f"a{i}@example.com"}})
        assert response.status_code == 200, response.content[:500]

    for i in range(20):
        one(10_000 + i)  # warm caches, imports, connections
    with CaptureQueriesContext(connection) as queries:
        one(20_000)
    print(f"{len(queries)} SQL queries per request:", file=sys.stderr)
    for query in queries.captured_queries:
        print("   ", query["sql"][:200], file=sys.stderr)
    reset_queries()
    _run_profiled(lambda: [one(i) for i in range(n)], top)


def _testdome_account(bench: Bench) -> str:
    """A TestDome account on a simulator served from this process."""
    from bench import fixtures
    from connectors.testdome.simulator import TestDomeSimulator
    from gateway.sdk.loopback import LoopbackServer

    sim = TestDomeSimulator(client_id=fixtures.TESTDOME_CLIENT_ID, client_secret=fixtures.TESTDOME_CLIENT_SECRET)
    sim.seed_tests(20)
    server = LoopbackServer(sim).start()
    account, _ = fixtures.account_new(
        bench.data["reader"]["keys"].tenant_id, "testdome",
        credentials={"client_id": fixtures.TESTDOME_CLIENT_ID, "client_secret": fixtures.TESTDOME_CLIENT_SECRET},
        settings={"api_base_url": server.url + "/v3", "token_url": server.url + "/token"},
    )
    return account.id


def _profile_deliver(bench: Bench, n: int, top: int, *, commits: bool = False) -> None:
    """The worker's side: one ``delivery_send`` per outbox row, to a loopback receiver;
    or, with ``commits``, the side before it: results committed by
    ``order_apply_provider_state`` (as scenario 3's loaders do)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench import fixtures
    from bench.receiver import Records, handler_for
    from gateway.assessments.models import Order, Package
    from gateway.assessments.services import order_apply_provider_state
    from gateway.delivery.models import Delivery
    from gateway.delivery.sender import delivery_send

    keys = bench.data["reader"]["keys"]
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(Records(keys.signing_secret)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/callbacks"
    account, _ = fixtures.account_new(keys.tenant_id, "testdome",
                                      credentials={"client_id": "x", "client_secret": "y"}, settings={})
    package = Package(id="pkg_rbench", account=account, remote_id="1", name="T", description=None)
    ids = fixtures.orders_create(account, package, n + 1, results_update_url=url)
    from bench.pipeline_loader import mapped_result

    if commits:
        order_apply_provider_state(order=Order(id=ids[0]), state=mapped_result(0))
        with CaptureQueriesContext(connection) as queries:
            order_apply_provider_state(order=Order(id=ids[1]), state=mapped_result(1))
        print(f"{len(queries)} SQL queries per result:", file=sys.stderr)
        for query in queries.captured_queries:
            print("   ", query["sql"][:200], file=sys.stderr)
        _run_profiled(lambda: [order_apply_provider_state(order=Order(id=order_id), state=mapped_result(i))
                               for i, order_id in enumerate(ids[2:])], top)
        server.shutdown()
        return
    for i, order_id in enumerate(ids):
        order_apply_provider_state(order=Order(id=order_id), state=mapped_result(i))
    rows = list(Delivery.objects.filter(account=account).order_by("id").values_list("id", flat=True))
    with CaptureQueriesContext(connection) as queries:
        delivery_send(rows[0])
    print(f"{len(queries)} SQL queries per delivery:", file=sys.stderr)
    for query in queries.captured_queries:
        print("   ", query["sql"][:200], file=sys.stderr)
    _run_profiled(lambda: [delivery_send(row) for row in rows[1:]], top)
    server.shutdown()


_TIME_ONLY = False


def _run_profiled(work, top: int) -> None:  # type: ignore[no-untyped-def]
    if _TIME_ONLY:
        wall, cpu = time.perf_counter(), time.process_time()
        count = len(work())
        print(f"{count} calls: {(time.perf_counter() - wall) / count * 1000:.2f} ms wall, "
              f"{(time.process_time() - cpu) / count * 1000:.2f} ms CPU (this process) each")
        return
    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "cumulative"))
    stats.print_stats(os.environ.get("PROFILE_FILTER", ""), top)
    print(out.getvalue())


def _basic(key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


if __name__ == "__main__":
    main()
