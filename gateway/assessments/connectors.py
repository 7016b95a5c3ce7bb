"""How services reach an account's connector: the lookup, the context it runs in, and
the translation of its failures into the contract's 501/502/504."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from connectors.base import AccountContext, Connector, ProviderError, Role
from connectors.registry import UnknownConnector, registry
from gateway.api.errors import NotSupported, ProviderFailed, ProviderTimeout
from gateway.tenancy.models import Account

T = TypeVar("T")


def account_connector(account: Account) -> Connector:
    try:
        return registry().get(account.provider)
    except UnknownConnector:
        # The plug-in was uninstalled after the account was linked.
        raise NotSupported(f"The connector {account.provider!r} is not installed.") from None


def account_require_role(account: Account, role: Role) -> None:
    """501 for an operation that only the other role has (e.g. POST orders on an ATS)."""
    actual = account_connector(account).role
    if actual != role:
        raise NotSupported(f"Not supported for {actual.value}-role accounts.")


def account_context(account: Account, *, proxy: Mapping[str, str] | None = None) -> AccountContext:
    return AccountContext(
        account_id=account.id,
        credentials=account.credentials or {},
        settings=account.settings or {},
        proxy=dict(proxy or {}),
    )


def provider_errors(calls: list) -> list[dict]:
    return [
        {"status": call.status, "url": call.url, "raw": call.response}
        for call in calls
        if call.status is None or call.status >= 400
    ]


def connector_call(operation: Callable[[], T]) -> T:
    try:
        return operation()
    except ProviderError as exc:
        error_class = ProviderTimeout if exc.timeout else ProviderFailed
        raise error_class(str(exc), provider_errors=provider_errors(exc.calls)) from exc
