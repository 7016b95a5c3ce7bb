"""Which account a partner's call belongs to: the inbound key it presents selects it."""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest

from gateway.sdk import InboundAuth
from gateway.tenancy.models import Account
from gateway.tenancy.selectors import account_for_inbound_secret

MAX_KEY_LENGTH = 512  # ours are far shorter (Greenhouse takes at most 170); longer is garbage

CHALLENGES = {
    InboundAuth.BASIC_KEY: 'Basic realm="gateway"',
    InboundAuth.BEARER_KEY: 'Bearer realm="gateway"',
}


def _authorization(request: HttpRequest) -> tuple[str, str]:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower(), value.strip()


def _basic_key(value: str, *, password_ok: bool) -> str | None:
    """The key from ``Basic base64(key:)``; with ``password_ok`` also ``base64(:key)``."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, _, password = decoded.partition(":")
    if user and not password:
        return user
    if password_ok and password and not user:
        return password
    if password_ok and user and user == password:
        return user
    return None


def presented_key(request: HttpRequest, auth: InboundAuth, *, password_ok: bool = False,
                  path_token: str | None = None) -> str | None:
    if auth is InboundAuth.PATH_TOKEN:
        return path_token or None
    scheme, value = _authorization(request)
    if not value:
        return None
    if auth is InboundAuth.BASIC_KEY and scheme == "basic":
        return _basic_key(value, password_ok=password_ok)
    if auth is InboundAuth.BEARER_KEY and scheme == "bearer":
        return value
    return None


def inbound_account(provider: str, key: str | None) -> Account | None:
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        return None
    return account_for_inbound_secret(provider=provider, secret=key)
