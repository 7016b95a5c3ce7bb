"""The unified shapes of CONTRACT §3, in and out.

Output serializers read both model instances and the JSON stored on an order; every
field defaults to ``None`` so that all keys are present, as the contract requires.
Unknown input fields are ignored (partners and tenants add fields without notice).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.assessments.models import OrderStatus, ResultValue
from gateway.timefmt import isoformat_z


class TimestampField(serializers.DateTimeField):
    def to_representation(self, value: Any) -> str | None:
        return isoformat_z(value) if value else None


# Output fields: absent keys read as None, so every key of the contract is present.
NULLABLE: dict[str, Any] = {"default": None, "allow_null": True}


def _str() -> serializers.Field:
    return serializers.CharField(allow_blank=True, **NULLABLE)


def _json() -> serializers.Field:
    return serializers.JSONField(**NULLABLE)


class EnumSerializer(serializers.Serializer):
    value = _str()
    source_value = _str()


# --- output ---------------------------------------------------------------------------


class PackageOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    remote_id = serializers.CharField()
    name = serializers.CharField()
    description = _str()
    type = _str()
    updated_at = TimestampField(**NULLABLE)


class OrderPackageSerializer(serializers.Serializer):
    id = _str()
    remote_id = _str()
    name = _str()
    description = _str()


class EmailSerializer(serializers.Serializer):
    type = _str()
    value = _str()


class CandidateSerializer(serializers.Serializer):
    id = _str()
    remote_id = _str()
    first_name = _str()
    last_name = _str()
    emails = EmailSerializer(many=True, **NULLABLE)
    profile_url = _str()
    passthrough = _json()


class ApplicationSerializer(serializers.Serializer):
    id = _str()
    remote_id = _str()
    application_status = EnumSerializer(**NULLABLE)
    passthrough = _json()


class JobSerializer(serializers.Serializer):
    id = _str()
    remote_id = _str()
    title = _str()
    hiring_team = _json()
    passthrough = _json()


class RequesterSerializer(serializers.Serializer):
    user_id = _str()
    remote_user_id = _str()
    first_name = _str()
    last_name = _str()
    email = _str()
    role = _str()


class ScoreSerializer(serializers.Serializer):
    label = _str()
    value = _str()
    min = _str()
    max = _str()


class AttachmentSerializer(serializers.Serializer):
    url = _str()
    content_type = EnumSerializer(**NULLABLE)


class ResultOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    order_id = serializers.CharField()
    score = ScoreSerializer(**NULLABLE)
    result = serializers.SerializerMethodField()
    result_url = _str()
    summary = _str()
    start_date = TimestampField(**NULLABLE)
    submission_date = TimestampField(**NULLABLE)
    attachments = AttachmentSerializer(many=True)
    updated_at = TimestampField()

    def get_result(self, obj: Any) -> dict[str, Any] | None:
        if obj.result_value is None and obj.result_source_value is None:
            return None
        return {"value": obj.result_value, "source_value": obj.result_source_value}


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    remote_id = _str()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    package = OrderPackageSerializer()
    candidate = CandidateSerializer(**NULLABLE)
    application = ApplicationSerializer(**NULLABLE)
    job = JobSerializer(**NULLABLE)
    requester = RequesterSerializer(**NULLABLE)
    results_update_url = _str()
    test_url = _str()
    passthrough = _json()
    result = serializers.SerializerMethodField()
    created_at = TimestampField()
    updated_at = TimestampField()

    def get_result(self, obj: Any) -> dict[str, Any] | None:
        result = getattr(obj, "result", None) if not obj.is_erased else None
        return ResultOutputSerializer(result).data if result is not None else None


# --- input ----------------------------------------------------------------------------


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}]})
class StringOrNumberField(serializers.Field):
    """Score parts are strings (StackOne); numbers are accepted and kept as written."""

    def to_internal_value(self, data: Any) -> str | None:
        if data is None:
            return None
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            raise serializers.ValidationError("Must be a string or a number.")
        return str(data)[:255]

    def to_representation(self, value: Any) -> Any:
        return value


class ScoreInputSerializer(serializers.Serializer):
    label = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    value = StringOrNumberField(required=False, allow_null=True)
    min = StringOrNumberField(required=False, allow_null=True)
    max = StringOrNumberField(required=False, allow_null=True)


class ResultEnumInputSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=ResultValue.choices)
    source_value = serializers.CharField(required=False, allow_null=True, max_length=255)


class ContentTypeInputSerializer(serializers.Serializer):
    value = serializers.CharField(required=False, allow_null=True, max_length=255)
    source_value = serializers.CharField(required=False, allow_null=True, max_length=255)


class AttachmentInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    content_type = ContentTypeInputSerializer(required=False, allow_null=True)


class ResultInputSerializer(serializers.Serializer):
    score = ScoreInputSerializer(required=False, allow_null=True)
    start_date = serializers.DateTimeField(required=False, allow_null=True)
    submission_date = serializers.DateTimeField(required=False, allow_null=True)
    summary = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=20000)
    result = ResultEnumInputSerializer(required=False, allow_null=True)
    result_url = serializers.URLField(required=False, allow_null=True, max_length=2000)
    attachments = AttachmentInputSerializer(many=True, required=False, allow_null=True, max_length=50)
    passthrough = serializers.DictField(required=False, allow_null=True)


class CatalogPackageInputSerializer(serializers.Serializer):
    remote_id = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=500)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=20000)
    type = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=100)


class CatalogInputSerializer(serializers.Serializer):
    packages = CatalogPackageInputSerializer(many=True, max_length=5000)


class OrderVendorUpdateInputSerializer(serializers.Serializer):
    remote_id = serializers.CharField(required=False, max_length=255)
    test_url = serializers.URLField(required=False, max_length=2000)
    status = serializers.ChoiceField(required=False, choices=[OrderStatus.IN_PROGRESS])


class PackageRefInputSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, max_length=255)
    remote_id = serializers.CharField(required=False, max_length=255)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("id") and not attrs.get("remote_id"):
            raise serializers.ValidationError("Give the package's id or remote_id.")
        return attrs


class EmailInputSerializer(serializers.Serializer):
    type = serializers.CharField(required=False, allow_null=True, max_length=50)
    value = serializers.EmailField(max_length=320)


class CandidateInputSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, allow_null=True, max_length=255)
    remote_id = serializers.CharField(required=False, allow_null=True, max_length=255)
    first_name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    last_name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    emails = EmailInputSerializer(many=True, max_length=20)
    profile_url = serializers.URLField(required=False, allow_null=True, max_length=2000)
    passthrough = serializers.DictField(required=False, allow_null=True)

    def validate_emails(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not value:
            raise serializers.ValidationError("At least one email is required.")
        return value


class OrderCreateInputSerializer(serializers.Serializer):
    package = PackageRefInputSerializer()
    candidate = CandidateInputSerializer()
    application = serializers.DictField(required=False, allow_null=True)
    job = serializers.DictField(required=False, allow_null=True)
    requester = serializers.DictField(required=False, allow_null=True)
    results_update_url = serializers.URLField(required=False, allow_null=True, max_length=2000)
    passthrough = serializers.DictField(required=False, allow_null=True)
    deadline = serializers.DateTimeField(required=False, allow_null=True)
