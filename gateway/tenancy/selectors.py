"""Reads for tenants and accounts. Every account lookup goes through here, scoped by
tenant, so another tenant's id, an unlinked account and a missing one look the same."""

from __future__ import annotations

from django.db.models import QuerySet

from gateway.api.errors import NotFound
from gateway.tenancy.crypto import lookup_digests
from gateway.tenancy.models import Account, ApiKey, Tenant


def api_key_get_active(*, digest: str) -> ApiKey | None:
    # The tenant's signing secrets are needed only to sign deliveries: deferring them
    # spares every request two decryptions.
    return (
        ApiKey.objects.select_related("tenant")
        .defer("tenant__signing_secret", "tenant__previous_signing_secret")
        .filter(digest=digest, revoked_at__isnull=True)
        .first()
    )


def account_list(*, tenant: Tenant) -> QuerySet[Account]:
    return Account.objects.linked().filter(tenant=tenant)


def account_get(*, tenant: Tenant, account_id: str) -> Account:
    account = account_list(tenant=tenant).filter(id=account_id).first()
    if account is None:
        raise NotFound("Account not found")
    return account


def account_for_inbound_secret(*, provider: str, secret: str) -> Account | None:
    """The linked account whose partner presented ``secret`` (Greenhouse key, webhook token)."""
    if not secret:
        return None
    return (
        Account.objects.linked()
        .select_related("tenant")
        .filter(provider=provider, inbound_secret_digest__in=lookup_digests(secret))
        .first()
    )
