"""Celery tasks of the delivery pipeline: thin wrappers that take ids and call the sender.

Both are safe to run twice (the lease decides who sends), so they acknowledge late.
"""

from celery import shared_task

from gateway.delivery.sender import deliveries_dispatch_due, delivery_send


@shared_task(name="delivery.send", acks_late=True, ignore_result=True)
def delivery_send_task(delivery_id: str, lease_token: str | None = None) -> str:
    return delivery_send(delivery_id, lease_token)


@shared_task(name="delivery.sweep", acks_late=True, ignore_result=True)
def deliveries_sweep_task() -> int:
    return deliveries_dispatch_due()
