"""Writes for packages, orders and results. The unified API, the partner endpoints and
the tasks all call these; none of them writes a model directly."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction

from gateway.api.errors import Conflict, GatewayError, NotSupported, ValidationFailed
from gateway.assessments import selectors
from gateway.assessments.connectors import account_connector, account_require_role, connector_call
from gateway.assessments.models import (
    CLOSED_ORDER_STATUSES,
    FINAL_RESULT_VALUES,
    Order,
    OrderStatus,
    Package,
    PartnerErrorReport,
    Result,
    ResultValue,
)
from gateway.assessments.snapshots import order_view
from gateway.delivery.models import EventType
from gateway.delivery.services import (
    deliveries_cancel_for_order,
    event_emit,
    partner_notify,
    submitted_url_validate,
)
from gateway.sdk import Capability, Context, CreatedOrder, OrderRequest, ProviderState, ResultData, Role
from gateway.tenancy.models import Account
from gateway.timefmt import isoformat_z, utcnow

logger = logging.getLogger(__name__)

# How a reported result moves its order (CONTRACT §3).
_ORDER_STATUS_FOR_RESULT = {
    ResultValue.INITIATED: OrderStatus.OPEN,
    ResultValue.IN_PROGRESS: OrderStatus.IN_PROGRESS,
    ResultValue.COMPLETED: OrderStatus.COMPLETED,
    ResultValue.PASSED: OrderStatus.COMPLETED,
    ResultValue.FAILED: OrderStatus.COMPLETED,
    ResultValue.CANCELLED: OrderStatus.CANCELLED,
    ResultValue.EXPIRED: OrderStatus.EXPIRED,
}


def _touch(order: Order) -> None:
    order.version += 1


# --- packages --------------------------------------------------------------------------


@transaction.atomic
def package_catalog_replace(*, account: Account, packages: Sequence[Mapping[str, Any]]) -> list[Package]:
    """Publish exactly ``packages``; the ones left out are deactivated, not deleted."""
    account_require_role(account, Role.ATS)
    seen: set[str] = set()
    for index, item in enumerate(packages):
        if item["remote_id"] in seen:
            raise ValidationFailed.field(f"packages[{index}].remote_id", "Duplicate remote_id.")
        seen.add(item["remote_id"])
    existing = {p.remote_id: p for p in Package.objects.select_for_update().filter(account=account)}
    published = []
    for item in packages:
        package = existing.get(item["remote_id"]) or Package(account=account, remote_id=item["remote_id"])
        package.name = item["name"]
        package.description = item.get("description")
        package.type = item.get("type")
        package.active = True
        package.full_clean()
        package.save()
        published.append(package)
    Package.objects.filter(account=account, active=True).exclude(remote_id__in=seen).update(
        active=False, updated_at=utcnow()
    )
    return published


# --- orders ----------------------------------------------------------------------------


def order_create(
    *, account: Account, ctx: Context, request: OrderRequest, package: Mapping[str, Any],
    results_update_url: str | None,
) -> Order:
    """Invite a candidate through the provider, then record the order and its event.

    The provider call happens outside any transaction: a slow provider must not hold
    database locks, and a failed call leaves nothing behind.
    """
    account_require_role(account, Role.PROVIDER)
    if results_update_url:
        submitted_url_validate(results_update_url, field="results_update_url")
    connector = account_connector(account)
    if not connector.supports(Capability.CREATE_ORDER):
        raise NotSupported()
    created: CreatedOrder = connector_call(lambda: connector.create_order(ctx, request))
    with transaction.atomic():
        order = Order(
            account=account,
            remote_id=created.remote_id,
            status=created.status,
            package_ref=package.get("id"),
            package=dict(package),
            candidate=dict(request.candidate),
            application=dict(request.application) if request.application else None,
            job=dict(request.job) if request.job else None,
            requester=dict(request.requester) if request.requester else None,
            passthrough=dict(request.passthrough) if request.passthrough else None,
            results_update_url=results_update_url,
            test_url=created.test_url,
            deadline=request.deadline,
        )
        order.full_clean()
        order.save()
        event_emit(account=account, event_type=EventType.CREATED, order=order)
    return order


def order_receive(
    *, account: Account, source_key: str, package: Package, fields: Mapping[str, Any]
) -> tuple[Order, bool]:
    """An ATS sent an order (Greenhouse ``send_test``, softgarden ``invitations``).

    Idempotent on the partner's ``source_key``: a repeated call returns the first order
    and creates nothing. Returns ``(order, created)``.
    """
    existing = selectors.order_for_source_key(account=account, source_key=source_key)
    if existing is not None:
        return existing, False
    stored_key = selectors.source_key_digests(account=account, source_key=source_key)[0]
    try:
        with transaction.atomic():
            order = Order(
                account=account,
                source_key=stored_key,
                package_ref=package.id,
                package={
                    "id": package.id,
                    "remote_id": package.remote_id,
                    "name": package.name,
                    "description": package.description,
                },
                **fields,
            )
            order.full_clean(validate_constraints=False)
            order.save()
            event_emit(account=account, event_type=EventType.CREATED, order=order)
    except IntegrityError:
        # The same partner call raced us; the other one won and created the order.
        return Order.objects.get(account=account, source_key=stored_key), False
    return order, True


def result_validate(result: Result) -> None:
    """``full_clean`` for a result whose order the caller has locked in this transaction.

    Its four look-ups would prove nothing more: the locked order exists, the account is
    the order's, no other writer can add the order's result meanwhile, and the database
    enforces one result per order anyway. They were a third of a TestDome result's cost
    (bench/, scenario 3), so only the field values are checked.
    """
    result.full_clean(exclude=["order", "account"], validate_unique=False)


def _lock_for_write(order: Order) -> Order:
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.is_erased:
        raise Conflict("The order was erased.")
    return locked


@transaction.atomic
def order_vendor_update(
    *, order: Order, remote_id: Any = None, test_url: Any = None, status: str | None = None
) -> Order:
    """The assessment vendor attaches its own instance to an ATS order."""
    account_require_role(order.account, Role.ATS)
    order = _lock_for_write(order)
    if remote_id is not None:
        order.remote_id = remote_id
    if test_url is not None:
        order.test_url = test_url
    status_changed = status is not None and status != order.status
    if status is not None:
        if order.status in CLOSED_ORDER_STATUSES and status_changed:
            raise Conflict(f"The order is already {order.status}.")
        order.status = status
    _touch(order)
    order.full_clean()
    order.save()
    if status_changed:
        event_emit(account=order.account, event_type=EventType.UPDATED, order=order)
    return order


@transaction.atomic
def result_update(*, order: Order, data: Mapping[str, Any]) -> Result:
    """Store the vendor's result, move the order and queue its deliveries.

    May be called again (a corrected score): every call is a new state, delivered as
    the newest one.
    """
    account_require_role(order.account, Role.ATS)
    order = _lock_for_write(order)
    result = Result.objects.filter(order=order).first() or Result(order=order, account=order.account)
    for name in ("score", "result_url", "summary", "start_date", "submission_date", "passthrough"):
        if name in data:
            setattr(result, name, data[name])
    if "attachments" in data:
        result.attachments = data["attachments"] or []
    if data.get("result") is not None:
        result.result_value = data["result"].get("value")
        result.result_source_value = data["result"].get("source_value")
    result_validate(result)
    result.save()

    if result.result_value in _ORDER_STATUS_FOR_RESULT:
        order.status = _ORDER_STATUS_FOR_RESULT[ResultValue(result.result_value)]
    _touch(order)
    order.save()
    event_emit(account=order.account, event_type=EventType.UPDATED, order=order)
    if account_connector(order.account).supports(Capability.DELIVER_RESULT):
        partner_notify(account=order.account, order=order)
    return result


_RESULT_FIELDS = ("score", "result_url", "summary", "start_date", "submission_date", "passthrough")


def _result_apply(result: Result, data: ResultData) -> bool:
    """Copy what the provider reported into ``result``; whether anything changed."""
    changed = result._state.adding
    for name in _RESULT_FIELDS:
        value = getattr(data, name)
        if value is not None and getattr(result, name) != value:
            setattr(result, name, dict(value) if isinstance(value, Mapping) else value)
            changed = True
    if data.attachments is not None and list(result.attachments or []) != list(data.attachments):
        result.attachments = [dict(item) for item in data.attachments]
        changed = True
    for attr in ("result_value", "result_source_value"):
        if getattr(result, attr) != getattr(data, attr):
            setattr(result, attr, getattr(data, attr))
            changed = True
    return changed


def order_apply_provider_state(*, order: Order, state: ProviderState) -> bool:
    """Apply a provider's state (``fetch_result``) to ``order``.

    Under a row lock: store or replace the result, move the status, attach a missing
    ``remote_id`` or ``test_url``; when anything changed, bump ``version`` and emit
    ``ats_assessments.updated`` (tenant webhooks and the ``results_update_url``
    callback) in the same transaction. Returns whether anything changed, so a re-read
    that finds nothing new announces nothing. Erased orders are left alone.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("account").get(pk=order.pk)
        if locked.is_erased:
            return False
        changed = False
        if state.remote_id and not locked.remote_id:
            locked.remote_id = str(state.remote_id)
            changed = True
        if state.test_url and state.test_url != locked.test_url:
            locked.test_url = state.test_url
            changed = True
        if state.status and state.status in OrderStatus.values and state.status != locked.status:
            locked.status = state.status
            changed = True
        if state.result is not None:
            result = Result.objects.select_for_update().filter(order=locked).first() or Result(
                order=locked, account=locked.account
            )
            if _result_apply(result, state.result):
                result_validate(result)
                result.save()
                changed = True
        if changed:
            _touch(locked)
            locked.save()
            event_emit(account=locked.account, event_type=EventType.UPDATED, order=locked)
    return changed


