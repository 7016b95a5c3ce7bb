"""The TestDome client on its own, against the simulator: the token cache's keying,
encryption and stampede guard, paging bounds, timeouts, and the error-code walk."""

from __future__ import annotations

import sys
import uuid
from typing import Any

import pytest
from django.core.cache import cache

from connectors.base import AccountContext, ProviderError
from connectors.testdome.client import TestDomeApiError, TestDomeClient, error_chain, error_message
from connectors.testdome.simulator import TestDomeSimulator
from gateway.delivery.outbound import OutboundClient
from gateway.tenancy.crypto import decrypt
from tests.connectors.testdome.conftest import CLIENT_ID, CLIENT_SECRET, EMAIL, PASSWORD, Clock

pytestmark = pytest.mark.django_db

ACCOUNT_ID = "acc_test"


@pytest.fixture(autouse=True)
def _fresh_account_id(monkeypatch: Any) -> None:
    """Token cache keys hold the account id: a fresh one per test never meets a token
    cached by another test (the cache may be a shared Redis)."""
    monkeypatch.setattr(sys.modules[__name__], "ACCOUNT_ID", f"acc_test_{uuid.uuid4().hex}")


def context(sim_url: str, **credentials: str) -> AccountContext:
    return AccountContext(
        account_id=ACCOUNT_ID,
        credentials=credentials or {"email": EMAIL, "api_password": PASSWORD},
        settings={"api_base_url": sim_url + "/v3", "token_url": sim_url + "/token"},
    )


def make(sim_url: str, clock: Clock | None = None, sleeps: list[float] | None = None, **kw: Any) -> TestDomeClient:
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    return TestDomeClient(context(sim_url, **kw.pop("credentials", {})), timer=clock or Clock(), sleep=sleep, **kw)


def test_the_cached_token_is_encrypted(sim: TestDomeSimulator, sim_url: str) -> None:
    client = make(sim_url)
    client.get("/tests")
    [token] = list(sim._tokens)
    key = client._cache_key()
    entry = cache.get(key)
    assert token not in repr(entry) and decrypt(entry["token"]) == token
    assert key.startswith(f"testdome:token:{ACCOUNT_ID}:") and PASSWORD not in key and EMAIL not in key


def test_tokens_are_per_account_and_per_credentials(sim: TestDomeSimulator, sim_url: str) -> None:
    make(sim_url).get("/tests")
    make(sim_url).get("/tests")
    assert sim.token_requests == 1
    make(sim_url, credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).get("/tests")
    assert sim.token_requests == 2  # new credentials never reuse the old token
    other = TestDomeClient(
        AccountContext(ACCOUNT_ID + "_other", {"email": EMAIL, "api_password": PASSWORD}, context(sim_url).settings),
        timer=Clock(),
    )
    other.get("/tests")
    assert sim.token_requests == 3


def test_a_concurrent_fetch_is_awaited_not_repeated(sim: TestDomeSimulator, sim_url: str) -> None:
    """Another process holds the lock; its token lands while we wait, and we use it."""
    clock = Clock()
    first = make(sim_url, clock)
    first.get("/tests")  # fills the cache…
    key = first._cache_key()
    entry = cache.get(key)
    cache.delete(key)  # …which we hide again, as if the other process were still fetching
    cache.add(key + ":lock", 1, 15)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            cache.set(key, entry, 60)  # the other process finishes

    TestDomeClient(context(sim_url), timer=clock, sleep=sleep).get("/tests")
    assert len(waits) == 3 and sim.token_requests == 1


def test_a_stuck_lock_does_not_block_for_ever(sim: TestDomeSimulator, sim_url: str) -> None:
    client = make(sim_url)
    cache.add(client._cache_key() + ":lock", 1, 15)
    client.get("/tests")
    assert sim.token_requests == 1


def test_paging_stops_at_the_page_bound(sim: TestDomeSimulator, sim_url: str) -> None:
    sim.seed_tests(130, archived_every=0, unpublished_every=0)
    assert len(make(sim_url).list_all("/tests")) == 130
    with pytest.raises(ProviderError, match="more than 1 pages"):
        make(sim_url, max_pages=1).list_all("/tests")


