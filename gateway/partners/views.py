"""The one view behind every declared partner endpoint, and the webhook route of
connectors that handle webhooks.

Order of checks, identical for every connector: method (405), credential (401, or 404
for a token in the path, which must not say whether it exists), body (411, 413, 415,
400), schema (400 with one error per field), then the handler. Every error leaves in
the gateway's error body, or in the connector's own envelope where it declares one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from jsonschema import Draft202012Validator

from gateway.api.errors import (
    BadRequest,
    GatewayError,
    ValidationFailed,
    connector_failure_translate,
    error_body,
    error_with_status,
)
from gateway.assessments.connectors import provider_error_translate
from gateway.assessments.schedules import WEBHOOK_TASK
from gateway.partners.auth import CHALLENGES, inbound_account, presented_key
from gateway.partners.bodies import read_json_body
from gateway.ports import context_for
from gateway.runner import enqueue
from gateway.sdk import (
    Connector,
    ConnectorFailure,
    Endpoint,
    InboundAuth,
    PartnerRequest,
    PartnerResponse,
    ProviderError,
)

logger = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Headers a webhook task may see: never credentials, which would sit in the broker.
_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _readable(error: Any) -> str:
    """jsonschema's messages quote the offending value and the schema; callers read these."""
    kind = error.validator
    if kind == "required":
        return "This field is required."
    if kind == "type":
        kinds = error.validator_value
        return f"Must be of type {kinds if isinstance(kinds, str) else ' or '.join(kinds)}."
    if kind == "minLength" and error.validator_value == 1:
        return "This field may not be blank."
    if kind in ("minLength", "maxLength"):
        return f"Must be {'at least' if kind == 'minLength' else 'at most'} {error.validator_value} characters."
    if kind == "enum":
        return "Must be one of: " + ", ".join(map(str, error.validator_value))[:200] + "."
    if kind in ("pattern", "format"):
        return "Not a valid value."
    return error.message[:300]


def schema_errors(schema: Mapping[str, Any], value: Any, *, prefix: str = "") -> list[dict[str, str]]:
    """One ``{"field", "message"}`` per problem, ``field`` the dotted path (``candidate.email``)."""
    errors = []
    for error in sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = [str(part) for part in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, Mapping):
            missing = next((name for name in error.validator_value if name not in error.instance), None)
            path.append(str(missing))
        errors.append({"field": ".".join([*filter(None, [prefix]), *path]) or prefix or "body",
                       "message": _readable(error)})
    return errors[:50]


