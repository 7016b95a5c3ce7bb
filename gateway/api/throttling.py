"""Per-API-key rate limit (``GATEWAY_RATE_LIMIT``, default ``1000/min``), fixed window.

The counter is one atomic ``INCR`` in the shared cache (Redis when ``REDIS_URL`` is set,
so all web processes share it; per process in embedded mode).

When the cache is unreachable the limit **fails open**: requests are served and an
error is logged. The limit protects capacity, not data (authentication and tenant
scoping do that), so a Redis outage should not become an API outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.cache.backends.redis import RedisCacheClient
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)
_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


@cache
def parse_rate(rate: str) -> tuple[int, int]:
    """``"1000/min"`` → ``(1000, 60)``."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def window_count(key: str, period: int) -> int:
    """Count one more request in ``key``'s window and return the count so far.

    On Redis this is one round trip (``SET NX EX`` then ``INCR`` in one ``MULTI``) on one
    client, instead of the cache API's ``add`` then ``incr``, which is three round trips
    on two freshly built clients and was a visible part of every API request (bench/,
    scenario 1). It reaches the backend's client through Django's private ``_cache``
    attribute; any other backend (the in-process cache of embedded mode) takes the
    cache API path, with the same result.
    """
    backend = getattr(shared_cache, "_cache", None)
    if isinstance(backend, RedisCacheClient):
        full_key = shared_cache.make_and_validate_key(key)
        pipe = backend.get_client(full_key, write=True).pipeline(transaction=True)
        pipe.set(full_key, 0, ex=period + 1, nx=True)
        pipe.incr(full_key)
        return int(pipe.execute()[1])
    if shared_cache.add(key, 1, timeout=period + 1):
        return 1
    return shared_cache.incr(key)


class ApiKeyRateThrottle(BaseThrottle):
    timer: Callable[[], float] = time.time

    def allow_request(self, request: Any, view: Any) -> bool:
        principal = getattr(request, "user", None)
        api_key = getattr(principal, "api_key", None)
        if api_key is None:
            return True  # unauthenticated requests never reach a view that needs a key
        limit, period = parse_rate(settings.GATEWAY_RATE_LIMIT)
        now = self.timer()
        window = int(now // period)
        self._wait = period - (now % period)
        key = f"ratelimit:{api_key.id}:{window}"
        try:
            used = window_count(key, period)
        except Exception:  # the cache is down: fail open, loudly (see the module docstring)
            logger.exception("Rate limit cache unavailable; serving without a limit")
            return True
        request.rate_limit = (limit, max(0, limit - used))
        return used <= limit

    def wait(self) -> float:
        return self._wait
