"""Platform API: connectors and linked accounts (CONTRACT §2)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.tenancy.models import Account, AccountStatus
from gateway.tenancy.selectors import account_for_inbound_secret
from gateway.timefmt import isoformat_z, parse_timestamp, utcnow
from tests.helpers import error_fields, error_of

ACCOUNT_KEYS = {
    "id", "provider", "label", "status", "origin_owner_id", "origin_owner_name", "settings",
    "created_at", "updated_at",
}
ATS_SECRET = "s3cret-notify"  # the ats_account fixture's credential
PROVIDER_SECRET = "prov-key-123"  # the provider_account fixture's credential


def test_connectors_lists_every_registered_connector(tenant, connectors):
    response = tenant.client.get("/connectors")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data"}
    by_provider = {c["provider"]: c for c in body["data"]}
    assert set(by_provider) == {"fake_ats", "fake_provider"}
    for connector in body["data"]:
        assert set(connector) == {
            "provider", "name", "role", "capabilities", "credentials_schema", "settings_schema",
        }
    ats, provider = by_provider["fake_ats"], by_provider["fake_provider"]
    assert ats["name"] == "Fake ATS" and ats["role"] == "ats"
    assert ats["capabilities"] == ["deliver_result"]
    assert provider["role"] == "provider"
    assert provider["capabilities"] == ["cancel_order", "create_order", "list_packages"]
    assert provider["credentials_schema"]["required"] == ["api_key"]
    assert provider["settings_schema"]["properties"]["region"]["default"] == "eu"


def test_connectors_requires_auth(db, connectors):
    from rest_framework.test import APIClient

    error_of(APIClient().get("/connectors"), 401)


# --- POST /accounts ---------------------------------------------------------------------------


def test_link_an_ats_account(tenant, connectors):
    before = utcnow()
    response = tenant.client.post(
        "/accounts",
        {
            "provider": "fake_ats", "label": "Greenhouse EU", "origin_owner_id": "org-7",
            "origin_owner_name": "Org Seven", "credentials": {"notify_secret": ATS_SECRET},
            "unknown_field": "ignored",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ACCOUNT_KEYS | {"inbound"}
    assert body["id"].startswith("acc_")
    assert body["provider"] == "fake_ats"
    assert body["label"] == "Greenhouse EU"
    assert body["status"] == "active"
    assert body["origin_owner_id"] == "org-7"
    assert body["origin_owner_name"] == "Org Seven"
    assert body["settings"] == {"callback_hosts": ["*.ats.example"]}  # the schema's default
    for key in ("created_at", "updated_at"):
        assert body[key].endswith("Z")
        assert parse_timestamp(body[key]) >= before - timedelta(seconds=1)
    inbound = body["inbound"]
    assert set(inbound) == {"api_key", "urls"}
    assert 0 < len(inbound["api_key"]) <= 170
    assert inbound["urls"] == {"list_tests": "http://testserver/connectors/fake_ats/list_tests"}
    account = Account.objects.get(id=body["id"])
    assert account.tenant_id == tenant.id
    assert account.credentials == {"notify_secret": ATS_SECRET}
    assert account_for_inbound_secret(provider="fake_ats", secret=inbound["api_key"]) == account
    assert ATS_SECRET not in response.content.decode()


def test_link_a_provider_account(tenant, connectors):
    response = tenant.client.post(
        "/accounts",
        {"provider": "fake_provider", "credentials": {"api_key": PROVIDER_SECRET}, "settings": {"region": "us"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["label"] == ""
    assert body["origin_owner_id"] is None and body["origin_owner_name"] is None
    assert body["settings"] == {"region": "us"}
    webhook_url = body["inbound"]["webhook_url"]
    assert set(body["inbound"]) == {"webhook_url"}
    prefix = "http://testserver/connectors/fake_provider/webhooks/"
    assert webhook_url.startswith(prefix)
    token = webhook_url[len(prefix):]
    assert len(token) >= 32
    assert account_for_inbound_secret(provider="fake_provider", secret=token).id == body["id"]
    assert PROVIDER_SECRET not in response.content.decode()


def test_settings_defaults_are_filled_in(tenant, connectors):
    body = tenant.link("fake_provider", credentials={"api_key": "k"})
    assert body["settings"] == {"region": "eu"}
    assert Account.objects.get(id=body["id"]).settings == {"region": "eu"}


def test_unknown_provider_is_422(tenant, connectors):
    response = tenant.client.post("/accounts", {"provider": "workday", "credentials": {}}, format="json")
    assert error_fields(response) == ["provider"]
    assert Account.objects.count() == 0


def test_missing_provider_is_422(tenant, connectors):
    assert error_fields(tenant.client.post("/accounts", {"credentials": {}}, format="json")) == ["provider"]


@pytest.mark.parametrize(
    "credentials",
    [
        {},  # missing
        {"api_key": ["v3ry-s3cret-value"]},  # wrong type
        {"api_key": {"nested": "v3ry-s3cret-value"}},
        {"api_key": 12345678987654321},
        {"api_key": ""},  # too short
    ],
)
def test_credentials_failing_the_schema_are_422_without_echoing_them(tenant, connectors, credentials):
    response = tenant.client.post(
        "/accounts", {"provider": "fake_provider", "credentials": credentials}, format="json"
    )
    assert error_fields(response) == ["credentials.api_key"]
    content = response.content.decode()
    assert "v3ry-s3cret-value" not in content
    assert "12345678987654321" not in content
    assert Account.objects.count() == 0


def test_settings_failing_the_schema_are_422(tenant, connectors):
    response = tenant.client.post(
        "/accounts",
        {"provider": "fake_provider", "credentials": {"api_key": "k"}, "settings": {"region": "mars"}},
        format="json",
    )
    assert error_fields(response) == ["settings.region"]
    not_object = tenant.client.post(
        "/accounts", {"provider": "fake_provider", "credentials": ["k"]}, format="json"
    )
    assert error_fields(not_object) == ["credentials"]


def test_unknown_credential_fields_are_refused_where_the_schema_says_so(tenant, connectors):
    response = tenant.client.post(
        "/accounts",
        {"provider": "fake_ats", "credentials": {"notify_secret": "a", "extra": "l3ak-me"}},
        format="json",
    )
    assert error_fields(response) == ["credentials"]
    assert "l3ak-me" not in response.content.decode()


# --- credentials never leave -------------------------------------------------------------------


def test_credentials_never_appear_in_any_response(tenant, ats_account, provider_account):
    responses = [
        tenant.client.get(f"/accounts/{ats_account['id']}"),
        tenant.client.get(f"/accounts/{provider_account['id']}"),
        tenant.client.get("/accounts"),
        tenant.client.patch(f"/accounts/{ats_account['id']}", {"label": "renamed"}, format="json"),
        tenant.client.patch(
            f"/accounts/{provider_account['id']}", {"credentials": {"api_key": "n3w-pr0v-key"}},
            format="json",
        ),
    ]
    for response in responses:
        assert response.status_code == 200, response.content
        content = response.content.decode()
        for secret in (ATS_SECRET, PROVIDER_SECRET, "n3w-pr0v-key"):
            assert secret not in content
        assert "credentials" not in content
        assert "inbound" not in content  # only at link time and on rotation


# --- GET and list -----------------------------------------------------------------------------------


def test_get_an_account(tenant, ats_account):
    response = tenant.client.get(f"/accounts/{ats_account['id']}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ACCOUNT_KEYS
    assert body == {k: v for k, v in ats_account.items() if k != "inbound"}


def test_list_with_filters_and_pagination(tenant, other_tenant, connectors):
    a = tenant.link("fake_ats", label="a", origin_owner_id="owner-1", credentials={})
    b = tenant.link("fake_ats", label="b", origin_owner_id="owner-2", credentials={})
    c = tenant.link("fake_provider", label="c", origin_owner_id="owner-1", credentials={"api_key": "k"})
    other_tenant.link("fake_ats", label="theirs", origin_owner_id="owner-1", credentials={})

    def ids(query: str) -> list[str]:
        response = tenant.client.get(f"/accounts{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["data"]]

    assert ids("") == sorted([a["id"], b["id"], c["id"]])
    assert ids("?filter[provider]=fake_ats") == sorted([a["id"], b["id"]])
    assert ids("?filter[provider]=fake_provider") == [c["id"]]
    assert ids("?filter[provider]=nothing") == []
    assert ids("?filter[origin_owner_id]=owner-1") == sorted([a["id"], c["id"]])
    assert ids("?filter[origin_owner_id]=owner-1&filter[provider]=fake_ats") == [a["id"]]

    walked, cursor = [], None
    while True:
        response = tenant.client.get("/accounts?page_size=2" + (f"&next={cursor}" if cursor else ""))
        page = response.json()
        assert len(page["data"]) <= 2
        walked.extend(item["id"] for item in page["data"])
        cursor = page["next"]
        if cursor is None:
            break
    assert walked == sorted([a["id"], b["id"], c["id"]])


def test_list_filter_updated_after(tenant, connectors):
    old = tenant.link("fake_ats", label="old", credentials={})
    new = tenant.link("fake_ats", label="new", credentials={})
    Account.objects.filter(id=old["id"]).update(updated_at=utcnow() - timedelta(days=2))
    since = isoformat_z(utcnow() - timedelta(days=1))
    response = tenant.client.get("/accounts", {"filter[updated_after]": since})
    assert [item["id"] for item in response.json()["data"]] == [new["id"]]


# --- PATCH -----------------------------------------------------------------------------------------


def test_patch_label_settings_and_credentials(tenant, provider_account):
    url = f"/accounts/{provider_account['id']}"
    Account.objects.filter(id=provider_account["id"]).update(status=AccountStatus.ERROR)
    response = tenant.client.patch(url, {"label": "Renamed", "settings": {"region": "us"}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ACCOUNT_KEYS
    assert body["label"] == "Renamed"
    assert body["settings"] == {"region": "us"}
    assert body["status"] == "error"  # settings alone do not clear an auth error
    account = Account.objects.get(id=provider_account["id"])
    assert account.credentials == {"api_key": PROVIDER_SECRET}

    response = tenant.client.patch(url, {"credentials": {"api_key": "rotated"}}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert response.json()["label"] == "Renamed"
    account.refresh_from_db()
    assert account.credentials == {"api_key": "rotated"}
    assert account.settings == {"region": "us"}

    # Settings are validated and defaulted like at link time.
    assert error_fields(tenant.client.patch(url, {"settings": {"region": "mars"}}, format="json")) == [
        "settings.region"
    ]
    assert tenant.client.patch(url, {"settings": {}}, format="json").json()["settings"] == {"region": "eu"}
    bad = tenant.client.patch(url, {"credentials": {"api_key": ""}}, format="json")
    assert error_fields(bad) == ["credentials.api_key"]
    account.refresh_from_db()
    assert account.credentials == {"api_key": "rotated"}


# --- DELETE ----------------------------------------------------------------------------------------


def test_delete_unlinks_everywhere(tenant, ats_account):
    account_id = ats_account["id"]
    key = ats_account["inbound"]["api_key"]
    assert account_for_inbound_secret(provider="fake_ats", secret=key) is not None

    response = tenant.client.delete(f"/accounts/{account_id}")
    assert response.status_code == 204
    assert response.content == b""

    error_of(tenant.client.get(f"/accounts/{account_id}"), 404)
    assert tenant.client.get("/accounts").json()["data"] == []
    error_of(tenant.client.patch(f"/accounts/{account_id}", {"label": "x"}, format="json"), 404)
    error_of(tenant.client.delete(f"/accounts/{account_id}"), 404)
    error_of(tenant.client.post(f"/accounts/{account_id}/inbound_key"), 404)
    unified = tenant.unified(account_id)
    error_of(unified.get("/unified/ats/assessments/packages"), 404)
    error_of(unified.get("/unified/ats/assessments/orders"), 404)
    assert account_for_inbound_secret(provider="fake_ats", secret=key) is None

    tombstone = Account.objects.get(id=account_id)
    assert tombstone.credentials is None
    assert tombstone.inbound_secret is None and tombstone.inbound_secret_digest is None
    assert tombstone.deleted_at is not None


def test_the_404_of_an_unlinked_account_matches_a_missing_one(tenant, ats_account):
    tenant.client.delete(f"/accounts/{ats_account['id']}")
    gone = error_of(tenant.client.get(f"/accounts/{ats_account['id']}"), 404)
    missing = error_of(tenant.client.get("/accounts/acc_never"), 404)
    assert gone["message"] == missing["message"]


# --- inbound key rotation -------------------------------------------------------------------------


def test_rotate_the_inbound_key(tenant, ats_account):
    old = ats_account["inbound"]["api_key"]
    response = tenant.client.post(f"/accounts/{ats_account['id']}/inbound_key")
    assert response.status_code == 200, response.content
    inbound = response.json()["inbound"]
    assert set(inbound) == {"api_key", "urls"}
    new = inbound["api_key"]
    assert new != old and len(new) <= 170
    assert inbound["urls"] == ats_account["inbound"]["urls"]
    assert account_for_inbound_secret(provider="fake_ats", secret=old) is None
    assert account_for_inbound_secret(provider="fake_ats", secret=new).id == ats_account["id"]


def test_rotate_the_webhook_token(tenant, provider_account):
    old = provider_account["inbound"]["webhook_url"]
    response = tenant.client.post(f"/accounts/{provider_account['id']}/inbound_key")
    assert response.status_code == 200
    new = response.json()["inbound"]["webhook_url"]
    assert new != old
    old_token, new_token = old.rsplit("/", 1)[1], new.rsplit("/", 1)[1]
    assert account_for_inbound_secret(provider="fake_provider", secret=old_token) is None
    assert account_for_inbound_secret(provider="fake_provider", secret=new_token).id == provider_account["id"]


# --- tenant isolation ----------------------------------------------------------------------------------


def test_another_tenant_gets_404_on_this_tenants_account(tenant, other_tenant, ats_account):
    account_id = ats_account["id"]
    client = other_tenant.client
    responses = [
        client.get(f"/accounts/{account_id}"),
        client.patch(f"/accounts/{account_id}", {"label": "pwned"}, format="json"),
        client.delete(f"/accounts/{account_id}"),
        client.post(f"/accounts/{account_id}/inbound_key"),
    ]
    missing = error_of(client.get("/accounts/acc_never"), 404)
    for response in responses:
        assert error_of(response, 404)["message"] == missing["message"]
    assert client.get("/accounts").json()["data"] == []
    account = Account.objects.get(id=account_id)
    assert account.label == "ATS" and account.deleted_at is None
    assert account_for_inbound_secret(provider="fake_ats", secret=ats_account["inbound"]["api_key"]) == account
