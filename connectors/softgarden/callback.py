"""The one endpoint softgarden hosts: the update notification (softgarden.md §3).

softgarden hands us a ``callback`` URL with every invitation and expects
``POST <callback>`` with ``{"invitationId"}`` whenever the invitation changes; it then
pulls the state from our result endpoint. The URL comes from the caller, so it is only
accepted (at invitation time) and only called (by the delivery pipeline, which re-checks
``allowed_hosts``) when its host is one the tenant allowed in ``callback_hosts``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from connectors.base import AccountContext, OutboundRequestSpec
from gateway.delivery.outbound import host_matches, validate_submitted_url

DEFAULT_CALLBACK_HOSTS: tuple[str, ...] = ("*.softgarden.io", "*.softgarden.de")
MAX_CALLBACK_LENGTH = 2000  # the URL columns of the gateway hold at most this much


def callback_hosts(settings: Mapping[str, Any]) -> list[str]:
    """The account's allowed callback hosts; the schema default if the setting is absent
    (accounts linked before the setting existed). An explicit empty list allows none."""
    hosts = settings.get("callback_hosts")
    if hosts is None:
        return list(DEFAULT_CALLBACK_HOSTS)
    return [host for host in hosts if isinstance(host, str)]


def callback_problem(url: str, *, hosts: Sequence[str], outbound_allowed: Sequence[str] = ()) -> str | None:
    """Why ``url`` cannot be stored as a callback, or None when it can.

    Refused: other schemes, credentials in the URL, hosts outside ``hosts``, and
    literal addresses in blocked ranges (the SSRF rule applied to every submitted URL,
    CONTRACT §5) unless the operator listed them in ``GATEWAY_OUTBOUND_ALLOWED_HOSTS``.
    """
    if len(url) > MAX_CALLBACK_LENGTH:
        return f"Must be at most {MAX_CALLBACK_LENGTH} characters."
    try:
        validate_submitted_url(url, allowed_hosts=outbound_allowed)
        host = urlsplit(url.strip()).hostname or ""
    except ValueError as exc:
        return str(exc)
    if not host_matches(host, hosts):
        return "The callback host is not one of the account's callback_hosts."
    return None


def basic_authorization(client_id: str, client_secret: str | None) -> str:
    """``Basic base64(id:secret)``; a public client has no secret and sends ``id:``
    (softgarden.md §3: the docs' own ``MTA=`` example for ``10:`` is wrong; ``MTA6`` is right)."""
    raw = f"{client_id}:{client_secret or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def notification_request(ctx: AccountContext, *, invitation_id: str, callback_url: str) -> OutboundRequestSpec:
    """The notification for one invitation: no state in the body, so resending it is
    always safe and always means "come and fetch the newest state"."""
    return OutboundRequestSpec(
        method="POST",
        url=callback_url,
        headers={
            "Authorization": basic_authorization(
                str(ctx.credentials.get("notify_client_id") or ""),
                ctx.credentials.get("notify_client_secret"),
            ),
            "Content-Type": "application/json",
        },
        json={"invitationId": invitation_id},
        allowed_hosts=tuple(callback_hosts(ctx.settings)),
    )
