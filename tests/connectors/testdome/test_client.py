"""The TestDome client and ``check`` on their own, against the simulator, through the
core's real ports (``context_for``) with the test's clock and sleep: the token's use
across operations, one refresh on 401, ``expires_in``, 429 back-off, paging bounds,
timeouts, and the error-code walk. The token cache's own mechanics (encryption, the
stampede lock, expiry arithmetic) are the core's and tested there."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from connectors.testdome.client import TestDomeApiError, TestDomeClient, error_chain, error_message
from connectors.testdome.connector import TestDomeConnector
from connectors.testdome.simulator import TestDomeSimulator
from gateway.outbound import OutboundClient
from gateway.ports.http import RecordingHttp
from gateway.sdk import ProviderError
from tests.connectors.testdome.conftest import CLIENT_ID, CLIENT_SECRET, EMAIL, PASSWORD, Clock, account_settings

pytestmark = pytest.mark.django_db


def link(tenant: Any, sim_url: str, **credentials: str) -> str:
    linked = tenant.link(
        "testdome",
        credentials=credentials or {"email": EMAIL, "api_password": PASSWORD},
        settings=account_settings(sim_url),
    )
    return linked["id"]


def test_one_token_serves_every_operation_of_the_account(
    sim: TestDomeSimulator, account: Any, make_ctx: Any, connector: TestDomeConnector
) -> None:
    sim.add_test("Go")
    for _ in range(3):
        assert len(connector.list_packages(make_ctx(account["id"]))) == 1
    assert sim.token_requests == 1


def test_new_credentials_or_another_account_never_reuse_a_token(
    tenant: Any, sim: TestDomeSimulator, sim_url: str, account: Any, make_ctx: Any
) -> None:
    TestDomeClient(make_ctx(account["id"])).get("/tests")
    other = link(tenant, sim_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    TestDomeClient(make_ctx(other)).get("/tests")
    assert sim.token_requests == 2
    TestDomeClient(make_ctx(link(tenant, sim_url))).get("/tests")  # same credentials, new account
    assert sim.token_requests == 3


def test_a_refused_token_is_refreshed_once(sim: TestDomeSimulator, ctx: Any, make_ctx: Any, account: Any) -> None:
    TestDomeClient(ctx).get("/tests")
    sim.expire_all_tokens()
    fresh = make_ctx(account["id"])
    TestDomeClient(fresh).get("/tests")
    assert sim.token_requests == 2
    assert [(c.method, c.status) for c in fresh.calls] == [("GET", 401), ("POST", 200), ("GET", 200)]
    sim.token_ttl = -1  # every new token is born expired: the second 401 is final
    sim.expire_all_tokens()
    with pytest.raises(TestDomeApiError) as caught:
        TestDomeClient(make_ctx(account["id"])).get("/tests")
    assert caught.value.status == 401 and caught.value.has_code("TokenExpired")
    assert [c.status for c in caught.value.calls] == [401, 200, 401]
    assert sim.token_requests == 3


def test_expires_in_sets_the_reuse_window(sim: TestDomeSimulator, account: Any, make_ctx: Any, clock: Clock) -> None:
    sim.token_ttl = 600  # a short-lived token: reused for 4/5 of its life
    TestDomeClient(make_ctx(account["id"])).get("/tests")
    clock.advance(470)
    TestDomeClient(make_ctx(account["id"])).get("/tests")
    assert sim.token_requests == 1
    clock.advance(20)
    TestDomeClient(make_ctx(account["id"])).get("/tests")
    assert sim.token_requests == 2


def test_429_waits_for_retry_after(sim: TestDomeSimulator, ctx: Any, sleeps: list[float]) -> None:
    sim.add_test("Go")
    sim.rate_limit_next(1, retry_after=3)
    assert len(TestDomeClient(ctx).list_all("/tests")) == 1
    assert sleeps == [3.0]


def test_429_beyond_the_bounds_is_a_rate_limited_provider_error(
    sim: TestDomeSimulator, account: Any, make_ctx: Any, sleeps: list[float]
) -> None:
    sim.rate_limit_next(1, retry_after=600)  # too long to wait inside a request
    with pytest.raises(ProviderError) as caught:
        TestDomeClient(make_ctx(account["id"])).get("/tests")
    assert sleeps == [] and (caught.value.status, caught.value.retry_after) == (429, 600.0)
    assert "rate limit" in str(caught.value)
    sim.rate_limit_next(3, retry_after=1)  # more 429s than the retries allowed
    with pytest.raises(ProviderError) as caught:
        TestDomeClient(make_ctx(account["id"])).get("/tests")
    assert sleeps == [1.0, 1.0] and caught.value.retry_after == 1.0


def test_a_shorter_bound_fails_fast(sim: TestDomeSimulator, ctx: Any, sleeps: list[float]) -> None:
    sim.rate_limit_next(1, retry_after=3)
    with pytest.raises(ProviderError):
        TestDomeClient(ctx, max_retry_after=2).get("/tests")
    assert sleeps == []


def test_paging_stops_at_the_page_bound(sim: TestDomeSimulator, ctx: Any) -> None:
    sim.seed_tests(130, archived_every=0, unpublished_every=0)
    assert len(TestDomeClient(ctx).list_all("/tests")) == 130
    with pytest.raises(ProviderError, match="more than 1 pages"):
        TestDomeClient(ctx, max_pages=1).list_all("/tests")


def test_filters_and_proxy_parameters(sim: TestDomeSimulator, account: Any, make_ctx: Any) -> None:
    sim.add_test("Kept")
    sim.add_test("Old", archived=True)
    ctx = make_ctx(account["id"], proxy={"$filter[archived]": "true"})
    found = TestDomeClient(ctx).list_all("/tests", {"$filter[archived]": "false"})
    assert [t["name"] for t in found] == ["Old"]  # the caller's proxy value wins over ours
    unproxied = TestDomeClient(ctx).list_all("/tests", {"$filter[archived]": "false"}, forward_proxy=False)
    assert [t["name"] for t in unproxied] == ["Kept"]


def test_a_timeout_is_a_provider_timeout(sim: TestDomeSimulator, ctx: Any) -> None:
    TestDomeClient(ctx).get("/tests")  # token first, so only the API call hangs
    sim.hang_next(1, seconds=1.5)
    ctx.http = RecordingHttp(OutboundClient(allowed_hosts=["127.0.0.1"], timeout=0.3), ctx.calls)
    with pytest.raises(ProviderError) as caught:
        TestDomeClient(ctx).get("/tests")
    assert caught.value.timeout is True
    assert caught.value.calls and caught.value.calls[-1].status is None
    assert ctx.calls == caught.value.calls


def test_error_codes_are_walked_to_a_known_one(sim: TestDomeSimulator, ctx: Any) -> None:
    with pytest.raises(TestDomeApiError) as caught:
        TestDomeClient(ctx).get("/candidates/123")
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


def test_missing_credentials_are_an_account_error(ctx: Any) -> None:
    ctx.account = dataclasses.replace(ctx.account, credentials={})
    with pytest.raises(ProviderError, match="no usable credentials") as caught:
        TestDomeClient(ctx)
    assert caught.value.account_error is True


def test_a_token_answer_without_a_token(sim_url: str, slots: Any, ctx: Any) -> None:
    def broken(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"token_type": "Bearer"}']

    slots[0].app = broken
    with pytest.raises(TestDomeApiError, match="no access_token"):
        TestDomeClient(ctx).get("/tests")


def test_check_asks_for_a_fresh_token(sim: TestDomeSimulator, ctx: Any, connector: TestDomeConnector) -> None:
    TestDomeClient(ctx).get("/tests")
    connector.check(ctx)
    connector.check(ctx)
    assert sim.token_requests == 3  # a cached token proves nothing about today's password
    assert PASSWORD not in repr([c.as_dict() for c in ctx.calls])


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": EMAIL, "api_password": "wrong-pass"},
        {"client_id": CLIENT_ID, "client_secret": "wrong-secret"},
    ],
)
def test_check_refuses_wrong_credentials_as_an_account_error(
    tenant: Any, sim: TestDomeSimulator, sim_url: str, make_ctx: Any, connector: TestDomeConnector,
    credentials: dict[str, str],
) -> None:
    ctx = make_ctx(link(tenant, sim_url, **credentials))
    with pytest.raises(ProviderError) as caught:
        connector.check(ctx)
    assert caught.value.account_error is True and caught.value.status in (400, 401)
    assert caught.value.calls == ctx.calls and ctx.calls[0].url.endswith("/token")
    assert "is wrong" in str(caught.value)


def test_check_when_testdome_fails_is_no_account_error(slots: Any, ctx: Any, connector: TestDomeConnector) -> None:
    def down(environ: Any, start_response: Any) -> list[bytes]:
        start_response("503 Service Unavailable", [("Content-Type", "application/json")])
        return [b'{"error": "temporarily_unavailable"}']

    slots[0].app = down
    with pytest.raises(ProviderError) as caught:
        connector.check(ctx)
    assert caught.value.account_error is False and caught.value.status == 503
