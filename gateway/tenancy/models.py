"""Tenants, their API keys and their linked accounts.

A tenant is one SaaS customer of the gateway. Everything else hangs off an ``Account``
(one link to one partner), and every query reaches data through the tenant first, so a
forgotten scope cannot happen (see ``gateway.tenancy.selectors``).
"""

from __future__ import annotations

from django.db import models

from gateway.ids import new_id
from gateway.tenancy.crypto import EncryptedJSONField, EncryptedTextField


def new_tenant_id() -> str:
    return new_id("ten")


def new_api_key_id() -> str:
    return new_id("key")


def new_account_id() -> str:
    return new_id("acc")


class Tenant(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_tenant_id, editable=False)
    name = models.CharField(max_length=200)
    signing_secret = EncryptedTextField()
    # Kept for 24 h after a rotation so receivers can switch over (CONTRACT §2).
    previous_signing_secret = EncryptedTextField(null=True, blank=True)
    previous_signing_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ApiKey(models.Model):
    """A tenant's API key, stored only as a SHA-256 digest.

    A plain (unsalted, fast) hash is enough here: keys are 256-bit random values, so
    there is nothing to brute-force, and lookup by digest stays one indexed query.
    """

    id = models.CharField(primary_key=True, max_length=32, default=new_api_key_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, default="default")
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to recognise it.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


class AccountStatus(models.TextChoices):
    ACTIVE = "active"
    ERROR = "error"
    DISABLED = "disabled"


class AccountQuerySet(models.QuerySet):
    def linked(self) -> AccountQuerySet:
        return self.filter(deleted_at__isnull=True)


class Account(models.Model):
    """A tenant's link to one partner through one connector.

    ``inbound_secret`` is what the partner presents to us: the inbound API key of an
    ``ats`` account, or the webhook token of a provider. It is encrypted (the gateway
    needs it back, e.g. for Greenhouse's PATCH) and found through its keyed digest.
    Unlinking keeps the row as a tombstone (orders still point at it) but erases the
    credentials and the inbound secret, and every lookup then treats it as absent.
    """

    id = models.CharField(primary_key=True, max_length=32, default=new_account_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="accounts")
    provider = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    origin_owner_id = models.CharField(max_length=200, null=True, blank=True)
    origin_owner_name = models.CharField(max_length=200, null=True, blank=True)
    credentials = EncryptedJSONField(null=True, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    inbound_secret = EncryptedTextField(null=True, blank=True)
    inbound_secret_digest = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "id"], name="account_tenant_id")]

    def __str__(self) -> str:
        return f"{self.provider}: {self.label or self.id}"
