"""Standard Webhooks signatures (https://www.standardwebhooks.com) for tenant deliveries.

Receivers verify with any Standard Webhooks library, so the signing itself is delegated to
the reference ``standardwebhooks`` package rather than re-implemented here.
"""

from __future__ import annotations

import base64
import secrets as _secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def generate_signing_secret() -> str:
    """A new tenant secret: 24 random bytes (192 bits), base64, with the usual prefix."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(24)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`` keyed with the secret.

    The package signs text; a strict UTF-8 round trip gives back exactly ``body``'s bytes
    (the signature covers what is sent), and a body that is not UTF-8 raises instead of
    being signed in some other form. Our bodies are JSON, hence UTF-8.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("signing secrets start with 'whsec_'")
    text = body.decode("utf-8")  # strict: raises UnicodeDecodeError rather than altering
    when = datetime.fromtimestamp(int(timestamp), tz=UTC)
    return Webhook(secret).sign(msg_id, when, text)


def webhook_headers(
    msg_id: str, body: bytes, secrets: Sequence[str], timestamp: int | None = None
) -> dict[str, str]:
    """Headers for one delivery attempt; one signature per secret during a rotation, so
    receivers holding either the old or the new secret accept it."""
    if not secrets:
        raise ValueError("at least one signing secret is required; never send unsigned")
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(sign(s, msg_id, ts, body) for s in secrets),
        "Content-Type": "application/json",
    }
