"""Handing outbox rows to workers, right after the transaction that wrote them commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gateway.delivery.services import on_deliveries_committed
from gateway.runner import enqueue


@on_deliveries_committed
def dispatch(delivery_ids: Iterable[str]) -> None:
    from gateway.delivery.tasks import delivery_send_task

    for delivery_id in delivery_ids:
        enqueue(delivery_send_task, delivery_id)


def dispatch_leased(leases: Mapping[str, str]) -> None:
    """Rows the sweeper leased: each task carries the lease token that lets it send."""
    from gateway.delivery.tasks import delivery_send_task

    for delivery_id, token in leases.items():
        enqueue(delivery_send_task, delivery_id, token)
