"""What a delivery carries: the event envelope of CONTRACT §5, built at send time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from gateway.assessments.models import Order
from gateway.delivery.models import Delivery
from gateway.timefmt import isoformat_z


def orders_for_envelopes(order_ids: Iterable[str]) -> dict[str, Order]:
    """The orders several envelopes describe, with their results, in one query."""
    return Order.objects.select_related("result").in_bulk(set(order_ids))


def order_state(order_id: str, order: Order | None = None) -> dict[str, Any]:
    """The order as the API shows it now (or as ``order`` was just read), with its
    result embedded."""
    from gateway.assessments.api import render_order

    if order is None:
        order = Order.objects.select_related("result").get(pk=order_id)
    return render_order(order)


def event_envelope(delivery: Delivery, order: Order | None = None) -> dict[str, Any]:
    """``order``, if given, is the delivery's order read with its result moments ago."""
    data = order_state(delivery.order_id, order) if delivery.order_id else delivery.payload
    return {
        "id": delivery.event_id,
        "type": delivery.event_type,
        "created_at": isoformat_z(delivery.created_at),
        "account_id": delivery.account_id,
        "data": data,
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
