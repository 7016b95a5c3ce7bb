"""The three RPCs Ashby calls on us: ``assessment.list``, ``assessment.start`` and
``assessment.cancel``. Each reads the account's catalog and orders through the context,
so one customer's key never reaches another's tests or assessments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.ashby import mapping
from gateway.sdk import Conflict, Context, InvalidInput, OrderView, PackageView, PartnerRequest, PartnerResponse


def assessment_types(ctx: Context) -> Iterator[tuple[str, PackageView]]:
    """Each published test with the ``assessment_type_id`` Ashby knows it by."""
    for package in ctx.catalog.list():
        yield mapping.assessment_type_id(ctx.account_id, package.remote_id), package


def list_assessments(ctx: Context, request: PartnerRequest) -> Any:
    """The picker Ashby shows when an admin adds our assessment to an interview stage."""
    return mapping.success(
        [
            {"assessment_type_id": type_id, "name": package.name, "description": package.description or ""}
            for type_id, package in assessment_types(ctx)
        ]
    )


def _current(ctx: Context, *, application_id: str, type_id: str) -> tuple[str, OrderView | None]:
    """The assessment a start continues: the first attempt that was neither cancelled nor
    erased, with its order; or the id of the next attempt, with None."""
    for attempt in range(mapping.MAX_ATTEMPTS):
        candidate_id = mapping.assessment_id(ctx.account_id, application_id=application_id, type_id=type_id,
                                             attempt=attempt)
        order = ctx.orders.by_source_key(mapping.order_source_key(candidate_id))
        if order is None or not mapping.starts_anew(order):
            return candidate_id, order
    raise Conflict("The candidate is already being assessed: this assessment was restarted too often.")


def start_assessment(ctx: Context, request: PartnerRequest) -> Any:
    """An open order for the candidate, once per application and assessment type (a
    repeated start answers the same ``assessment_id``). A type no longer published is
    refused with the message Ashby shows its user, unless the start is a repeat."""
    body = request.body
    type_id = mapping.canonical_uuid(body["assessment_type_id"]) or body["assessment_type_id"]
    assessment_id, order = _current(ctx, application_id=body["application"]["ashby_id"], type_id=type_id)
    if order is None:
        package = next((package for known, package in assessment_types(ctx) if known == type_id), None)
        if package is None:
            raise InvalidInput(mapping.unknown_type_message())
        ctx.orders.receive(
            source_key=mapping.order_source_key(assessment_id),
            package=package,
            order=mapping.received_order(body, assessment_id=assessment_id, type_id=type_id),
        )
    return mapping.success({"assessment_id": assessment_id})


def cancel_assessment(ctx: Context, request: PartnerRequest) -> Any:
    """An Ashby user cancelled: the order becomes ``cancelled`` (a closed one stays as it
    is). An erased order has nothing left to cancel and is answered as cancelled."""
    assessment_id = mapping.canonical_uuid(request.body["assessment_id"])
    order = ctx.orders.by_source_key(mapping.order_source_key(assessment_id)) if assessment_id else None
    if order is None:
        body = mapping.cancel_not_found(request.body["assessment_id"], request_id=request.header("X-Request-Id"))
        return PartnerResponse(status=200, body=body)
    if not order.erased:
        ctx.orders.cancel(order.id)
    return mapping.success({"assessment_id": assessment_id})
