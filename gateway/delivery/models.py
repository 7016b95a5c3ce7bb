"""Webhook endpoints and the outbox.

Every delivery is a ``Delivery`` row written in the same transaction as the change that
causes it. The row holds the event's identity (``event_id`` is the ``webhook-id``, the
same on every retry) and its schedule (``next_attempt_at``); the body is built when the
row is sent, from the order's state at that moment, so a retry never sends a state
older than one already delivered.
"""

from __future__ import annotations

from django.db import models

from gateway.assessments.models import Order
from gateway.ids import new_id
from gateway.tenancy.models import Account, Tenant


def new_webhook_endpoint_id() -> str:
    return new_id("whe")


def new_delivery_id() -> str:
    return new_id("dlv")


def new_event_id() -> str:
    return new_id("evt")


class EventType(models.TextChoices):
    CREATED = "ats_assessments.created"
    UPDATED = "ats_assessments.updated"
    DELETED = "ats_assessments.deleted"
    PARTNER_ERROR = "ats_assessments.partner_error"


class WebhookEndpoint(models.Model):
    id = models.CharField(
        primary_key=True, max_length=32, default=new_webhook_endpoint_id, editable=False
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    events = models.JSONField(help_text='Event types, or ["*"] for all.')
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "id"], name="webhook_endpoint_tenant")]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class DeliveryKind(models.TextChoices):
    WEBHOOK = "webhook", "Tenant webhook endpoint"
    RESULTS_CALLBACK = "results_callback", "Order's results_update_url"
    PARTNER = "partner", "Notification to the ATS"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a 4xx that retrying cannot fix
    EXHAUSTED = "exhausted"  # retried until the schedule ran out
    CANCELLED = "cancelled"  # the order was erased or the endpoint removed


class Delivery(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_delivery_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="deliveries")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True)
    kind = models.CharField(max_length=20, choices=DeliveryKind.choices)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.SET_NULL, null=True, blank=True)
    url = models.URLField(max_length=2000, blank=True, default="")
    event_id = models.CharField(max_length=32, default=new_event_id)
    event_type = models.CharField(max_length=64, choices=EventType.choices)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True)
    order_version = models.PositiveIntegerField(default=0)
    # For events that are not about an order's state (partner_error): the event's data.
    payload = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # The send lease (see gateway/delivery/sender.py): who may send the row until when.
    locked_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_due",
            ),
            models.Index(fields=["order", "kind", "id"], name="delivery_order_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.kind} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    elapsed_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"#{self.number}: {self.status_code or self.error}"
