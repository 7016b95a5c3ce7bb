"""Platform API: connectors and linked accounts (CONTRACT §2)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.errors import NotSupported
from gateway.api.query import bracketed, keyset_page, timestamp_filter
from gateway.api.views import LIST_PARAMETERS, TenantApiView
from gateway.registry import registry
from gateway.tenancy import selectors, services
from gateway.tenancy.checks import account_check
from gateway.tenancy.models import Account
from gateway.timefmt import isoformat_z

TAG = ["Platform"]


class AccountOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    provider = serializers.CharField()
    label = serializers.CharField()
    status = serializers.CharField()
    origin_owner_id = serializers.CharField(allow_null=True)
    origin_owner_name = serializers.CharField(allow_null=True)
    settings = serializers.JSONField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AccountCreateInputSerializer(serializers.Serializer):
    provider = serializers.CharField(max_length=64)
    label = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    origin_owner_id = serializers.CharField(required=False, allow_null=True, max_length=200)
    origin_owner_name = serializers.CharField(required=False, allow_null=True, max_length=200)
    credentials = serializers.JSONField(required=False, allow_null=True)
    settings = serializers.JSONField(required=False, allow_null=True)


class AccountUpdateInputSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    credentials = serializers.JSONField(required=False, allow_null=True)
    settings = serializers.JSONField(required=False, allow_null=True)


ACCOUNT_WITH_INBOUND = inline_serializer(
    "AccountWithInbound",
    {**AccountOutputSerializer().get_fields(), "inbound": serializers.JSONField(allow_null=True)},
)


def render_account(account: Account, inbound: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {
        "id": account.id,
        "provider": account.provider,
        "label": account.label,
        "status": account.status,
        "origin_owner_id": account.origin_owner_id,
        "origin_owner_name": account.origin_owner_name,
        "settings": account.settings,
        "created_at": isoformat_z(account.created_at),
        "updated_at": isoformat_z(account.updated_at),
    }
    if inbound is not None:
        body["inbound"] = inbound
    return body


class ConnectorListApi(TenantApiView):
    @extend_schema(tags=TAG, responses=inline_serializer("ConnectorList", {"data": serializers.JSONField()}))
    def get(self, request: Request) -> Response:
        return Response({
            "data": [
                {
                    "provider": c.provider,
                    "name": c.name,
                    "role": c.role.value,
                    "capabilities": sorted(str(cap) for cap in c.capabilities),
                    "credentials_schema": c.credentials_schema,
                    "settings_schema": c.settings_schema,
                }
                for c in registry().all()
            ]
        })


class AccountListApi(TenantApiView):
    @extend_schema(
        tags=TAG, parameters=LIST_PARAMETERS, operation_id="accounts_list",
        responses=inline_serializer("AccountList", {
            "data": AccountOutputSerializer(many=True), "next": serializers.CharField(allow_null=True)}),
    )
    def get(self, request: Request) -> Response:
        filters = bracketed(request.query_params, "filter")
        accounts = selectors.account_list(tenant=self.tenant)
        if filters.get("provider"):
            accounts = accounts.filter(provider=filters["provider"])
        if filters.get("origin_owner_id"):
            accounts = accounts.filter(origin_owner_id=filters["origin_owner_id"])
        updated_after = timestamp_filter(filters, "updated_after")
        if updated_after is not None:
            accounts = accounts.filter(updated_at__gt=updated_after)
        rows, next_cursor = keyset_page(accounts, request.query_params)
        return self.list_response(rows, next_cursor, render_account)

    @extend_schema(tags=TAG, request=AccountCreateInputSerializer, responses={201: ACCOUNT_WITH_INBOUND})
    def post(self, request: Request) -> Response:
        payload = AccountCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        account, inbound = services.account_link(
            tenant=self.tenant,
            provider=data["provider"],
            label=data.get("label") or "",
            origin_owner_id=data.get("origin_owner_id"),
            origin_owner_name=data.get("origin_owner_name"),
            credentials=data.get("credentials"),
            settings=data.get("settings"),
        )
        return Response(render_account(account, inbound), status=201)


class AccountDetailApi(TenantApiView):
    def get_account(self, account_id: str) -> Account:
        return selectors.account_get(tenant=self.tenant, account_id=account_id)

    @extend_schema(tags=TAG, responses=AccountOutputSerializer)
    def get(self, request: Request, account_id: str) -> Response:
        return Response(render_account(self.get_account(account_id)))

    @extend_schema(tags=TAG, request=AccountUpdateInputSerializer, responses=AccountOutputSerializer)
    def patch(self, request: Request, account_id: str) -> Response:
        account = self.get_account(account_id)
        payload = AccountUpdateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        account = services.account_update(account=account, **payload.validated_data)
        return Response(render_account(account))

    @extend_schema(tags=TAG, responses={204: OpenApiResponse(description="Unlinked.")})
    def delete(self, request: Request, account_id: str) -> Response:
        services.account_unlink(account=self.get_account(account_id))
        return Response(status=204)


class AccountInboundKeyApi(TenantApiView):
    @extend_schema(tags=TAG, request=None, responses=inline_serializer(
        "InboundRotated", {"inbound": serializers.JSONField()}))
    def post(self, request: Request, account_id: str) -> Response:
        account = selectors.account_get(tenant=self.tenant, account_id=account_id)
        inbound = services.account_inbound_rotate(account=account)
        if inbound is None:
            raise NotSupported("This account's connector receives no calls, so it has no inbound key.")
        return Response({"inbound": inbound})


class AccountCheckApi(TenantApiView):
    @extend_schema(tags=TAG, request=None, responses=inline_serializer(
        "AccountCheck", {"status": serializers.CharField(), "provider_errors": serializers.ListField(required=False)}))
    def post(self, request: Request, account_id: str) -> Response:
        account = selectors.account_get(tenant=self.tenant, account_id=account_id)
        return Response(account_check(account=account))
