"""Order enrichment from Harvest: what ``send_test`` does not say about the application.

``send_test`` carries the candidate and, inside the profile URL, the Greenhouse candidate
and application ids, but neither the job nor the application's status. When the customer
gave the account a Harvest key, :func:`order_enrich` reads them and fills the order's
``application.application_status`` and ``job`` (remote id, title, hiring team).

It is best effort and runs in the background after ``send_test`` has answered (the
connector's ``enrich_order`` job): a Harvest outage, a key without permission or an id
that no longer resolves is logged and leaves the order as it was. It is safe to run
twice: an enriched order is left alone, and ``ctx.orders.enrich`` merges into the
current order (no version bump, no event: the vendor's view did not change).
"""

from __future__ import annotations

import logging
from typing import Any

from connectors.greenhouse import mapping
from connectors.greenhouse.harvest import HarvestClient, HarvestError, harvest_client_for
from gateway.sdk import Context, OrderView

logger = logging.getLogger(__name__)

Details = tuple[dict[str, Any], dict[str, Any] | None]  # (application, job)


def order_is_enriched(order: OrderView) -> bool:
    return bool((order.application or {}).get("application_status")) and bool((order.job or {}).get("remote_id"))


def _fetch(client: HarvestClient, order: OrderView) -> Details | None:
    candidate_id = (order.candidate or {}).get("remote_id")
    application_id = (order.application or {}).get("remote_id")
    if not application_id and candidate_id:
        # No application id in the profile URL: only an unambiguous candidate will do.
        application_ids = client.get_candidate(candidate_id).get("application_ids") or []
        if len(application_ids) == 1:
            application_id = str(application_ids[0])
    if not application_id:
        return None
    application = client.get_application(application_id)
    owner = application.get("candidate_id")
    if candidate_id and owner is not None and str(owner) != str(candidate_id):
        logger.warning(
            "Harvest application %s belongs to another candidate than order %s's; not used", application_id, order.id
        )
        return None
    job_id = mapping.application_job_id(application)
    job = mapping.job_from_harvest(client.get_job(job_id)) if job_id else None
    return {"remote_id": str(application_id), "application_status": mapping.application_status(application)}, job


def order_enrich(ctx: Context, order_id: str) -> bool:
    """Fill a Greenhouse order's application status and job from Harvest.

    Returns True when the order is enriched (now or before), False when there was nothing
    to do or Harvest failed.
    """
    order = ctx.orders.get(order_id)
    if order is None or order.erased:
        return False
    if order_is_enriched(order):
        return True
    client = harvest_client_for(ctx)
    if client is None:
        return False  # no Harvest key on this account
    try:
        details = _fetch(client, order)
    except HarvestError as exc:
        logger.warning("Harvest enrichment of order %s failed (HTTP %s): %s", order_id, exc.status, exc.message)
        return False
    if details is None:
        return False
    application, job = details
    return ctx.orders.enrich(order_id, application=application, job=job)  # False: erased meanwhile
