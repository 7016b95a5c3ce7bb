"""The shared cache's Redis backend (gateway/cache.py): Django's, reusing its clients."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from gateway.cache import RedisCache

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="Needs REDIS_URL (make test sets it)")


@pytest.fixture
def redis_cache() -> RedisCache:
    return RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex[:8]}"})


def test_one_client_serves_every_call(redis_cache):
    backend = redis_cache._cache
    assert backend.get_client("a") is backend.get_client("b")
    assert backend.get_client("a", write=True) is backend.get_client("a", write=True)


def test_it_behaves_as_djangos_backend(redis_cache):
    assert redis_cache.add("key", {"token": "t"}, timeout=30)
    assert not redis_cache.add("key", "other", timeout=30)  # SET NX: the first one stays
    assert redis_cache.get("key") == {"token": "t"}
    redis_cache.set("count", 1, timeout=30)
    assert redis_cache.incr("count") == 2
    redis_cache.delete("key")
    assert redis_cache.get("key") is None
    redis_cache.delete("count")


def test_threads_share_the_client_safely(redis_cache):
    """redis-py clients borrow a pooled connection per command, so concurrent calls on
    the one client never mix their replies."""
    failures = []

    def worker(n: int) -> None:
        for i in range(50):
            key = f"k{n}-{i}"
            redis_cache.set(key, key, timeout=30)
            if redis_cache.get(key) != key:
                failures.append(key)
            redis_cache.delete(key)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
