"""Prefixed, time-ordered, opaque ids (``ord_01JD...``).

The 26-character body is a ULID-style value: 48 bits of milliseconds then 80 random
bits, in Crockford base32. Ids therefore sort by creation time, which is what keyset
pagination orders by, and reveal nothing a client could rely on.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    body = (millis << 80) | secrets.randbits(80)
    return f"{prefix}_{_base32(body, 26)}"

