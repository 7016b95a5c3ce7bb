"""Unified API: orders and results (CONTRACT §3), the outbox rows they write (§5), and
tenant isolation on every unified endpoint (§1.2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gateway.assessments.models import Order, OrderStatus, Package, Result
from gateway.assessments.selectors import live_package_id
from gateway.assessments.services import order_receive
from gateway.delivery.models import Delivery, DeliveryKind, DeliveryStatus, EventType
from gateway.tenancy.models import Account
from gateway.timefmt import isoformat_z, parse_timestamp, utcnow
from tests.helpers import error_fields, error_of

BASE = "/unified/ats/assessments"
ORDERS = f"{BASE}/orders"
RESULTS = f"{BASE}/results"

ORDER_KEYS = {
    "id", "remote_id", "status", "package", "candidate", "application", "job", "requester",
    "results_update_url", "test_url", "passthrough", "result", "created_at", "updated_at",
}
PACKAGE_REF_KEYS = {"id", "remote_id", "name", "description"}
CANDIDATE_KEYS = {"id", "remote_id", "first_name", "last_name", "emails", "profile_url", "passthrough"}
APPLICATION_KEYS = {"id", "remote_id", "application_status", "passthrough"}
JOB_KEYS = {"id", "remote_id", "title", "hiring_team", "passthrough"}
REQUESTER_KEYS = {"user_id", "remote_user_id", "first_name", "last_name", "email", "role"}
RESULT_KEYS = {
    "id", "order_id", "score", "result", "result_url", "summary", "start_date", "submission_date",
    "attachments", "updated_at",
}

ATS_FIELDS: dict[str, Any] = {
    "candidate": {
        "remote_id": "cand-1", "first_name": "Ada", "last_name": "Lovelace",
        "emails": [{"type": "personal", "value": "ada@example.com"}],
        "profile_url": "https://app.ats.example/people/1",
    },
    "application": {"remote_id": "app-1"},
    "job": {"remote_id": "job-1", "title": "Engineer"},
    "requester": {"email": "boss@example.com", "first_name": "Grace"},
}

RESULT_BODY: dict[str, Any] = {
    "score": {"label": "Overall", "value": 78, "min": 0, "max": 100.5},
    "result": {"value": "passed", "source_value": "PASS"},
    "result_url": "https://vendor.example/report/1",
    "summary": "Strong",
    "start_date": "2026-01-02T10:00:00Z",
    "submission_date": "2026-01-02T12:30:00+01:00",
    "attachments": [{"url": "https://vendor.example/report/1.pdf", "content_type": {"value": "application/pdf"}}],
    "passthrough": {"vendor": "data"},
    "unknown_field": "ignored",
}


# --- fixtures and helpers -------------------------------------------------------------------------


def publish(tenant: Any, account_id: str) -> dict[str, str]:
    """Publish two packages; return their ids by remote_id."""
    response = tenant.unified(account_id).put(
        f"{BASE}/packages",
        {"packages": [{"remote_id": "js-1", "name": "JavaScript"}, {"remote_id": "py-1", "name": "Python"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    return {p["remote_id"]: p["id"] for p in response.json()["data"]}


def receive(account_id: str, package_id: str, key: str, **fields: Any) -> Order:
    order, created = order_receive(
        account=Account.objects.get(id=account_id),
        source_key=key,
        package=Package.objects.get(id=package_id),
        fields={**ATS_FIELDS, **fields},
    )
    assert created
    return order


@pytest.fixture
def catalog(tenant, ats_account) -> dict[str, str]:
    return publish(tenant, ats_account["id"])


@pytest.fixture
def order(ats_account, catalog) -> Order:
    return receive(ats_account["id"], catalog["js-1"], "source-1")


@pytest.fixture
def ats(tenant, ats_account) -> Any:
    return tenant.unified(ats_account["id"])


@pytest.fixture
def endpoints(tenant) -> dict[str, str]:
    """Webhook endpoints: one for everything, one for updates, one for creations only."""
    ids = {}
    for name, events in (("all", ["*"]), ("updated", ["ats_assessments.updated"]),
                         ("created", ["ats_assessments.created"])):
        response = tenant.client.post(
            "/webhook_endpoints", {"url": f"https://hooks.example.com/{name}", "events": events}, format="json"
        )
        assert response.status_code == 201, response.content
        ids[name] = response.json()["id"]
    return ids


def webhook_endpoints_for(order: Order, event_type: str) -> set[str]:
    return set(
        Delivery.objects.filter(order=order, kind=DeliveryKind.WEBHOOK, event_type=event_type)
        .values_list("endpoint_id", flat=True)
    )


# --- reading orders ----------------------------------------------------------------------------------


def test_order_detail_has_every_key(ats, order, catalog):
    response = ats.get(f"{ORDERS}/{order.id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data"}
    data = body["data"]
    assert set(data) == ORDER_KEYS
    assert data["id"] == order.id
    assert data["status"] == "open"
    assert data["remote_id"] is None and data["test_url"] is None
    assert data["results_update_url"] is None and data["passthrough"] is None and data["result"] is None
    assert data["package"] == {"id": catalog["js-1"], "remote_id": "js-1", "name": "JavaScript", "description": None}
    assert set(data["candidate"]) == CANDIDATE_KEYS
    assert data["candidate"] == {
        "id": None, "remote_id": "cand-1", "first_name": "Ada", "last_name": "Lovelace",
        "emails": [{"type": "personal", "value": "ada@example.com"}],
        "profile_url": "https://app.ats.example/people/1", "passthrough": None,
    }
    assert data["application"] == {"id": None, "remote_id": "app-1", "application_status": None, "passthrough": None}
    assert data["job"] == {
        "id": None, "remote_id": "job-1", "title": "Engineer", "hiring_team": None, "passthrough": None,
    }
    assert set(data["requester"]) == REQUESTER_KEYS
    assert data["requester"]["email"] == "boss@example.com" and data["requester"]["role"] is None
    assert data["created_at"].endswith("Z") and data["updated_at"].endswith("Z")
    assert ats.get(f"{ORDERS}/{order.id}?fields=id,status").json() == {"data": {"id": order.id, "status": "open"}}


def test_order_detail_of_a_sparse_order_has_nulls(ats, ats_account, catalog):
    sparse = receive(ats_account["id"], catalog["py-1"], "sparse", candidate=None, application=None,
                     job=None, requester=None)
    data = ats.get(f"{ORDERS}/{sparse.id}").json()["data"]
    assert set(data) == ORDER_KEYS
    for key in ("candidate", "application", "job", "requester"):
        assert data[key] is None


def test_list_orders_with_filters(ats, ats_account, catalog):
    open_order = receive(ats_account["id"], catalog["js-1"], "k1")
    completed = receive(ats_account["id"], catalog["py-1"], "k2")
    started = receive(ats_account["id"], catalog["js-1"], "k3")
    passed = ats.patch(f"{ORDERS}/{completed.id}/result", {"result": {"value": "passed"}}, format="json")
    assert passed.status_code == 200
    assert ats.patch(f"{ORDERS}/{started.id}", {"status": "in_progress"}, format="json").status_code == 200

    def ids(params: dict[str, str] | None = None) -> list[str]:
        response = ats.get(ORDERS, params or {})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["next"] is None
        return [item["id"] for item in body["data"]]

    everything = sorted([open_order.id, completed.id, started.id])
    assert ids() == everything
    assert ids({"filter[status]": "open,completed"}) == sorted([open_order.id, completed.id])
    assert ids({"filter[status]": "in_progress"}) == [started.id]
    assert ids({"filter[status]": "expired"}) == []
    assert ids({"filter[package_id]": catalog["js-1"]}) == sorted([open_order.id, started.id])
    assert ids({"filter[package_id]": catalog["py-1"], "filter[status]": "completed"}) == [completed.id]

    Order.objects.filter(id=open_order.id).update(updated_at=utcnow() - timedelta(days=3))
    since = isoformat_z(utcnow() - timedelta(days=1))
    assert ids({"filter[updated_after]": since}) == sorted([completed.id, started.id])

    listed = ats.get(ORDERS, {"filter[status]": "completed"}).json()["data"][0]
    assert set(listed) == ORDER_KEYS
    assert listed["result"]["result"] == {"value": "passed", "source_value": None}

    error_of(ats.get(ORDERS, {"filter[status]": "open,done"}), 400)
    error_of(ats.get(ORDERS, {"filter[updated_after]": "last week"}), 400)
    error_of(ats.get(ORDERS, {"page_size": "500"}), 400)


# --- PATCH order: the vendor's instance --------------------------------------------------------------


def test_patch_order_attaches_the_vendor_instance(ats, order, endpoints):
    response = ats.patch(
        f"{ORDERS}/{order.id}",
        {"remote_id": "vendor-77", "test_url": "https://vendor.example/t/77", "status": "in_progress"},
        format="json",
    )
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == ORDER_KEYS
    assert data["remote_id"] == "vendor-77"
    assert data["test_url"] == "https://vendor.example/t/77"
    assert data["status"] == "in_progress"
    stored = Order.objects.get(id=order.id)
    assert (stored.remote_id, stored.test_url, stored.status) == (
        "vendor-77", "https://vendor.example/t/77", OrderStatus.IN_PROGRESS,
    )
    assert stored.version > order.version
    assert webhook_endpoints_for(order, EventType.UPDATED) == {endpoints["all"], endpoints["updated"]}


def test_patch_order_without_a_status_change_emits_nothing(ats, order, endpoints):
    response = ats.patch(f"{ORDERS}/{order.id}", {"remote_id": "vendor-1"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "open"
    assert webhook_endpoints_for(order, EventType.UPDATED) == set()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "completed"}, "status"),
        ({"status": "open"}, "status"),
        ({"test_url": "not a url"}, "test_url"),
        ({"remote_id": "x" * 256}, "remote_id"),
    ],
)
def test_patch_order_invalid_is_422(ats, order, body, field):
    assert error_fields(ats.patch(f"{ORDERS}/{order.id}", body, format="json")) == [field]
    stored = Order.objects.get(id=order.id)
    assert stored.status == OrderStatus.OPEN and stored.remote_id is None


# --- PATCH result --------------------------------------------------------------------------------------


def test_patch_result_stores_it_and_queues_deliveries(ats, order, endpoints):
    before = utcnow()
    response = ats.patch(f"{ORDERS}/{order.id}/result", RESULT_BODY, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"statusCode", "message", "timestamp"}
    assert body["statusCode"] == 200
    assert body["message"] == "Record updated successfully."
    assert body["timestamp"].endswith("Z") and parse_timestamp(body["timestamp"]) >= before - timedelta(seconds=1)

    result = Result.objects.get(order_id=order.id)
    assert result.account_id == order.account_id
    assert result.score == {"label": "Overall", "value": "78", "min": "0", "max": "100.5"}
    assert (result.result_value, result.result_source_value) == ("passed", "PASS")
    assert result.result_url == "https://vendor.example/report/1"
    assert result.summary == "Strong"
    assert isoformat_z(result.start_date) == "2026-01-02T10:00:00Z"
    assert isoformat_z(result.submission_date) == "2026-01-02T11:30:00Z"
    assert result.passthrough == {"vendor": "data"}
    stored = Order.objects.get(id=order.id)
    assert stored.status == OrderStatus.COMPLETED

    partner = Delivery.objects.get(order=order, kind=DeliveryKind.PARTNER)
    assert partner.status == DeliveryStatus.PENDING
    assert partner.order_version == stored.version
    assert partner.account_id == order.account_id
    assert webhook_endpoints_for(order, EventType.UPDATED) == {endpoints["all"], endpoints["updated"]}
    assert not Delivery.objects.filter(endpoint_id=endpoints["created"], event_type=EventType.UPDATED).exists()
    # One event id for the webhook rows of one change.
    assert Delivery.objects.filter(order=order, kind=DeliveryKind.WEBHOOK, event_type=EventType.UPDATED) \
        .values("event_id").distinct().count() == 1

    data = ats.get(f"{ORDERS}/{order.id}/result").json()["data"]
    assert set(data) == RESULT_KEYS
    assert data == {
        "id": result.id, "order_id": order.id,
        "score": {"label": "Overall", "value": "78", "min": "0", "max": "100.5"},
        "result": {"value": "passed", "source_value": "PASS"},
        "result_url": "https://vendor.example/report/1", "summary": "Strong",
        "start_date": "2026-01-02T10:00:00Z", "submission_date": "2026-01-02T11:30:00Z",
        "attachments": [{"url": "https://vendor.example/report/1.pdf",
                         "content_type": {"value": "application/pdf", "source_value": None}}],
        "updated_at": isoformat_z(result.updated_at),
    }
    embedded = ats.get(f"{ORDERS}/{order.id}").json()["data"]
    assert embedded["status"] == "completed"
    assert embedded["result"] == data


def test_patch_result_again_corrects_it(ats, order, endpoints):
    ats.patch(f"{ORDERS}/{order.id}/result", RESULT_BODY, format="json")
    first_version = Order.objects.get(id=order.id).version
    response = ats.patch(
        f"{ORDERS}/{order.id}/result", {"score": {"value": "81", "max": "100"}, "result": {"value": "passed"}},
        format="json",
    )
    assert response.status_code == 200
    results = Result.objects.filter(order_id=order.id)
    assert results.count() == 1
    result = results.get()
    assert result.score == {"value": "81", "max": "100"}
    assert result.summary == "Strong"  # fields left out are kept
    stored = Order.objects.get(id=order.id)
    assert stored.version > first_version
    partner_rows = Delivery.objects.filter(order=order, kind=DeliveryKind.PARTNER).order_by("order_version")
    assert [row.order_version for row in partner_rows] == [first_version, stored.version]
    assert Delivery.objects.filter(
        order=order, endpoint_id=endpoints["all"], event_type=EventType.UPDATED
    ).count() == 2
    score = ats.get(f"{ORDERS}/{order.id}/result").json()["data"]["score"]
    assert score == {"label": None, "value": "81", "min": None, "max": "100"}


@pytest.mark.parametrize(
    "value, status",
    [("passed", "completed"), ("failed", "completed"), ("completed", "completed"),
     ("in_progress", "in_progress"), ("initiated", "open"), ("expired", "expired"), ("cancelled", "cancelled")],
)
def test_patch_result_moves_the_order_status(ats, order, value, status):
    response = ats.patch(f"{ORDERS}/{order.id}/result", {"result": {"value": value}}, format="json")
    assert response.status_code == 200
    assert Order.objects.get(id=order.id).status == status
    assert ats.get(f"{ORDERS}/{order.id}").json()["data"]["status"] == status


def test_patch_result_unmapped_value_keeps_the_status(ats, order):
    ats.patch(f"{ORDERS}/{order.id}", {"status": "in_progress"}, format="json")
    response = ats.patch(
        f"{ORDERS}/{order.id}/result", {"result": {"value": "unmapped_value", "source_value": "WEIRD"}},
        format="json",
    )
    assert response.status_code == 200
    assert Order.objects.get(id=order.id).status == OrderStatus.IN_PROGRESS


def test_patch_result_without_endpoints_writes_only_the_partner_row(ats, order):
    ats.patch(f"{ORDERS}/{order.id}/result", {"result": {"value": "in_progress"}}, format="json")
    assert list(Delivery.objects.filter(order=order).values_list("kind", flat=True)) == [DeliveryKind.PARTNER]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"result": {"value": "great"}}, "result.value"),
        ({"result": {"source_value": "PASS"}}, "result.value"),
        ({"score": {"value": True}}, "score.value"),
        ({"score": {"value": [1]}}, "score.value"),
        ({"start_date": "tuesday"}, "start_date"),
        ({"result_url": "nope"}, "result_url"),
        ({"attachments": [{"url": "https://ok.example/a"}, {"url": "bad"}]}, "attachments[1].url"),
    ],
)
def test_patch_result_invalid_is_422_and_stores_nothing(ats, order, endpoints, body, field):
    assert error_fields(ats.patch(f"{ORDERS}/{order.id}/result", body, format="json")) == [field]
    assert not Result.objects.exists()
    assert Order.objects.get(id=order.id).status == OrderStatus.OPEN
    assert not Delivery.objects.filter(order=order, event_type=EventType.UPDATED).exists()


# --- results ---------------------------------------------------------------------------------------


def test_result_is_404_before_any(ats, order):
    body = error_of(ats.get(f"{ORDERS}/{order.id}/result"), 404)
    assert body["errors"] == []


def test_results_list_and_detail(ats, ats_account, catalog):
    first = receive(ats_account["id"], catalog["js-1"], "r1")
    second = receive(ats_account["id"], catalog["py-1"], "r2")
    receive(ats_account["id"], catalog["py-1"], "r3")  # no result
    for order_, value in ((first, "passed"), (second, "failed")):
        ats.patch(f"{ORDERS}/{order_.id}/result", {"result": {"value": value}, "summary": value}, format="json")
    result_ids = {r.order_id: r.id for r in Result.objects.all()}

    listed = ats.get(RESULTS).json()
    assert listed["next"] is None
    assert [r["id"] for r in listed["data"]] == sorted(result_ids.values())
    for item in listed["data"]:
        assert set(item) == RESULT_KEYS
    filtered = ats.get(RESULTS, {"filter[order_id]": second.id}).json()["data"]
    assert [(r["id"], r["order_id"], r["summary"]) for r in filtered] == [(result_ids[second.id], second.id, "failed")]
    assert ats.get(RESULTS, {"filter[order_id]": "ord_nope"}).json()["data"] == []

    Result.objects.filter(id=result_ids[first.id]).update(updated_at=utcnow() - timedelta(days=2))
    recent = ats.get(RESULTS, {"filter[updated_after]": isoformat_z(utcnow() - timedelta(days=1))}).json()["data"]
    assert [r["id"] for r in recent] == [result_ids[second.id]]
    error_of(ats.get(RESULTS, {"filter[updated_after]": "x"}), 400)

    detail = ats.get(f"{RESULTS}/{result_ids[first.id]}")
    assert detail.status_code == 200
    assert detail.json()["data"]["order_id"] == first.id
    assert detail.json()["data"]["result"] == {"value": "passed", "source_value": None}
    error_of(ats.get(f"{RESULTS}/res_nope"), 404)


# --- DELETE: the GDPR erase ----------------------------------------------------------------------------


def test_delete_order_leaves_a_tombstone(ats, order, endpoints):
    ats.patch(f"{ORDERS}/{order.id}", {"remote_id": "vendor-1", "test_url": "https://vendor.example/t/1"},
              format="json")
    ats.patch(f"{ORDERS}/{order.id}/result", RESULT_BODY, format="json")
    before = ats.get(f"{ORDERS}/{order.id}").json()["data"]
    pending = list(Delivery.objects.filter(order=order, status=DeliveryStatus.PENDING).values_list("id", flat=True))
    assert pending  # partner and webhook rows waiting to be sent

    response = ats.delete(f"{ORDERS}/{order.id}")
    assert response.status_code == 204
    assert response.content == b""

    after = ats.get(f"{ORDERS}/{order.id}").json()["data"]
    assert set(after) == ORDER_KEYS
    assert after["id"] == order.id
    assert after["status"] == "completed"  # a final status is kept
    assert after["created_at"] == before["created_at"]
    assert after["package"] == before["package"]
    for key in ("candidate", "application", "job", "requester", "result", "passthrough", "test_url",
                "results_update_url"):
        assert after[key] is None, key
    stored = Order.objects.get(id=order.id)
    assert stored.erased_at is not None
    assert stored.candidate is None and stored.requester is None
    assert not Result.objects.filter(order_id=order.id).exists()
    error_of(ats.get(f"{ORDERS}/{order.id}/result"), 404)
    assert ats.get(RESULTS).json()["data"] == []

    assert set(Delivery.objects.filter(id__in=pending).values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    deleted = Delivery.objects.filter(order=order, event_type=EventType.DELETED)
    assert {(row.kind, row.endpoint_id, row.status) for row in deleted} == {
        (DeliveryKind.WEBHOOK, endpoints["all"], DeliveryStatus.PENDING)
    }

    # Writes now conflict; a second erase is a no-op.
    error_of(ats.patch(f"{ORDERS}/{order.id}/result", {"result": {"value": "failed"}}, format="json"), 409)
    error_of(ats.patch(f"{ORDERS}/{order.id}", {"remote_id": "again"}, format="json"), 409)
    assert not Result.objects.filter(order_id=order.id).exists()
    assert ats.delete(f"{ORDERS}/{order.id}").status_code == 204
    assert Delivery.objects.filter(order=order, event_type=EventType.DELETED).count() == 1


def test_delete_an_open_order_cancels_it(ats, order):
    assert ats.delete(f"{ORDERS}/{order.id}").status_code == 204
    data = ats.get(f"{ORDERS}/{order.id}").json()["data"]
    assert data["status"] == "cancelled"
    assert data["candidate"] is None
    assert ats.get(ORDERS, {"filter[status]": "cancelled"}).json()["data"][0]["id"] == order.id


# --- provider role -------------------------------------------------------------------------------------


def order_request(**overrides: Any) -> dict[str, Any]:
    body = {
        "package": {"remote_id": "5"},
        "candidate": {"first_name": "Alan", "last_name": "Turing",
                      "emails": [{"type": "work", "value": "alan@example.com"}]},
        "job": {"remote_id": "job-9", "title": "Cryptanalyst"},
        "results_update_url": "https://hooks.example.com/results",
        "passthrough": {"ref": "x"},
        "unknown": "ignored",
    }
    body.update(overrides)
    return body


@pytest.fixture
def provider(tenant, provider_account) -> Any:
    return tenant.unified(provider_account["id"])


@pytest.mark.parametrize("package", [{"remote_id": "5"}, {"id": live_package_id("5")}])
def test_create_order_on_a_provider(provider, provider_account, fake_provider, endpoints, package):
    response = provider.post(ORDERS, order_request(package=package), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "remote_id", "test_url", "data"}
    assert body["id"].startswith("ord_")
    assert body["remote_id"] == "1000"
    assert body["test_url"] == "https://provider.example/t/1000"
    data = body["data"]
    assert set(data) == ORDER_KEYS
    assert data["id"] == body["id"] and data["status"] == "open"
    assert data["package"] == {"id": live_package_id("5"), "remote_id": "5", "name": "Test 5", "description": None}
    assert data["candidate"]["emails"] == [{"type": "work", "value": "alan@example.com"}]
    assert data["job"]["title"] == "Cryptanalyst"
    assert data["results_update_url"] == "https://hooks.example.com/results"
    assert data["passthrough"] == {"ref": "x"}

    assert fake_provider.invitations["1000"]["test"] == "5"
    assert fake_provider.invitations["1000"]["candidate"]["last_name"] == "Turing"
    stored = Order.objects.get(id=body["id"])
    assert stored.account_id == provider_account["id"]
    assert stored.package_ref == live_package_id("5")
    assert webhook_endpoints_for(stored, EventType.CREATED) == {endpoints["all"], endpoints["created"]}
    assert provider.get(f"{ORDERS}/{body['id']}").json()["data"] == data
    assert [o["id"] for o in provider.get(ORDERS, {"filter[package_id]": live_package_id("5")}).json()["data"]] == [
        body["id"]
    ]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"results_update_url": "http://10.0.0.1/cb"}, "results_update_url"),
        ({"results_update_url": "http://[::1]/cb"}, "results_update_url"),
        ({"results_update_url": "ftp://hooks.example.com/cb"}, "results_update_url"),
        ({"results_update_url": "not a url"}, "results_update_url"),
        ({"candidate": {"first_name": "A", "emails": []}}, "candidate.emails"),
        ({"candidate": {"first_name": "A"}}, "candidate.emails"),
        ({"candidate": {"emails": [{"value": "not-an-email"}]}}, "candidate.emails[0].value"),
        ({"package": {"remote_id": "999"}}, "package.remote_id"),
        ({"package": {"id": live_package_id("999")}}, "package.id"),
        ({"package": {"id": "pkg_garbage"}}, "package.id"),
        ({"package": {}}, "package"),
        ({"deadline": "soon"}, "deadline"),
    ],
)
def test_create_order_invalid_is_422(provider, fake_provider, overrides, field):
    response = provider.post(ORDERS, order_request(**overrides), format="json")
    assert error_fields(response) == [field]
    assert fake_provider.invitations == {}
    assert not Order.objects.exists()


def test_create_order_private_callback_is_refused_even_with_an_allow_list(provider, settings):
    settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS = ["hooks.example.com"]
    response = provider.post(ORDERS, order_request(results_update_url="http://192.168.1.10/cb"), format="json")
    assert error_fields(response) == ["results_update_url"]


def test_create_order_provider_failure_is_502_and_stores_nothing(provider, fake_provider):
    created = provider.get(f"{BASE}/packages/{live_package_id('5')}")  # read before it fails
    assert created.status_code == 200
    fake_provider.fail_with = 500
    body = error_of(provider.post(ORDERS, order_request(), format="json"), 502)
    assert body["provider_errors"][0]["status"] == 500
    assert not Order.objects.exists()


def test_create_order_on_an_ats_account_is_501(ats, catalog):
    error_of(ats.post(ORDERS, order_request(package={"id": catalog["js-1"]}), format="json"), 501)
    assert not Order.objects.exists()


def test_ats_only_operations_on_a_provider_account_are_501(provider, fake_provider):
    created = provider.post(ORDERS, order_request(), format="json").json()
    error_of(provider.patch(f"{ORDERS}/{created['id']}/result", {"result": {"value": "passed"}}, format="json"), 501)
    error_of(provider.patch(f"{ORDERS}/{created['id']}", {"remote_id": "x"}, format="json"), 501)
    assert not Result.objects.exists()
    assert Order.objects.get(id=created["id"]).remote_id == "1000"


def test_delete_a_provider_order_cancels_it_upstream(provider, fake_provider):
    created = provider.post(ORDERS, order_request(), format="json").json()
    assert provider.delete(f"{ORDERS}/{created['id']}").status_code == 204
    assert fake_provider.cancelled == ["1000"]
    data = provider.get(f"{ORDERS}/{created['id']}").json()["data"]
    assert data["status"] == "cancelled" and data["candidate"] is None and data["results_update_url"] is None
    # A second erase does not call the provider again.
    assert provider.delete(f"{ORDERS}/{created['id']}").status_code == 204
    assert fake_provider.cancelled == ["1000"]


def test_delete_still_erases_when_the_upstream_cancel_fails(provider, fake_provider):
    created = provider.post(ORDERS, order_request(), format="json").json()

    def refuse(ctx, order):
        from gateway.sdk import ProviderError

        raise ProviderError("nope")

    fake_provider.cancel_order = refuse
    assert provider.delete(f"{ORDERS}/{created['id']}").status_code == 204
    assert Order.objects.get(id=created["id"]).candidate is None


# --- tenant isolation on every unified endpoint ---------------------------------------------------------


@pytest.fixture
def world(tenant, other_tenant, ats_account, provider_account, catalog, connectors) -> dict[str, Any]:
    """This tenant: ATS account A (order, result), ATS account B (order, result), a provider
    account P (order). Another tenant: ATS account X (order, result)."""
    second = tenant.link("fake_ats", label="B", credentials={})
    foreign = other_tenant.link("fake_ats", label="X", credentials={})
    catalog_b = publish(tenant, second["id"])
    catalog_x = publish(other_tenant, foreign["id"])
    orders = {
        "A": receive(ats_account["id"], catalog["js-1"], "a"),
        "B": receive(second["id"], catalog_b["js-1"], "b"),
        "X": receive(foreign["id"], catalog_x["js-1"], "x"),
    }
    for name, owner in (("A", tenant), ("B", tenant), ("X", other_tenant)):
        account_id = orders[name].account_id
        response = owner.unified(account_id).patch(
            f"{ORDERS}/{orders[name].id}/result", {"result": {"value": "in_progress"}}, format="json"
        )
        assert response.status_code == 200
    provider_order = tenant.unified(provider_account["id"]).post(ORDERS, order_request(), format="json")
    assert provider_order.status_code == 201
    return {
        "A": ats_account["id"], "B": second["id"], "X": foreign["id"], "P": provider_account["id"],
        "orders": {k: v.id for k, v in orders.items()} | {"P": provider_order.json()["id"]},
        "results": {k: Result.objects.get(order_id=v.id).id for k, v in orders.items()},
        "packages": {"A": catalog["js-1"], "B": catalog_b["js-1"], "X": catalog_x["js-1"]},
    }


def snapshot() -> tuple:
    return (
        sorted(Order.objects.values_list("id", "status", "remote_id", "erased_at", "version")),
        sorted(Result.objects.values_list("id", "result_value", "updated_at")),
        sorted(Package.objects.values_list("id", "active", "name")),
        Delivery.objects.count(),
    )


def every_endpoint(order_id: str, result_id: str, package_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("get", f"{BASE}/packages", None),
        ("put", f"{BASE}/packages", {"packages": [{"remote_id": "evil", "name": "Evil"}]}),
        ("get", f"{BASE}/packages/{package_id}", None),
        ("get", ORDERS, None),
        ("post", ORDERS, order_request()),
        ("get", f"{ORDERS}/{order_id}", None),
        ("patch", f"{ORDERS}/{order_id}", {"remote_id": "evil"}),
        ("delete", f"{ORDERS}/{order_id}", None),
        ("get", f"{ORDERS}/{order_id}/result", None),
        ("patch", f"{ORDERS}/{order_id}/result", {"result": {"value": "failed"}}),
        ("get", RESULTS, None),
        ("get", f"{RESULTS}/{result_id}", None),
    ]


def call(client: Any, method: str, path: str, body: Any) -> Any:
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize("account", ["A", "P"])
def test_another_tenant_using_this_tenants_account_id_gets_404(world, other_tenant, fake_provider, account):
    before = snapshot()
    client = other_tenant.unified(world[account])
    missing = error_of(other_tenant.unified("acc_missing").get(ORDERS), 404)
    for method, path, body in every_endpoint(world["orders"]["A"], world["results"]["A"], world["packages"]["A"]):
        response = call(client, method, path, body)
        assert error_of(response, 404)["message"] == missing["message"], (method, path)
    assert snapshot() == before
    assert len(fake_provider.invitations) == 1  # only the fixture's order
    assert fake_provider.cancelled == []


@pytest.mark.parametrize("owner", ["B", "X", "P"])
def test_ids_of_other_accounts_never_resolve(world, tenant, owner):
    before = snapshot()
    client = tenant.unified(world["A"])
    order_id = world["orders"][owner]
    result_id = world["results"].get(owner, "res_none")
    package_id = world["packages"].get(owner, live_package_id("5"))
    by_id = [
        (method, path, body)
        for method, path, body in every_endpoint(order_id, result_id, package_id)
        if order_id in path or result_id in path or package_id in path
    ]
    assert len(by_id) == 7
    for method, path, body in by_id:
        error_of(call(client, method, path, body), 404)
    # Lists filtered by a foreign id find nothing either.
    assert client.get(RESULTS, {"filter[order_id]": order_id}).json()["data"] == []
    assert client.get(ORDERS, {"filter[package_id]": package_id}).json()["data"] == []
    assert snapshot() == before


def test_lists_only_show_the_accounts_own_rows(world, tenant, other_tenant):
    a = tenant.unified(world["A"])
    assert [o["id"] for o in a.get(ORDERS).json()["data"]] == [world["orders"]["A"]]
    assert [r["id"] for r in a.get(RESULTS).json()["data"]] == [world["results"]["A"]]
    assert [p["id"] for p in a.get(f"{BASE}/packages").json()["data"]] == sorted(
        Package.objects.filter(account_id=world["A"]).values_list("id", flat=True)
    )
    x = other_tenant.unified(world["X"])
    assert [o["id"] for o in x.get(ORDERS).json()["data"]] == [world["orders"]["X"]]
