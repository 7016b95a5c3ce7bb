"""softgarden end to end over real loopback HTTP: the gateway on pytest-django's
``live_server``, softgarden played by its simulator (``connectors.softgarden.simulator``),
which validates every answer as a strict deserialiser would."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from connectors.softgarden.simulator import SoftgardenSimulator
from gateway.assessments.models import Order, Result
from gateway.delivery.models import Delivery, DeliveryKind, DeliveryStatus
from tests.conftest import TenantHandle, basic

CLIENT_ID, CLIENT_SECRET = "sg-e2e-client", "sg-e2e-secret"
CANDIDATE = {
    "id": "ff6f133b-0000-4b4e-b141-000000000000",
    "firstName": "Jane",
    "lastName": "Doe",
    "email": "jane.doe@example.com",
}
REPORT = {
    "score": {"value": 78, "max": 100},
    "result": {"value": "passed", "source_value": "PASS"},
    "result_url": "https://vendor.example.com/results/abc",
    "submission_date": "2026-03-26T10:00:00Z",
    "passthrough": {"share_url": "https://vendor.example.com/share/xyz"},
}


@dataclass
class Flow:
    """The gateway, a vendor tenant with a linked softgarden account, and softgarden."""

    base_url: str
    tenant: TenantHandle
    account_id: str
    simulator: SoftgardenSimulator

    def unified(self, method: str, path: str, body: Any = None) -> requests.Response:
        """The tenant's own calls, over HTTP like the softgarden ones."""
        with requests.Session() as session:
            session.trust_env = False
            return session.request(
                method,
                f"{self.base_url}/unified/ats/assessments{path}",
                json=body,
                timeout=10,
                headers={"Authorization": basic(self.tenant.api_key), "x-account-id": self.account_id},
            )


@pytest.fixture
def flow(live_server: Any, transactional_db: None, settings: Any, tenant: TenantHandle) -> Iterator[Flow]:
    settings.GATEWAY_PUBLIC_URL = live_server.url  # so the candidate link is reachable too
    account = tenant.link(
        "softgarden",
        label="softgarden e2e",
        settings={"callback_hosts": ["127.0.0.1"]},
        credentials={"notify_client_id": CLIENT_ID, "notify_client_secret": CLIENT_SECRET},
    )
    simulator = SoftgardenSimulator(
        f"{live_server.url}/connectors/softgarden",
        account["inbound"]["api_key"],
        CLIENT_ID,
        CLIENT_SECRET,
        auto_fetch=False,
        auto_delete=True,
    )
    server = simulator.serve()
    flow = Flow(base_url=live_server.url, tenant=tenant, account_id=account["id"], simulator=simulator)
    published = flow.unified(
        "PUT",
        "/packages",
        {
            "packages": [
                {"remote_id": "py-senior", "name": "Python (Senior)"},
                {"remote_id": "sql", "name": "SQL Basics"},
            ]
        },
    )
    assert published.status_code == 200, published.text
    try:
        yield flow
    finally:
        server.stop()
        simulator.close()


def invite_and_report(flow: Flow) -> tuple[str, Delivery]:
    """softgarden picks a test and invites; the vendor attaches its link and reports."""
    simulator = flow.simulator
    assert simulator.get_tests() == [
        {"id": "py-senior", "name": "Python (Senior)"},
        {"id": "sql", "name": "SQL Basics"},
    ]
    invitation = simulator.invite("py-senior", CANDIDATE)
    invitation_id, link = invitation["invitationId"], invitation["testUrl"]
    assert link.startswith(f"{flow.base_url}/t/")
    assert simulator.invite("py-senior", CANDIDATE) == invitation  # softgarden's retry: the same invitation

    pending = simulator.get_result(invitation_id)
    assert pending == {"status": "PENDING", "result": {"resultUrl": link}}
    page = requests.get(link, allow_redirects=False, timeout=10)
    assert page.status_code == 200 and "Your test is being prepared" in page.text

    assert (
        flow.unified(
            "PATCH", f"/orders/{invitation_id}", {"test_url": "https://vendor.example.com/start/abc"}
        ).status_code
        == 200
    )
    redirect = requests.get(link, allow_redirects=False, timeout=10)
    assert (redirect.status_code, redirect.headers["Location"]) == (302, "https://vendor.example.com/start/abc")

    reported = flow.unified("PATCH", f"/orders/{invitation_id}/result", REPORT)
    assert reported.status_code == 200, reported.text
    delivery = Delivery.objects.get(order_id=invitation_id, kind=DeliveryKind.PARTNER)
    return invitation_id, delivery


def test_invitation_to_a_queued_notification(flow: Flow) -> None:
    invitation_id, delivery = invite_and_report(flow)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.account_id == flow.account_id
    assert flow.simulator.get_result(invitation_id)["status"] == "COMPLETED"
    assert flow.simulator.violations == []


def test_notification_fetch_and_deletion(flow: Flow) -> None:
    sender = pytest.importorskip("gateway.delivery.sender")
    if not hasattr(sender, "delivery_send"):
        pytest.skip("gateway.delivery.sender has no delivery_send yet")
    simulator = flow.simulator
    invitation_id, delivery = invite_and_report(flow)

    sender.delivery_send(delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED, (delivery.last_status_code, delivery.last_error)
    [note] = simulator.notifications
    assert note.status == 204
    assert note.body == {"invitationId": invitation_id}
    assert note.headers["Content-Type"].startswith("application/json")
    scheme, _, token = note.headers["Authorization"].partition(" ")
    assert (scheme, base64.b64decode(token).decode()) == ("Basic", f"{CLIENT_ID}:{CLIENT_SECRET}")

    [fetch] = simulator.process_pending()  # softgarden pulls after the notification, then erases
    assert fetch.status == 200, fetch.error
    assert simulator.results[invitation_id] == {
        "status": "COMPLETED",
        "completionTime": "2026-03-26T10:00:00Z",
        "result": {
            "resultUrl": "https://vendor.example.com/results/abc",
            "shareUrl": "https://vendor.example.com/share/xyz",
            "score": "78",
        },
    }
    [deletion] = simulator.deletions
    assert deletion.status == 204, deletion.error
    assert simulator.violations == []

    assert simulator.request("GET", f"/results/{invitation_id}").status_code == 404
    assert simulator.request("DELETE", f"/invitations/{invitation_id}").status_code == 204
    order = Order.objects.get(pk=invitation_id)
    assert order.erased_at is not None
    assert not Result.objects.filter(order_id=invitation_id).exists()
    stored = json.dumps({f.attname: str(getattr(order, f.attname)) for f in Order._meta.concrete_fields})
    for personal in (CANDIDATE["id"], "Jane", "Doe", CANDIDATE["email"], "/assessments/notify", "vendor.example.com"):
        assert personal not in stored, personal

    # Nothing more goes to softgarden about an erased invitation, even if the vendor tries.
    assert flow.unified("PATCH", f"/orders/{invitation_id}/result", REPORT).status_code == 409
    assert len(simulator.notifications) == 1
