"""``ctx.tokens`` and ``ctx.cache``: tokens fetched once per lifetime across processes,
encrypted at rest, renewed early; cache keys that never cross accounts."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from gateway.ports.stores import LOCK_WAIT_STEPS, AccountCache, AccountTokens
from gateway.tenancy.crypto import encrypt


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    cache.clear()


def _tokens(clock: Clock, account_id: str = "acc_1") -> AccountTokens:
    return AccountTokens(account_id=account_id, cache=cache, clock=clock, sleep=clock.sleep)


def _fetcher(*tokens: str, lifetime: int = 1800) -> Any:
    calls: list[str] = []
    queue = list(tokens)

    def fetch() -> tuple[str, int]:
        calls.append("fetch")
        return queue.pop(0), lifetime

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


def test_one_fetch_serves_every_call_until_shortly_before_expiry() -> None:
    clock = Clock()
    fetch = _fetcher("t1", "t2")
    tokens = _tokens(clock)
    assert [tokens.get("grant", fetch) for _ in range(5)] == ["t1"] * 5
    clock.now += 1800 - 300 - 1  # inside the five-minute margin: still the first
    assert tokens.get("grant", fetch) == "t1"
    clock.now += 2
    assert tokens.get("grant", fetch) == "t2"
    assert len(fetch.calls) == 2


def test_a_short_lifetime_keeps_a_fifth_as_margin() -> None:
    clock = Clock()
    fetch = _fetcher("t1", "t2", lifetime=100)
    tokens = _tokens(clock)
    tokens.get("grant", fetch)
    clock.now += 79
    assert tokens.get("grant", fetch) == "t1"
    clock.now += 2
    assert tokens.get("grant", fetch) == "t2"


def test_the_cached_token_is_encrypted() -> None:
    tokens = _tokens(Clock())
    tokens.get("grant", _fetcher("plain-token-value"))
    entry = cache.get(tokens._key("grant"))
    assert "plain-token-value" not in str(entry)
    assert tokens.get("grant", _fetcher()) == "plain-token-value"  # and it decrypts


def test_the_name_is_stored_only_as_a_digest() -> None:
    tokens = _tokens(Clock())
    assert "client-secret-42" not in tokens._key("https://idp/token\nclient_secret=client-secret-42")


def test_tokens_are_per_account_and_per_name() -> None:
    clock = Clock()
    fetch = _fetcher("a1", "b1", "a2")
    assert _tokens(clock, "acc_a").get("grant", fetch) == "a1"
    assert _tokens(clock, "acc_b").get("grant", fetch) == "b1"
    assert _tokens(clock, "acc_a").get("other-credentials", fetch) == "a2"
    assert _tokens(clock, "acc_a").get("grant", fetch) == "a1"


def test_forget_drops_a_refused_token_but_not_its_replacement() -> None:
    clock = Clock()
    tokens = _tokens(clock)
    fetch = _fetcher("old", "new")
    assert tokens.get("grant", fetch) == "old"
    tokens.forget("grant", "old")
    assert tokens.get("grant", fetch) == "new"
    tokens.forget("grant", "old")  # a late forget of the refused one leaves the new one
    assert tokens.get("grant", fetch) == "new"


def test_a_concurrent_fetch_is_awaited_not_repeated() -> None:
    clock = Clock()
    tokens = _tokens(clock)
    key = tokens._key("grant")
    cache.add(key + ":lock", 1, 15)  # another process is fetching

    def other_process_lands(seconds: float) -> None:
        clock.now += seconds
        clock.slept.append(seconds)
        if len(clock.slept) == 2:  # what the other process writes when its fetch returns
            cache.set(key, {"token": encrypt("theirs"), "usable_until": clock.now + 100}, 100)

    tokens._sleep = other_process_lands
    fetch = _fetcher("mine")
    assert tokens.get("grant", fetch) == "theirs"
    assert fetch.calls == []


def test_a_stuck_lock_does_not_block_for_ever() -> None:
    clock = Clock()
    tokens = _tokens(clock)
    cache.add(tokens._key("grant") + ":lock", 1, 15)
    fetch = _fetcher("mine")
    assert tokens.get("grant", fetch) == "mine"
    assert len(clock.slept) == LOCK_WAIT_STEPS and len(fetch.calls) == 1


def test_a_failed_fetch_releases_the_lock() -> None:
    clock = Clock()
    tokens = _tokens(clock)

    def failing() -> tuple[str, int]:
        raise RuntimeError("idp down")

    with pytest.raises(RuntimeError):
        tokens.get("grant", failing)
    assert cache.get(tokens._key("grant") + ":lock") is None


def test_cache_keys_never_cross_accounts() -> None:
    mine, theirs = AccountCache(account_id="acc_a", cache=cache), AccountCache(account_id="acc_b", cache=cache)
    assert mine.add("marker", 1, 60) is True
    assert mine.add("marker", 1, 60) is False
    assert theirs.add("marker", 1, 60) is True
    mine.set("cursor", "x", None)
    assert mine.get("cursor") == "x" and theirs.get("cursor") is None
    long_key = "k" * 500
    mine.set(long_key, 1, 60)
    assert mine.get(long_key) == 1
