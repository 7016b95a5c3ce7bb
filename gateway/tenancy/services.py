"""Writes for tenants, API keys and accounts."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction

from gateway.api.errors import ValidationFailed
from gateway.delivery.signing import generate_signing_secret
from gateway.registry import UnknownConnector, registry
from gateway.sdk import Connector, InboundKind
from gateway.tenancy.crypto import lookup_digest
from gateway.tenancy.models import Account, AccountStatus, ApiKey, Tenant
from gateway.tenancy.schemas import validate_object
from gateway.timefmt import utcnow

logger = logging.getLogger(__name__)

SIGNING_SECRET_OVERLAP = timedelta(hours=24)
_UNSET: Any = object()


@dataclass(frozen=True)
class TenantCreated:
    tenant: Tenant
    api_key: str
    signing_secret: str


def api_key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_mint(api_key: ApiKey) -> str:
    """Give ``api_key`` a new secret; the plaintext is returned once and never stored."""
    raw_key = f"gw_{secrets.token_urlsafe(32)}"
    api_key.prefix = raw_key[:10]
    api_key.digest = api_key_digest(raw_key)
    return raw_key


def api_key_create(*, tenant: Tenant, name: str = "default") -> tuple[ApiKey, str]:
    api_key = ApiKey(tenant=tenant, name=name)
    raw_key = api_key_mint(api_key)
    api_key.full_clean()
    api_key.save()
    return api_key, raw_key


@transaction.atomic
def tenant_create(*, name: str) -> TenantCreated:
    signing_secret = generate_signing_secret()
    tenant = Tenant(name=name, signing_secret=signing_secret)
    tenant.full_clean()
    tenant.save()
    _, raw_key = api_key_create(tenant=tenant)
    return TenantCreated(tenant=tenant, api_key=raw_key, signing_secret=signing_secret)


def signing_secret_rotate(*, tenant: Tenant) -> str:
    """New secret now; the old one keeps signing alongside it for 24 h (CONTRACT §2)."""
    new_secret = generate_signing_secret()
    tenant.previous_signing_secret = tenant.signing_secret
    tenant.previous_signing_secret_expires_at = utcnow() + SIGNING_SECRET_OVERLAP
    tenant.signing_secret = new_secret
    tenant.save(
        update_fields=[
            "signing_secret",
            "previous_signing_secret",
            "previous_signing_secret_expires_at",
        ]
    )
    return new_secret


def tenant_signing_secrets(*, tenant: Tenant) -> list[str]:
    """Every secret a delivery must be signed with right now (two during a rotation)."""
    active = [tenant.signing_secret]
    expires = tenant.previous_signing_secret_expires_at
    if tenant.previous_signing_secret and expires and expires > utcnow():
        active.append(tenant.previous_signing_secret)
    return active


def connector_for_provider(provider: str) -> Connector:
    try:
        return registry().get(provider)
    except UnknownConnector:
        raise ValidationFailed.field(
            "provider", f"Unknown provider. Registered: {', '.join(registry().providers())}."
        ) from None


def _mint_inbound_secret(kind: InboundKind) -> str:
    # Greenhouse accepts keys of at most 170 characters; these are 47.
    prefix = "gwi_" if kind is InboundKind.API_KEY else ""
    return prefix + secrets.token_urlsafe(32)


def _set_inbound_secret(account: Account, connector: Connector) -> dict[str, Any] | None:
    if connector.inbound is None:
        return None
    secret = _mint_inbound_secret(connector.inbound)
    account.inbound_secret = secret
    account.inbound_secret_digest = lookup_digest(secret)
    return inbound_object(account=account, connector=connector, secret=secret)


def inbound_object(*, account: Account, connector: Connector, secret: str) -> dict[str, Any]:
    """The ``inbound`` object: shown at link time and on rotation only."""
    urls = connector.inbound_urls(
        account_id=account.id, secret=secret, public_url=django_settings.GATEWAY_PUBLIC_URL
    )
    if connector.inbound is InboundKind.API_KEY:
        return {"api_key": secret, "urls": urls}
    return dict(urls)


@transaction.atomic
def account_link(
    *,
    tenant: Tenant,
    provider: str,
    credentials: dict[str, Any] | None,
    settings: dict[str, Any] | None,
    label: str = "",
    origin_owner_id: str | None = None,
    origin_owner_name: str | None = None,
) -> tuple[Account, dict[str, Any] | None]:
    connector = connector_for_provider(provider)
    account = Account(
        tenant=tenant,
        provider=provider,
        label=label or "",
        origin_owner_id=origin_owner_id,
        origin_owner_name=origin_owner_name,
        credentials=validate_object(connector.credentials_schema, credentials, field="credentials"),
        settings=validate_object(connector.settings_schema, settings, field="settings"),
    )
    inbound = _set_inbound_secret(account, connector)
    account.full_clean()
    account.save()
    return account, inbound


def account_update(
    *,
    account: Account,
    label: str | None = _UNSET,
    settings: dict[str, Any] | None = _UNSET,
    credentials: dict[str, Any] | None = _UNSET,
) -> Account:
    connector = connector_for_provider(account.provider)
    if label is not _UNSET:
        account.label = label or ""
    if settings is not _UNSET:
        account.settings = validate_object(connector.settings_schema, settings, field="settings")
    if credentials is not _UNSET:
        account.credentials = validate_object(
            connector.credentials_schema, credentials, field="credentials"
        )
        account.status = AccountStatus.ACTIVE  # new credentials clear an auth error
    account.full_clean()
    account.save()
    return account


def account_inbound_rotate(*, account: Account) -> dict[str, Any] | None:
    """A new inbound secret; the old one stops working with this commit."""
    connector = connector_for_provider(account.provider)
    inbound = _set_inbound_secret(account, connector)
    if inbound is None:
        return None
    account.save(update_fields=["inbound_secret", "inbound_secret_digest", "updated_at"])
    return inbound


def account_unlink(*, account: Account) -> None:
    """Erase credentials and the inbound secret; the row stays as a tombstone for orders."""
    account.credentials = None
    account.inbound_secret = None
    account.inbound_secret_digest = None
    account.status = AccountStatus.DISABLED
    account.deleted_at = utcnow()
    account.save()



def account_status_record(*, account_id: str, status: str, reason: str = "") -> bool:
    """What the partner last said of the account's credentials: ``error`` after a 401 or
    403 on our call or a failed check, ``active`` after a good check (new credentials
    clear it too, in ``account_update``). A disabled or unlinked account stays as it is.
    Returns whether the status changed."""
    changed = (
        Account.objects.linked()
        .filter(id=account_id)
        .exclude(status__in=[status, AccountStatus.DISABLED])
        .update(status=status, updated_at=utcnow())
    )
    if changed and status == AccountStatus.ERROR:
        logger.warning("Account %s: the partner refused its credentials (%s)", account_id, reason[:200])
    return bool(changed)
