"""``ctx.orders`` and ``ctx.catalog``: one account's orders and published packages.

Reads return the SDK's plain values; writes go through the same services the unified API
uses, so a partner's change is versioned, announced and delivered like a tenant's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Q

from gateway.api.errors import BadRequest, NotFound
from gateway.assessments import selectors, services
from gateway.assessments.candidate_link import link_token_new
from gateway.assessments.models import OPEN_ORDER_STATUSES, Order, Package
from gateway.assessments.snapshots import order_view, package_view
from gateway.delivery.services import callback_url_problem
from gateway.sdk import OrderView, PackageView, ProviderState, ReceivedOrder, ResultData
from gateway.tenancy.models import Account


class AccountCatalog:
    def __init__(self, account: Account) -> None:
        self._account = account

    def _published(self) -> Any:
        return Package.objects.filter(account=self._account, active=True).order_by("id")

    def list(self) -> list[PackageView]:
        return [package_view(package) for package in self._published()]

    def get(self, remote_id: str) -> PackageView | None:
        package = self._published().filter(remote_id=remote_id).first()
        return package_view(package) if package is not None else None


class AccountOrders:
    def __init__(self, account: Account, ctx_factory: Any) -> None:
        self._account = account
        self._ctx_factory = ctx_factory  # the operation's Context, for an erase's upstream cancel

    def _orders(self) -> Any:
        return Order.objects.filter(account=self._account)

    def _row(self, order_id: str) -> Order | None:
        return self._orders().filter(id=order_id).select_related("result").first()

    @staticmethod
    def _view(order: Order | None) -> OrderView | None:
        if order is None:
            return None
        return order_view(order)

    def get(self, order_id: str) -> OrderView | None:
        return self._view(self._row(order_id))

    def by_source_key(self, source_key: str) -> OrderView | None:
        return self._view(selectors.order_for_source_key(account=self._account, source_key=source_key))

    def by_remote_id(self, remote_id: str) -> OrderView | None:
        return self._view(self._orders().filter(remote_id=remote_id, erased_at__isnull=True).first())

    def open(self, *, package_remote_id: str | None = None, unattached: bool = False,
             limit: int = 100) -> list[OrderView]:
        orders = self._orders().filter(erased_at__isnull=True, status__in=OPEN_ORDER_STATUSES)
        if package_remote_id is not None:
            orders = orders.filter(package__remote_id=package_remote_id)
        if unattached:
            orders = orders.filter(Q(remote_id__isnull=True) | Q(remote_id=""))
        rows = orders.select_related("result").order_by("-created_at", "-id")[: max(0, min(limit, 1000))]
        return [order_view(row) for row in rows]

    def receive(self, *, source_key: str, package: PackageView, order: ReceivedOrder) -> tuple[OrderView, bool]:
        # A repeated call finds its order before anything is checked: the callback of the
        # first call was accepted then, whatever the account's hosts say now.
        existing = selectors.order_for_source_key(account=self._account, source_key=source_key)
        if existing is not None:
            return order_view(existing), False
        fields: dict[str, Any] = {
            "candidate": dict(order.candidate),
            "application": dict(order.application) if order.application else None,
            "job": dict(order.job) if order.job else None,
            "requester": dict(order.requester) if order.requester else None,
            "passthrough": dict(order.passthrough) if order.passthrough else None,
        }
        if order.callback_url is not None:
            problem = callback_url_problem(order.callback_url, hosts=order.callback_hosts)
            if problem:
                raise BadRequest(
                    f"Invalid {order.callback_field}", errors=[{"field": order.callback_field, "message": problem}]
                )
            fields["partner_callback_url"] = order.callback_url.strip()
        if order.candidate_link:
            fields["link_token"] = link_token_new()
        row = Package.objects.filter(account=self._account, id=package.id).first()
        if row is None:
            raise BadRequest("Unknown package")
        created, is_new = services.order_receive(
            account=self._account, source_key=source_key, package=row, fields=fields
        )
        return order_view(created), is_new

    def _existing(self, order_id: str) -> Order:
        row = self._orders().filter(id=order_id).select_related("account").first()
        if row is None:
            raise NotFound("Order not found")  # not this account's: as if it never existed
        return row

    def apply(self, order_id: str, state: ProviderState) -> bool:
        return services.order_apply_provider_state(order=self._existing(order_id), state=state)

    def update_result(self, order_id: str, result: ResultData) -> OrderView:
        data: dict[str, Any] = {
            name: getattr(result, name)
            for name in ("score", "result_url", "summary", "start_date", "submission_date", "passthrough")
            if getattr(result, name) is not None
        }
        if result.attachments is not None:
            data["attachments"] = [dict(item) for item in result.attachments]
        if result.result_value is not None:
            data["result"] = {"value": result.result_value, "source_value": result.result_source_value}
        row = self._existing(order_id)
        services.result_update(order=row, data=data)
        return order_view(self._existing(order_id))

    def cancel(self, order_id: str) -> OrderView:
        return order_view(services.order_cancel_by_partner(order=self._existing(order_id)))

    def enrich(self, order_id: str, *, application: Mapping[str, Any] | None = None,
               job: Mapping[str, Any] | None = None) -> bool:
        row = self._orders().filter(id=order_id).first()
        if row is None:
            return False
        return services.order_enrich(order=row, application=application, job=job)

    def erase(self, order_id: str) -> None:
        services.order_erase(order=self._existing(order_id), ctx=self._ctx_factory())

    def report_partner_error(self, *, order_id: str | None, api_call: str, errors: Sequence[str],
                             report: Mapping[str, Any]) -> None:
        row = self._orders().filter(id=order_id).first() if order_id else None
        services.partner_error_record(
            account=self._account, order=row, api_call=api_call, errors=list(errors), report=dict(report)
        )

