"""Order enrichment from Harvest: what ``send_test`` does not say about the application.

``send_test`` carries the candidate and, inside the profile URL, the Greenhouse candidate
and application ids, but neither the job nor the application's status. When the customer
gave the account a Harvest key, :func:`order_enrich` reads them and fills the order's
``application.application_status`` and ``job`` (remote id, title, hiring team).

It is best effort and runs after ``send_test`` has answered (see ``tasks``): a Harvest
outage, a key without permission or an id that no longer resolves is logged and leaves
the order as it was. It is safe to run twice: an enriched order is left alone, and the
write merges into the current row under a lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from connectors.greenhouse import mapping
from connectors.greenhouse.harvest import HarvestClient, HarvestError, harvest_client_for
from gateway.assessments.models import Order

logger = logging.getLogger(__name__)

ClientFactory = Callable[..., HarvestClient | None]


@dataclass(frozen=True)
class _Details:
    application: dict[str, Any]
    job: dict[str, Any] | None


def order_is_enriched(order: Order) -> bool:
    return bool((order.application or {}).get("application_status")) and bool((order.job or {}).get("remote_id"))


def _fetch(client: HarvestClient, order: Order) -> _Details | None:
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
    return _Details(
        application={"remote_id": str(application_id), "application_status": mapping.application_status(application)},
        job=job,
    )


def order_enrich(order_id: str, *, client_factory: ClientFactory = harvest_client_for) -> bool:
    """Fill a Greenhouse order's application status and job from Harvest.

    Returns True when the order is enriched (now or before), False when there was nothing
    to do or Harvest failed. Harvest is called outside any transaction, so a slow Harvest
    never holds a lock on the order.
    """
    order = Order.objects.select_related("account").filter(id=order_id).first()
    if order is None or order.is_erased or order.account.deleted_at is not None:
        return False
    if order.account.provider != "greenhouse":
        return False
    if order_is_enriched(order):
        return True
    client = client_factory(credentials=order.account.credentials, settings=order.account.settings)
    if client is None:
        return False  # no Harvest key on this account
    try:
        details = _fetch(client, order)
    except HarvestError as exc:
        logger.warning("Harvest enrichment of order %s failed (HTTP %s): %s", order_id, exc.status, exc.message)
        return False
    if details is None:
        return False
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(id=order_id, erased_at__isnull=True).first()
        if locked is None:
            return False  # erased while Harvest answered
        locked.application = {**(locked.application or {}), **details.application}
        if details.job is not None:
            locked.job = {**(locked.job or {}), **details.job}
        # No version bump and no event: the vendor's view of the order (status, result)
        # did not change, and a pending ``created`` delivery renders the enriched order.
        locked.save(update_fields=["application", "job", "updated_at"])
    return True
