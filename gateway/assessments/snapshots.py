"""ORM rows → the SDK's plain values. The only place that knows both shapes."""

from __future__ import annotations

from gateway.assessments.candidate_link import order_candidate_link
from gateway.assessments.models import Order, Package, Result
from gateway.sdk import OrderView, PackageView, ResultView


def result_view(result: Result) -> ResultView:
    return ResultView(
        id=result.id,
        score=result.score,
        result_value=result.result_value,
        result_source_value=result.result_source_value,
        result_url=result.result_url,
        summary=result.summary,
        start_date=result.start_date,
        submission_date=result.submission_date,
        attachments=tuple(result.attachments or ()),
        passthrough=result.passthrough,
        updated_at=result.updated_at,
    )


def _loaded_result(order: Order) -> Result | None:
    """The order's result: from ``select_related`` when it was loaded so, else one query."""
    if "result" in order._state.fields_cache:
        return order._state.fields_cache["result"]
    return Result.objects.filter(order_id=order.pk).first()


def order_view(order: Order) -> OrderView:
    result = _loaded_result(order)
    return OrderView(
        id=order.id,
        account_id=order.account_id,
        remote_id=order.remote_id,
        status=order.status,
        package=dict(order.package or {}),
        candidate=order.candidate,
        application=order.application,
        job=order.job,
        requester=order.requester,
        passthrough=order.passthrough,
        test_url=order.test_url,
        deadline=order.deadline,
        partner_callback_url=order.partner_callback_url,
        candidate_link=order_candidate_link(order),
        received_from_partner=order.source_key is not None,
        erased=order.is_erased,
        version=order.version,
        created_at=order.created_at,
        updated_at=order.updated_at,
        result=result_view(result) if result is not None else None,
    )


def package_view(package: Package) -> PackageView:
    return PackageView(
        id=package.id,
        remote_id=package.remote_id,
        name=package.name,
        description=package.description,
        type=package.type,
    )
