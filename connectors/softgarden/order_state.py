"""How a softgarden invitation is keyed and what it stores on its order, in one place."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gateway.assessments.candidate_link import link_token_new

if TYPE_CHECKING:
    from gateway.assessments.models import Order


def invitation_source_key(*, test_id: str, candidate_id: str) -> str:
    """The idempotency key for (``candidate.id``, ``testId``); the gateway stores only a
    keyed digest of it."""
    return json.dumps([test_id, candidate_id])


def invitation_fields(*, callback_url: str) -> dict[str, Any]:
    """What a new softgarden order stores besides the candidate: where to notify, and the
    token of the candidate link handed back as ``testUrl``."""
    return {"partner_callback_url": callback_url, "link_token": link_token_new()}


def order_callback_url(order: Order) -> str | None:
    """Where to notify softgarden about ``order``; None once erased."""
    return order.partner_callback_url or None
