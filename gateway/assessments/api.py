"""The unified assessments API (CONTRACT §3). Views parse, call one service or selector,
and render; they never learn which partner is behind the account."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.errors import NotFound, ValidationFailed
from gateway.api.query import bracketed, keyset_page, list_filter, sequence_page, timestamp_filter
from gateway.api.views import ACCOUNT_HEADER, LIST_PARAMETERS, AccountApiView
from gateway.assessments import selectors, services
from gateway.assessments.connectors import account_require_role
from gateway.assessments.models import OrderStatus, Package
from gateway.assessments.serializers import (
    CatalogInputSerializer,
    OrderCreateInputSerializer,
    OrderOutputSerializer,
    OrderVendorUpdateInputSerializer,
    PackageOutputSerializer,
    ResultInputSerializer,
    ResultOutputSerializer,
    order_representation,
    package_representation,
    result_representation,
)
from gateway.sdk import OrderRequest, RemotePackage, Role
from gateway.timefmt import isoformat_z, utcnow

TAG = ["Unified assessments"]


def _list_of(serializer: type[serializers.Serializer], name: str) -> Any:
    return inline_serializer(
        name, {"data": serializer(many=True), "next": serializers.CharField(allow_null=True)}
    )


def _data_of(serializer: type[serializers.Serializer], name: str, many: bool = False) -> Any:
    return inline_serializer(name, {"data": serializer(many=many)})


def render_package(package: Package | RemotePackage) -> dict[str, Any]:
    if isinstance(package, Package):
        return package_representation(package)
    return {
        "id": selectors.live_package_id(package.remote_id),
        "remote_id": package.remote_id,
        "name": package.name,
        "description": package.description,
        "type": package.type,
        "updated_at": isoformat_z(package.updated_at),
    }


def render_order(order: Any) -> dict[str, Any]:
    return order_representation(order)


def render_result(result: Any) -> dict[str, Any]:
    return result_representation(result)


class PackageListApi(AccountApiView):
    @extend_schema(
        tags=TAG, parameters=[ACCOUNT_HEADER, *LIST_PARAMETERS],
        operation_id="unified_ats_assessments_packages_list",
        responses=_list_of(PackageOutputSerializer, "PackageList"),
        description="ats: the catalog the tenant published. provider: the provider's tests, read live.",
    )
    def get(self, request: Request) -> Response:
        filters = bracketed(request.query_params, "filter")
        updated_after = timestamp_filter(filters, "updated_after")
        if selectors.account_role(self.account) is Role.ATS:
            packages = selectors.package_list_published(account=self.account, updated_after=updated_after)
            rows, next_cursor = keyset_page(packages, request.query_params)
            return self.list_response(rows, next_cursor, render_package)
        remote = selectors.package_list_live(account=self.account, ctx=self.context)
        if updated_after is not None:
            # Compare instants, not ISO strings ("…:05.5Z" sorts before "…:05Z").
            remote = [p for p in remote if p.updated_at and p.updated_at.astimezone(UTC) > updated_after]
        live = [render_package(p) for p in remote]
        rows, next_cursor = sequence_page(live, request.query_params)
        return self.list_response(rows, next_cursor, lambda item: item, **self.raw_extra())

    @extend_schema(
        tags=TAG, parameters=[ACCOUNT_HEADER], request=CatalogInputSerializer,
        responses=_data_of(PackageOutputSerializer, "PackageCatalog", many=True),
        description="Replace the published catalog (ats role). Packages left out are withdrawn.",
    )
    def put(self, request: Request) -> Response:
        payload = CatalogInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        packages = services.package_catalog_replace(
            account=self.account, packages=payload.validated_data["packages"]
        )
        return Response({"data": [render_package(p) for p in packages]})


class PackageDetailApi(AccountApiView):
    @extend_schema(tags=TAG, parameters=[ACCOUNT_HEADER], responses=_data_of(PackageOutputSerializer, "PackageData"))
    def get(self, request: Request, package_id: str) -> Response:
        if selectors.account_role(self.account) is Role.ATS:
            package: Any = selectors.package_get_published(account=self.account, package_id=package_id)
        else:
            package = selectors.package_get_live(account=self.account, ctx=self.context, package_id=package_id)
        return self.single_response(render_package(package), **self.raw_extra())


class OrderListApi(AccountApiView):
    @extend_schema(
        tags=TAG, parameters=[ACCOUNT_HEADER, *LIST_PARAMETERS],
        operation_id="unified_ats_assessments_orders_list",
        responses=_list_of(OrderOutputSerializer, "OrderList"),
    )
    def get(self, request: Request) -> Response:
        filters = bracketed(request.query_params, "filter")
        orders = selectors.order_list(
            account=self.account,
            statuses=list_filter(filters, "status", OrderStatus.values),
            package_id=filters.get("package_id"),
            updated_after=timestamp_filter(filters, "updated_after"),
        )
        rows, next_cursor = keyset_page(orders, request.query_params)
        return self.list_response(rows, next_cursor, render_order)

    @extend_schema(
        tags=TAG, parameters=[ACCOUNT_HEADER], request=OrderCreateInputSerializer,
        responses={201: inline_serializer("OrderCreated", {
            "id": serializers.CharField(), "remote_id": serializers.CharField(allow_null=True),
            "test_url": serializers.CharField(allow_null=True), "data": OrderOutputSerializer(),
        })},
        description="Invite a candidate through the provider (provider role; 501 for ats accounts).",
    )
    def post(self, request: Request) -> Response:
        payload = OrderCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        # The ATS creates ats-role orders: say so before asking the provider anything.
        account_require_role(self.account, Role.PROVIDER)
        try:
            package = selectors.package_get_live(
                account=self.account, ctx=self.context,
                package_id=data["package"].get("id"), remote_id=data["package"].get("remote_id"),
            )
        except NotFound:
            field = "package.id" if data["package"].get("id") else "package.remote_id"
            raise ValidationFailed.field(field, "No such package on the provider.") from None
        package_ref = render_package(package)
        order = services.order_create(
            account=self.account,
            ctx=self.context,
            request=OrderRequest(
                package_remote_id=package.remote_id,
                package_name=package.name,
                candidate=data["candidate"],
                application=data.get("application"),
                job=data.get("job"),
                requester=data.get("requester"),
                deadline=data.get("deadline"),
                passthrough=data.get("passthrough"),
            ),
            package={k: package_ref[k] for k in ("id", "remote_id", "name", "description")},
            results_update_url=data.get("results_update_url"),
        )
        return Response(
            {"id": order.id, "remote_id": order.remote_id, "test_url": order.test_url,
             "data": render_order(order), **self.raw_extra()},
            status=201,
        )


def scoped_order(view: AccountApiView, order_id: str) -> Any:
    """The account's order, 404 if missing; with the account in the same query when
    the view has not resolved it yet (the usual case: it is the request's first read)."""
    if "account" not in view.__dict__ and view.requested_account_id():
        order = selectors.order_find_through_tenant(
            tenant=view.tenant, account_id=view.requested_account_id(), order_id=order_id
        )
        if order is not None:
            view.account_resolved(order.account)
            return order
    return selectors.order_get(account=view.account, order_id=order_id)


class OrderDetailApi(AccountApiView):
    def get_order(self, order_id: str) -> Any:
        return scoped_order(self, order_id)

    @extend_schema(tags=TAG, parameters=[ACCOUNT_HEADER], responses=_data_of(OrderOutputSerializer, "OrderData"))
    def get(self, request: Request, order_id: str) -> Response:
        return self.single_response(render_order(self.get_order(order_id)))

    @extend_schema(
        tags=TAG, parameters=[ACCOUNT_HEADER], request=OrderVendorUpdateInputSerializer,
        responses=_data_of(OrderOutputSerializer, "OrderUpdated"),
        description="The vendor attaches its own instance (ats role).",
    )
    def patch(self, request: Request, order_id: str) -> Response:
        order = self.get_order(order_id)
        payload = OrderVendorUpdateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = services.order_vendor_update(order=order, **payload.validated_data)
        return self.single_response(render_order(selectors.order_get(account=self.account, order_id=order.id)))

    @extend_schema(
        tags=TAG, parameters=[ACCOUNT_HEADER], responses={204: OpenApiResponse(description="Erased.")},
        description="Erase the candidate's personal data (GDPR); the order stays as a tombstone.",
    )
    def delete(self, request: Request, order_id: str) -> Response:
        services.order_erase(order=self.get_order(order_id), ctx=self.context)
        return Response(status=204)


RECORD_UPDATED = inline_serializer("RecordUpdated", {
    "statusCode": serializers.IntegerField(), "message": serializers.CharField(),
    "timestamp": serializers.DateTimeField(),
})


class OrderResultApi(AccountApiView):
    @extend_schema(tags=TAG, parameters=[ACCOUNT_HEADER], responses=_data_of(ResultOutputSerializer, "OrderResultData"))
    def get(self, request: Request, order_id: str) -> Response:
        order = scoped_order(self, order_id)
        return self.single_response(render_result(selectors.order_result_get(order=order)))

    @extend_schema(
        tags=TAG, parameters=[ACCOUNT_HEADER], request=ResultInputSerializer, responses=RECORD_UPDATED,
        description="Report the result (ats role); queues its delivery to the ATS.",
    )
    def patch(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get(account=self.account, order_id=order_id)
        payload = ResultInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.result_update(order=order, data=payload.validated_data)
        return Response(
            {"statusCode": 200, "message": "Record updated successfully.", "timestamp": isoformat_z(utcnow())}
        )


class ResultListApi(AccountApiView):
    @extend_schema(
        tags=TAG, parameters=[ACCOUNT_HEADER, *LIST_PARAMETERS],
        operation_id="unified_ats_assessments_results_list",
        responses=_list_of(ResultOutputSerializer, "ResultList"),
    )
    def get(self, request: Request) -> Response:
        filters = bracketed(request.query_params, "filter")
        results = selectors.result_list(
            account=self.account,
            order_id=filters.get("order_id"),
            updated_after=timestamp_filter(filters, "updated_after"),
        )
        rows, next_cursor = keyset_page(results, request.query_params)
        return self.list_response(rows, next_cursor, render_result)


class ResultDetailApi(AccountApiView):
    @extend_schema(tags=TAG, parameters=[ACCOUNT_HEADER], responses=_data_of(ResultOutputSerializer, "ResultData"))
    def get(self, request: Request, result_id: str) -> Response:
        return self.single_response(render_result(selectors.result_get(account=self.account, result_id=result_id)))
