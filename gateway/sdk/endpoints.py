"""Partner endpoints, declared: the routes an ATS or provider calls on the gateway.

A connector lists ``Endpoint``s; the core mounts each under ``/connectors/<provider>/``,
answers 405 for other methods, authenticates the caller (the credential selects the
account), enforces the body size, the media type and strict JSON, validates the body
and query against the declared JSON Schemas, calls the handler with a ``Context`` for
the account, renders errors, and documents the route in ``/openapi.json``. A handler
never sees Django.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.sdk.ports import Context


class InboundAuth(enum.StrEnum):
    """How the partner presents the account's inbound key."""

    BASIC_KEY = "basic_key"  # Authorization: Basic base64(<key>:)
    BEARER_KEY = "bearer_key"  # Authorization: Bearer <key>
    PATH_TOKEN = "path_token"  # the key is the path's {token} segment (a wrong one: 404)


@dataclass(frozen=True)
class PartnerRequest:
    """The parsed request. ``body`` is the validated JSON (None for bodiless methods),
    ``query`` the query string's first values, ``path`` the path's named segments,
    ``request_id`` the id the gateway's answer carries in ``X-Request-Id``."""

    body: Any
    query: Mapping[str, str]
    path: Mapping[str, str]
    headers: Mapping[str, str]
    request_id: str = ""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


@dataclass(frozen=True)
class PartnerResponse:
    """What a handler may return instead of a bare JSON value (which is a 200)."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Context, PartnerRequest], Any]


@dataclass(frozen=True)
class Endpoint:
    """One partner route.

    ``path`` is relative to ``/connectors/<provider>/`` and may hold ``{name}`` segments
    (``results/{invitationId}``); with ``InboundAuth.PATH_TOKEN`` it must hold ``{token}``.
    ``request_schema`` validates the JSON body (POST, PUT, PATCH; a failure is a 400 with
    one error per field, or ``invalid_status``); ``query_schema`` the query parameters
    (strings). ``response_schema`` documents the answer. ``basic_password_ok`` lets a
    Basic caller send the key as the password instead of the user name. ``errors``
    documents the answers the handler itself gives besides success (status → when).
    """

    name: str
    method: str
    path: str
    auth: InboundAuth
    handler: Handler
    summary: str = ""
    description: str = ""
    request_schema: Mapping[str, Any] | None = None
    query_schema: Mapping[str, Any] | None = None
    response_schema: Mapping[str, Any] | None = None
    success_status: int = 200
    invalid_status: int = 400
    basic_password_ok: bool = False
    errors: Mapping[int, str] = field(default_factory=dict)
