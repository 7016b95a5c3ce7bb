"""Admin for tenants, API keys and accounts. Secrets are write-only here: a new API key
is shown once, in the confirmation message; credentials can be replaced, never read."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from gateway.api.errors import ValidationFailed
from gateway.tenancy.models import Account, ApiKey, Tenant
from gateway.tenancy.schemas import validate_object
from gateway.tenancy.services import api_key_mint, connector_for_provider


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "created_at")
    search_fields = ("name", "id")
    fields = ("id", "name", "created_at")
    readonly_fields = ("id", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tenants come from `create_tenant`, which also mints the secrets


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("tenant", "name")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "tenant", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "tenant__name")
    readonly_fields = ("id", "prefix", "created_at")
    fields = ("id", "tenant", "name", "prefix", "created_at", "revoked_at")

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
            kwargs["fields"] = ("tenant", "name")
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else (*self.readonly_fields, "tenant")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("tenant", "name") if obj is None else self.fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            raw_key = api_key_mint(obj)
            super().save_model(request, obj, form, change)
            messages.warning(
                request, f"The new API key is {raw_key} — copy it now, it will not be shown again."
            )
            return
        super().save_model(request, obj, form, change)


class AccountAdminForm(forms.ModelForm):
    new_credentials = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="JSON object. Leave empty to keep the stored credentials, which are never shown.",
    )

    class Meta:
        model = Account
        fields = ("tenant", "provider", "label", "status", "origin_owner_id", "origin_owner_name", "settings")

    def clean_new_credentials(self) -> Any:
        raw = self.cleaned_data.get("new_credentials", "").strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError("Not valid JSON.") from exc
        provider = self.cleaned_data.get("provider") or (self.instance and self.instance.provider)
        try:
            return validate_object(
                connector_for_provider(provider).credentials_schema, value, field="credentials"
            )
        except ValidationFailed as exc:
            raise forms.ValidationError([f"{e['field']}: {e['message']}" for e in exc.errors]) from exc


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    list_display = ("id", "provider", "label", "tenant", "status", "created_at", "deleted_at")
    list_filter = ("provider", "status")
    search_fields = ("id", "label", "tenant__name", "origin_owner_id")
    readonly_fields = ("id", "credentials_stored", "created_at", "updated_at", "deleted_at")

    @admin.display(description="Credentials")
    def credentials_stored(self, obj: Account) -> str:
        return "•••••• (stored, encrypted)" if obj.credentials else "none"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are linked through the API, which also mints inbound keys

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        new_credentials = form.cleaned_data.get("new_credentials")
        if new_credentials is not None:
            obj.credentials = new_credentials
        super().save_model(request, obj, form, change)
