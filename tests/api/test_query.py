"""``gateway.api.query``: page size, cursors, keyset pagination, fields, bracketed filters."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from django.http import QueryDict

from gateway.api import query
from gateway.api.errors import BadRequest
from gateway.tenancy.models import Tenant


def params(qs: str = "") -> QueryDict:
    return QueryDict(qs)


# --- page_size ------------------------------------------------------------------------------


def test_page_size_default_and_bounds():
    assert query.page_size(params()) == 25
    assert query.page_size(params("page_size=")) == 25
    assert query.page_size(params("page_size=1")) == 1
    assert query.page_size(params("page_size=200")) == 200


@pytest.mark.parametrize("value", ["0", "-1", "201", "abc", "1.5", "1e3"])
def test_page_size_invalid_is_400(value):
    with pytest.raises(BadRequest) as raised:
        query.page_size(params(f"page_size={value}"))
    assert raised.value.status_code == 400
    assert "200" in raised.value.message


# --- cursors --------------------------------------------------------------------------------


@pytest.mark.parametrize("last_id", ["acc_01JD0000000000000000000000", "x", "ünïcode-id", "a" * 150])
def test_cursor_round_trip(last_id):
    cursor = query.encode_cursor(last_id)
    assert "=" not in cursor  # safe in a query string as is
    assert last_id not in cursor  # opaque
    assert query.decode_cursor(cursor) == last_id


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !!",
        base64.urlsafe_b64encode(b"acc_123").decode(),  # no version prefix
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
        query.encode_cursor("x" * 300),  # implausibly long
        "",
    ],
)
def test_invalid_cursor_is_400(cursor):
    with pytest.raises(BadRequest) as raised:
        query.decode_cursor(cursor)
    assert raised.value.status_code == 400


# --- keyset pagination over a real queryset ----------------------------------------------------


def make_tenant(tenant_id: str) -> Tenant:
    return Tenant.objects.create(id=tenant_id, name=tenant_id, signing_secret="whsec_x")


@pytest.mark.django_db
def test_keyset_pages_walk_every_row_once():
    ids = [f"ten_{n:02d}" for n in range(7)]
    for tenant_id in ids:
        make_tenant(tenant_id)
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = query.keyset_page(
            Tenant.objects.all(), params("page_size=3" + (f"&next={cursor}" if cursor else ""))
        )
        seen.extend(row.id for row in rows)
        pages += 1
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3


@pytest.mark.django_db
def test_keyset_pagination_is_stable_while_rows_are_added():
    original = [f"ten_{n:02d}" for n in range(10, 20)]
    for tenant_id in original:
        make_tenant(tenant_id)

    first, cursor = query.keyset_page(Tenant.objects.all(), params("page_size=4"))
    assert [t.id for t in first] == original[:4]
    # Rows arrive meanwhile: before the cursor (would shift an offset page), in the middle
    # of the unseen range, and after the end.
    make_tenant("ten_00")
    make_tenant("ten_15a")
    make_tenant("ten_99")

    seen = [t.id for t in first]
    while cursor:
        rows, cursor = query.keyset_page(Tenant.objects.all(), params(f"page_size=4&next={cursor}"))
        seen.extend(t.id for t in rows)
        make_tenant(f"ten_00{len(seen)}")  # always before the cursor

    assert len(seen) == len(set(seen)), "a row was repeated"
    assert set(original) <= set(seen), "a row was missed"
    assert "ten_15a" in seen and "ten_99" in seen
    assert "ten_00" not in seen  # added behind the cursor: not revisited
    assert seen == sorted(seen)


@pytest.mark.django_db
def test_pinned_pages_keep_the_column_in_the_order_and_see_only_its_rows():
    for tenant_id in ("ten_a", "ten_b", "ten_c"):
        make_tenant(tenant_id)
    pinned = query.pinned(Tenant.objects.all(), "name", "ten_b")
    sql = str(pinned.query)
    # A range, not "=": PostgreSQL would drop a constant column from the ordering.
    assert '"name" >= ten_b' in sql and '"name" <= ten_b' in sql and " = " not in sql
    assert sql.endswith('ORDER BY "tenancy_tenant"."name" ASC, "tenancy_tenant"."id" ASC')
    rows, cursor = query.keyset_page(pinned, params())
    assert [row.id for row in rows] == ["ten_b"] and cursor is None


def test_keyset_refuses_an_ordering_its_cursor_cannot_follow():
    with pytest.raises(ValueError, match="ends with id"):
        query.keyset_page(Tenant.objects.order_by("name"), params())


@pytest.mark.django_db
def test_keyset_last_page_has_no_cursor():
    for n in range(4):
        make_tenant(f"ten_{n}")
    rows, cursor = query.keyset_page(Tenant.objects.all(), params("page_size=4"))
    assert len(rows) == 4 and cursor is None
    rows, cursor = query.keyset_page(Tenant.objects.none(), params())
    assert rows == [] and cursor is None


def test_sequence_page_uses_the_same_cursor_contract():
    items = [{"id": f"pkg_{n:02d}"} for n in range(5)]
    page, cursor = query.sequence_page(list(reversed(items)), params("page_size=2"))
    assert page == items[:2]
    assert query.decode_cursor(cursor) == "pkg_01"
    page, cursor = query.sequence_page(items, params(f"page_size=2&next={cursor}"))
    assert page == items[2:4]
    page, cursor = query.sequence_page(items, params(f"page_size=2&next={cursor}"))
    assert page == items[4:] and cursor is None


# --- fields, filters, proxy ---------------------------------------------------------------------


def test_fields_selection():
    assert query.requested_fields(params()) is None
    assert query.requested_fields(params("fields=")) is None
    assert query.requested_fields(params("fields=,, ")) is None
    assert query.requested_fields(params("fields=id, name,,status")) == ["id", "name", "status"]
    item = {"id": "1", "name": "n", "status": "open"}
    assert query.select_fields(item, None) is item
    assert query.select_fields(item, ["name", "id", "nope"]) == {"name": "n", "id": "1"}
    assert list(query.select_fields(item, ["status", "id"])) == ["status", "id"]


def test_bracketed_filter_and_proxy():
    qs = params(
        "filter[status]=open,completed&filter[package_id]=pkg_1&proxy[page]=2&proxy[x.y-z]=a b"
        "&filter[bad key]=1&filter[]=2&filters[status]=3&other=4&proxy[sort]="
    )
    assert query.bracketed(qs, "filter") == {"status": "open,completed", "package_id": "pkg_1"}
    assert query.bracketed(qs, "proxy") == {"page": "2", "x.y-z": "a b", "sort": ""}
    assert query.bracketed(params(), "filter") == {}


def test_list_filter():
    allowed = ["open", "completed", "failed"]
    assert query.list_filter({"status": "open, completed"}, "status", allowed) == ["open", "completed"]
    assert query.list_filter({}, "status", allowed) == []
    assert query.list_filter({"status": ""}, "status", allowed) == []
    with pytest.raises(BadRequest) as raised:
        query.list_filter({"status": "open,done"}, "status", allowed)
    assert raised.value.status_code == 400
    assert "filter[status]" in raised.value.message


def test_timestamp_filter():
    assert query.timestamp_filter({}, "updated_after") is None
    assert query.timestamp_filter({"updated_after": ""}, "updated_after") is None
    assert query.timestamp_filter({"updated_after": "2026-01-02T03:04:05Z"}, "updated_after") == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    # A naive timestamp is UTC.
    assert query.timestamp_filter({"updated_after": "2026-01-02T03:04:05"}, "updated_after") == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    # An offset is normalised to UTC.
    shifted = query.timestamp_filter({"updated_after": "2026-01-02T04:04:05+01:00"}, "updated_after")
    assert shifted == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert shifted.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "yesterday", "2026-13-40T99:00:00Z", "1700000000", "2026-01-02T25:00",
        "2026-01-02T03:04:05+99:00",  # offset out of range
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    ],
)
def test_timestamp_filter_invalid_is_400(value):
    with pytest.raises(BadRequest) as raised:
        query.timestamp_filter({"updated_after": value}, "updated_after")
    assert raised.value.status_code == 400
    assert "filter[updated_after]" in raised.value.message


def test_raw_requested():
    assert query.raw_requested(params("raw=true"))
    assert query.raw_requested(params("raw=1"))
    assert not query.raw_requested(params("raw=false"))
    assert not query.raw_requested(params())


# --- the same conventions through the API -------------------------------------------------------


def test_list_conventions_through_the_api(tenant, connectors):
    labels = {tenant.link("fake_ats", label=f"ATS {n}", credentials={})["id"]: f"ATS {n}" for n in range(3)}
    created = sorted(labels)  # lists are in id order (ids created in one millisecond tie-break randomly)
    first = tenant.client.get("/accounts?page_size=2&fields=id,label")
    assert first.status_code == 200
    body = first.json()
    assert body["data"] == [{"id": i, "label": labels[i]} for i in created[:2]]
    second = tenant.client.get(f"/accounts?page_size=2&fields=id&next={body['next']}")
    assert second.json() == {"data": [{"id": created[2]}], "next": None}
    for bad in (
        "page_size=0", "page_size=201", "next=garbage", "filter[updated_after]=soon",
        "filter[updated_after]=9999-12-31T23:59:59-01:00",  # once a 500 (OverflowError)
    ):
        assert tenant.client.get(f"/accounts?{bad}").status_code == 400, bad
