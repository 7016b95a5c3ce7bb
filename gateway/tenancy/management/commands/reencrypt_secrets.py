"""``python manage.py reencrypt_secrets``: after prepending a new key to
``GATEWAY_ENCRYPTION_KEYS``, re-encrypt every stored secret under it, so that the old
key can then be removed. Also recomputes inbound lookup digests under the current
``SECRET_KEY``. Safe to run repeatedly; each row is rewritten in its own transaction."""

from django.core.management.base import BaseCommand
from django.db import transaction

from gateway.tenancy.crypto import lookup_digest
from gateway.tenancy.models import Account, Tenant


class Command(BaseCommand):
    help = "Re-encrypt credentials, inbound secrets and signing secrets with the newest key."

    def handle(self, *args: object, **options: object) -> None:
        accounts = tenants = 0
        for account_id in Account.objects.values_list("id", flat=True).iterator():
            with transaction.atomic():
                account = Account.objects.select_for_update().get(id=account_id)
                # Loading decrypts with any key; saving encrypts with the first one.
                if account.inbound_secret:
                    account.inbound_secret_digest = lookup_digest(account.inbound_secret)
                account.save(update_fields=["credentials", "inbound_secret", "inbound_secret_digest"])
                accounts += 1
        for tenant_id in Tenant.objects.values_list("id", flat=True).iterator():
            with transaction.atomic():
                tenant = Tenant.objects.select_for_update().get(id=tenant_id)
                tenant.save(update_fields=["signing_secret", "previous_signing_secret"])
                tenants += 1
        self.stdout.write(f"Re-encrypted {accounts} accounts and {tenants} tenants.")
