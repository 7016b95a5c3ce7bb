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
        return _RESULT_REFERENCE.to_representation(result) if result is not None else None


# --- fast rendering ---------------------------------------------------------------------
#
# The output serializers above are the reference (and the OpenAPI schema), but building
# one per object deep-copies every declared field: a list page of 25 orders spent over
# 80% of its time there (bench/, scenario 1). The functions below produce the same dicts
# with plain Python for the shapes the gateway stores (each nested object a dict or None,
# each list a list of dicts), and hand anything else to one shared serializer instance,
# so that odd stored JSON renders exactly as DRF renders it. tests/assessments/
# test_render.py holds them equal.

_STATUS_VALUES = {str(value): value for value in OrderStatus.values}


def _text(value: Any) -> str | None:
    """``CharField.to_representation`` (``str()``), with DRF's ``None`` passed through."""
    return None if value is None else str(value)


def _stamp(value: Any) -> str | None:
    return isoformat_z(value) if value else None


def _strings(value: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    return None if value is None else {key: _text(value.get(key)) for key in keys}


def _dicts(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(item, dict) for item in value))


def _order_is_plain(order: Any) -> bool:
    """Whether every stored JSON part has the shape the fast path assumes."""
    candidate, application = order.candidate, order.application
    return (
        isinstance(order.package, dict | type(None))
        and isinstance(candidate, dict | type(None))
        and (candidate is None or _dicts(candidate.get("emails")))
        and isinstance(application, dict | type(None))
        and (application is None or isinstance(application.get("application_status"), dict | type(None)))
        and isinstance(order.job, dict | type(None))
        and isinstance(order.requester, dict | type(None))
    )


def _result_is_plain(result: Any) -> bool:
    attachments = result.attachments
    return (
        isinstance(result.score, dict | type(None))
        and _dicts(attachments)
        and all(isinstance(a.get("content_type"), dict | type(None)) for a in attachments or ())
    )


_ENUM = ("value", "source_value")
_SCORE = ("label", "value", "min", "max")
_PACKAGE = ("id", "remote_id", "name", "description")
_EMAIL = ("type", "value")
_REQUESTER = ("user_id", "remote_user_id", "first_name", "last_name", "email", "role")


def result_representation(result: Any) -> dict[str, Any]:
    """What ``ResultOutputSerializer(result).data`` is, without building a serializer."""
    if not _result_is_plain(result):
        return _RESULT_REFERENCE.to_representation(result)
    attachments = result.attachments
    return {
        "id": _text(result.id),
        "order_id": _text(result.order_id),
        "score": _strings(result.score, _SCORE),
        "result": (
            None if result.result_value is None and result.result_source_value is None
            else {"value": result.result_value, "source_value": result.result_source_value}
        ),
        "result_url": _text(result.result_url),
        "summary": _text(result.summary),
        "start_date": _stamp(result.start_date),
        "submission_date": _stamp(result.submission_date),
        "attachments": None if attachments is None else [
            {"url": _text(a.get("url")), "content_type": _strings(a.get("content_type"), _ENUM)}
            for a in attachments
        ],
        "updated_at": _stamp(result.updated_at),
    }


def order_representation(order: Any) -> dict[str, Any]:
    """What ``OrderOutputSerializer(order).data`` is, without building a serializer."""
    if not _order_is_plain(order):
        return _ORDER_REFERENCE.to_representation(order)
    candidate, application, job = order.candidate, order.application, order.job
    result = getattr(order, "result", None) if not order.is_erased else None
    status = order.status
    return {
        "id": _text(order.id),
        "remote_id": _text(order.remote_id),
        "status": status if status in ("", None) else _STATUS_VALUES.get(str(status), status),
        "package": _strings(order.package, _PACKAGE),
        "candidate": None if candidate is None else {
            "id": _text(candidate.get("id")),
            "remote_id": _text(candidate.get("remote_id")),
            "first_name": _text(candidate.get("first_name")),
            "last_name": _text(candidate.get("last_name")),
            "emails": None if candidate.get("emails") is None else [
                _strings(email, _EMAIL) for email in candidate["emails"]
            ],
            "profile_url": _text(candidate.get("profile_url")),
            "passthrough": candidate.get("passthrough"),
        },
        "application": None if application is None else {
            "id": _text(application.get("id")),
            "remote_id": _text(application.get("remote_id")),
            "application_status": _strings(application.get("application_status"), _ENUM),
            "passthrough": application.get("passthrough"),
        },
        "job": None if job is None else {
            "id": _text(job.get("id")),
            "remote_id": _text(job.get("remote_id")),
            "title": _text(job.get("title")),
            "hiring_team": job.get("hiring_team"),
            "passthrough": job.get("passthrough"),
        },
        "requester": _strings(order.requester, _REQUESTER),
        "results_update_url": _text(order.results_update_url),
        "test_url": _text(order.test_url),
        "passthrough": order.passthrough,
        "result": None if result is None else result_representation(result),
        "created_at": _stamp(order.created_at),
        "updated_at": _stamp(order.updated_at),
    }


def package_representation(package: Any) -> dict[str, Any]:
    """What ``PackageOutputSerializer(package).data`` is, without building a serializer."""
    return {
        "id": _text(package.id),
        "remote_id": _text(package.remote_id),
        "name": _text(package.name),
        "description": _text(package.description),
        "type": _text(package.type),
        "updated_at": _stamp(package.updated_at),
    }


# One instance each, built once: rendering with a shared serializer is safe (it keeps no
# per-object state when ``to_representation`` is called directly) and skips the copies.
_RESULT_REFERENCE = ResultOutputSerializer()
_ORDER_REFERENCE = OrderOutputSerializer()


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
