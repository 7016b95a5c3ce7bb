"""Greenhouse (ats role): Greenhouse calls the four Assessment Partner endpoints declared
here and hears about a result through an empty-body PATCH (``deliver_result``). See
CONTRACT §4.1 and https://developers.greenhouse.io/assessment.html.

The core authenticates each call (the inbound key as the Basic user name selects the
account), reads and validates the body against ``schemas``, and renders every error; a
handler reads and writes only through its ``Context``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from connectors.greenhouse import enrich, mapping, schemas
from connectors.greenhouse.harvest import DEFAULT_BASE_URL, harvest_configured
from gateway.sdk import (
    Capability,
    Connector,
    Context,
    Endpoint,
    InboundAuth,
    InboundKind,
    NotFound,
    OrderView,
    OutboundRequestSpec,
    PartnerRequest,
    Role,
    basic_authorization,
)

logger = logging.getLogger(__name__)


def _callback_hosts(ctx: Context) -> tuple[str, ...]:
    return tuple(ctx.settings.get("callback_hosts", mapping.DEFAULT_CALLBACK_HOSTS))


def _interview(ctx: Context, interview_id: str | None) -> OrderView | None:
    """An order Greenhouse created, by its ``partner_interview_id``; erased ones are gone."""
    order = ctx.orders.get(interview_id) if interview_id else None
    return order if order is not None and order.received_from_partner and not order.erased else None


def list_tests(ctx: Context, request: PartnerRequest) -> list[dict[str, str]]:
    return [{"partner_test_id": p.remote_id, "partner_test_name": p.name} for p in ctx.catalog.list()]


def send_test(ctx: Context, request: PartnerRequest) -> dict[str, str]:
    """An open order for this ``url``, created on first sight (idempotent on ``url``).

    The ``url`` is looked up before the test id, so a repeated call still finds its order
    after the tenant withdrew the test from the catalog.
    """
    sent = mapping.parse_send_test(request.body)
    key = mapping.source_key(sent)
    order = ctx.orders.by_source_key(key)
    if order is None:
        package = ctx.catalog.get(sent.partner_test_id)
        if package is None:
            raise NotFound("Unknown partner_test_id.")
        wanted = mapping.received_order(sent, callback_hosts=_callback_hosts(ctx))
        order, created = ctx.orders.receive(source_key=key, package=package, order=wanted)
        if created and harvest_configured(ctx):
            ctx.defer("enrich_order", order_id=order.id)
    return {"partner_interview_id": order.id}


def test_status(ctx: Context, request: PartnerRequest) -> dict[str, Any]:
    order = _interview(ctx, request.query.get("partner_interview_id", "").strip())
    if order is None:
        raise NotFound("Unknown partner_interview_id.")
    return mapping.test_status_body(order, order.result)


def response_error(ctx: Context, request: PartnerRequest) -> dict[str, int]:
    """Greenhouse found one of our answers malformed: kept for the admin, sent to the
    tenant as ``ats_assessments.partner_error``, and logged."""
    report = mapping.parse_response_error(request.body)
    interview = _interview(ctx, report["partner_interview_id"])
    ctx.orders.report_partner_error(
        order_id=interview.id if interview else None,
        api_call=report["api_call"] or "",
        errors=report["errors"],
        report=report,
    )
    # The candidate's email stays out of the log; the event carries it to the tenant.
    logger.warning(
        "Greenhouse reported a malformed %s response for account %s (interview %s): %r",
        report["api_call"] or "unknown",
        ctx.account_id,
        report["partner_interview_id"] or "-",
        "; ".join(report["errors"]) or "no details",
    )
    return {"status": 200}  # only the status code matters to Greenhouse


class GreenhouseConnector(Connector):
    provider = "greenhouse"
    name = "Greenhouse"
    role = Role.ATS
    inbound = InboundKind.API_KEY
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.DELIVER_RESULT})
    allowed_hosts: ClassVar[tuple[str, ...]] = mapping.DEFAULT_CALLBACK_HOSTS
    jobs: ClassVar[tuple[str, ...]] = ("enrich_order",)
    credentials_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "harvest_api_key": {
                "type": "string",
                "minLength": 1,
                "title": "Harvest API key",
                "description": "Optional: lets the gateway fill orders in with job and application data.",
                "writeOnly": True,
            }
        },
        "additionalProperties": False,
    }
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "callback_hosts": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "default": list(mapping.DEFAULT_CALLBACK_HOSTS),
                "description": "Hosts the result PATCH may be sent to (send_test's url must match one).",
            },
            "harvest_base_url": {"type": "string", "format": "uri", "default": DEFAULT_BASE_URL},
            "on_behalf_of": {
                "type": "string",
                "description": "Greenhouse user id sent as On-Behalf-Of on Harvest writes.",
            },
        },
    }

    def endpoints(self) -> Sequence[Endpoint]:
        key = InboundAuth.BASIC_KEY
        return (
            Endpoint(
                "list_tests", "GET", "list_tests", key, list_tests,
                summary="The tests Greenhouse offers in its picker: the tenant's published catalog.",
                response_schema=schemas.LIST_TESTS_RESPONSE,
            ),
            Endpoint(
                "send_test", "POST", "send_test", key, send_test,
                summary="Greenhouse sends a test: an open order, idempotent on url.",
                description="400 also when url's host is outside the account's callback_hosts.",
                errors={404: "An unknown partner_test_id."},
                request_schema=schemas.SEND_TEST_REQUEST,
                response_schema=schemas.SEND_TEST_RESPONSE,
            ),
            Endpoint(
                "test_status", "GET", "test_status", key, test_status,
                summary="Where an interview stands; complete with score and profile URL once final.",
                errors={404: "An unknown partner_interview_id."},
                query_schema=schemas.TEST_STATUS_QUERY,
                response_schema=schemas.TEST_STATUS_RESPONSE,
            ),
            Endpoint(
                "response_error", "POST", "response_error", key, response_error,
                summary="Greenhouse found one of our answers malformed; kept and sent to the tenant.",
                request_schema=schemas.RESPONSE_ERROR_REQUEST,
                response_schema=schemas.RESPONSE_ERROR_RESPONSE,
            ),
        )  # fmt: skip

    def inbound_urls(self, *, account_id: str, secret: str, public_url: str) -> dict[str, Any]:
        """The four URLs the customer registers with Greenhouse, beside the key."""
        base = f"{public_url.rstrip('/')}/connectors/{self.provider}"
        return {endpoint.name: f"{base}/{endpoint.path}" for endpoint in self.endpoints()}

    def deliver_result(self, ctx: Context, order: OrderView) -> OutboundRequestSpec | None:
        """Greenhouse's "Mark Test as Completed": an empty-body PATCH to ``send_test``'s ``url``.

        Built at send time from the order's current result: None (nothing to send) until
        ``test_status`` would answer ``complete``, because the PATCH only makes Greenhouse
        read ``test_status``. The credential is the account's inbound key (UNCONFIRMED, see
        ``mapping``); an unlinked account has none, and Greenhouse would refuse us anyway.
        """
        key = ctx.account.inbound_key
        if order.erased or not order.partner_callback_url or not key:
            return None
        if not mapping.is_reportable(order.result):
            if mapping.is_final(order.result):
                logger.warning(
                    "Order %s has a final result without result_url or a numeric score; "
                    "Greenhouse is not notified until it has both",
                    order.id,
                )
            return None
        return OutboundRequestSpec(
            method=mapping.RESULT_PATCH_METHOD,
            url=order.partner_callback_url,
            headers={"Authorization": basic_authorization(key, "")},
            json=None,
            allowed_hosts=_callback_hosts(ctx),  # the sender refuses any other host; [] allows none
            secrets=(key,),
        )

    def enrich_order(self, ctx: Context, *, order_id: str) -> bool:
        """The background job ``send_test`` defers: see ``enrich``."""
        return enrich.order_enrich(ctx, order_id)
