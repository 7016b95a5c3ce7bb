"""``ctx.tokens`` and ``ctx.cache``: the shared cache (Redis in production), per account.

Tokens are encrypted at rest and kept until shortly before they expire: one token
request per account and credentials per lifetime, not one per call. Limits, said
honestly:

* the stampede guard is a short ``cache.add`` lock; a process that waits for it longer
  than ``LOCK_WAIT_STEPS`` polls fetches its own token rather than fail;
* with the in-process cache of embedded mode, each process has its own token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import BaseCache

from gateway.tenancy.crypto import DecryptionError, decrypt, encrypt, lookup_digest

REFRESH_MARGIN = 300  # refresh five minutes early (a fifth of the lifetime if shorter)
LOCK_TTL = 15  # seconds a token fetch may hold the stampede lock
LOCK_WAIT_STEPS, LOCK_WAIT_STEP = 20, 0.1  # up to ~2 s waiting for another fetch


class AccountTokens:
    def __init__(self, *, account_id: str, cache: BaseCache, clock: Callable[[], float],
                 sleep: Callable[[float], None]) -> None:
        self._account_id, self._cache, self._clock, self._sleep = account_id, cache, clock, sleep

    def _key(self, name: str) -> str:
        # Only a keyed digest of the name: connectors name tokens by their credentials.
        return f"tokens:{self._account_id}:{lookup_digest(name)[:32]}"

    def _cached(self, key: str) -> str | None:
        entry = self._cache.get(key)
        if not isinstance(entry, dict) or entry.get("usable_until", 0) <= self._clock():
            return None
        try:
            return decrypt(entry["token"])
        except (DecryptionError, KeyError, TypeError):
            return None

    def get(self, name: str, fetch: Callable[[], tuple[str, int]]) -> str:
        key = self._key(name)
        token = self._cached(key)
        if token:
            return token
        lock = key + ":lock"
        locked = self._cache.add(lock, 1, LOCK_TTL)
        if not locked:
            # Another process is fetching one: use it when it lands.
            for _ in range(LOCK_WAIT_STEPS):
                self._sleep(LOCK_WAIT_STEP)
                token = self._cached(key)
                if token:
                    return token
        try:
            token, lifetime = fetch()
            margin = min(REFRESH_MARGIN, lifetime // 5)
            usable = max(1, lifetime - margin)
            self._cache.set(key, {"token": encrypt(token), "usable_until": self._clock() + usable}, usable)
            return token
        finally:
            if locked:
                self._cache.delete(lock)

    def forget(self, name: str, token: str) -> None:
        """Drop a refused token, unless another process already replaced it."""
        key = self._key(name)
        if self._cached(key) == token:
            self._cache.delete(key)


class AccountCache:
    """Keys live under the account's prefix, so no connector reads another account's."""

    def __init__(self, *, account_id: str, cache: BaseCache) -> None:
        self._prefix = f"connector:{account_id}:"
        self._cache = cache

    def _key(self, key: str) -> str:
        return self._prefix + (key if len(key) <= 150 else lookup_digest(key))

    def add(self, key: str, value: Any, ttl: float) -> bool:
        return bool(self._cache.add(self._key(key), value, ttl))

    def get(self, key: str) -> Any:
        return self._cache.get(self._key(key))

    def set(self, key: str, value: Any, ttl: float | None) -> None:
        self._cache.set(self._key(key), value, ttl)
