"""Admin for webhook endpoints and deliveries: every attempt with its response code and
error, and a retry action for failed and exhausted rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from gateway.assessments.admin import URL_FORM_FIELDS
from gateway.delivery.dispatch import dispatch
from gateway.delivery.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from gateway.delivery.sender import delivery_retry


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FORM_FIELDS
    list_display = ("url", "tenant", "events", "created_at", "deleted_at")
    search_fields = ("url", "tenant__name")
    readonly_fields = ("id", "tenant", "created_at")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "status_code", "error", "elapsed_ms", "response_excerpt")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FORM_FIELDS
    list_display = (
        "id", "event_type", "kind", "status", "attempts", "last_status_code",
        "next_attempt_at", "order", "tenant",
    )
    list_filter = ("status", "kind", "event_type")
    search_fields = ("id", "event_id", "order__id", "url")
    readonly_fields = [field.name for field in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry the selected failed or exhausted deliveries now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        retryable = queryset.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.EXHAUSTED])
        ids = []
        for delivery in retryable:
            delivery_retry(delivery=delivery)
            ids.append(delivery.id)
        dispatch(ids)
        messages.info(request, f"Queued {len(ids)} deliveries for another attempt.")
