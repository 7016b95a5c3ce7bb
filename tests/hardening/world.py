"""A tenant with everything a hardening test needs to aim at: one linked account per real
connector (Greenhouse, softgarden, TestDome on its simulator), a published catalog, an
order through each, a reported result, a webhook endpoint, and every credential it holds.

Built through the public API and the partner endpoints only, so the state is exactly
what production would have. Every credential and personal value carries a random tag,
so a grep for it can only match this world.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from tests.conftest import TenantHandle, basic

TD_EMAIL = "hardening@testdome.example"
GH_BASE = "/connectors/greenhouse"
SG_BASE = "/connectors/softgarden"
SG_CALLBACK = "https://app.softgarden.io/api/rest/v3/frontend/assessmentProvider/invitationRequiresUpdate"
UNIFIED = "/unified/ats/assessments"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:2000])
    return response.json() if response.content else None


@dataclass
class World:
    """One tenant's data. ``secrets`` must never appear in any response to anyone else or
    in any log line; ``identifiers`` must never appear in another tenant's responses."""

    tag: str
    tenant: TenantHandle
    gh_account: str = ""
    gh_key: str = ""
    sg_account: str = ""
    sg_key: str = ""
    td_account: str = ""
    td_token: str = ""
    ab_account: str = ""
    ab_key: str = ""
    gh_package: str = ""
    gh_test_id: str = ""
    sg_test_id: str = ""
    td_test_id: str = ""
    gh_order: str = ""
    gh_result: str = ""
    sg_order: str = ""
    td_order: str = ""
    td_candidate: str = ""
    endpoint: str = ""
    link_token: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    identifiers: dict[str, str] = field(default_factory=dict)

    def unified(self, account_id: str) -> Any:
        return self.tenant.unified(account_id)

    def greenhouse(self) -> Client:
        return Client(HTTP_AUTHORIZATION=basic(self.gh_key))

    def softgarden(self) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.sg_key}")


