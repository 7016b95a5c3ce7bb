"""Reads behind the Greenhouse partner endpoints. Every query starts from the account the
inbound key selected, so another account's tests and interviews never resolve."""

from __future__ import annotations

from django.db.models import QuerySet

from gateway.assessments.models import Order, Package, Result
from gateway.assessments.selectors import order_for_source_key
from gateway.tenancy.models import Account
from gateway.tenancy.selectors import account_for_inbound_secret

PROVIDER = "greenhouse"


def greenhouse_account_for_key(*, key: str) -> Account | None:
    """The linked Greenhouse account whose inbound key Greenhouse presented."""
    return account_for_inbound_secret(provider=PROVIDER, secret=key)


def partner_test_list(*, account: Account) -> QuerySet[Package]:
    """The published tests Greenhouse offers in its picker, oldest first (ids sort by time)."""
    return Package.objects.filter(account=account, active=True).order_by("id")


def partner_test_get(*, account: Account, partner_test_id: str) -> Package | None:
    """A published test by the id Greenhouse echoes back; withdrawn tests are unknown."""
    return partner_test_list(account=account).filter(remote_id=partner_test_id).first()


def interview_by_url(*, account: Account, url: str) -> Order | None:
    """The order an earlier ``send_test`` with this callback ``url`` created."""
    return order_for_source_key(account=account, source_key=url)


def interview_get(*, account: Account, interview_id: str) -> Order | None:
    """An order Greenhouse created, by its ``partner_interview_id``; erased ones are gone."""
    return (
        Order.objects.filter(account=account, id=interview_id, erased_at__isnull=True)
        .exclude(source_key__isnull=True)
        .first()
    )


def interview_result(*, order: Order) -> Result | None:
    return Result.objects.filter(order=order).first()


def interview_status(*, account: Account, interview_id: str) -> dict | None:
    """The ``test_status`` answer for an interview of this account, or None if unknown."""
    from connectors.greenhouse.mapping import test_status_body

    order = interview_get(account=account, interview_id=interview_id)
    if order is None:
        return None
    return test_status_body(order, interview_result(order=order))
