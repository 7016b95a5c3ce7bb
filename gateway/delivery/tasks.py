"""Celery tasks of the delivery pipeline: thin wrappers that take ids and call the sender.

All are safe to run twice (leases decide who sends), so they acknowledge late.
"""

from celery import shared_task

from gateway.delivery.dispatch import DRAIN_TASK, SEND_TASK, drain_request, drain_started
from gateway.delivery.sender import deliveries_dispatch_due, deliveries_drain, delivery_send
from gateway.runner import mode


@shared_task(name=SEND_TASK, acks_late=True, ignore_result=True)
def delivery_send_task(delivery_id: str, lease_token: str | None = None) -> str:
    return delivery_send(delivery_id, lease_token)


@shared_task(name=DRAIN_TASK, acks_late=True, ignore_result=True)
def deliveries_drain_task() -> dict[str, int]:
    """Send every due row. A full batch means more may be waiting: ask for one more
    drain then, so that a backlog spreads over the worker processes."""
    drain_started()
    report = deliveries_drain(on_full_batch=drain_request)
    if report.more:
        drain_request()  # out of time with work left: a fresh task goes on
    return {"sent": report.sent, "failed": report.failed, "released": report.released}


@shared_task(name="delivery.sweep", acks_late=True, ignore_result=True)
def deliveries_sweep_task() -> int:
    """Finds what no task is sending: lost messages, dead workers' rows, due retries.
    With Celery it sends them itself; the in-process runners get one task per row."""
    if mode() == "celery":
        report = deliveries_drain()
        if report.more:
            drain_request()
        return report.attempted
    return deliveries_dispatch_due()
