"""The four endpoints Greenhouse calls (Assessment Partner API, greenhouse.md §1), mounted
under ``/connectors/greenhouse/`` by ``GreenhouseConnector.urls()``.

Plain Django views rather than DRF ones: the answers are Greenhouse's own shapes (a bare
array for ``list_tests``), the caller is a partner authenticated by its inbound key, not a
tenant, and the tenant API's throttle and auth do not apply. Each view parses, calls one
service or selector, and renders; errors use the contract's error body.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import ParseError

from connectors.greenhouse import mapping, selectors, services
from gateway.api.errors import BadRequest, GatewayError, PayloadTooLarge, UnsupportedMediaType, error_response
from gateway.api.parsers import parse_json_bytes
from gateway.tenancy.authentication import credential_from_header
from gateway.tenancy.models import Account

MAX_KEY_LENGTH = 170  # Greenhouse refuses longer keys (greenhouse.md §1.2); ours are shorter
WWW_AUTHENTICATE = 'Basic realm="gateway"'

View = Callable[..., HttpResponse]


def _account(request: HttpRequest) -> Account | None:
    """The account whose inbound key is the Basic user name (the password is empty)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    try:
        parsed = credential_from_header(header.encode("latin-1"))
    except UnicodeEncodeError:
        return None
    if parsed is None or parsed[0] != "basic" or len(parsed[1]) > MAX_KEY_LENGTH:
        return None
    return selectors.greenhouse_account_for_key(key=parsed[1])


def _json_body(request: HttpRequest) -> Any:
    """The body as strict JSON (bounded, UTF-8, no duplicate keys), or a 4xx error."""
    if not mapping.body_media_type_acceptable(request.content_type):
        raise UnsupportedMediaType()
    limit = settings.GATEWAY_MAX_BODY_BYTES
    try:
        raw = request.body
    except RequestDataTooBig:
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes") from None
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
    if not raw.strip():
        raise BadRequest("Request body is empty; send a JSON object.")
    return parse_json_bytes(raw)


def partner_endpoint(method: str) -> Callable[[View], View]:
    """Method check, inbound-key authentication and error rendering for one endpoint.

    The wrapped view receives the authenticated account after the request. CSRF does not
    apply: the caller is a server presenting a key, never a browser with a session.
    """

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != method:
                response = error_response(request, 405, f"Use {method}.")
                response["Allow"] = method
                return response
            account = _account(request)
            if account is None:
                return error_response(
                    request,
                    401,
                    "Missing or invalid API key.",
                    headers={"WWW-Authenticate": WWW_AUTHENTICATE},
                )
            try:
                return view(request, account, *args, **kwargs)
            except mapping.InvalidPayload as exc:
                return error_response(request, 400, exc.message, errors=exc.errors)
            except ParseError as exc:
                return error_response(request, 400, str(exc.detail))
            except GatewayError as exc:
                return error_response(
                    request,
                    exc.status_code,
                    exc.message,
                    errors=exc.errors,
                    headers=exc.headers or None,
                )

        return endpoint

    return decorate


@partner_endpoint("GET")
def list_tests(request: HttpRequest, account: Account) -> HttpResponse:
    tests = [
        {"partner_test_id": package.remote_id, "partner_test_name": package.name}
        for package in selectors.partner_test_list(account=account)
    ]
    return JsonResponse(tests, safe=False)


@partner_endpoint("POST")
def send_test(request: HttpRequest, account: Account) -> HttpResponse:
    sent = mapping.parse_send_test(_json_body(request))
    order, _created = services.interview_receive(account=account, request=sent)
    return JsonResponse({"partner_interview_id": order.id})


@partner_endpoint("GET")
def test_status(request: HttpRequest, account: Account) -> HttpResponse:
    interview_id = request.GET.get("partner_interview_id", "").strip()
    if not interview_id:
        raise mapping.InvalidPayload(
            "partner_interview_id is required.",
            [{"field": "partner_interview_id", "message": "This query parameter is required."}],
        )
    body = selectors.interview_status(account=account, interview_id=interview_id)
    if body is None:
        return error_response(request, 404, "Unknown partner_interview_id.")
    return JsonResponse(body)


@partner_endpoint("POST")
def response_error(request: HttpRequest, account: Account) -> HttpResponse:
    report = mapping.parse_response_error(_json_body(request))
    services.partner_error_report(account=account, report=report)
    return JsonResponse({"status": 200})  # only the status code matters (greenhouse.md §1.9)


urlpatterns = [
    path("list_tests", list_tests, name="list_tests"),
    path("send_test", send_test, name="send_test"),
    path("test_status", test_status, name="test_status"),
    path("response_error", response_error, name="response_error"),
]
