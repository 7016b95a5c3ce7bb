"""Tenant authentication: ``Basic base64(<api_key>:)`` (as StackOne) or ``Bearer <api_key>``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from gateway.tenancy.models import ApiKey, Tenant
from gateway.tenancy.selectors import api_key_get_active
from gateway.tenancy.services import api_key_digest


@dataclass(frozen=True)
class TenantPrincipal:
    """``request.user`` for API calls: the tenant, and the key it used (for rate limits)."""

    tenant: Tenant
    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False


def credential_from_header(header: bytes) -> tuple[str, str] | None:
    """Split an Authorization header into (scheme, credential); None if unusable.

    For Basic, the credential is the user name; the password must be empty or absent,
    matching how both tenants and partners (Greenhouse) send keys.
    """
    try:
        scheme, _, value = header.decode("latin-1").partition(" ")
    except UnicodeDecodeError:
        return None
    scheme, value = scheme.lower(), value.strip()
    if not value:
        return None
    if scheme == "bearer":
        return "bearer", value
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, _password = decoded.partition(":")
        return ("basic", user) if user else None
    return None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[TenantPrincipal, ApiKey] | None:
        header = get_authorization_header(request)
        if not header:
            return None
        parsed = credential_from_header(header)
        if parsed is None:
            raise AuthenticationFailed("Invalid Authorization header.")
        api_key = api_key_get_active(digest=api_key_digest(parsed[1]))
        if api_key is None:
            raise AuthenticationFailed("Invalid API key.")
        return TenantPrincipal(tenant=api_key.tenant, api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="gateway"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """The schema's security schemes for ``ApiKeyAuthentication``: Basic or Bearer, either one."""

    target_class = ApiKeyAuthentication
    name = ["basicAuth", "bearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"basicAuth": []}, {"bearerAuth": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "basic",
                "description": "The API key as the user name, an empty password.",
            },
            {"type": "http", "scheme": "bearer", "description": "The API key as the token."},
        ]
