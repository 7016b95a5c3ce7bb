"""``python -m bench.run`` (``make bench``): the whole benchmark in one command.

Creates the ``gateway_bench`` database and migrates it, writes each scenario's data,
starts the stack (gunicorn, Celery worker and beat, the TestDome simulator, a callback
receiver), runs the scenarios, prints a markdown table and writes
``bench/results/latest.json``; then stops everything it started and drops the database.

``--quick`` runs small loads (for developing the bench on a shared machine);
``--only read_path,pipeline`` runs some scenarios.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench import report
from bench.context import FULL, QUICK, Bench
from bench.stack import CELERY_CONCURRENCY, GUNICORN_THREADS, GUNICORN_WORKERS, Stack

# Run order: the million orders last, so they weigh on no other scenario.
SCENARIOS = ("read_path", "passthrough", "partner", "pipeline", "scale")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small loads, for development")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--pipeline-phases", default="",
                        help='scenario 3\'s phases as "results:rate,..." ("auto": 60%% of the previous, '
                             '"backlog": committed with the worker stopped, then drained)')
    args = parser.parse_args(argv)
    chosen = [name for name in SCENARIOS if name in args.only.split(",")]
    started = time.monotonic()
    run_dir = report.RESULTS_DIR / "logs" / time.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    (run_dir / "var").mkdir()
    stack = Stack(run_dir)
    sizes = QUICK if args.quick else FULL
    if args.pipeline_phases:  # e.g. "3000:300,1000:auto,3000:backlog"
        phases = tuple((int(n), None if r == "auto" else r if r == "backlog" else float(r))
                       for n, r in (part.split(":") for part in args.pipeline_phases.split(",")))
        sizes = dataclasses.replace(sizes, pipeline_phases=phases)
    bench = Bench(stack, sizes)
    stack.configure_this_process()
    results: dict = {"machine": report.machine(), "quick": args.quick, "scenarios": {}, "errors": {}, "disturbed": {},
                     "config": {"gunicorn": f"{GUNICORN_WORKERS} workers × {GUNICORN_THREADS} threads",
                                "celery": f"prefork, concurrency {CELERY_CONCURRENCY}",
                                "load": f"{bench.sizes.concurrency} keep-alive connections, "
                                        f"{bench.sizes.rounds}×{bench.sizes.requests} requests per endpoint"},
                     "sizes": bench.sizes.__dict__, "logs": str(run_dir)}
    try:
        _prepare(bench, chosen)
        for name in chosen:
            bench.log(f"scenario {name}")
            close_old_connections()  # health-checked again on next use (a restarted server)
            started_pg = postgres_started()
            try:
                results["scenarios"][name] = _module(name).run(bench)
            except Exception:  # one broken scenario must not hide the others' numbers
                results["errors"][name] = traceback.format_exc()
                bench.log(results["errors"][name])
            if postgres_started() != started_pg:
                # Someone restarted the shared server mid-measurement: say so, loudly.
                results["disturbed"][name] = "PostgreSQL was restarted during this scenario"
                bench.log(f"  {name}: {results['disturbed'][name]}")
    finally:
        stack.stop()
        _cleanup(stack, keep=args.keep)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    path = report.write_json(results)
    print(report.markdown(results))
    print(f"JSON: {path}; logs: {run_dir}", file=sys.stderr)
    return 1 if results["errors"] else 0


def _cleanup(stack: Stack, *, keep: bool) -> None:
    """Drop what the run created; a failure here (a server restarted by someone else)
    is reported but must not lose the results measured so far."""
    from django.db import connections

    try:
        connections.close_all()
        if not keep:
            stack.database_drop()
        stack.redis_flush()
    except Exception as exc:  # reported; the results are still written
        print(f"cleanup failed ({exc}); drop gateway_bench and flush Redis db 14 by hand", file=sys.stderr)


def _module(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"bench.scenarios.{name}")


def postgres_started() -> str | None:
    """When the PostgreSQL server last started (None if it cannot be asked right now)."""
    import psycopg

    from bench.stack import PG_ADMIN_URL

    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn:
            return str(conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0])
    except psycopg.Error:
        return None


def close_old_connections() -> None:
    from django.db import close_old_connections as close

    close()


def _prepare(bench: Bench, chosen: list[str]) -> None:
    import django

    stack = bench.stack
    bench.log(f"database gateway_bench, logs in {stack.run_dir}")
    stack.database_create()
    stack.redis_flush()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench import fixtures
    from bench.scenarios import partner, passthrough, pipeline, read_path

    read_path.setup(bench)  # the reader tenant is also the one of scenarios 2 and 4
    if "passthrough" in chosen:
        passthrough.setup(bench)
    if "partner" in chosen:
        partner.setup(bench)
    if "pipeline" in chosen:
        pipeline.setup(bench)
    signing_secret = bench.data["pipeline"]["keys"].signing_secret if "pipeline" in chosen else ""
    stack.start_partners(testdome_client_id=fixtures.TESTDOME_CLIENT_ID,
                         testdome_client_secret=fixtures.TESTDOME_CLIENT_SECRET,
                         signing_secret=signing_secret, seed_tests=20)
    stack.start_gateway()
    bench.log(f"stack up: web {stack.web_url}, TestDome {stack.testdome_url}, receiver {stack.receiver_url}")


if __name__ == "__main__":
    Path(report.RESULTS_DIR).mkdir(exist_ok=True)
    sys.exit(main())
