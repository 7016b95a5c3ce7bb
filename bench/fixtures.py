"""Data for the scenarios, written with the gateway's own services where they exist (so
tenants, keys and accounts are exactly what production creates) and in bulk where the
volume makes the services pointless (a million orders).

Runs in the bench process, whose Django points at ``gateway_bench`` (see ``stack``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from gateway.assessments.models import Order, OrderStatus, Package, Result
from gateway.assessments.services import package_catalog_replace
from gateway.ids import new_id
from gateway.tenancy.models import Account
from gateway.tenancy.services import account_link, tenant_create

TESTDOME_CLIENT_ID = "bench-client"
TESTDOME_CLIENT_SECRET = "bench-client-secret-0123456789"


@dataclass(frozen=True)
class TenantKeys:
    tenant_id: str
    api_key: str
    signing_secret: str

    def headers(self, account_id: str | None = None) -> dict[str, str]:
        token = base64.b64encode(f"{self.api_key}:".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        if account_id:
            headers["x-account-id"] = account_id
        return headers


def tenant_new(name: str) -> TenantKeys:
    created = tenant_create(name=name)
    return TenantKeys(created.tenant.id, created.api_key, created.signing_secret)


def account_new(tenant_id: str, provider: str, *, credentials: dict | None = None,
                settings: dict | None = None) -> tuple[Account, dict | None]:
    from gateway.tenancy.models import Tenant

    return account_link(tenant=Tenant.objects.get(pk=tenant_id), provider=provider,
                        credentials=credentials, settings=settings, label=f"bench {provider}")


def catalog_publish(account: Account, count: int) -> list[Package]:
    return package_catalog_replace(account=account, packages=[
        {"remote_id": f"test-{n}", "name": f"Bench test {n}", "description": "A benchmark test.", "type": "skills"}
        for n in range(count)
    ])


def package_ref(package: Package) -> dict[str, Any]:
    return {"id": package.id, "remote_id": package.remote_id, "name": package.name,
            "description": package.description}


def order_people(n: int) -> dict[str, Any]:
    """The personal JSON of a typical order (what a Greenhouse ``send_test`` stores)."""
    return {
        "candidate": {
            "id": None, "remote_id": str(5_000_000 + n), "first_name": "Ada", "last_name": f"Lovelace {n}",
            "emails": [{"type": "personal", "value": f"ada.{n}@example.com"}],
            "profile_url": f"https://app.greenhouse.io/people/{5_000_000 + n}?application_id={9_000_000 + n}",
            "passthrough": None,
        },
        "application": {"id": None, "remote_id": str(9_000_000 + n), "application_status": None,
                        "passthrough": None},
        "job": {"id": None, "remote_id": "4711", "title": "Backend engineer", "hiring_team": None,
                "passthrough": None},
        "requester": {"user_id": None, "remote_user_id": None, "first_name": None, "last_name": None,
                      "email": "recruiter@example.com", "role": None},
    }


def result_fields(n: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "score": {"label": "Score", "value": str(40 + n % 60), "min": "0", "max": "100"},
        "result_value": "passed" if n % 3 else "failed",
        "result_source_value": "completed",
        "result_url": f"https://vendor.example.com/reports/{n}",
        "summary": "Solved 4 of 5 tasks.",
        "start_date": now - timedelta(hours=1),
        "submission_date": now,
        "attachments": [{"url": f"https://vendor.example.com/reports/{n}.pdf",
                         "content_type": {"value": "application/pdf", "source_value": "pdf"}}],
    }


def orders_create(account: Account, package: Package, count: int, *, results_every: int = 0,
                  results_update_url: str | None = None, status: str = OrderStatus.OPEN) -> list[str]:
    """``count`` orders (and a result on every ``results_every``-th); returns their ids in order."""
    orders = [
        Order(account=account, status=status, package_ref=package.id, package=package_ref(package),
              results_update_url=results_update_url, remote_id=str(7_000_000 + n), **order_people(n))
        for n in range(count)
    ]
    with transaction.atomic():
        Order.objects.bulk_create(orders, batch_size=1000)
        if results_every:
            Result.objects.bulk_create(
                [Result(account=account, order=order, **result_fields(n))
                 for n, order in enumerate(orders) if n % results_every == 0],
                batch_size=1000,
            )
            Order.objects.filter(id__in=[o.id for n, o in enumerate(orders) if n % results_every == 0]).update(
                status=OrderStatus.COMPLETED
            )
    return [order.id for order in orders]


_COPY_COLUMNS = ("id", "account_id", "remote_id", "status", "package_ref", "package", "candidate", "application",
                 "job", "requester", "version", "created_at", "updated_at")


def orders_copy(account: Account, package: Package, count: int, *, chunk: int = 50_000) -> list[str]:
    """Load ``count`` orders with PostgreSQL ``COPY``; returns their ids sorted (keyset order).

    Ids come from the gateway's own scheme (``new_id("ord")``), so they sort by time as
    production ids do. The JSON columns carry a realistic order, the same for all rows
    apart from the ids, which keeps the loader fast without making rows unrealistically
    small.
    """
    pkg = json.dumps(package_ref(package))
    people = {k: json.dumps(v) for k, v in order_people(0).items()}
    now = datetime.now(UTC).isoformat()
    ids = [new_id("ord") for _ in range(count)]
    columns = ", ".join(_COPY_COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.connection  # the psycopg connection behind Django's
        for start in range(0, count, chunk):
            with transaction.atomic(), raw.cursor() as pg, pg.copy(
                f"COPY assessments_order ({columns}) FROM STDIN"
            ) as copy:
                for n in range(start, min(count, start + chunk)):
                    copy.write_row((ids[n], account.id, str(n), OrderStatus.OPEN, package.id, pkg,
                                    people["candidate"], people["application"], people["job"],
                                    people["requester"], 1, now, now))
        cursor.execute("VACUUM ANALYZE assessments_order")
    return sorted(ids)


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
