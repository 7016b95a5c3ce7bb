"""Admin for packages, orders and results: for looking, not editing. Writes go through the
API so that events and deliveries are never skipped."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from gateway.assessments.models import Order, Package, PartnerErrorReport, Result

# URLs typed without a scheme are https (Django 6's default, chosen now).
URL_FORM_FIELDS = {models.URLField: {"assume_scheme": "https"}}


class ReadOnlyAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FORM_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Package)
class PackageAdmin(ReadOnlyAdmin):
    list_display = ("name", "remote_id", "account", "active", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "remote_id", "account__id")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "status", "remote_id", "created_at", "updated_at", "erased_at")
    list_filter = ("status",)
    search_fields = ("id", "remote_id", "account__id")
    date_hierarchy = "created_at"
    show_full_result_count = False  # counting millions of rows on every page view is slow


@admin.register(Result)
class ResultAdmin(ReadOnlyAdmin):
    list_display = ("id", "order", "result_value", "updated_at")
    list_filter = ("result_value",)
    search_fields = ("id", "order__id")
    show_full_result_count = False


@admin.register(PartnerErrorReport)
class PartnerErrorReportAdmin(ReadOnlyAdmin):
    """What partners told us was wrong with our answers (Greenhouse ``response_error``)."""

    list_display = ("received_at", "account", "api_call", "order", "error_summary")
    list_filter = ("api_call",)
    search_fields = ("account__id", "order__id")
    date_hierarchy = "received_at"

    @admin.display(description="Errors")
    def error_summary(self, obj: PartnerErrorReport) -> str:
        return "; ".join(str(error) for error in obj.errors)[:200]
