"""Packages (tests), orders (a candidate invited to a test) and results.

Personal data lives in a few JSON columns of the order (candidate, application, job,
requester, passthrough) and in its result, so a GDPR erase is a handful of NULLs and
leaves a tombstone with ids, status and dates.
"""

from __future__ import annotations

from django.db import models

from gateway import sdk
from gateway.ids import new_id
from gateway.tenancy.models import Account


def new_package_id() -> str:
    return new_id("pkg")


def new_order_id() -> str:
    return new_id("ord")


def new_result_id() -> str:
    return new_id("res")


class Package(models.Model):
    """A test the tenant published to an ATS (``ats`` role).

    Catalog replacement deactivates rather than deletes, so orders keep their package.
    Provider-role packages are read live from the provider and never stored.
    """

    id = models.CharField(primary_key=True, max_length=32, default=new_package_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="packages")
    remote_id = models.CharField(max_length=255)
    name = models.CharField(max_length=500)
    description = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=100, null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "remote_id"], name="package_remote_id_unique")
        ]
        indexes = [models.Index(fields=["account", "active", "id"], name="package_account_active")]

    def __str__(self) -> str:
        return f"{self.name} ({self.remote_id})"


# The SDK's enums are the one definition; the models take their choices from them.
OrderStatus = models.TextChoices("OrderStatus", [(status.name, status.value) for status in sdk.OrderStatus])
CLOSED_ORDER_STATUSES = sdk.CLOSED_ORDER_STATUSES
# Still running: what reconciliation re-reads, and what a provider may still move.
OPEN_ORDER_STATUSES = (sdk.OrderStatus.OPEN, sdk.OrderStatus.IN_PROGRESS)


class Order(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_order_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    remote_id = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    # The package as it was when ordered: {"id", "remote_id", "name", "description"}.
    package_ref = models.CharField(max_length=32, null=True, blank=True)
    package = models.JSONField(default=dict)
    candidate = models.JSONField(null=True, blank=True)
    application = models.JSONField(null=True, blank=True)
    job = models.JSONField(null=True, blank=True)
    requester = models.JSONField(null=True, blank=True)
    passthrough = models.JSONField(null=True, blank=True)
    results_update_url = models.URLField(max_length=2000, null=True, blank=True)
    test_url = models.URLField(max_length=2000, null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    # Where the ATS wants to hear about this order (Greenhouse's PATCH url, softgarden's
    # callback), and the token of the candidate link /t/<token> handed out before the
    # vendor has a test URL. Both are erased with the candidate's data.
    partner_callback_url = models.URLField(max_length=2000, null=True, blank=True)
    link_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The partner's natural idempotency key (Greenhouse's ``url``, softgarden's
    # candidate id and test id): a repeated partner call finds the same order.
    source_key = models.CharField(max_length=2000, null=True, blank=True)
    # Bumped on every change; deliveries carry it so an older state never overtakes.
    version = models.PositiveIntegerField(default=1)
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "source_key"],
                condition=models.Q(source_key__isnull=False),
                name="order_source_key_unique",
            )
        ]
        indexes = [
            models.Index(fields=["account", "id"], name="order_account_id"),
            models.Index(fields=["account", "status", "id"], name="order_account_status"),
            models.Index(fields=["account", "package_ref", "id"], name="order_account_package"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


ResultValue = models.TextChoices("ResultValue", [(value.name, value.value) for value in sdk.ResultValue])
FINAL_RESULT_VALUES = sdk.FINAL_RESULT_VALUES


class Result(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_result_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="results")
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="result")
    # {"label", "value", "min", "max"}, parts as strings (StackOne).
    score = models.JSONField(null=True, blank=True)
    result_value = models.CharField(max_length=32, choices=ResultValue.choices, null=True, blank=True)
    result_source_value = models.CharField(max_length=255, null=True, blank=True)
    result_url = models.URLField(max_length=2000, null=True, blank=True)
    summary = models.TextField(null=True, blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    submission_date = models.DateTimeField(null=True, blank=True)
    attachments = models.JSONField(default=list, blank=True)
    passthrough = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["account", "id"], name="result_account_id")]

    def __str__(self) -> str:
        return self.id

    @property
    def is_final(self) -> bool:
        return self.result_value in FINAL_RESULT_VALUES


class PartnerErrorReport(models.Model):
    """A partner telling us that one of our answers was wrong (Greenhouse's
    ``response_error``): kept for operators in the admin, and sent to the tenant as an
    ``ats_assessments.partner_error`` event."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="partner_errors")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True)
    api_call = models.CharField(max_length=100, blank=True, default="")
    errors = models.JSONField(default=list)
    report = models.JSONField(help_text="The partner's report as received.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.api_call or 'unknown call'} on {self.account_id}"