def _failure(exc: Exception) -> GatewayError | None:
    """Any error a handler or the core raises, as the core's error type."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, ConnectorFailure):
        return connector_failure_translate(exc)
    if isinstance(exc, ProviderError):
        return provider_error_translate(exc)
    return None


def render_error(request: HttpRequest, connector: Connector, error: GatewayError,
                 auth: InboundAuth | None = None) -> HttpResponse:
    status = error.status_code
    custom = connector.inbound_error_body(
        status=status, message=error.message, errors=error.errors, request_id=getattr(request, "request_id", "")
    )
    body = custom if custom is not None else error_body(request, status, error.message, error.errors,
                                                       error.provider_errors)
    response = JsonResponse(body, status=status, safe=False, headers=error.headers or None)
    if status == 401 and auth in CHALLENGES:
        response["WWW-Authenticate"] = CHALLENGES[auth]
    return response


def _render(result: Any, endpoint: Endpoint) -> HttpResponse:
    if not isinstance(result, PartnerResponse):
        result = PartnerResponse(body=result, status=endpoint.success_status)
    if result.status == 204 or (result.body is None and result.status != 200):
        response = HttpResponse(status=result.status)
    else:
        response = JsonResponse(result.body, status=result.status, safe=False)
    for name, value in result.headers.items():
        response[name] = value
    return response


def _not_allowed(request: HttpRequest, connector: Connector, methods: Sequence[str]) -> HttpResponse:
    allowed = sorted({*methods, *(["HEAD"] if "GET" in methods else [])})
    error = error_with_status(405, f"Method {request.method} not allowed.", headers={"Allow": ", ".join(allowed)})
    return render_error(request, connector, error)


def endpoint_view(connector: Connector, endpoints: Sequence[Endpoint]) -> Callable[..., HttpResponse]:
    """The view for one path, serving each of its declared methods."""
    by_method = {endpoint.method: endpoint for endpoint in endpoints}

    @csrf_exempt  # server to server, authenticated by a key, never a browser session
    def view(request: HttpRequest, **path: str) -> HttpResponse:
        method = "GET" if request.method == "HEAD" else (request.method or "")
        endpoint = by_method.get(method)
        if endpoint is None:
            return _not_allowed(request, connector, list(by_method))
        key = presented_key(request, endpoint.auth, password_ok=endpoint.basic_password_ok,
                            path_token=path.get("token"))
        account = inbound_account(connector.provider, key)
        if account is None:
            if endpoint.auth is InboundAuth.PATH_TOKEN:
                return render_error(request, connector, error_with_status(404, "Not found"))
            refused = error_with_status(401, "Missing or invalid API key.")
            return render_error(request, connector, refused, endpoint.auth)
        try:
            parsed = _parse(request, endpoint, path)
            result = endpoint.handler(context_for(account), parsed)
        except Exception as exc:
            error = _failure(exc)
            if error is None:
                raise
            return render_error(request, connector, error, endpoint.auth)
        return _render(result, endpoint)

    return view


def _parse(request: HttpRequest, endpoint: Endpoint, path: Mapping[str, str]) -> PartnerRequest:
    body = None
    if endpoint.method in BODY_METHODS:
        body = read_json_body(request, required=endpoint.request_schema is not None)
        if endpoint.request_schema is not None:
            errors = schema_errors(endpoint.request_schema, body)
            if errors:
                raise error_with_status(endpoint.invalid_status, "Invalid request body", errors=errors)
    query = {name: request.GET.get(name, "") for name in request.GET}
    if endpoint.query_schema is not None:
        errors = schema_errors(endpoint.query_schema, query)
        if errors:
            raise BadRequest("Invalid query parameters", errors=errors)
    headers = {name: value for name, value in request.headers.items()}
    return PartnerRequest(body=body, query=query, path={k: v for k, v in path.items() if k != "token"},
                          headers=headers, request_id=getattr(request, "request_id", ""))


class _AnswerThenRun(JsonResponse):
    """A response that runs ``work`` after it has been sent (WSGI calls ``close()`` once
    the body is written). ``work`` must not raise into the server: it is logged."""

    def __init__(self, data: Any, work: Callable[[], None]) -> None:
        super().__init__(data)
        self._work = work

    def close(self) -> None:
        try:
            self._work()
        except Exception:
            logger.exception("Queueing a webhook failed")
        finally:
            super().close()


def webhook_view(connector: Connector) -> Callable[..., HttpResponse]:
    """``POST /connectors/<provider>/webhooks/<token>``: a trigger, answered at once.

    Providers want a 2xx within seconds and retry little, so the view checks only what
    it must (the token, the body, ``webhook_schema``) and queues the processing after
    the answer is out; the task re-reads through the provider's API.
    """

    @csrf_exempt
    def view(request: HttpRequest, token: str) -> HttpResponse:
        if request.method != "POST":
            return _not_allowed(request, connector, ["POST"])
        account = inbound_account(connector.provider, token)
        if account is None:
            return render_error(request, connector, error_with_status(404, "Not found"))
        try:
            payload = read_json_body(request, required=False)
            if connector.webhook_schema is not None:
                errors = schema_errors(connector.webhook_schema, payload)
                if errors:
                    raise ValidationFailed(errors=errors)
        except GatewayError as exc:
            return render_error(request, connector, exc)
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _PRIVATE_HEADERS}
        account_id = account.id

        def queue() -> None:
            enqueue(WEBHOOK_TASK, account_id, payload, headers)

        return _AnswerThenRun({"received": True}, queue)

    return view
