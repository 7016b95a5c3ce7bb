"""Unified API: packages (CONTRACT §3), for both roles."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.assessments.models import Order, Package
from gateway.assessments.selectors import live_package_id
from gateway.assessments.services import order_receive
from gateway.outbound import CallRecord
from gateway.sdk import Context, RemotePackage
from gateway.tenancy.models import Account
from tests.fakes import FakeProviderConnector
from tests.helpers import error_fields, error_of

PACKAGES = "/unified/ats/assessments/packages"
PACKAGE_KEYS = {"id", "remote_id", "name", "description", "type", "updated_at"}


class RecordingProvider(FakeProviderConnector):
    """The fake provider, recording each list call (for ``raw=true``) and the proxy params."""

    def __init__(self) -> None:
        super().__init__()
        self.proxies: list[dict[str, str]] = []

    def list_packages(self, ctx: Context) -> list[RemotePackage]:
        self.proxies.append(dict(ctx.proxy))
        packages = super().list_packages(ctx)
        ctx.calls.append(CallRecord(
            method="GET", url="https://provider.example/tests?page=1", status=200,
            response={"count": len(packages)}, elapsed_ms=3,
        ))
        return packages


@pytest.fixture
def fake_provider() -> RecordingProvider:
    return RecordingProvider()


def publish(tenant: Any, account_id: str, packages: list[dict[str, Any]]) -> Any:
    return tenant.unified(account_id).put(PACKAGES, {"packages": packages}, format="json")


CATALOG = [
    {"remote_id": "js-1", "name": "JavaScript", "description": "ES2024", "type": "coding"},
    {"remote_id": "py-1", "name": "Python"},
    {"remote_id": "sql-1", "name": "SQL", "description": None, "type": None},
]


# --- ats role: the published catalog -------------------------------------------------------------


def test_put_catalog_returns_the_packages(tenant, ats_account):
    response = publish(tenant, ats_account["id"], CATALOG)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert [p["remote_id"] for p in data] == ["js-1", "py-1", "sql-1"]
    for package in data:
        assert set(package) == PACKAGE_KEYS
        assert package["id"].startswith("pkg_")
        assert package["updated_at"].endswith("Z")
    assert data[0]["name"] == "JavaScript" and data[0]["description"] == "ES2024" and data[0]["type"] == "coding"
    assert data[1]["description"] is None and data[1]["type"] is None
    stored = Package.objects.filter(account_id=ats_account["id"], active=True)
    assert sorted(stored.values_list("remote_id", flat=True)) == ["js-1", "py-1", "sql-1"]


def test_put_catalog_replaces_it(tenant, ats_account):
    account_id = ats_account["id"]
    first = {p["remote_id"]: p for p in publish(tenant, account_id, CATALOG).json()["data"]}
    account = Account.objects.get(id=account_id)
    order, _ = order_receive(
        account=account, source_key="gh-1", package=Package.objects.get(id=first["sql-1"]["id"]),
        fields={"candidate": {"first_name": "Ada", "emails": [{"type": "personal", "value": "a@x.io"}]}},
    )

    second = publish(
        tenant, account_id, [{"remote_id": "py-1", "name": "Python 3"}, {"remote_id": "go-1", "name": "Go"}]
    )
    assert second.status_code == 200
    by_remote = {p["remote_id"]: p for p in second.json()["data"]}
    assert by_remote["py-1"]["id"] == first["py-1"]["id"]  # same package, renamed
    assert by_remote["py-1"]["name"] == "Python 3"

    listed = tenant.unified(account_id).get(PACKAGES).json()
    assert sorted(p["remote_id"] for p in listed["data"]) == ["go-1", "py-1"]
    # The order keeps its package snapshot although the package left the catalog.
    detail = tenant.unified(account_id).get(f"/unified/ats/assessments/orders/{order.id}").json()["data"]
    assert detail["package"] == {
        "id": first["sql-1"]["id"], "remote_id": "sql-1", "name": "SQL", "description": None,
    }
    assert Order.objects.get(id=order.id).package_ref == first["sql-1"]["id"]
    # Withdrawn, not deleted.
    assert Package.objects.get(id=first["sql-1"]["id"]).active is False

    # Publishing it again revives the same package.
    third = publish(tenant, account_id, [{"remote_id": "sql-1", "name": "SQL"}])
    assert third.json()["data"][0]["id"] == first["sql-1"]["id"]
    assert [p["remote_id"] for p in tenant.unified(account_id).get(PACKAGES).json()["data"]] == ["sql-1"]


def test_put_an_empty_catalog_withdraws_everything(tenant, ats_account):
    publish(tenant, ats_account["id"], CATALOG)
    response = publish(tenant, ats_account["id"], [])
    assert response.status_code == 200 and response.json() == {"data": []}
    assert tenant.unified(ats_account["id"]).get(PACKAGES).json() == {"data": [], "next": None}


def test_put_catalog_with_a_duplicate_remote_id_is_422(tenant, ats_account):
    publish(tenant, ats_account["id"], CATALOG)
    response = publish(tenant, ats_account["id"], [{"remote_id": "a", "name": "A"}, {"remote_id": "a", "name": "B"}])
    assert error_fields(response) == ["packages[1].remote_id"]
    # Nothing changed.
    listed = tenant.unified(ats_account["id"]).get(PACKAGES).json()["data"]
    assert sorted(p["remote_id"] for p in listed) == ["js-1", "py-1", "sql-1"]


def test_put_catalog_with_a_missing_name_is_422(tenant, ats_account):
    response = publish(tenant, ats_account["id"], [{"remote_id": "a"}, {"remote_id": "b", "name": "B"}])
    assert error_fields(response) == ["packages[0].name"]
    response = publish(tenant, ats_account["id"], [{"remote_id": "a", "name": "A"}, {"name": "B"}])
    assert error_fields(response) == ["packages[1].remote_id"]
    assert error_fields(tenant.unified(ats_account["id"]).put(PACKAGES, {}, format="json")) == ["packages"]
    assert Package.objects.count() == 0


def test_get_list_and_detail_of_the_catalog(tenant, ats_account):
    published = publish(tenant, ats_account["id"], CATALOG).json()["data"]
    client = tenant.unified(ats_account["id"])
    listed = client.get(PACKAGES).json()
    assert listed["next"] is None
    assert sorted(listed["data"], key=lambda p: p["remote_id"]) == published
    assert [p["id"] for p in listed["data"]] == sorted(p["id"] for p in published)

    detail = client.get(f"{PACKAGES}/{published[0]['id']}")
    assert detail.status_code == 200
    assert detail.json() == {"data": published[0]}
    assert client.get(f"{PACKAGES}/{published[0]['id']}?fields=name").json() == {"data": {"name": "JavaScript"}}
    error_of(client.get(f"{PACKAGES}/pkg_nope"), 404)

    page = client.get(f"{PACKAGES}?page_size=2").json()
    assert len(page["data"]) == 2 and page["next"]
    rest = client.get(f"{PACKAGES}?page_size=2&next={page['next']}").json()
    assert len(rest["data"]) == 1 and rest["next"] is None


def test_a_package_of_another_account_is_404(tenant, ats_account, connectors):
    other_account = tenant.link("fake_ats", label="second ATS", credentials={})
    published = publish(tenant, ats_account["id"], CATALOG).json()["data"]
    client = tenant.unified(other_account["id"])
    error_of(client.get(f"{PACKAGES}/{published[0]['id']}"), 404)
    assert client.get(PACKAGES).json()["data"] == []


def test_another_tenant_gets_404_with_this_account_id(tenant, other_tenant, ats_account):
    published = publish(tenant, ats_account["id"], CATALOG).json()["data"]
    client = other_tenant.unified(ats_account["id"])
    error_of(client.get(PACKAGES), 404)
    error_of(client.get(f"{PACKAGES}/{published[0]['id']}"), 404)
    error_of(client.put(PACKAGES, {"packages": []}, format="json"), 404)
    assert Package.objects.filter(active=True).count() == 3


# --- provider role: live from the provider --------------------------------------------------------


def test_live_list_across_pages(tenant, provider_account, fake_provider):
    client = tenant.unified(provider_account["id"])
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(PACKAGES, {"page_size": 10, **({"next": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["data"]) == 10
        for package in body["data"]:
            assert set(package) == PACKAGE_KEYS
            assert package["id"] == live_package_id(package["remote_id"])
            assert package["name"] == f"Test {package['remote_id']}"
            assert package["description"] is None and package["updated_at"] is None
        seen.extend(p["remote_id"] for p in body["data"])
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 30
    assert set(seen) == {str(n) for n in range(1, 31)}
    assert len(fake_provider.proxies) == 3  # read live on every call
    assert Package.objects.count() == 0  # never stored


def test_live_detail(tenant, provider_account):
    client = tenant.unified(provider_account["id"])
    response = client.get(f"{PACKAGES}/{live_package_id('7')}")
    assert response.status_code == 200
    assert response.json() == {"data": {
        "id": live_package_id("7"), "remote_id": "7", "name": "Test 7", "description": None,
        "type": None, "updated_at": None,
    }}
    error_of(client.get(f"{PACKAGES}/{live_package_id('31')}"), 404)
    error_of(client.get(f"{PACKAGES}/pkg_rnot!base64"), 404)
    error_of(client.get(f"{PACKAGES}/pkg_01JD0000000000000000000000"), 404)


def test_put_on_a_provider_account_is_501(tenant, provider_account):
    error_of(publish(tenant, provider_account["id"], CATALOG), 501)
    assert Package.objects.count() == 0


@pytest.mark.parametrize("path", [PACKAGES, f"{PACKAGES}/{live_package_id('1')}"])
def test_provider_failure_is_502_with_provider_errors(tenant, provider_account, fake_provider, path):
    fake_provider.fail_with = 500
    body = error_of(tenant.unified(provider_account["id"]).get(path), 502)
    assert body["provider_errors"] == [
        {"status": 500, "url": "https://provider.example/tests", "raw": {"error": "boom"}}
    ]
    assert "prov-key-123" not in str(body)


def test_provider_timeout_is_504(tenant, provider_account, fake_provider):
    fake_provider.fail_with = 504
    body = error_of(tenant.unified(provider_account["id"]).get(PACKAGES), 504)
    assert body["provider_errors"][0]["status"] == 504


def test_raw_adds_the_provider_calls(tenant, provider_account):
    client = tenant.unified(provider_account["id"])
    plain = client.get(PACKAGES).json()
    assert "raw" not in plain
    body = client.get(PACKAGES, {"raw": "true"}).json()
    assert body["raw"] == [{
        "method": "GET", "url": "https://provider.example/tests?page=1", "status": 200,
        "response": {"count": 30},
    }]
    detail = client.get(f"{PACKAGES}/{live_package_id('2')}", {"raw": "true"}).json()
    assert detail["data"]["remote_id"] == "2"
    assert len(detail["raw"]) == 1


def test_proxy_params_reach_the_provider(tenant, provider_account, fake_provider):
    client = tenant.unified(provider_account["id"])
    client.get(PACKAGES, {"proxy[language]": "de", "proxy[archived]": "false", "filter[x]": "y"})
    assert fake_provider.proxies[-1] == {"language": "de", "archived": "false"}


def test_another_tenant_gets_404_on_the_live_list(tenant, other_tenant, provider_account, fake_provider):
    client = other_tenant.unified(provider_account["id"])
    error_of(client.get(PACKAGES), 404)
    error_of(client.get(f"{PACKAGES}/{live_package_id('1')}"), 404)
    assert fake_provider.proxies == []  # the provider was never called


def test_live_list_filter_updated_after_compares_instants(tenant, provider_account, fake_provider):
    from datetime import UTC, datetime

    fake_provider.tests = [
        RemotePackage(remote_id="old", name="Old", updated_at=datetime(2026, 1, 2, 3, 4, 4, 900000, tzinfo=UTC)),
        # Same second as the filter, later by half a second: its ISO text sorts *before*
        # "…:05Z" ('.' < 'Z'), so a string comparison would drop it.
        RemotePackage(remote_id="new", name="New", updated_at=datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        RemotePackage(remote_id="undated", name="Undated"),
    ]
    client = tenant.unified(provider_account["id"])
    listed = client.get(PACKAGES, {"filter[updated_after]": "2026-01-02T04:04:05+01:00"}).json()["data"]
    assert [p["remote_id"] for p in listed] == ["new"]
    assert listed[0]["updated_at"] == "2026-01-02T03:04:05.500000Z"
    assert len(client.get(PACKAGES).json()["data"]) == 3
