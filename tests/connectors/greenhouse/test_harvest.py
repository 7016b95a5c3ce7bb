"""The Harvest v1 client against the simulator's Harvest over real loopback HTTP, plus a few
narrow ``responses`` cases for answers the simulator never gives. The client calls
through ``Recording``, the gateway's guarded client kept as ``ctx.http`` keeps it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from connectors.greenhouse.harvest import (
    HarvestAuthError,
    HarvestConfigurationError,
    HarvestError,
    HarvestNotFound,
    HarvestRateLimited,
    HarvestV1Client,
    HarvestValidationError,
    harvest_client_for,
)
from connectors.greenhouse.simulator import DEFAULT_HARVEST_KEY, GreenhouseSimulator
from gateway.outbound import OutboundClient
from gateway.ports.http import RecordingHttp
from gateway.sdk import AccountSnapshot, Context
from gateway.sdk.loopback import LoopbackServer
from tests.conftest import basic
from tests.connectors.greenhouse.conftest import FakeClock


class Recording(RecordingHttp):
    """``ctx.http`` as the core builds it, its records kept in ``calls``."""

    def __init__(self, *, allowed_hosts: list[str], timeout: float = 10.0) -> None:
        self.calls: list[Any] = []
        super().__init__(OutboundClient(allowed_hosts=allowed_hosts, timeout=timeout), self.calls)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[GreenhouseSimulator]:
    simulator = GreenhouseSimulator(clock=clock, rate_limit=5)
    simulator.seed_demo()
    with LoopbackServer(simulator) as server:
        simulator.public_url = server.url
        yield simulator


def _client(sim: GreenhouseSimulator, clock: FakeClock, **options: Any) -> HarvestV1Client:
    return HarvestV1Client(
        api_key=options.pop("api_key", DEFAULT_HARVEST_KEY),
        http=options.pop("http", None) or Recording(allowed_hosts=["127.0.0.1"]),
        base_url=f"{sim.public_url}/v1",
        sleep=clock.sleep,
        clock=clock,
        **options,
    )


def _harvest_requests(sim: GreenhouseSimulator) -> list[Any]:
    return [r for r in sim.requests if r.path.startswith("/v1/")]


def test_reads_objects_with_basic_auth(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    http = Recording(allowed_hosts=["127.0.0.1"])
    client = _client(sim, clock, http=http)
    application = client.get_application(7770001)
    assert application["candidate_id"] == 5550001 and application["status"] == "active"
    job = client.get_job(application["jobs"][0]["id"])
    assert job["name"] == "Backend Engineer"
    candidate = client.get_candidate("5550001")
    assert candidate["application_ids"] == [7770001]
    sent = _harvest_requests(sim)
    assert [r.headers["Authorization"] for r in sent] == [basic(DEFAULT_HARVEST_KEY)] * 3
    assert len(http.calls) == 3 and all(c.status == 200 for c in http.calls)
    assert DEFAULT_HARVEST_KEY not in json.dumps([c.as_dict() for c in http.calls])


def test_missing_object_is_not_found(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    with pytest.raises(HarvestNotFound) as caught:
        _client(sim, clock).get_application(1)
    assert caught.value.status == 404
    assert caught.value.message == "Resource not found"
    assert caught.value.calls and caught.value.calls[0].status == 404


def test_a_non_numeric_id_is_never_sent(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    with pytest.raises(HarvestNotFound):
        _client(sim, clock).get_job("../users")
    assert _harvest_requests(sim) == []


def test_wrong_key_is_an_auth_error(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    with pytest.raises(HarvestAuthError) as caught:
        _client(sim, clock, api_key="wrong-harvest-key").get_job(2201)
    assert caught.value.status == 401 and caught.value.account_error
    assert "wrong-harvest-key" not in json.dumps([c.as_dict() for c in caught.value.calls])


@pytest.mark.parametrize("skip_count", [False, True])
def test_list_follows_next_links_to_the_end(sim: GreenhouseSimulator, clock: FakeClock, skip_count: bool) -> None:
    for n in range(7):
        sim.add_candidate(f"C{n}", "Test", f"c{n}@example.org")
    params: dict[str, Any] = {"per_page": 3}
    if skip_count:
        params["skip_count"] = "true"
    client = _client(sim, clock, max_wait=60)
    items = list(client.list("candidates", params))
    assert len(items) == 10
    assert [c["id"] for c in items] == sorted({c["id"] for c in items})
    sent = _harvest_requests(sim)
    assert len(sent) == 4
    assert dict(sent[0].query) == {k: str(v) for k, v in params.items()}
    # Every later page is exactly the next link of the page before it.
    for page, request in enumerate(sent[1:], start=2):
        assert dict(request.query) == {**{k: str(v) for k, v in params.items()}, "page": str(page)}


def test_list_of_one_page_without_link(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    users = list(_client(sim, clock).list("users", {"email": "hugo.l@customer.example"}))
    assert [u["first_name"] for u in users] == ["Hugo"]


def test_an_exhausted_window_pauses_before_the_next_call(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    client = _client(sim, clock)
    for _ in range(7):  # the window allows 5
        client.get_job(2201)
    statuses = [r.status for r in _harvest_requests(sim)]
    assert statuses == [200] * 7  # never a 429: the client waited instead
    assert len(clock.sleeps) == 1 and 0 < clock.sleeps[0] <= 10


def test_429_is_retried_after_retry_after(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    other = _client(sim, clock)
    for _ in range(5):
        other.get_job(2201)  # another worker used the whole window
    clock.now += 3
    client = _client(sim, clock)
    assert client.get_job(2201)["id"] == 2201
    statuses = [r.status for r in _harvest_requests(sim)]
    assert statuses[-2:] == [429, 200]
    assert clock.sleeps == [7.0]  # the simulator's Retry-After: the rest of the window


def test_a_wait_longer_than_max_wait_stops_instead(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    for _ in range(5):
        _client(sim, clock).get_job(2201)
    client = _client(sim, clock, max_wait=1)
    with pytest.raises(HarvestRateLimited) as caught:
        client.get_job(2201)
    assert caught.value.retry_after == 10 and caught.value.status == 429 and clock.sleeps == []


def test_422_is_parsed_into_field_errors(sim: GreenhouseSimulator, clock: FakeClock) -> None:
    with pytest.raises(HarvestValidationError) as caught:
        list(_client(sim, clock).list("applications", {"per_page": 0}))
    error = caught.value
    assert error.status == 422
    assert error.errors == [{"field": "per_page", "message": "per_page must be 1 to 500 and page at least 1"}]
    assert str(error) == "Validation error: per_page: per_page must be 1 to 500 and page at least 1"


def _context(credentials: dict[str, Any], settings: dict[str, Any], clock: FakeClock) -> Context:
    account = AccountSnapshot(id="acc_1", provider="greenhouse", status="active", credentials=credentials,
                              settings=settings)
    unused: Any = None  # the Harvest client uses the account, http, clock and sleep only
    return Context(account=account, http=Recording(allowed_hosts=[]), tokens=unused, cache=unused,
                   orders=unused, catalog=unused, defer=unused, public_url="http://testserver",
                   clock=clock, sleep=clock.sleep)


def test_client_for_an_account(clock: FakeClock) -> None:
    assert harvest_client_for(_context({}, {}, clock)) is None
    ctx = _context({"harvest_api_key": "k"}, {"harvest_base_url": "https://h.example/v1/", "on_behalf_of": "4410"},
                   clock)
    client = harvest_client_for(ctx)
    assert isinstance(client, HarvestV1Client)
    assert (client.base_url, client.on_behalf_of) == ("https://h.example/v1", "4410")
    assert (client.http, client.sleep, client.clock) == (ctx.http, ctx.sleep, ctx.clock)
    default = harvest_client_for(_context({"harvest_api_key": "k"}, {}, clock))
    assert isinstance(default, HarvestV1Client) and default.base_url == "https://harvest.greenhouse.io/v1"


# --- narrow cases with ``responses`` ------------------------------------------------------

BASE = "https://harvest.test/v1"


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _mock_client(clock: FakeClock, **options: Any) -> HarvestV1Client:
    return HarvestV1Client(
        api_key="hk",
        base_url=BASE,
        sleep=clock.sleep,
        clock=clock,
        http=Recording(allowed_hosts=["harvest.test"]),
        **options,
    )


def test_retry_after_as_an_http_date(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    when = datetime.fromtimestamp(clock.now, UTC) + timedelta(seconds=4)
    mocked.get(f"{BASE}/jobs/1", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    mocked.get(f"{BASE}/jobs/1", json={"id": 1})
    assert _mock_client(clock).get_job(1) == {"id": 1}
    assert clock.sleeps == [4.0]


def test_retry_after_as_an_epoch_timestamp(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(f"{BASE}/jobs/1", status=429, headers={"Retry-After": str(int(clock.now) + 6)})
    mocked.get(f"{BASE}/jobs/1", json={"id": 1})
    _mock_client(clock).get_job(1)
    assert clock.sleeps == [6.0]


def test_429_without_retry_after_falls_back_to_reset_then_a_window(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    mocked.get(f"{BASE}/jobs/1", status=429, headers={"X-RateLimit-Reset": str(int(clock.now) + 2)})
    mocked.get(f"{BASE}/jobs/1", status=429)
    mocked.get(f"{BASE}/jobs/1", json={"id": 1})
    _mock_client(clock).get_job(1)
    assert clock.sleeps == [2.0, 10.0]


def test_429_retries_are_bounded(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(f"{BASE}/jobs/1", status=429, headers={"Retry-After": "1"})
    with pytest.raises(HarvestRateLimited):
        _mock_client(clock, max_retries=2).get_job(1)
    assert clock.sleeps == [1.0, 1.0]
    assert len(mocked.calls) == 3


def test_next_links_are_followed_verbatim(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(
        f"{BASE}/applications",
        json=[{"id": 1}],
        headers={"Link": f'<{BASE}/applications?cursor=abc%3D%3D>; rel="next"'},
    )
    mocked.get(
        f"{BASE}/applications",
        json=[{"id": 2}],
        headers={"Link": f'<{BASE}/applications?cursor=def>; rel="next", <{BASE}/applications>; rel="prev"'},
    )
    mocked.get(f"{BASE}/applications", json=[{"id": 3}])
    items = list(_mock_client(clock).list("applications", {"per_page": 1, "job_id": 9}))
    assert [i["id"] for i in items] == [1, 2, 3]
    queries = [dict(parse_qsl(urlsplit(c.request.url).query)) for c in mocked.calls]
    assert queries == [{"per_page": "1", "job_id": "9"}, {"cursor": "abc=="}, {"cursor": "def"}]


def test_a_next_link_to_another_host_is_refused(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(
        f"{BASE}/candidates",
        json=[{"id": 1}],
        headers={"Link": '<https://evil.example/v1/candidates?page=2>; rel="next"'},
    )
    with pytest.raises(HarvestError, match="another host"):
        list(_mock_client(clock).list("candidates"))
    assert len(mocked.calls) == 1


def test_a_next_link_that_loops_is_refused(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(f"{BASE}/candidates", json=[{"id": 1}], headers={"Link": f'<{BASE}/candidates?page=2>; rel="next"'})
    with pytest.raises(HarvestError, match="repeats"):
        list(_mock_client(clock).list("candidates"))


def test_error_bodies_are_parsed_defensively(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.post(
        f"{BASE}/applications/1/unreject",
        status=422,
        json={"errors": [{"message": "Application must be 'rejected', is currently 'active'"}]},
    )
    mocked.get(f"{BASE}/jobs/1", status=500, body="<html>oops</html>")
    client = _mock_client(clock, on_behalf_of="4410")
    with pytest.raises(HarvestValidationError) as caught:
        client.write("POST", "applications/1/unreject", {})
    assert str(caught.value) == "Application must be 'rejected', is currently 'active'"
    assert caught.value.errors == [{"field": None, "message": caught.value.message}]
    with pytest.raises(HarvestError) as server_error:
        client.get_job(1)
    assert server_error.value.status == 500 and "500" in str(server_error.value)


def test_writes_carry_on_behalf_of(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.post(f"{BASE}/candidates/5/activity_feed/notes", json={"id": 9})
    result = _mock_client(clock, on_behalf_of="4410").write(
        "POST", "candidates/5/activity_feed/notes", {"user_id": 4410, "body": "hi", "visibility": "public"}
    )
    assert result == {"id": 9}
    request = mocked.calls[0].request
    assert request.headers["On-Behalf-Of"] == "4410"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == basic("hk")


def test_an_email_on_behalf_of_is_resolved_to_a_user_id(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    mocked.get(f"{BASE}/users", json=[{"id": 4410, "name": "Rita"}])
    mocked.post(f"{BASE}/applications/1/advance", json={"id": 1})
    client = _mock_client(clock, on_behalf_of="rita@customer.example")
    client.write("POST", "applications/1/advance", {"from_stage_id": 3})
    client.write("POST", "applications/1/advance", {"from_stage_id": 4})
    assert [c.request.method for c in mocked.calls] == ["GET", "POST", "POST"]  # resolved once
    assert dict(parse_qsl(urlsplit(mocked.calls[0].request.url).query))["email"] == "rita@customer.example"
    assert mocked.calls[2].request.headers["On-Behalf-Of"] == "4410"


@pytest.mark.parametrize("on_behalf_of", [None, "", "rita"])
def test_writes_without_a_usable_on_behalf_of_are_refused_before_sending(
    mocked: responses.RequestsMock, clock: FakeClock, on_behalf_of: str | None
) -> None:
    with pytest.raises(HarvestConfigurationError):
        _mock_client(clock, on_behalf_of=on_behalf_of).write("POST", "applications/1/advance", {})
    assert len(mocked.calls) == 0


def test_no_answer_is_a_harvest_error(clock: FakeClock) -> None:
    client = HarvestV1Client(
        api_key="hk",
        base_url="http://127.0.0.1:9/v1",
        sleep=clock.sleep,
        clock=clock,
        http=Recording(allowed_hosts=["127.0.0.1"], timeout=2),
    )
    with pytest.raises(HarvestError) as caught:
        client.get_job(1)
    assert caught.value.status is None and caught.value.calls[0].error
    assert client.http.calls == caught.value.calls  # type: ignore[attr-defined]
