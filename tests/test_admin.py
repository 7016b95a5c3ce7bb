"""The admin: login required, API keys shown once, credentials write-only, assessment
changelists render."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from gateway.assessments.models import Package, Result
from gateway.assessments.services import order_receive, partner_error_record, result_update
from gateway.tenancy.models import Account, ApiKey
from gateway.tenancy.services import api_key_digest
from tests.conftest import basic


@pytest.fixture
def admin_client(db) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_requires_login(db):
    response = Client().get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    for path in ("/admin/tenancy/account/", "/admin/tenancy/apikey/add/", "/admin/assessments/order/"):
        response = Client().get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], path


def test_a_staff_user_without_permissions_sees_no_accounts(db, tenant, ats_account):
    user = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/tenancy/account/").status_code == 403


def test_adding_an_api_key_shows_it_once_and_stores_its_digest(admin_client, tenant):
    response = admin_client.post(
        "/admin/tenancy/apikey/add/", {"tenant": tenant.id, "name": "ci"}, follow=True
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    shown = [re.search(r"gw_[A-Za-z0-9_\-]{43}", m) for m in messages]
    raw_keys = [match.group(0) for match in shown if match]
    assert len(raw_keys) == 1
    raw_key = raw_keys[0]

    key = ApiKey.objects.get(tenant=tenant.tenant, name="ci")
    assert key.digest == api_key_digest(raw_key)
    assert key.prefix == raw_key[:10]
    stored = " ".join(str(v) for v in ApiKey.objects.filter(id=key.id).values().get().values())
    assert raw_key not in stored

    # It works, and the change page never shows it again.
    client = tenant.client.__class__()
    client.credentials(HTTP_AUTHORIZATION=basic(raw_key))
    assert client.get("/accounts").status_code == 200
    page = admin_client.get(f"/admin/tenancy/apikey/{key.id}/change/")
    assert page.status_code == 200
    assert raw_key not in page.content.decode()
    assert key.digest not in page.content.decode()


def test_the_account_change_page_never_shows_credentials(admin_client, ats_account):
    page = admin_client.get(f"/admin/tenancy/account/{ats_account['id']}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert ats_account["id"] in content
    assert "s3cret-notify" not in content
    assert ats_account["inbound"]["api_key"] not in content
    assert "stored, encrypted" in content
    listing = admin_client.get("/admin/tenancy/account/")
    assert listing.status_code == 200 and "s3cret-notify" not in listing.content.decode()


def account_form(account: Account, **overrides: str) -> dict[str, str]:
    form = {
        "tenant": account.tenant_id,
        "provider": account.provider,
        "label": account.label,
        "status": account.status,
        "origin_owner_id": account.origin_owner_id or "",
        "origin_owner_name": account.origin_owner_name or "",
        "settings": json.dumps(account.settings),
        "new_credentials": "",
    }
    form.update(overrides)
    return form


def test_new_credentials_replace_the_stored_ones(admin_client, ats_account):
    account = Account.objects.get(id=ats_account["id"])
    response = admin_client.post(
        f"/admin/tenancy/account/{account.id}/change/",
        account_form(account, label="Relabelled", new_credentials='{"notify_secret": "n3w-s3cret"}'),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    account.refresh_from_db()
    assert account.credentials == {"notify_secret": "n3w-s3cret"}
    assert account.label == "Relabelled"


def test_empty_new_credentials_keep_the_stored_ones(admin_client, ats_account):
    account = Account.objects.get(id=ats_account["id"])
    response = admin_client.post(
        f"/admin/tenancy/account/{account.id}/change/", account_form(account, label="Only the label")
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.credentials == {"notify_secret": "s3cret-notify"}
    assert account.label == "Only the label"


@pytest.mark.parametrize(
    "raw, message",
    [("{not json", "Not valid JSON."), ('{"unknown": "x"}', "credentials: Unknown field.")],
)
def test_invalid_new_credentials_are_refused(admin_client, ats_account, raw, message):
    account = Account.objects.get(id=ats_account["id"])
    response = admin_client.post(
        f"/admin/tenancy/account/{account.id}/change/", account_form(account, new_credentials=raw)
    )
    assert response.status_code == 200  # the form again, with the error
    assert message in response.content.decode()
    account.refresh_from_db()
    assert account.credentials == {"notify_secret": "s3cret-notify"}


def test_assessment_changelists_render(admin_client, ats_account):
    account = Account.objects.get(id=ats_account["id"])
    package = Package.objects.create(account=account, remote_id="js-1", name="JavaScript Senior")
    order, _ = order_receive(account=account, source_key="s1", package=package, fields={})
    result = result_update(order=order, data={"result": {"value": "passed"}, "summary": "ok"})
    assert Result.objects.count() == 1
    partner_error_record(
        account=account, order=order, api_call="test_status", errors=["partner_score is not a number"],
        report={"api_call": "test_status"},
    )

    pages = {
        "/admin/assessments/package/": "JavaScript Senior",
        "/admin/assessments/order/": order.id,
        "/admin/assessments/result/": result.id,
        "/admin/assessments/partnererrorreport/": "partner_score is not a number",
    }
    for path, expected in pages.items():
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert expected in response.content.decode(), path
    detail = admin_client.get(f"/admin/assessments/order/{order.id}/change/")
    assert detail.status_code == 200
    # Read-only: nothing can be added.
    assert admin_client.get("/admin/assessments/order/add/").status_code == 403
