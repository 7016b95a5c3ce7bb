"""``manage.py create_tenant`` (CONTRACT §6)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from gateway.delivery.signing import SECRET_PREFIX
from gateway.tenancy.models import ApiKey, Tenant
from gateway.tenancy.services import api_key_digest, tenant_signing_secrets
from tests.conftest import basic


@pytest.mark.django_db
def test_create_tenant_prints_one_json_line_and_the_key_works():
    out = io.StringIO()
    call_command("create_tenant", "Acme Assessments", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    created = json.loads(lines[0])
    assert set(created) == {"tenant_id", "api_key", "signing_secret"}
    assert created["signing_secret"].startswith(SECRET_PREFIX)

    tenant = Tenant.objects.get(id=created["tenant_id"])
    assert tenant.name == "Acme Assessments"
    assert tenant_signing_secrets(tenant=tenant) == [created["signing_secret"]]
    key = ApiKey.objects.get(tenant=tenant)
    assert key.digest == api_key_digest(created["api_key"])
    assert created["api_key"] not in (key.digest, key.name)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(created["api_key"]))
    response = client.get("/accounts")
    assert response.status_code == 200
    assert response.json() == {"data": [], "next": None}


@pytest.mark.django_db
def test_each_tenant_gets_its_own_secrets():
    outputs = []
    for name in ("one", "two"):
        out = io.StringIO()
        call_command("create_tenant", name, stdout=out)
        outputs.append(json.loads(out.getvalue()))
    for key in ("tenant_id", "api_key", "signing_secret"):
        assert outputs[0][key] != outputs[1][key]