@transaction.atomic
def order_cancel_by_partner(*, order: Order) -> Order:
    """The ATS withdrew the order (Ashby's ``assessment.cancel``). Closed orders stay as
    they are; an open one becomes ``cancelled``, announced and delivered."""
    order = _lock_for_write(order)
    if order.status in CLOSED_ORDER_STATUSES:
        return order
    order.status = OrderStatus.CANCELLED
    _touch(order)
    order.save()
    event_emit(account=order.account, event_type=EventType.UPDATED, order=order)
    if account_connector(order.account).supports(Capability.DELIVER_RESULT):
        partner_notify(account=order.account, order=order)
    return order


def order_enrich(
    *, order: Order, application: Mapping[str, Any] | None, job: Mapping[str, Any] | None
) -> bool:
    """Merge a partner's details (Greenhouse's Harvest application and job) into the
    order's current row. No version bump and no event: the vendor's view of the order
    (status, result) did not change, and a pending ``created`` delivery renders the
    enriched order. False when the order was erased meanwhile."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk, erased_at__isnull=True).first()
        if locked is None:
            return False
        if application:
            locked.application = {**(locked.application or {}), **application}
        if job:
            locked.job = {**(locked.job or {}), **job}
        locked.save(update_fields=["application", "job", "updated_at"])
    return True


def order_erase(*, order: Order, ctx: Context) -> Order:
    """GDPR erase: personal data gone, a tombstone left, nothing more delivered but the
    ``deleted`` event. Upstream cancellation is attempted first and is best effort: a
    provider that fails must not keep personal data here."""
    if order.is_erased:
        return order
    connector = account_connector(order.account)
    # Also for finished orders: the provider may archive (anonymise) what it keeps.
    if connector.supports(Capability.CANCEL_ORDER):
        try:
            connector_call(lambda: connector.cancel_order(ctx, order_view(order)))
        except GatewayError as exc:
            logger.warning("Upstream cancel of %s failed before erase: %s", order.id, exc.message)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.is_erased:
            return order
        for name in ("candidate", "application", "job", "requester", "passthrough"):
            setattr(order, name, None)
        order.results_update_url = None
        order.test_url = None
        order.partner_callback_url = None
        order.link_token = None
        if order.status in (OrderStatus.OPEN, OrderStatus.IN_PROGRESS):
            order.status = OrderStatus.CANCELLED
        order.erased_at = utcnow()
        _touch(order)
        order.save()
        Result.objects.filter(order=order).delete()
        deliveries_cancel_for_order(order=order)
        event_emit(account=order.account, event_type=EventType.DELETED, order=order)
    return order


@transaction.atomic
def partner_error_record(
    *, account: Account, order: Order | None, api_call: str, errors: Sequence[str], report: Mapping[str, Any]
) -> PartnerErrorReport:
    """Store a partner's complaint about one of our answers and tell the tenant."""
    stored = PartnerErrorReport.objects.create(
        account=account, order=order, api_call=api_call[:100], errors=list(errors), report=dict(report)
    )
    event_emit(
        account=account,
        event_type=EventType.PARTNER_ERROR,
        payload={
            "provider": account.provider,
            **report,
            "order_id": order.id if order is not None else None,
            "received_at": isoformat_z(stored.received_at),
        },
    )
    return stored


def result_is_final(result: Result | None) -> bool:
    return result is not None and result.result_value in FINAL_RESULT_VALUES
