"""Platform API: webhook endpoints and the signing secret (CONTRACT §2)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.errors import NotFound
from gateway.api.query import bracketed, keyset_page, timestamp_filter
from gateway.api.views import LIST_PARAMETERS, TenantApiView
from gateway.delivery import services
from gateway.delivery.models import WebhookEndpoint
from gateway.tenancy.services import signing_secret_rotate
from gateway.timefmt import isoformat_z

TAG = ["Platform"]


class WebhookEndpointOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(child=serializers.CharField(max_length=64), max_length=10)


def render_endpoint(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "created_at": isoformat_z(endpoint.created_at),
    }


def endpoints_of(tenant: Any) -> Any:
    return WebhookEndpoint.objects.filter(tenant=tenant, deleted_at__isnull=True)


class WebhookEndpointListApi(TenantApiView):
    @extend_schema(
        tags=TAG, parameters=LIST_PARAMETERS, operation_id="webhook_endpoints_list",
        responses=inline_serializer("WebhookEndpointList", {
            "data": WebhookEndpointOutputSerializer(many=True),
            "next": serializers.CharField(allow_null=True),
        }),
    )
    def get(self, request: Request) -> Response:
        endpoints = endpoints_of(self.tenant)
        # Endpoints never change once created, so "updated" is "created".
        updated_after = timestamp_filter(bracketed(request.query_params, "filter"), "updated_after")
        if updated_after is not None:
            endpoints = endpoints.filter(created_at__gt=updated_after)
        rows, next_cursor = keyset_page(endpoints, request.query_params)
        return self.list_response(rows, next_cursor, render_endpoint)

    @extend_schema(tags=TAG, request=WebhookEndpointInputSerializer, responses={201: WebhookEndpointOutputSerializer})
    def post(self, request: Request) -> Response:
        payload = WebhookEndpointInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(tenant=self.tenant, **payload.validated_data)
        return Response(render_endpoint(endpoint), status=201)


class WebhookEndpointDetailApi(TenantApiView):
    def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        endpoint = endpoints_of(self.tenant).filter(id=endpoint_id).first()
        if endpoint is None:
            raise NotFound("Webhook endpoint not found")
        return endpoint

    @extend_schema(tags=TAG, responses=WebhookEndpointOutputSerializer)
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(render_endpoint(self.get_endpoint(endpoint_id)))

    @extend_schema(tags=TAG, responses={204: OpenApiResponse(description="Removed.")})
    def delete(self, request: Request, endpoint_id: str) -> Response:
        services.webhook_endpoint_delete(endpoint=self.get_endpoint(endpoint_id))
        return Response(status=204)


class SigningSecretApi(TenantApiView):
    @extend_schema(tags=TAG, request=None, responses=inline_serializer(
        "SigningSecret", {"signing_secret": serializers.CharField()}))
    def post(self, request: Request) -> Response:
        return Response({"signing_secret": signing_secret_rotate(tenant=self.tenant)})
