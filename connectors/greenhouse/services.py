"""Writes behind the Greenhouse partner endpoints. They translate Greenhouse's calls into
the same gateway services the unified API uses (``order_receive``, ``event_emit``)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from connectors.greenhouse import mapping, selectors
from gateway.api.errors import NotFound
from gateway.assessments.models import Order
from gateway.assessments.services import order_receive, partner_error_record
from gateway.tenancy.models import Account

logger = logging.getLogger(__name__)


def harvest_configured(account: Account) -> bool:
    credentials: dict[str, Any] = account.credentials or {}
    return bool(credentials.get("harvest_api_key"))


def enrichment_schedule(order_id: str) -> None:
    """Start the Harvest enrichment the way the gateway starts background work
    (``gateway.runner``: Celery, an in-process thread, inline or off). Best effort: a
    broker outage must not turn an order that is already committed into an error."""
    from connectors.greenhouse.tasks import greenhouse_order_enrich

    try:
        from gateway.runner import enqueue
    except ImportError:  # an older core without the runner: plain Celery

        def enqueue(task: Any, *args: Any) -> None:
            task.delay(*args)

    try:
        enqueue(greenhouse_order_enrich, order_id)
    except Exception:  # the broker's failures are many and all mean "not queued"
        logger.exception("Could not queue Harvest enrichment of order %s", order_id)


def interview_receive(*, account: Account, request: mapping.SendTest) -> tuple[Order, bool]:
    """Greenhouse's ``send_test``: the open order for this ``url``, created on first sight.

    The ``url`` is looked up before the test id, so a repeated call still finds its order
    after the tenant withdrew the test from the catalog. Returns ``(order, created)``.
    """
    key = mapping.source_key(request)
    existing = selectors.interview_by_url(account=account, url=key)
    if existing is not None:
        return existing, False
    package = selectors.partner_test_get(account=account, partner_test_id=request.partner_test_id)
    if package is None:
        raise NotFound("Unknown partner_test_id.")
    order, created = order_receive(
        account=account,
        source_key=key,
        package=package,
        fields=mapping.order_fields(request),
    )
    if created and harvest_configured(account):
        order_id = order.id
        transaction.on_commit(lambda: enrichment_schedule(order_id))
    return order, created


def partner_error_report(*, account: Account, report: dict[str, Any]) -> None:
    """Greenhouse found one of our answers malformed (``response_error``): stored for the
    admin, sent to the tenant as ``ats_assessments.partner_error``, and logged."""
    interview_id = report.get("partner_interview_id")
    order = selectors.interview_get(account=account, interview_id=interview_id) if interview_id else None
    errors = [str(error) for error in report.get("errors") or []]
    partner_error_record(
        account=account, order=order, api_call=str(report.get("api_call") or ""), errors=errors, report=report
    )
    # The candidate's email stays out of the log; the event carries it to the tenant.
    logger.warning(
        "Greenhouse reported a malformed %s response for account %s (interview %s): %r",
        report.get("api_call") or "unknown",
        account.id,
        interview_id or "-",
        "; ".join(errors) or "no details",
    )
