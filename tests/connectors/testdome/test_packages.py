"""Packages through the unified API, read live from the simulator: paging, the token
kept across requests, refreshes, provider errors, 429s, ``raw=true`` redaction and
``proxy[...]``."""

from __future__ import annotations

from typing import Any

from connectors.testdome.simulator import TestDomeSimulator
from gateway.sdk.loopback import LoopbackServer
from tests.connectors.testdome.conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, account_settings
from tests.helpers import error_of

PACKAGES = "/unified/ats/assessments/packages"


def expected_ids(sim: TestDomeSimulator) -> set[str]:
    return {str(t["id"]) for t in sim._tests.values() if not t["archived"] and t["isPublished"]}


def listing_calls(sim: TestDomeSimulator) -> list[Any]:
    return [c for c in sim.api_calls if c.path == "/v3/tests"]


def test_lists_every_page_without_archived_or_unpublished(api: Any, sim: TestDomeSimulator) -> None:
    sim.seed_tests(130, archived_every=13, unpublished_every=17)
    wanted = expected_ids(sim)
    assert len(wanted) == 113  # more than one TestDome page of 100

    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"page_size": 50, **({"next": cursor} if cursor else {})}
        body = api.get(PACKAGES, params).json()
        seen += body["data"]
        cursor = body["next"]
        if not cursor:
            break

    assert {p["remote_id"] for p in seen} == wanted
    assert len(seen) == len(wanted)
    sample = next(p for p in seen if p["remote_id"] == min(wanted, key=int))
    assert sample["name"] == "Simulated Test 1" and sample["description"]
    assert set(sample) == {"id", "remote_id", "name", "description", "type", "updated_at"}
    first_read = listing_calls(sim)[:2]
    assert [c.query["$skip"] for c in first_read] == [["0"], ["100"]]
    assert all(c.query["$filter[archived]"] == ["false"] for c in first_read)
    assert all(c.query["$filter[isPublished]"] == ["true"] for c in first_read)


def test_one_package_by_gateway_id(api: Any, sim: TestDomeSimulator) -> None:
    test_id = sim.add_test("Java")
    listed = api.get(PACKAGES).json()["data"]
    one = api.get(f"{PACKAGES}/{listed[0]['id']}").json()["data"]
    assert one["remote_id"] == str(test_id) and one["name"] == "Java"


def test_one_token_request_serves_many_calls(api: Any, sim: TestDomeSimulator) -> None:
    sim.seed_tests(130, archived_every=0, unpublished_every=0)
    for _ in range(5):
        assert api.get(PACKAGES).status_code == 200
    assert len(listing_calls(sim)) == 10  # two pages each
    assert sim.token_requests == 1


def test_an_expired_token_is_refreshed_exactly_once(api: Any, sim: TestDomeSimulator) -> None:
    sim.add_test("Go")
    assert api.get(PACKAGES).status_code == 200
    sim.expire_all_tokens()
    response = api.get(PACKAGES)
    assert response.status_code == 200 and len(response.json()["data"]) == 1
    assert sim.token_requests == 2
    assert [c.status for c in listing_calls(sim)] == [200, 401, 200]
    assert api.get(PACKAGES).status_code == 200
    assert sim.token_requests == 2  # the new token is cached in turn


def test_a_second_401_gives_up(api: Any, sim: TestDomeSimulator) -> None:
    sim.add_test("Go")
    api.get(PACKAGES)
    sim.token_ttl = -1  # every new token is born expired
    sim.expire_all_tokens()
    body = error_of(api.get(PACKAGES), 502)
    assert sim.token_requests == 2
    assert [e["status"] for e in body["provider_errors"]] == [401, 401]
    assert "TokenExpired" in body["message"]


def test_provider_500_is_a_502_with_provider_errors(api: Any, sim: TestDomeSimulator) -> None:
    sim.add_test("Go")
    sim.fail_next(1, status=500)
    body = error_of(api.get(PACKAGES), 502)
    [error] = body["provider_errors"]
    assert error["status"] == 500 and "/v3/tests" in error["url"]
    assert error["raw"]["code"] == "InternalServerError"
    assert "HTTP 500" in body["message"]


