"""Secrets at rest: encrypted columns, loud failures with a wrong key, key rotation, and
lookup digests across a SECRET_KEY rotation."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from gateway.tenancy import crypto
from gateway.tenancy.crypto import DecryptionError
from gateway.tenancy.models import Account, Tenant
from gateway.tenancy.selectors import account_for_inbound_secret
from gateway.tenancy.services import tenant_signing_secrets


@pytest.fixture(autouse=True)
def forget_keys():
    """Each test may switch keys; never leave a cached MultiFernet behind."""
    crypto.reset_keys()
    yield
    crypto.reset_keys()


def raw_row(table: str, columns: str, row_id: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id = %s", [row_id])  # noqa: S608
        return cursor.fetchone()


def raw_account(account_id: str) -> tuple[str, str, str]:
    return raw_row(Account._meta.db_table, "credentials, inbound_secret, inbound_secret_digest", account_id)


def open_with(key: bytes | str, token: str) -> str:
    return Fernet(key).decrypt(token.encode()).decode()


def test_credentials_and_inbound_secret_are_encrypted_at_rest(ats_account):
    inbound_key = ats_account["inbound"]["api_key"]
    credentials, inbound_secret, digest = raw_account(ats_account["id"])
    assert "s3cret-notify" not in credentials
    assert "notify_secret" not in credentials
    assert inbound_key not in inbound_secret
    assert inbound_key not in digest and len(digest) == 64
    current = settings.GATEWAY_ENCRYPTION_KEYS[0]
    assert json.loads(open_with(current, credentials)) == {"notify_secret": "s3cret-notify"}
    assert open_with(current, inbound_secret) == inbound_key
    # The ORM reads them back in the clear.
    account = Account.objects.get(id=ats_account["id"])
    assert account.credentials == {"notify_secret": "s3cret-notify"}
    assert account.inbound_secret == inbound_key


def test_the_signing_secret_is_encrypted_at_rest(tenant):
    (stored,) = raw_row(Tenant._meta.db_table, "signing_secret", tenant.id)
    assert tenant.signing_secret not in stored
    assert open_with(settings.GATEWAY_ENCRYPTION_KEYS[0], stored) == tenant.signing_secret


def test_each_write_encrypts_afresh(tenant, connectors):
    a = tenant.link("fake_provider", credentials={"api_key": "same"})
    b = tenant.link("fake_provider", credentials={"api_key": "same"})
    assert raw_account(a["id"])[0] != raw_account(b["id"])[0]  # no equality leak between rows


def test_a_wrong_key_fails_loudly(ats_account, tenant):
    with override_settings(GATEWAY_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        crypto.reset_keys()
        with pytest.raises(DecryptionError, match="GATEWAY_ENCRYPTION_KEYS"):
            Account.objects.get(id=ats_account["id"])
        with pytest.raises(DecryptionError):
            Tenant.objects.get(id=tenant.id)
        # The API refuses too rather than acting on garbage (the request is not served).
        with pytest.raises(DecryptionError):
            tenant.client.get(f"/accounts/{ats_account['id']}")
    crypto.reset_keys()
    assert Account.objects.get(id=ats_account["id"]).credentials == {"notify_secret": "s3cret-notify"}


def test_rotation_with_reencrypt_secrets(tenant, ats_account):
    old_key = settings.GATEWAY_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    inbound_key = ats_account["inbound"]["api_key"]
    signing_secret = tenant.signing_secret

    # Step 1: prepend the new key, re-encrypt.
    with override_settings(GATEWAY_ENCRYPTION_KEYS=[new_key, old_key]):
        crypto.reset_keys()
        out = io.StringIO()
        call_command("reencrypt_secrets", stdout=out)
        assert "Re-encrypted 1 accounts and 1 tenants." in out.getvalue()

    credentials, inbound_secret, _ = raw_account(ats_account["id"])
    assert json.loads(open_with(new_key, credentials)) == {"notify_secret": "s3cret-notify"}
    assert open_with(new_key, inbound_secret) == inbound_key

    # Step 2: the old key is gone; everything still opens.
    with override_settings(GATEWAY_ENCRYPTION_KEYS=[new_key]):
        crypto.reset_keys()
        account = Account.objects.get(id=ats_account["id"])
        assert account.credentials == {"notify_secret": "s3cret-notify"}
        assert account.inbound_secret == inbound_key
        rotated_tenant = Tenant.objects.get(id=tenant.id)
        assert rotated_tenant.signing_secret == signing_secret
        assert tenant_signing_secrets(tenant=rotated_tenant) == [signing_secret]
        assert account_for_inbound_secret(provider="fake_ats", secret=inbound_key) == account
        assert tenant.client.get(f"/accounts/{ats_account['id']}").status_code == 200


def test_rotation_also_reencrypts_a_previous_signing_secret(tenant):
    first = tenant.signing_secret
    rotated = tenant.client.post("/signing_secret").json()["signing_secret"]
    old_key = settings.GATEWAY_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    with override_settings(GATEWAY_ENCRYPTION_KEYS=[new_key, old_key]):
        crypto.reset_keys()
        call_command("reencrypt_secrets", stdout=io.StringIO())
    with override_settings(GATEWAY_ENCRYPTION_KEYS=[new_key]):
        crypto.reset_keys()
        stored = Tenant.objects.get(id=tenant.id)
        assert stored.signing_secret == rotated
        assert stored.previous_signing_secret == first


def test_lookup_digests_survive_a_secret_key_rotation(ats_account):
    inbound_key = ats_account["inbound"]["api_key"]
    old_secret_key = settings.SECRET_KEY
    with override_settings(SECRET_KEY="a-brand-new-secret-key", SECRET_KEY_FALLBACKS=[old_secret_key]):
        found = account_for_inbound_secret(provider="fake_ats", secret=inbound_key)
        assert found is not None and found.id == ats_account["id"]
        # reencrypt_secrets moves the digest to the new SECRET_KEY ...
        call_command("reencrypt_secrets", stdout=io.StringIO())
    # ... after which the fallback can be dropped.
    with override_settings(SECRET_KEY="a-brand-new-secret-key", SECRET_KEY_FALLBACKS=[]):
        assert account_for_inbound_secret(provider="fake_ats", secret=inbound_key).id == ats_account["id"]


def test_without_the_fallback_an_old_digest_does_not_resolve(ats_account):
    # The control for the test above: the fallback is what made the lookup work.
    inbound_key = ats_account["inbound"]["api_key"]
    with override_settings(SECRET_KEY="a-brand-new-secret-key", SECRET_KEY_FALLBACKS=[]):
        assert account_for_inbound_secret(provider="fake_ats", secret=inbound_key) is None


def test_serialisation_never_writes_plaintext(tenant, ats_account):
    out = io.StringIO()
    call_command("dumpdata", "tenancy.account", "tenancy.tenant", stdout=out)
    dumped = json.loads(out.getvalue())
    text = out.getvalue()
    assert "s3cret-notify" not in text
    assert ats_account["inbound"]["api_key"] not in text
    assert tenant.signing_secret not in text
    fields = {row["model"]: row["fields"] for row in dumped}
    assert fields["tenancy.account"]["credentials"] == "<encrypted>"
    assert fields["tenancy.account"]["inbound_secret"] == "<encrypted>"
    assert fields["tenancy.tenant"]["signing_secret"] == "<encrypted>"
    assert fields["tenancy.tenant"]["previous_signing_secret"] is None
