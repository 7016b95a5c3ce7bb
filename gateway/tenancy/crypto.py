"""Encryption at rest for credentials and inbound secrets, and keyed digests for lookups.

Values are encrypted with ``MultiFernet`` over ``GATEWAY_ENCRYPTION_KEYS``: the first key
encrypts, every key decrypts, so keys rotate by prepending a new one and running
``manage.py reencrypt_secrets``. A value no key can decrypt raises ``DecryptionError``:
returning the ciphertext, or None, would hide a misconfiguration until data is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class DecryptionError(RuntimeError):
    """Stored ciphertext that none of the configured keys can open."""


@cache
def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in settings.GATEWAY_ENCRYPTION_KEYS])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "GATEWAY_ENCRYPTION_KEYS must be comma-separated url-safe base64 Fernet keys."
        ) from exc


def reset_keys() -> None:
    """Forget the cached keys (after the settings change, in tests and the rotation command)."""
    _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted with GATEWAY_ENCRYPTION_KEYS: "
            "was a key removed before running reencrypt_secrets?"
        ) from exc


def encrypt_bytes(plaintext: bytes) -> bytes:
    return _fernet().encrypt(plaintext)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(token)
    except InvalidToken as exc:
        raise DecryptionError("A stored value cannot be decrypted with GATEWAY_ENCRYPTION_KEYS.") from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the first (newest) key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("A stored secret cannot be decrypted for rotation.") from exc


def _digest_keys() -> list[bytes]:
    # Derived from SECRET_KEY (and its fallbacks, so lookups survive a SECRET_KEY rotation)
    # rather than from the Fernet keys, which rotate on a different schedule.
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [hashlib.sha256(f"gateway.lookup-digest:{s}".encode()).digest() for s in secrets]


def lookup_digest(value: str) -> str:
    """The keyed digest stored beside an encrypted secret so that it can be found by value."""
    return hmac.new(_digest_keys()[0], value.encode(), hashlib.sha256).hexdigest()


def lookup_digests(value: str) -> list[str]:
    """Digests under the current and fallback SECRET_KEYs, for ``digest__in`` lookups."""
    return [hmac.new(k, value.encode(), hashlib.sha256).hexdigest() for k in _digest_keys()]


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token; ``None`` stays ``NULL``."""

    def from_db_value(self, value: str | None, expression, connection) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: str | None) -> str | None:
        return None if value is None else encrypt(str(value))

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisation (dumpdata) must never write plaintext secrets.
        return "<encrypted>"


class EncryptedJSONField(models.TextField):
    """A JSON object stored as one Fernet token (credentials: never queried by content)."""

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        return None if value is None else json.loads(decrypt(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return value

    def get_prep_value(self, value: Any) -> str | None:
        return None if value is None else encrypt(json.dumps(value, separators=(",", ":")))

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisation (dumpdata) must never write plaintext credentials.
        return "<encrypted>"
