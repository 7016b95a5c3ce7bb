"""Platform API: webhook endpoints and the signing secret (CONTRACT §2, §5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from gateway.delivery.models import Delivery, DeliveryStatus, WebhookEndpoint
from gateway.tenancy.models import Tenant
from gateway.tenancy.services import tenant_signing_secrets
from gateway.timefmt import isoformat_z, parse_timestamp, utcnow
from tests.helpers import error_fields, error_of

ENDPOINTS = "/webhook_endpoints"


def create(client, url="https://hooks.example.com/gateway", events=("*",)):
    return client.post(ENDPOINTS, {"url": url, "events": list(events)}, format="json")


def test_create_returns_the_endpoint(tenant):
    before = utcnow()
    response = create(tenant.client, events=["ats_assessments.created", "ats_assessments.deleted"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "url", "events", "created_at"}
    assert body["id"].startswith("whe_")
    assert body["url"] == "https://hooks.example.com/gateway"
    assert body["events"] == ["ats_assessments.created", "ats_assessments.deleted"]
    assert body["created_at"].endswith("Z")
    assert parse_timestamp(body["created_at"]) >= before - timedelta(seconds=1)
    stored = WebhookEndpoint.objects.get(id=body["id"])
    assert stored.tenant_id == tenant.id
    assert stored.events == ["ats_assessments.created", "ats_assessments.deleted"]


@pytest.mark.parametrize(
    "events",
    [["*"], ["ats_assessments.updated"], ["ats_assessments.partner_error", "ats_assessments.created"]],
)
def test_known_events_are_accepted(tenant, events):
    response = create(tenant.client, events=events)
    assert response.status_code == 201
    assert response.json()["events"] == events


def test_duplicate_events_are_stored_once(tenant):
    response = create(tenant.client, events=["ats_assessments.created", "ats_assessments.created"])
    assert response.json()["events"] == ["ats_assessments.created"]


@pytest.mark.parametrize(
    "events",
    [[], ["ats_assessments.exploded"], ["*", "nonsense"], ["ATS_ASSESSMENTS.CREATED"]],
)
def test_unknown_events_are_422(tenant, events):
    assert error_fields(create(tenant.client, events=events)) == ["events"]
    assert not WebhookEndpoint.objects.exists()


def test_missing_fields_are_422(tenant):
    response = tenant.client.post(ENDPOINTS, {}, format="json")
    assert sorted(error_fields(response)) == ["events", "url"]


@override_settings(GATEWAY_OUTBOUND_ALLOWED_HOSTS=[])
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "https://192.168.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "ftp://hooks.example.com/hook",
        "https://user:pass@hooks.example.com/hook",
        "not a url",
    ],
)
def test_urls_the_gateway_must_not_call_are_422(tenant, url):
    assert error_fields(create(tenant.client, url=url)) == ["url"]
    assert not WebhookEndpoint.objects.exists()


@override_settings(GATEWAY_OUTBOUND_ALLOWED_HOSTS=[])
@pytest.mark.parametrize("url", ["https://hooks.example.com", "http://hooks.example.com:8443/x?y=1"])
def test_public_urls_are_accepted(tenant, url):
    assert create(tenant.client, url=url).status_code == 201


@override_settings(GATEWAY_OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"])
def test_allowed_hosts_are_exempt_from_the_address_check(tenant):
    assert create(tenant.client, url="http://127.0.0.1:9000/hook").status_code == 201
    assert error_fields(create(tenant.client, url="http://10.0.0.1/hook")) == ["url"]


def test_list_get_and_delete(tenant):
    first = create(tenant.client, url="https://hooks.example.com/1").json()
    second = create(tenant.client, url="https://hooks.example.com/2", events=["ats_assessments.updated"]).json()

    listed = tenant.client.get(ENDPOINTS)
    assert listed.status_code == 200
    assert listed.json() == {"data": sorted([first, second], key=lambda e: e["id"]), "next": None}
    page = tenant.client.get(ENDPOINTS, {"page_size": 1}).json()
    assert len(page["data"]) == 1 and page["next"]

    got = tenant.client.get(f"{ENDPOINTS}/{first['id']}")
    assert got.status_code == 200 and got.json() == first

    deleted = tenant.client.delete(f"{ENDPOINTS}/{first['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    error_of(tenant.client.get(f"{ENDPOINTS}/{first['id']}"), 404)
    error_of(tenant.client.delete(f"{ENDPOINTS}/{first['id']}"), 404)
    assert [e["id"] for e in tenant.client.get(ENDPOINTS).json()["data"]] == [second["id"]]
    assert WebhookEndpoint.objects.get(id=first["id"]).deleted_at is not None


def test_list_filter_updated_after(tenant):
    old = create(tenant.client, url="https://hooks.example.com/old").json()
    new = create(tenant.client, url="https://hooks.example.com/new").json()
    WebhookEndpoint.objects.filter(id=old["id"]).update(created_at=utcnow() - timedelta(days=2))
    since = isoformat_z(utcnow() - timedelta(days=1))
    assert [e["id"] for e in tenant.client.get(ENDPOINTS, {"filter[updated_after]": since}).json()["data"]] == [
        new["id"]
    ]
    error_of(tenant.client.get(ENDPOINTS, {"filter[updated_after]": "never"}), 400)


def test_deleting_an_endpoint_cancels_its_pending_deliveries(tenant, ats_account):
    from gateway.assessments.models import Package
    from gateway.assessments.services import order_receive
    from gateway.tenancy.models import Account

    endpoint = create(tenant.client).json()
    account = Account.objects.get(id=ats_account["id"])
    package = Package.objects.create(account=account, remote_id="t1", name="T1")
    order_receive(account=account, source_key="s1", package=package, fields={})
    row = Delivery.objects.get(endpoint_id=endpoint["id"])
    assert row.status == DeliveryStatus.PENDING
    tenant.client.delete(f"{ENDPOINTS}/{endpoint['id']}")
    row.refresh_from_db()
    assert row.status == DeliveryStatus.CANCELLED


def test_another_tenant_gets_404(tenant, other_tenant):
    endpoint = create(tenant.client).json()
    error_of(other_tenant.client.get(f"{ENDPOINTS}/{endpoint['id']}"), 404)
    error_of(other_tenant.client.delete(f"{ENDPOINTS}/{endpoint['id']}"), 404)
    assert other_tenant.client.get(ENDPOINTS).json()["data"] == []
    assert WebhookEndpoint.objects.get(id=endpoint["id"]).deleted_at is None
    assert tenant.client.get(f"{ENDPOINTS}/{endpoint['id']}").status_code == 200


# --- the signing secret -------------------------------------------------------------------------------


def test_rotate_the_signing_secret(tenant, other_tenant):
    old = tenant.signing_secret
    response = tenant.client.post("/signing_secret")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"signing_secret"}
    new = body["signing_secret"]
    assert new.startswith("whsec_") and new != old

    stored = Tenant.objects.get(id=tenant.id)
    assert stored.signing_secret == new
    assert tenant_signing_secrets(tenant=stored) == [new, old]
    expires = stored.previous_signing_secret_expires_at
    assert timedelta(hours=23, minutes=59) < expires - utcnow() <= timedelta(hours=24)

    # After the overlap only the new secret signs.
    Tenant.objects.filter(id=tenant.id).update(previous_signing_secret_expires_at=utcnow() - timedelta(seconds=1))
    assert tenant_signing_secrets(tenant=Tenant.objects.get(id=tenant.id)) == [new]

    # Another tenant is untouched.
    assert tenant_signing_secrets(tenant=Tenant.objects.get(id=other_tenant.id)) == [other_tenant.signing_secret]


def test_rotating_twice_keeps_only_the_latest_previous_secret(tenant):
    first = tenant.client.post("/signing_secret").json()["signing_secret"]
    second = tenant.client.post("/signing_secret").json()["signing_secret"]
    assert tenant_signing_secrets(tenant=Tenant.objects.get(id=tenant.id)) == [second, first]
