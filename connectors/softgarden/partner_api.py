"""The four endpoints softgarden calls (softgarden.md §4-§7, CONTRACT §4.2), mounted under
``/connectors/softgarden/``.

They are interfaces like the unified API: authenticate, translate softgarden's JSON
(``mapping``), call the gateway's services and selectors, render. softgarden presents
``Bearer <inbound key>``; the key selects the account, and every lookup below goes
through that account, so one customer's key never reaches another's tests or orders.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import ParseError

from connectors.softgarden import mapping
from connectors.softgarden.callback import callback_hosts, callback_problem
from connectors.softgarden.order_state import (
    invitation_fields,
    invitation_source_key,
)
from gateway.api.errors import GatewayError, NotFound, PayloadTooLarge, UnsupportedMediaType, error_response
from gateway.api.parsers import parse_json_bytes
from gateway.assessments import selectors, services
from gateway.assessments.candidate_link import order_candidate_link
from gateway.assessments.connectors import account_context
from gateway.assessments.models import Order
from gateway.tenancy.authentication import credential_from_header
from gateway.tenancy.models import Account
from gateway.tenancy.selectors import account_for_inbound_secret

PROVIDER = "softgarden"


def inbound_account(request: HttpRequest) -> Account | None:
    """The account whose inbound key is presented as ``Bearer <key>``, or None.

    Only Bearer: it is what softgarden sends (§2), and accepting other schemes would
    only widen what a stolen header can be replayed as."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    parsed = credential_from_header(header.encode("latin-1", errors="replace"))
    if parsed is None or parsed[0] != "bearer":
        return None
    return account_for_inbound_secret(provider=PROVIDER, secret=parsed[1])


def _unauthorized(request: HttpRequest) -> HttpResponse:
    response = error_response(request, 401, "Missing or invalid Bearer token.")
    response["WWW-Authenticate"] = 'Bearer realm="softgarden"'
    return response


@method_decorator(csrf_exempt, name="dispatch")  # server-to-server, Bearer-authenticated
class PartnerView(View):
    """Authenticates before anything else, and renders every error in the contract's shape."""

    account: Account

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = inbound_account(request)
        if account is None:
            return _unauthorized(request)
        self.account = account
        try:
            return super().dispatch(request, *args, **kwargs)
        except ParseError as exc:
            return error_response(request, 400, str(exc.detail))
        except GatewayError as exc:
            return error_response(
                request,
                exc.status_code,
                exc.message,
                errors=exc.errors,
                provider_errors=exc.provider_errors,
                headers=exc.headers or None,
            )

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = error_response(request, 405, f"Method {request.method} not allowed.")
        response["Allow"] = ", ".join(m.upper() for m in self._allowed_methods())
        return response

    def live_order(self, invitation_id: str) -> Order:
        """The account's order, unless erased: an erased invitation is gone for softgarden."""
        order = selectors.order_get(account=self.account, order_id=invitation_id)
        if order.is_erased:
            raise NotFound("Invitation not found")
        return order


def _json_body(request: HttpRequest) -> Any:
    """The body as JSON: 413 past the limit, 400 if empty or malformed, 415 for a body
    of another media type."""
    limit = settings.GATEWAY_MAX_BODY_BYTES
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
    if not raw.strip():
        raise ParseError("Request body is empty; send a JSON object.")
    media_type = request.content_type or ""
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")
    return parse_json_bytes(raw)


class SoftgardenTestsView(PartnerView):
    """``GET tests``: the catalog the tenant published, for softgarden's test picker."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        packages = selectors.package_list_published(account=self.account).order_by("name", "remote_id")
        return JsonResponse(mapping.tests_payload(packages), safe=False)


class InvitationCreateView(PartnerView):
    """``POST invitations``: an open order, once per (``candidate.id``, ``testId``)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            invitation = mapping.invitation_parse(_json_body(request))
        except mapping.InvitationInvalid as exc:
            return error_response(request, 400, "Invalid invitation", errors=exc.errors)
        problem = callback_problem(
            invitation.callback_url,
            hosts=callback_hosts(self.account.settings or {}),
            outbound_allowed=settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS,
        )
        if problem:
            return error_response(
                request, 400, "Invalid invitation", errors=[{"field": "callback", "message": problem}]
            )
        package = selectors.package_list_published(account=self.account).filter(remote_id=invitation.test_id).first()
        if package is None:
            # 400, not 404: the path exists; it is a value in the body that is wrong.
            return error_response(
                request,
                400,
                "Unknown testId",
                errors=[{"field": "testId", "message": "No published test has this id."}],
            )
        order, _created = services.order_receive(
            account=self.account,
            source_key=invitation_source_key(test_id=invitation.test_id, candidate_id=invitation.candidate_id),
            package=package,
            fields={
                **mapping.invitation_order_fields(invitation),
                **invitation_fields(callback_url=invitation.callback_url),
            },
        )
        link = order_candidate_link(order)
        if order.is_erased or link is None:
            # The same application and test again, after softgarden had it erased.
            return error_response(request, 409, "This invitation was erased; it cannot be sent again.")
        return JsonResponse(mapping.invitation_payload(order, link_url=link))


class InvitationDeleteView(PartnerView):
    """``DELETE invitations/<id>``: the GDPR erase (§7). 400 for an id never issued to
    this account (softgarden's "not found"); 204 again for one already erased, so a
    retried deletion run raises no false alarm."""

    http_method_names = ["delete"]

    def delete(self, request: HttpRequest, invitation_id: str) -> HttpResponse:
        try:
            order = selectors.order_get(account=self.account, order_id=invitation_id)
        except NotFound:
            return error_response(request, 400, "Invitation not found")
        services.order_erase(order=order, ctx=account_context(self.account))
        return HttpResponse(status=204)


class ResultView(PartnerView):
    """``GET results/<id>``: the newest state, which softgarden pulls after each notification."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, invitation_id: str) -> HttpResponse:
        order = self.live_order(invitation_id)
        result = getattr(order, "result", None)  # select_related; None while nothing is reported
        # Every live softgarden order has a link; the fallbacks only keep resultUrl present.
        link = order_candidate_link(order) or order.test_url or settings.GATEWAY_PUBLIC_URL
        return JsonResponse(mapping.result_payload(order, result, link_url=link))


urlpatterns = [
    path("tests", SoftgardenTestsView.as_view(), name="tests"),
    path("invitations", InvitationCreateView.as_view(), name="invitations"),
    path("invitations/<str:invitation_id>", InvitationDeleteView.as_view(), name="invitation"),
    path("results/<str:invitation_id>", ResultView.as_view(), name="result"),
]
