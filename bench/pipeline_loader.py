"""One loader process of scenario 3: commits provider results at a paced rate.

Each result goes through ``order_apply_provider_state``, the write TestDome's webhook and
reconciliation perform: result stored, order moved, ``ats_assessments.updated`` queued
in the outbox in the same transaction, the Celery task sent after commit. The time after
that commit is written out per order, to be set against the receiver's arrival times.

Several loader processes share the schedule (index ``i`` is due at ``start + i / rate``
and belongs to shard ``i % shards``), because one Python process cannot commit a few
hundred results a second alongside everything else.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

from gateway.sdk import ProviderState, ResultData


def mapped_result(n: int) -> ProviderState:
    now = datetime.now(UTC)
    return ProviderState(
        status="completed",
        result=ResultData(
            score={"label": "Score", "value": str(40 + n % 60), "min": "0", "max": "100"},
            result_value="passed" if n % 3 else "failed",
            result_source_value="completed",
            result_url=f"https://app.testdome.com/reports/{n}",
            summary="4 of 5 questions solved.",
            start_date=now - timedelta(minutes=45),
            submission_date=now,
        ),
    )


def _commit_with_retry(commit, patience: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Commit, retrying while the database is unreachable (a restarted server): the
    result is committed late rather than lost, and its late commit time is recorded."""
    from django.db import close_old_connections, connection
    from django.db.utils import InterfaceError, OperationalError

    deadline = time.monotonic() + patience
    while True:
        try:
            commit()
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                raise
            connection.close()
            time.sleep(1)
            close_old_connections()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ids", required=True, help="a JSON file with the order ids")
    parser.add_argument("--out", required=True)
    parser.add_argument("--start", type=float, required=True, help="wall-clock time of result 0")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--shard", type=int, required=True)
    parser.add_argument("--shards", type=int, required=True)
    args = parser.parse_args()

    import django

    django.setup()
    from gateway.assessments.models import Order
    from gateway.assessments.services import order_apply_provider_state

    with open(args.ids) as handle:
        ids = json.load(handle)
    rows = []
    for index in range(args.shard, len(ids), args.shards):
        due = args.start + index / args.rate
        wait = due - time.time()
        if wait > 0:
            time.sleep(wait)
        _commit_with_retry(lambda i=index: order_apply_provider_state(order=Order(id=ids[i]), state=mapped_result(i)))
        rows.append((ids[index], due, time.time()))
    with open(args.out, "w") as handle:
        json.dump({"rows": rows, "cpu_seconds": time.process_time()}, handle)


if __name__ == "__main__":
    main()