def test_filters_and_proxy_parameters(sim: TestDomeSimulator, sim_url: str) -> None:
    sim.add_test("Kept")
    sim.add_test("Old", archived=True)
    ctx = AccountContext(
        ACCOUNT_ID,
        {"email": EMAIL, "api_password": PASSWORD},
        context(sim_url).settings,
        proxy={"$filter[archived]": "true"},
    )
    found = TestDomeClient(ctx, timer=Clock()).list_all("/tests", {"$filter[archived]": "false"})
    assert [t["name"] for t in found] == ["Old"]  # the caller's proxy value wins over ours
    unproxied = TestDomeClient(ctx, timer=Clock()).list_all(
        "/tests", {"$filter[archived]": "false"}, forward_proxy=False
    )
    assert [t["name"] for t in unproxied] == ["Kept"]


def test_a_timeout_is_a_provider_timeout(sim: TestDomeSimulator, sim_url: str) -> None:
    make(sim_url).get("/tests")  # token first, so only the API call hangs
    sim.hang_next(1, seconds=1.5)
    slow = OutboundClient(allowed_hosts=["127.0.0.1"], timeout=0.3)
    client = make(sim_url, http=slow)
    with pytest.raises(ProviderError) as caught:
        client.get("/tests")
    assert caught.value.timeout is True
    assert caught.value.calls and caught.value.calls[-1].status is None
    assert client.ctx.calls == caught.value.calls


def test_error_codes_are_walked_to_a_known_one(sim: TestDomeSimulator, sim_url: str) -> None:
    with pytest.raises(TestDomeApiError) as caught:
        make(sim_url).get("/candidates/123")
    assert caught.value.status == 404 and caught.value.codes == ["NotFound", "CandidateNotFound"]
    assert "the candidate does not exist" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "codes", "text"),
    [
        (
            {"code": "Outer", "message": "m1", "innerError": {"code": "InvalidDeadline", "message": "m2"}},
            ["Outer", "InvalidDeadline"],
            "the deadline is not a future date",
        ),
        (
            {"code": "Outer", "innerErrors": [{"code": "Mid", "details": [{"code": "Leaf", "message": "deep"}]}]},
            ["Outer", "Mid", "Leaf"],
            "deep",
        ),
        ({"error": "invalid_grant", "error_description": "nope"}, ["invalid_grant"], "email or API password"),
        ("<html>oops</html>", [], "HTTP 500"),
        (None, [], "HTTP 500"),
    ],
)
def test_error_messages(body: Any, codes: list[str], text: str) -> None:
    message, found = error_message(500, body)
    assert found == codes and text in message


def test_the_error_walk_is_bounded() -> None:
    node: dict[str, Any] = {"code": "Loop"}
    node["innerError"] = node  # a cycle must not hang the client
    codes, _ = error_chain(node)
    assert len(codes) == 10


def test_missing_credentials_are_a_provider_error(sim_url: str) -> None:
    with pytest.raises(ProviderError, match="no usable credentials"):
        TestDomeClient(AccountContext("acc_x", {}, {}), timer=Clock())


def test_a_token_answer_without_a_token(sim_url: str, slots: Any) -> None:
    def broken(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"token_type": "Bearer"}']

    slots[0].app = broken
    with pytest.raises(TestDomeApiError, match="no access_token"):
        make(sim_url).get("/tests")


def test_expires_in_sets_the_reuse_window(sim: TestDomeSimulator, sim_url: str) -> None:
    sim.token_ttl = 600  # a short-lived token: reused for 4/5 of its life
    clock = Clock()
    make(sim_url, clock).get("/tests")
    clock.advance(470)
    make(sim_url, clock).get("/tests")
    assert sim.token_requests == 1
    clock.advance(20)
    make(sim_url, clock).get("/tests")
    assert sim.token_requests == 2