def test_a_short_429_is_waited_out(api: Any, sim: TestDomeSimulator) -> None:
    sim.add_test("Go")
    sim.rate_limit_next(1, retry_after=0)
    response = api.get(PACKAGES)
    assert response.status_code == 200 and len(response.json()["data"]) == 1
    assert [c.status for c in listing_calls(sim)] == [429, 200]


def test_a_long_429_is_passed_on_with_retry_after(api: Any, sim: TestDomeSimulator) -> None:
    """Too long to wait inside a request: the caller is told to come back, not "bad gateway"."""
    sim.add_test("Go")
    sim.rate_limit_next(1, retry_after=600)
    response = api.get(PACKAGES)
    body = error_of(response, 429)
    assert response["Retry-After"] == "600"
    assert body["provider_errors"][0]["status"] == 429 and "rate limit" in body["message"]
    sim.rate_limit_next(3, retry_after=0)  # more 429s than the retries allowed
    assert api.get(PACKAGES).status_code == 429
    assert [c.status for c in listing_calls(sim)] == [429, 429, 429, 429]


def test_raw_shows_every_call_with_credentials_redacted(api: Any, sim: TestDomeSimulator) -> None:
    sim.add_test("Go")
    response = api.get(PACKAGES, {"raw": "true"})
    assert response.status_code == 200
    raw = response.json()["raw"]
    assert [(r["method"], r["status"]) for r in raw] == [("POST", 200), ("GET", 200)]
    assert raw[0]["url"].endswith("/token") and raw[0]["response"]["access_token"] == "REDACTED"
    text = response.content.decode()
    tokens = list(sim._tokens)
    assert tokens and PASSWORD not in text
    assert not any(token in text for token in tokens)
    cached = api.get(PACKAGES, {"raw": "true"}).json()["raw"]
    assert [r["method"] for r in cached] == ["GET"]  # the cached token: no token call


def test_proxy_parameters_reach_the_provider(api: Any, sim: TestDomeSimulator) -> None:
    sim.add_test("Go")
    assert api.get(PACKAGES, {"proxy[tenant_hint]": "abc"}).status_code == 200
    assert listing_calls(sim)[-1].query["tenant_hint"] == ["abc"]


def test_client_credentials_accounts_work(tenant: Any, connector: Any, sim: TestDomeSimulator, sim_url: str) -> None:
    sim.add_test("Go")
    linked = tenant.link(
        "testdome",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        settings=account_settings(sim_url),
    )
    response = tenant.unified(linked["id"]).get(PACKAGES, {"raw": "true"})
    assert response.status_code == 200 and len(response.json()["data"]) == 1
    assert CLIENT_SECRET not in response.content.decode()


def test_wrong_credentials_are_a_502_that_names_the_cause(
    tenant: Any, connector: Any, sim: TestDomeSimulator, sim_url: str
) -> None:
    linked = tenant.link(
        "testdome",
        credentials={"email": "recruiter@acme.example", "api_password": "wrong-pass"},
        settings=account_settings(sim_url),
    )
    response = tenant.unified(linked["id"]).get(PACKAGES)
    body = error_of(response, 502)
    assert "email or API password is wrong" in body["message"]
    assert body["provider_errors"][0]["status"] == 400
    assert "wrong-pass" not in response.content.decode()


def test_an_unreachable_provider_is_a_502(tenant: Any, connector: Any) -> None:
    server = LoopbackServer(lambda e, s: [])
    dead = server.url
    server._server.server_close()  # nothing listens there any more
    linked = tenant.link(
        "testdome", credentials={"email": "a@b.example", "api_password": "x"}, settings=account_settings(dead)
    )
    body = error_of(tenant.unified(linked["id"]).get(PACKAGES), 502)
    assert body["provider_errors"][0]["status"] is None
