"""Connectors that declare partner endpoints, to test how the core serves any of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from gateway.sdk import (
    Capability,
    Connector,
    Context,
    Endpoint,
    InboundAuth,
    InboundKind,
    NotFound,
    PartnerRequest,
    PartnerResponse,
    ProviderError,
    Role,
)

ECHO_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1}, "count": {"type": ["integer", "null"]}},
    "required": ["name"],
}


def _echo(ctx: Context, request: PartnerRequest) -> Any:
    return {"account": ctx.account.id, "body": request.body, "query": dict(request.query)}


def _tests(ctx: Context, request: PartnerRequest) -> Any:
    return [{"id": package.remote_id, "name": package.name} for package in ctx.catalog.list()]


def _item(ctx: Context, request: PartnerRequest) -> Any:
    order = ctx.orders.get(request.path["item_id"])
    if order is None:
        raise NotFound("No such item")
    return {"id": order.id}


def _gone(ctx: Context, request: PartnerRequest) -> Any:
    return PartnerResponse(status=204)


def _upstream(ctx: Context, request: PartnerRequest) -> Any:
    raise ProviderError("upstream failed", status=429, retry_after=7)


class DeclaringAts(Connector):
    provider = "declaring_ats"
    name = "Declaring ATS"
    role = Role.ATS
    inbound = InboundKind.API_KEY
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def endpoints(self) -> Sequence[Endpoint]:
        return [
            Endpoint("echo", "POST", "echo", InboundAuth.BASIC_KEY, _echo, request_schema=ECHO_SCHEMA,
                     query_schema={"type": "object", "properties": {"mode": {"type": "string", "enum": ["a", "b"]}}}),
            Endpoint("tests", "GET", "tests", InboundAuth.BEARER_KEY, _tests,
                     response_schema={"type": "array", "items": {"type": "object"}}),
            Endpoint("item", "GET", "items/{item_id}", InboundAuth.BEARER_KEY, _item),
            Endpoint("item_delete", "DELETE", "items/{item_id}", InboundAuth.BEARER_KEY, _gone),
            Endpoint("upstream", "GET", "upstream", InboundAuth.BASIC_KEY, _upstream),
        ]


class EnvelopedAts(Connector):
    """A partner that shows errors in its own envelope and may send the key as password."""

    provider = "enveloped_ats"
    name = "Enveloped ATS"
    role = Role.ATS
    inbound = InboundKind.API_KEY

    def endpoints(self) -> Sequence[Endpoint]:
        return [Endpoint("rpc.echo", "POST", "rpc.echo", InboundAuth.BASIC_KEY, _echo, request_schema=ECHO_SCHEMA,
                         basic_password_ok=True)]

    def inbound_error_body(self, *, status: int, message: str, errors: Sequence[Mapping[str, Any]],
                           request_id: str) -> Any:
        return {"success": False, "errors": [message], "errorInfo": {"code": status, "requestId": request_id}}
