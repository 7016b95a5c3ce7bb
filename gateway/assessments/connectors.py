"""How services reach an account's connector: the lookup, and the translation of its
failures into the contract's 501/502/504/429."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gateway.api.errors import GatewayError, NotSupported, ProviderFailed, ProviderTimeout, error_with_status
from gateway.registry import UnknownConnector, registry
from gateway.sdk import Connector, ProviderError, Role
from gateway.tenancy.models import Account

T = TypeVar("T")

# A provider's Retry-After longer than this is not passed on as is: a caller told to wait
# an hour by a live call would rather see the provider's own figure in provider_errors.
MAX_RETRY_AFTER_SECONDS = 3600


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


def provider_errors(calls: list) -> list[dict]:
    return [
        {"status": call.status, "url": call.url, "raw": call.response}
        for call in calls
        if call.status is None or call.status >= 400
    ]


def provider_error_translate(exc: ProviderError) -> GatewayError:
    """502 (504 for a timeout) with the failed calls; a provider's 429 stays a 429 with
    its ``Retry-After``, so the caller backs off instead of retrying a "bad gateway"."""
    errors = provider_errors(exc.calls)
    if exc.status == 429:
        wait = max(1, min(int(exc.retry_after or 1), MAX_RETRY_AFTER_SECONDS))
        return error_with_status(429, str(exc), provider_errors=errors, headers={"Retry-After": str(wait)})
    error_class = ProviderTimeout if exc.timeout else ProviderFailed
    return error_class(str(exc), provider_errors=errors)


def connector_call(operation: Callable[[], T]) -> T:
    try:
        return operation()
    except ProviderError as exc:
        raise provider_error_translate(exc) from exc
