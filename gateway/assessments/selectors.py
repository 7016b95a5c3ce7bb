"""Reads for packages, orders and results, always through the account (the tenant scope
was applied when the account was resolved)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime

from django.db.models import QuerySet

from gateway.api.errors import NotFound, NotSupported
from gateway.api.query import pinned
from gateway.assessments.connectors import account_connector, connector_call
from gateway.assessments.models import Order, Package, Result
from gateway.sdk import Capability, Context, RemotePackage, Role
from gateway.tenancy.crypto import lookup_digests
from gateway.tenancy.models import Account, Tenant
from gateway.tenancy.selectors import account_list

# Provider-role packages are read live and never stored, so their gateway id encodes the
# provider's test id; it resolves only through the caller's own account.
_LIVE_PACKAGE_PREFIX = "pkg_r"


def live_package_id(remote_id: str) -> str:
    return _LIVE_PACKAGE_PREFIX + base64.urlsafe_b64encode(remote_id.encode()).decode().rstrip("=")


def live_package_remote_id(package_id: str) -> str | None:
    if not package_id.startswith(_LIVE_PACKAGE_PREFIX):
        return None
    body = package_id[len(_LIVE_PACKAGE_PREFIX) :]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def package_list_published(*, account: Account, updated_after: datetime | None = None) -> QuerySet[Package]:
    packages = Package.objects.filter(account=account, active=True)
    if updated_after is not None:
        packages = packages.filter(updated_at__gt=updated_after)
    return packages


def package_list_live(*, account: Account, ctx: Context) -> list[RemotePackage]:
    connector = account_connector(account)
    if not connector.supports(Capability.LIST_PACKAGES):
        raise NotSupported()
    return connector_call(lambda: connector.list_packages(ctx))


def account_role(account: Account) -> Role:
    return account_connector(account).role


def package_get_published(*, account: Account, package_id: str) -> Package:
    package = Package.objects.filter(account=account, id=package_id).first()
    if package is None:
        raise NotFound("Package not found")
    return package


def package_get_live(*, account: Account, ctx: Context, package_id: str | None = None,
                     remote_id: str | None = None) -> RemotePackage:
    wanted = remote_id if remote_id is not None else live_package_remote_id(package_id or "")
    if wanted is None:
        raise NotFound("Package not found")
    for package in package_list_live(account=account, ctx=ctx):
        if package.remote_id == wanted:
            return package
    raise NotFound("Package not found")


def order_list(
    *,
    account: Account,
    statuses: Sequence[str] = (),
    package_id: str | None = None,
    updated_after: datetime | None = None,
) -> QuerySet[Order]:
    # The results of a page come in a second query (``prefetch_related``), not in a
    # LEFT JOIN: with the join, PostgreSQL merge-joined the whole results index in id
    # order, so a page cost grew with the rows before it, tens of milliseconds at a
    # million orders (bench/, scenario 4). Two index lookups of a page each stay flat.
    # ``pinned`` is ``account = …`` that keeps PostgreSQL on the (account, id) index.
    orders = pinned(Order.objects.prefetch_related("result"), "account_id", account.id)
    if statuses:
        orders = orders.filter(status__in=statuses)
    if package_id:
        orders = orders.filter(package_ref=package_id)
    if updated_after is not None:
        orders = orders.filter(updated_at__gt=updated_after)
    return orders


def source_key_digests(*, account: Account, source_key: str) -> list[str]:
    """The stored forms of a partner's idempotency key (the first is the current one).

    Only a keyed digest is stored: the key outlives the GDPR erase (a repeated partner
    call must still find the tombstone), and partners' keys name their candidates
    (Greenhouse's url, softgarden's application id).
    """
    return lookup_digests(f"{account.provider}:{source_key}")


def order_for_source_key(*, account: Account, source_key: str) -> Order | None:
    return Order.objects.filter(
        account=account, source_key__in=source_key_digests(account=account, source_key=source_key)
    ).first()


def order_get(*, account: Account, order_id: str) -> Order:
    order = Order.objects.filter(account=account, id=order_id).select_related("result").first()
    if order is None:
        raise NotFound("Order not found")
    return order


def order_find_through_tenant(*, tenant: Tenant, account_id: str, order_id: str) -> Order | None:
    """The order and its account (``order.account``) in one query, scoped exactly as
    ``account_get`` scopes accounts; None when either is missing or not the tenant's.

    For the read path: resolving the account and then the order cost two round trips
    per request (bench/, scenario 1). On None the caller resolves the account the
    usual way, so the 400/404 answers stay exactly what they were.
    """
    accounts = account_list(tenant=tenant).filter(id=account_id)
    found = (
        Order.objects.filter(id=order_id, account__in=accounts)
        .select_related("account", "result")
        # Reads never need the account's secrets: leave them encrypted in the database
        # (a view that does need them, e.g. to call the provider, loads them on access).
        .defer("account__credentials", "account__inbound_secret")[:1]
    )
    return next(iter(found), None)


def order_result_get(*, order: Order) -> Result:
    result = Result.objects.filter(order=order).first()
    if result is None:
        raise NotFound("The order has no result yet")
    return result


def result_list(
    *, account: Account, order_id: str | None = None, updated_after: datetime | None = None
) -> QuerySet[Result]:
    results = pinned(Result.objects.all(), "account_id", account.id)  # see order_list
    if order_id:
        results = results.filter(order_id=order_id)
    if updated_after is not None:
        results = results.filter(updated_at__gt=updated_after)
    return results


def result_get(*, account: Account, result_id: str) -> Result:
    result = Result.objects.filter(account=account, id=result_id).first()
    if result is None:
        raise NotFound("Result not found")
    return result
