"""What a delivery carries: the event envelope of CONTRACT §5, built at send time."""

from __future__ import annotations

import json
from typing import Any

from gateway.assessments.models import Order
from gateway.delivery.models import Delivery
from gateway.timefmt import isoformat_z


def order_state(order_id: str) -> dict[str, Any]:
    """The order as the API shows it now, with its result embedded."""
    from gateway.assessments.api import render_order

    order = Order.objects.select_related("result").get(pk=order_id)
    return render_order(order)


def event_envelope(delivery: Delivery) -> dict[str, Any]:
    data = order_state(delivery.order_id) if delivery.order_id else delivery.payload
    return {
        "id": delivery.event_id,
        "type": delivery.event_type,
        "created_at": isoformat_z(delivery.created_at),
        "account_id": delivery.account_id,
        "data": data,
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
