"""Where softgarden's per-invitation data lives on an order, in one place.

Two things have no column on ``Order`` yet: the ``callback`` URL softgarden sent with the
invitation (needed at every notification) and the token of the candidate link
``/t/<token>`` (needed to answer the link). Until ``Order.partner_callback_url`` and
``Order.link_token`` exist, both live in ``order.passthrough["softgarden"]``:

* the order's own ``passthrough`` (not the application's): both belong to the invitation;
* ``order_erase`` clears ``passthrough``, so an erased invitation can neither be
  notified about nor reached through its link, which is what softgarden.md §7 asks;
* the unified PATCH cannot write ``passthrough``, so a tenant cannot redirect
  notifications; it can read both values, which are not secret from it.

The costs: the tenant sees our bookkeeping in ``passthrough``, and the token lookup is a
JSON key lookup without an index. When the columns exist only this module changes.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from gateway.tenancy.crypto import lookup_digest

if TYPE_CHECKING:
    from gateway.assessments.models import Order

_NAMESPACE = "softgarden"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def link_token_new() -> str:
    """192 random bits: the link is the only thing between anyone and the test."""
    return secrets.token_urlsafe(24)


def invitation_source_key(*, test_id: str, candidate_id: str) -> str:
    """The idempotency key for (``candidate.id``, ``testId``), as a keyed digest.

    ``source_key`` survives the GDPR erase (it is how a repeated call finds the tombstone),
    so it must not hold softgarden's application id in clear. The digest is keyed with
    ``SECRET_KEY`` (through the gateway's lookup digest): after a ``SECRET_KEY`` rotation,
    a retry of an invitation sent before the rotation creates a second order.
    """
    return "softgarden:" + lookup_digest(json.dumps([test_id, candidate_id]))


def invitation_passthrough(*, callback_url: str, link_token: str) -> dict[str, Any]:
    """The ``passthrough`` a new softgarden order is created with."""
    return {_NAMESPACE: {"callback_url": callback_url, "link_token": link_token}}


def _own(order: Order) -> dict[str, Any]:
    passthrough = order.passthrough if isinstance(order.passthrough, dict) else {}
    own = passthrough.get(_NAMESPACE)
    return own if isinstance(own, dict) else {}


def order_callback_url(order: Order) -> str | None:
    """Where to notify softgarden about ``order``; None once erased."""
    value = _own(order).get("callback_url")
    return value if isinstance(value, str) and value else None


def order_link_token(order: Order) -> str | None:
    value = _own(order).get("link_token")
    return value if isinstance(value, str) and value else None


def order_for_link_token(token: str) -> Order | None:
    """The live order behind a candidate link: not erased, on a linked softgarden account
    (provider-role tenants write ``passthrough`` themselves and must not mint links)."""
    if not _TOKEN_SHAPE.match(token):
        return None  # not one of ours; spare the (unindexed) lookup
    from gateway.assessments.models import Order  # needs the app registry, unlike the rest

    return (
        Order.objects.filter(
            erased_at__isnull=True,
            account__deleted_at__isnull=True,
            account__provider="softgarden",
            **{f"passthrough__{_NAMESPACE}__link_token": token},
        )
        .only("id", "status", "test_url", "package", "passthrough")
        .first()
    )
