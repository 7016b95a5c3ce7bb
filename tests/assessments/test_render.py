"""The fast renderers produce exactly what the DRF output serializers produce.

The serializers stay the reference (and the schema); the functions exist for speed
(bench/, scenario 1). Same keys, same order, same values, for the shapes the gateway
stores and for odd JSON that only a buggy mapping could store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.assessments.models import Order, OrderStatus, Package, Result
from gateway.assessments.serializers import (
    OrderOutputSerializer,
    PackageOutputSerializer,
    ResultOutputSerializer,
    order_representation,
    package_representation,
    result_representation,
)

WHEN = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)

CANDIDATES: list[Any] = [
    None,
    {},
    {"id": "c1", "remote_id": 42, "first_name": "Ada", "last_name": None, "profile_url": "https://x.test/p",
     "emails": [{"type": "personal", "value": "ada@example.com"}, {"value": "b@example.com"}],
     "passthrough": {"k": [1, 2]}},
    {"emails": None, "first_name": True},
    {"emails": []},
    {"emails": ["not-an-object", None]},  # odd: DRF's rendering is kept
    {"emails": "ada@example.com"},
    "a string",
    ["a", "list"],
]
APPLICATIONS: list[Any] = [
    None, {}, {"remote_id": "9", "application_status": {"value": "active", "source_value": "Active"}},
    {"application_status": None, "passthrough": 3}, {"application_status": "active"}, 7,
]
# (A job stored as a string is left out: DRF itself fails on it, reading ``str.title``.)
JOBS: list[Any] = [None, {}, {"title": "Engineer", "hiring_team": [{"x": 1}], "id": 5}, 1.5]
REQUESTERS: list[Any] = [None, {}, {"email": "r@example.com", "role": "recruiter", "user_id": 3}, ["x"]]
PACKAGES: list[Any] = [{}, {"id": "pkg_1", "remote_id": "t1", "name": "Test", "description": None}, None, "odd"]
SCORES: list[Any] = [None, {}, {"label": "Score", "value": "78", "min": 0, "max": 100.0}, "78"]
ATTACHMENTS: list[Any] = [
    [], None, [{"url": "https://x.test/a.pdf", "content_type": {"value": "application/pdf"}}],
    [{"url": "https://x.test/a.pdf"}], [{"content_type": "pdf"}], ["odd"],
]


def _same(reference: dict[str, Any], fast: dict[str, Any]) -> None:
    assert json.dumps(fast) == json.dumps(reference)  # keys in the same order, values equal


def _result(order: Order, n: int) -> Result:
    return Result(
        id=f"res_{n}", order=order, account_id="acc_1", score=SCORES[n % len(SCORES)],
        result_value=[None, "passed", "failed"][n % 3], result_source_value=[None, "completed"][n % 2],
        result_url=[None, "https://x.test/r"][n % 2], summary=[None, "", "Fine"][n % 3],
        start_date=[None, WHEN][n % 2], submission_date=[WHEN, None][n % 2],
        attachments=ATTACHMENTS[n % len(ATTACHMENTS)], updated_at=WHEN,
    )


def _order(n: int, *, erased: bool = False, with_result: bool = False) -> Order:
    order = Order(
        id=f"ord_{n}", account_id="acc_1", remote_id=[None, "r1", 77][n % 3],
        status=[OrderStatus.OPEN, "completed", OrderStatus.CANCELLED][n % 3],
        package=PACKAGES[n % len(PACKAGES)], candidate=CANDIDATES[n % len(CANDIDATES)],
        application=APPLICATIONS[n % len(APPLICATIONS)], job=JOBS[n % len(JOBS)],
        requester=REQUESTERS[n % len(REQUESTERS)], passthrough=[None, {"a": 1}][n % 2],
        results_update_url=[None, "https://x.test/cb"][n % 2], test_url=[None, "https://x.test/t"][n % 2],
        created_at=WHEN, updated_at=WHEN, erased_at=WHEN if erased else None,
    )
    if with_result:
        order.result = _result(order, n)
    return order


@pytest.mark.django_db  # an order without a result looks it up (and finds none)
@pytest.mark.parametrize("n", range(60))
@pytest.mark.parametrize("with_result", [False, True])
def test_orders_render_as_the_serializer_does(n: int, with_result: bool) -> None:
    order = _order(n, with_result=with_result)
    _same(OrderOutputSerializer(order).data, order_representation(order))


@pytest.mark.parametrize("n", range(6))
def test_erased_orders_render_without_their_result(n: int) -> None:
    order = _order(n, erased=True, with_result=True)
    _same(OrderOutputSerializer(order).data, order_representation(order))
    assert order_representation(order)["result"] is None


@pytest.mark.parametrize("n", range(30))
def test_results_render_as_the_serializer_does(n: int) -> None:
    result = _result(Order(id=f"ord_{n}"), n)
    _same(ResultOutputSerializer(result).data, result_representation(result))


@pytest.mark.parametrize("description,type_", [(None, None), ("About", "skills"), ("", "")])
def test_packages_render_as_the_serializer_does(description: str | None, type_: str | None) -> None:
    package = Package(id="pkg_1", remote_id="t1", name="Test", description=description, type=type_, updated_at=WHEN)
    _same(PackageOutputSerializer(package).data, package_representation(package))
