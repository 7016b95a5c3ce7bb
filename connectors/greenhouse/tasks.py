"""Celery tasks of the Greenhouse connector. Tasks take ids, load, and call a function."""

from __future__ import annotations

from celery import shared_task

from connectors.greenhouse.enrich import order_enrich


@shared_task(name="connectors.greenhouse.order_enrich", ignore_result=True)
def greenhouse_order_enrich(order_id: str) -> None:
    """Enrich an order created by ``send_test`` from Harvest (best effort, see ``enrich``)."""
    order_enrich(order_id)
