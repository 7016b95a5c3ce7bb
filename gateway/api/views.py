"""Base classes for the platform and unified API views.

``TenantApiView`` gives ``self.tenant``; ``AccountApiView`` adds ``self.account``, the
one place where ``x-account-id`` is read and scoped to the caller's tenant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.api.errors import BadRequest
from gateway.api.query import bracketed, raw_requested, requested_fields, select_fields
from gateway.ports import context_for
from gateway.sdk import Context
from gateway.tenancy.models import Account, Tenant
from gateway.tenancy.selectors import account_get

ACCOUNT_HEADER = OpenApiParameter(
    "x-account-id", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True,
    description="The linked account to act on.",
)
LIST_PARAMETERS = [
    OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 200, default 25."),
    OpenApiParameter("next", OpenApiTypes.STR, description="The cursor from the previous page."),
    OpenApiParameter("fields", OpenApiTypes.STR, description="Comma-separated keys to return."),
    OpenApiParameter("filter[updated_after]", OpenApiTypes.DATETIME),
]


class TenantApiView(APIView):
    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        limit = getattr(request, "rate_limit", None)
        if limit is not None:
            response["X-RateLimit-Limit"] = str(limit[0])
            response["X-RateLimit-Remaining"] = str(limit[1])
        return response

    @property
    def tenant(self) -> Tenant:
        return self.request.user.tenant

    def fields(self) -> list[str] | None:
        return requested_fields(self.request.query_params)

    def list_response(
        self, rows: Iterable[Any], next_cursor: str | None, render: Callable[[Any], dict[str, Any]],
        **extra: Any,
    ) -> Response:
        fields = self.fields()
        data = [select_fields(render(row), fields) for row in rows]
        return Response({"data": data, "next": next_cursor, **extra})


class AccountApiView(TenantApiView):
    def requested_account_id(self) -> str:
        """The ``x-account-id`` header as given ('' when absent); not yet checked."""
        return self.request.headers.get("x-account-id", "").strip()

    @cached_property
    def account(self) -> Account:
        account_id = self.requested_account_id()
        if not account_id:
            raise BadRequest("The x-account-id header is required.")
        return account_get(tenant=self.tenant, account_id=account_id)

    def account_resolved(self, account: Account) -> None:
        """Record ``account`` as ``self.account`` when a view found it through the same
        scope in the query that fetched its object (one round trip instead of two)."""
        if account.id != self.requested_account_id():
            raise ValueError("not the requested account")
        self.__dict__["account"] = account

    @cached_property
    def context(self) -> Context:
        return context_for(self.account, proxy=bracketed(self.request.query_params, "proxy"))

    def raw_extra(self) -> dict[str, Any]:
        """``raw=true``: the redacted provider calls this request made (CONTRACT §1.5)."""
        if not raw_requested(self.request.query_params):
            return {}
        return {
            "raw": [
                {"method": c.method, "url": c.url, "status": c.status, "response": c.response}
                for c in self.context.calls
            ]
        }

    def single_response(self, item: dict[str, Any], status: int = 200, **extra: Any) -> Response:
        return Response({"data": select_fields(item, self.fields()), **extra}, status=status)
