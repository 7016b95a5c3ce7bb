"""CONTRACT §1: conventions every endpoint follows (request ids, auth, errors, bodies,
rate limits, idempotency)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from gateway.api.models import IdempotencyRecord
from gateway.api.throttling import ApiKeyRateThrottle
from gateway.tenancy.models import Account, ApiKey
from gateway.timefmt import utcnow
from tests.conftest import basic
from tests.helpers import error_of

MINTED_ID = re.compile(r"^req_[0-9a-f]{24}$")
ATS_BODY = {"provider": "fake_ats", "label": "ATS", "credentials": {"notify_secret": "n"}}


def anonymous() -> APIClient:
    return APIClient()


def with_auth(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


# --- X-Request-Id ----------------------------------------------------------------------


def test_request_id_is_echoed_on_success(tenant):
    response = tenant.client.get("/accounts", HTTP_X_REQUEST_ID="caller-id.42")
    assert response.status_code == 200
    assert response["X-Request-Id"] == "caller-id.42"


def test_request_id_is_minted_on_success(tenant):
    first = tenant.client.get("/accounts")
    second = tenant.client.get("/accounts")
    assert MINTED_ID.match(first["X-Request-Id"])
    assert MINTED_ID.match(second["X-Request-Id"])
    assert first["X-Request-Id"] != second["X-Request-Id"]


def test_request_id_is_echoed_and_minted_on_errors(db):
    echoed = anonymous().get("/accounts", HTTP_X_REQUEST_ID="abc-123")
    assert error_of(echoed, 401)["request_id"] == "abc-123"
    minted = anonymous().get("/accounts")
    assert MINTED_ID.match(error_of(minted, 401)["request_id"])
    not_found = anonymous().get("/no/such/path", HTTP_X_REQUEST_ID="nf-1")
    assert error_of(not_found, 404)["request_id"] == "nf-1"


def test_an_unusable_request_id_is_replaced(db):
    response = anonymous().get("/health", HTTP_X_REQUEST_ID="has spaces and <html>")
    assert MINTED_ID.match(response["X-Request-Id"])
    too_long = anonymous().get("/health", HTTP_X_REQUEST_ID="a" * 129)
    assert MINTED_ID.match(too_long["X-Request-Id"])


# --- authentication --------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,  # missing
        basic("gw_not-a-real-key"),  # wrong key
        "Bearer gw_not-a-real-key",  # wrong key, bearer
        "Basic !!!not-base64!!!",  # malformed
        "Basic " + base64.b64encode(b":password-only").decode(),  # no user name
        "Basic",  # scheme only
        "Token abc",  # unknown scheme
    ],
)
def test_unauthenticated_requests_get_401_with_the_challenge(db, header):
    client = anonymous() if header is None else with_auth(header)
    response = client.get("/accounts")
    body = error_of(response, 401)
    assert response["WWW-Authenticate"] == 'Basic realm="gateway"'
    assert body["errors"] == [] and body["provider_errors"] == []


def test_basic_with_the_key_as_user_name_and_an_empty_password(tenant):
    response = with_auth(basic(tenant.api_key, "")).get("/accounts")
    assert response.status_code == 200
    assert response.json() == {"data": [], "next": None}


def test_bearer_works(tenant, other_tenant, connectors):
    other_tenant.link("fake_ats", label="not mine", credentials={})
    mine = tenant.link("fake_ats", label="mine", credentials={})
    response = with_auth(f"Bearer {tenant.api_key}").get("/accounts")
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["data"]] == [mine["id"]]


def test_a_revoked_key_gets_401(tenant):
    assert tenant.client.get("/accounts").status_code == 200
    ApiKey.objects.filter(tenant=tenant.tenant).update(revoked_at=utcnow())
    response = tenant.client.get("/accounts")
    error_of(response, 401)
    assert response["WWW-Authenticate"] == 'Basic realm="gateway"'


# --- error body and unknown paths --------------------------------------------------------


def test_error_body_shape_is_exact(tenant, connectors):
    response = tenant.client.post("/accounts", {"provider": "nope"}, format="json")
    body = error_of(response, 422)
    assert list(body) == ["statusCode", "message", "timestamp", "request_id", "errors", "provider_errors"]
    assert body["errors"] == [{"field": "provider", "message": body["errors"][0]["message"]}]
    assert "fake_ats" in body["errors"][0]["message"]
    assert body["provider_errors"] == []


def test_a_wrong_method_is_405_in_the_error_shape(tenant):
    response = tenant.client.delete("/connectors")
    error_of(response, 405)
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_unknown_path_is_a_json_404(tenant):
    body = error_of(tenant.client.get("/definitely/not/here"), 404)
    assert body["errors"] == []
    body = error_of(anonymous().post("/unified/ats/assessments/nothing", {}, format="json"), 404)
    assert body["message"] == "Not found"


# --- bodies ------------------------------------------------------------------------------


def test_a_body_over_one_mib_is_413_and_stores_nothing(tenant, connectors):
    body = json.dumps({**ATS_BODY, "label": "x" * (1024 * 1024)})
    response = tenant.client.post(
        "/accounts", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big-1"
    )
    error_of(response, 413)
    assert Account.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_a_body_of_exactly_the_limit_is_not_413(tenant, connectors):
    # Just under the limit: parsed (and refused for the label's length, not the size).
    padding = 1024 * 1024 - len(json.dumps({**ATS_BODY, "label": ""}))
    body = json.dumps({**ATS_BODY, "label": "x" * padding})
    assert len(body) == 1024 * 1024
    response = tenant.client.post("/accounts", body, content_type="application/json")
    error_of(response, 422)


def test_a_non_json_content_type_is_415(tenant, connectors):
    response = tenant.client.post("/accounts", "provider=fake_ats", content_type="text/plain")
    error_of(response, 415)
    form = tenant.client.post("/accounts", {"provider": "fake_ats"}, format="multipart")
    error_of(form, 415)
    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"provider": "fake_ats",',  # truncated
        b'{"provider": "fake_\xff\xfeats"}',  # invalid UTF-8
        b'{"provider": "fake_ats", "provider": "fake_provider"}',  # duplicate keys
        b'{"provider": "fake_ats", "settings": {"x": NaN}}',  # NaN
        b'{"provider": "fake_ats", "settings": {"x": Infinity}}',  # Infinity
        b'{"provider": "fake_ats", "settings": ' + b'{"a": ' * 32 + b"1" + b"}" * 32 + b"}",  # 34 deep
        b"  \n ",  # only whitespace
    ],
    ids=["invalid", "utf8", "duplicate", "nan", "infinity", "too-deep", "blank"],
)
def test_malformed_json_is_400(tenant, connectors, raw):
    response = tenant.client.post("/accounts", raw, content_type="application/json")
    error_of(response, 400)
    assert Account.objects.count() == 0


def test_nesting_of_exactly_32_levels_is_accepted(tenant, connectors):
    # {"settings": {"a": ...}}: the body is level 1, settings level 2, 30 more levels.
    nested = "1"
    for _ in range(30):
        nested = '{"a": ' + nested + "}"
    raw = '{"provider": "fake_ats", "credentials": {}, "settings": ' + nested + "}"
    response = tenant.client.post("/accounts", raw, content_type="application/json")
    assert response.status_code == 201, response.content


def test_missing_account_header_on_a_unified_endpoint_is_400(tenant):
    body = error_of(tenant.client.get("/unified/ats/assessments/orders"), 400)
    assert "x-account-id" in body["message"]
    blank = tenant.client.get("/unified/ats/assessments/packages", HTTP_X_ACCOUNT_ID="  ")
    error_of(blank, 400)


# --- rate limits ---------------------------------------------------------------------------


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen_window(monkeypatch):
    """Keep every request in one fixed window (10 s into a minute) so the test cannot
    straddle a window boundary."""
    monkeypatch.setattr(ApiKeyRateThrottle, "timer", staticmethod(lambda: 60 * 28_333_333 + 10.0))


def test_rate_limit_headers_on_authenticated_responses(tenant, fresh_cache, frozen_window):
    first = tenant.client.get("/accounts")
    second = tenant.client.get("/accounts")
    assert first["X-RateLimit-Limit"] == "1000"
    assert first["X-RateLimit-Remaining"] == "999"
    assert second["X-RateLimit-Remaining"] == "998"
    unified = tenant.client.get("/unified/ats/assessments/orders")  # 400, still counted
    assert unified.status_code == 400
    assert unified["X-RateLimit-Remaining"] == "997"


@override_settings(GATEWAY_RATE_LIMIT="3/min")
def test_over_the_limit_is_429_with_retry_after(tenant, other_tenant, fresh_cache, frozen_window):
    remaining = [tenant.client.get("/accounts")["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    response = tenant.client.get("/accounts")
    error_of(response, 429)
    assert response["Retry-After"] == "50"  # the window ends 50 s after the frozen time
    assert response["X-RateLimit-Limit"] == "3"
    assert response["X-RateLimit-Remaining"] == "0"
    # Per key: another tenant's key has its own budget.
    other = other_tenant.client.get("/accounts")
    assert other.status_code == 200
    assert other["X-RateLimit-Remaining"] == "2"


@override_settings(GATEWAY_RATE_LIMIT="3/min")
def test_unauthenticated_endpoints_are_not_limited(db, fresh_cache, frozen_window):
    statuses = {anonymous().get("/health").status_code for _ in range(5)}
    assert statuses == {200}


# --- idempotency ---------------------------------------------------------------------------


def post_accounts(client: APIClient, key: str, body: dict) -> object:
    return client.post(
        "/accounts", json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_same_key_and_body_replays_the_first_response(tenant, connectors):
    first = post_accounts(tenant.client, "create-ats-1", ATS_BODY)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    second = post_accounts(tenant.client, "create-ats-1", ATS_BODY)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Account.objects.filter(tenant=tenant.tenant).count() == 1
    # Another key is another request.
    third = post_accounts(tenant.client, "create-ats-2", ATS_BODY)
    assert third.status_code == 201 and third.json()["id"] != first.json()["id"]
    assert Account.objects.filter(tenant=tenant.tenant).count() == 2


def test_error_responses_are_replayed_too(tenant, connectors):
    body = {"provider": "unknown"}
    first = post_accounts(tenant.client, "bad-1", body)
    assert first.status_code == 422
    second = post_accounts(tenant.client, "bad-1", body)
    assert second.status_code == 422
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["errors"] == first.json()["errors"]


def test_same_key_with_another_body_is_422(tenant, connectors):
    assert post_accounts(tenant.client, "k-1", ATS_BODY).status_code == 201
    response = post_accounts(tenant.client, "k-1", {**ATS_BODY, "label": "Other"})
    error_of(response, 422)
    assert "Idempotent-Replayed" not in response
    assert Account.objects.count() == 1


def test_a_key_over_255_characters_is_400(tenant, connectors):
    error_of(post_accounts(tenant.client, "k" * 256, ATS_BODY), 400)
    assert Account.objects.count() == 0
    assert post_accounts(tenant.client, "k" * 255, ATS_BODY).status_code == 201


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()


def test_a_key_in_flight_is_409(tenant, connectors):
    raw = json.dumps(ATS_BODY).encode()
    IdempotencyRecord.objects.create(
        scope=_digest(tenant.api_key.encode()),
        key="in-flight",
        fingerprint=_digest(b"POST", b"/accounts", b"", raw),
        completed=False,
        created_at=utcnow(),
    )
    response = tenant.client.post(
        "/accounts", raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="in-flight"
    )
    error_of(response, 409)
    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    "age, completed", [(timedelta(minutes=3), False), (timedelta(hours=25), True)],
    ids=["abandoned-in-flight", "expired"],
)
def test_an_abandoned_or_expired_key_is_taken_over(tenant, connectors, age, completed):
    raw = json.dumps(ATS_BODY).encode()
    IdempotencyRecord.objects.create(
        scope=_digest(tenant.api_key.encode()),
        key="old-key",
        fingerprint=_digest(b"POST", b"/accounts", b"", raw),
        completed=completed,
        status_code=201 if completed else None,
        body=b'{"stale": true}' if completed else None,
        created_at=utcnow() - age,
    )
    response = tenant.client.post(
        "/accounts", raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="old-key"
    )
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert response.json()["id"] == Account.objects.get().id
    record = IdempotencyRecord.objects.get(key="old-key")
    assert record.completed and record.status_code == 201


def test_keys_are_scoped_per_api_key(tenant, other_tenant, connectors):
    mine = post_accounts(tenant.client, "shared-key", ATS_BODY)
    theirs = post_accounts(other_tenant.client, "shared-key", ATS_BODY)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != mine.json()["id"]
    assert Account.objects.filter(tenant=other_tenant.tenant).count() == 1
    assert Account.objects.filter(tenant=tenant.tenant).count() == 1


def test_basic_and_bearer_with_the_same_key_share_one_scope(tenant, connectors):
    first = post_accounts(tenant.client, "same-key", ATS_BODY)
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.api_key}")
    again = post_accounts(bearer, "same-key", ATS_BODY)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Account.objects.count() == 1


def test_kept_responses_are_encrypted_at_rest(tenant, connectors):
    created = post_accounts(tenant.client, "secret-bearing", ATS_BODY).json()
    inbound_key = created["inbound"]["api_key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM api_idempotencyrecord WHERE key = %s", ["secret-bearing"])
        (raw_body,) = cursor.fetchone()
    assert inbound_key.encode() not in bytes(raw_body)
    replay = post_accounts(tenant.client, "secret-bearing", ATS_BODY)
    assert replay.json()["inbound"]["api_key"] == inbound_key