def build_world(tenant: TenantHandle, *, td_url: str, td_password: str, td_test_id: int) -> World:
    """Link, publish, order and report for ``tenant``; returns what was made."""
    tag = secrets.token_hex(4)
    world = World(tag=tag, tenant=tenant)
    harvest_key = f"harvest-{secrets.token_hex(12)}"
    sg_secret = f"sg-notify-{secrets.token_hex(12)}"

    gh = tenant.link("greenhouse", label=f"Greenhouse {tag}", credentials={"harvest_api_key": harvest_key})
    world.gh_account, world.gh_key = gh["id"], gh["inbound"]["api_key"]
    sg = tenant.link(
        "softgarden",
        label=f"softgarden {tag}",
        credentials={"notify_client_id": f"sg-client-{tag}", "notify_client_secret": sg_secret},
    )
    world.sg_account, world.sg_key = sg["id"], sg["inbound"]["api_key"]
    ab = tenant.link("ashby", label=f"Ashby {tag}", credentials={"api_key": f"ashby-key-{secrets.token_hex(12)}"})
    world.ab_account, world.ab_key = ab["id"], ab["inbound"]["api_key"]
    td = tenant.link(
        "testdome",
        label=f"TestDome {tag}",
        credentials={"email": TD_EMAIL, "api_password": td_password},
        settings={"api_base_url": td_url + "/v3", "token_url": td_url + "/token"},
    )
    world.td_account = td["id"]
    world.td_token = urlsplit(td["inbound"]["webhook_url"]).path.rstrip("/").rsplit("/", 1)[-1]

    world.gh_test_id, world.sg_test_id = f"gh-test-{tag}", f"sg-test-{tag}"
    catalog = _ok(
        world.unified(world.gh_account).put(
            f"{UNIFIED}/packages",
            {"packages": [{"remote_id": world.gh_test_id, "name": f"Backend {tag}"}]},
            format="json",
        )
    )
    world.gh_package = catalog["data"][0]["id"]
    _ok(
        world.unified(world.sg_account).put(
            f"{UNIFIED}/packages",
            {"packages": [{"remote_id": world.sg_test_id, "name": f"SQL {tag}"}]},
            format="json",
        )
    )

    send_test = {
        "partner_test_id": world.gh_test_id,
        "candidate": {
            "first_name": f"Ada{tag}",
            "last_name": f"Nakamura{tag}",
            "email": f"ada.{tag}@candidates.example",
            "greenhouse_profile_url": "https://app.greenhouse.io/people/5550001?application_id=7770002",
        },
        "url": f"https://app.greenhouse.io/integrations/testing_partners/take_home_tests/{tag}",
        "sent_by": f"recruiter.{tag}@customer.example",
    }
    world.gh_order = _ok(
        world.greenhouse().post(f"{GH_BASE}/send_test", json.dumps(send_test), content_type="application/json")
    )["partner_interview_id"]
    _ok(
        world.unified(world.gh_account).patch(
            f"{UNIFIED}/orders/{world.gh_order}/result",
            {
                "score": {"label": "Points", "value": "42", "min": "0", "max": "50"},
                "result": {"value": "passed", "source_value": "PASS"},
                "result_url": f"https://vendor.example/results/{tag}",
                "summary": f"Summary {tag}",
            },
            format="json",
        )
    )
    result = _ok(world.unified(world.gh_account).get(f"{UNIFIED}/orders/{world.gh_order}/result"))
    world.gh_result = result["data"]["id"]

    invitation = {
        "testId": world.sg_test_id,
        "candidate": {
            "id": f"app-{tag}",
            "firstName": f"Jane{tag}",
            "lastName": f"Doe{tag}",
            "email": f"jane.{tag}@candidates.example",
        },
        "callback": SG_CALLBACK,
    }
    invited = _ok(
        world.softgarden().post(f"{SG_BASE}/invitations", json.dumps(invitation), content_type="application/json")
    )
    world.sg_order = invited["invitationId"]
    world.link_token = urlsplit(invited["testUrl"]).path.rsplit("/", 1)[-1]

    world.td_test_id = str(td_test_id)
    created = _ok(
        world.unified(world.td_account).post(
            f"{UNIFIED}/orders",
            {
                "package": {"remote_id": world.td_test_id},
                "candidate": {
                    "first_name": f"Max{tag}",
                    "last_name": f"Muster{tag}",
                    "emails": [{"type": "personal", "value": f"max.{tag}@candidates.example"}],
                },
            },
            format="json",
        ),
        201,
    )
    world.td_order, world.td_candidate = created["id"], created["remote_id"]

    world.endpoint = _ok(
        tenant.client.post(
            "/webhook_endpoints",
            {"url": f"https://hooks-{tag}.example/gateway", "events": ["*"]},
            format="json",
        ),
        201,
    )["id"]

    world.secrets = {
        "api_key": tenant.api_key,
        "signing_secret": tenant.signing_secret,
        "greenhouse_inbound_key": world.gh_key,
        "softgarden_inbound_key": world.sg_key,
        "testdome_webhook_token": world.td_token,
        "candidate_link_token": world.link_token,
        "harvest_api_key": harvest_key,
        "softgarden_notify_secret": sg_secret,
    }
    world.identifiers = {
        "tenant_id": tenant.id,
        "tenant_name": tenant.tenant.name,
        "tag": tag,
        "gh_account": world.gh_account,
        "sg_account": world.sg_account,
        "td_account": world.td_account,
        "gh_package": world.gh_package,
        "gh_order": world.gh_order,
        "gh_result": world.gh_result,
        "sg_order": world.sg_order,
        "td_order": world.td_order,
        "endpoint": world.endpoint,
        "gh_test_id": world.gh_test_id,
        "sg_test_id": world.sg_test_id,
        "gh_candidate_email": f"ada.{tag}@candidates.example",
        "sg_candidate_email": f"jane.{tag}@candidates.example",
        "td_candidate_email": f"max.{tag}@candidates.example",
        "endpoint_url": f"https://hooks-{tag}.example/gateway",
    }
    return world
