"""What we send Ashby: ``assessment.update`` on every change of an order, and the
account check. Both authenticate with the customer's Ashby API key (HTTP Basic, the key
as user name, a blank password), which needs Ashby's ``candidatesWrite`` permission.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.ashby import mapping
from gateway.sdk import (
    Context,
    HttpError,
    HttpTimeout,
    OrderView,
    OutboundRequestSpec,
    ProviderError,
    basic_authorization,
    retry_after_seconds,
)


def callback_hosts(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The hosts updates may go to; the default for accounts linked without the setting.
    An explicit empty list allows none."""
    hosts = settings.get("callback_hosts")
    if hosts is None:
        return mapping.DEFAULT_CALLBACK_HOSTS
    return tuple(host for host in hosts if isinstance(host, str))


def _api_key(ctx: Context) -> str:
    return str(ctx.credentials.get("api_key") or "")


def _rpc_url(ctx: Context, rpc: str) -> str:
    return mapping.api_url(str(ctx.settings.get("api_base_url") or mapping.DEFAULT_API_BASE_URL), rpc)


def _headers(api_key: str) -> dict[str, str]:
    return {
        "Authorization": basic_authorization(api_key, ""),
        "Accept": mapping.ACCEPT,
        "Content-Type": "application/json",
        "User-Agent": mapping.USER_AGENT,
    }


def update_request(ctx: Context, order: OrderView) -> OutboundRequestSpec | None:
    """The update for the order's newest state, built when it is sent (so a retry carries
    the newest state and the newest key). None when Ashby has nothing to hear: the order
    was erased, or was never Ashby's."""
    assessment_id = mapping.order_assessment_id(order)
    if order.erased or assessment_id is None:
        return None
    api_key = _api_key(ctx)
    return OutboundRequestSpec(
        method="POST",
        url=_rpc_url(ctx, mapping.RPC_UPDATE),
        headers=_headers(api_key),
        json=mapping.update_body(order, assessment_id=assessment_id),
        allowed_hosts=callback_hosts(ctx.settings),
        secrets=(api_key,),
        judge=mapping.update_outcome,
    )


def key_check(ctx: Context) -> None:
    """Raise ``ProviderError`` unless Ashby accepts the account's key for updates."""
    api_key = _api_key(ctx)
    try:
        response = ctx.http.request(
            "POST", _rpc_url(ctx, mapping.CHECK_RPC), json=mapping.CHECK_BODY, headers=_headers(api_key),
            secrets=(api_key,),
        )
    except HttpTimeout as exc:
        raise ProviderError(f"Ashby did not answer in time: {exc}", calls=list(ctx.calls), timeout=True) from None
    except HttpError as exc:
        raise ProviderError(f"Ashby could not be reached: {exc}", calls=list(ctx.calls)) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    problem = mapping.check_problem(response.status, body)
    if problem is None:
        return
    message, account_error = problem
    raise ProviderError(
        message,
        calls=list(ctx.calls),
        status=response.status,
        retry_after=retry_after_seconds(response.headers) if response.status == 429 else None,
        account_error=account_error,
    )
