"""The handlers of the four endpoints softgarden calls (CONTRACT §4.2).

Interfaces like the unified API: translate softgarden's JSON (``mapping``) and call the
core through ``ctx``. The core has already authenticated the Bearer key (which selects
the account: every lookup below is that account's), read and validated the body, and
renders the errors raised here.
"""

from __future__ import annotations

from typing import Any

from connectors.softgarden import mapping
from gateway.sdk import BadRequest, Conflict, Context, NotFound, PartnerRequest, PartnerResponse


def tests(ctx: Context, request: PartnerRequest) -> Any:
    """The catalog the tenant published, for softgarden's test picker."""
    packages = sorted(ctx.catalog.list(), key=lambda package: (package.name, package.remote_id))
    return mapping.tests_payload(packages)


def invitations(ctx: Context, request: PartnerRequest) -> Any:
    """An open order, once per (``candidate.id``, ``testId``). The core refuses a
    callback outside the account's ``callback_hosts`` and mints the candidate link."""
    try:
        invitation = mapping.invitation_parse(request.body)
    except mapping.InvitationInvalid as exc:
        raise BadRequest("Invalid invitation", errors=exc.errors) from None
    package = ctx.catalog.get(invitation.test_id)
    if package is None:
        # 400, not 404: the path exists; it is a value in the body that is wrong.
        raise BadRequest("Unknown testId", errors=[{"field": "testId", "message": "No published test has this id."}])
    order, _created = ctx.orders.receive(
        source_key=mapping.invitation_source_key(invitation),
        package=package,
        order=mapping.received_order(invitation, hosts=mapping.callback_hosts(ctx.settings)),
    )
    link = order.test_url or order.candidate_link
    if order.erased or link is None:
        # The same application and test again, after softgarden had it erased.
        raise Conflict("This invitation was erased; it cannot be sent again.")
    return mapping.invitation_payload(order, link_url=link)


def invitation(ctx: Context, request: PartnerRequest) -> PartnerResponse:
    """The GDPR erase. 400 for an id never issued to this account (softgarden's "not
    found"); 204 again for one already erased, so a retried deletion raises no false alarm."""
    order = ctx.orders.get(request.path["invitationId"])
    if order is None:
        raise BadRequest("Invitation not found")
    if not order.erased:
        ctx.orders.erase(order.id)
    return PartnerResponse(status=204)


def result(ctx: Context, request: PartnerRequest) -> Any:
    """The newest state, which softgarden pulls after each notification. An erased
    invitation is gone for softgarden: 404 like one never issued."""
    order = ctx.orders.get(request.path["invitationId"])
    if order is None or order.erased:
        raise NotFound("Invitation not found")
    # Every live softgarden order has a link; the fallbacks only keep resultUrl present.
    link = order.candidate_link or order.test_url or ctx.public_url
    return mapping.result_payload(order, order.result, link_url=link)
