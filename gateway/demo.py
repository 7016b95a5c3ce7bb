"""``python manage.py demo``: the whole gateway on one machine with nothing installed.

Starts the gateway (embedded mode: SQLite, in-process tasks and sweeper), the three
partner simulators and a small "tenant app" that receives signed events, then walks
through each partner flow over real loopback HTTP, narrating as it goes, and keeps
serving so that the API, the docs and the admin can be explored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import standardwebhooks
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command

from gateway.sdk.loopback import LoopbackServer
from gateway.tenancy.services import tenant_create

say = print


@dataclass
class TenantApp:
    """The tenant's own server: verifies each event's signature and prints it."""

    signing_secret: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            name: environ.get("HTTP_" + name.upper().replace("-", "_"), "")
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        try:
            standardwebhooks.Webhook(self.signing_secret).verify(body, headers)
            verified = "signature verified"
        except standardwebhooks.WebhookVerificationError:
            verified = "BAD SIGNATURE"
        event = json.loads(body)
        self.events.append(event)
        data = event.get("data") or {}
        say(f"    tenant app ← {event['type']} for {data.get('id')} "
            f"(status {data.get('status')}, {verified}, {environ['PATH_INFO']})")
        start_response("204 No Content", [])
        return [b""]

    def wait_for(self, event_type: str, order_id: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event["type"] == event_type and (event.get("data") or {}).get("id") == order_id:
                    return event
            time.sleep(0.1)
        raise TimeoutError(f"{event_type} for {order_id} did not arrive")


class Api:
    """The tenant calling the unified API over HTTP, as any client would."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = (api_key, "")

    def call(self, method: str, path: str, account: str | None = None, **kwargs: Any) -> Any:
        headers = {"x-account-id": account} if account else {}
        response = self.session.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.text}")
        return response.json() if response.content else None


def _step(text: str) -> None:
    say(f"  • {text}")


def greenhouse_flow(api: Api, gateway_url: str, tenant_app: TenantApp) -> None:
    from connectors.greenhouse.simulator import GreenhouseSimulator

    say("\nGreenhouse (ats role): Greenhouse sends the test, the vendor reports the result")
    account = api.call("POST", "/accounts", json={
        "provider": "greenhouse", "label": "Demo on Greenhouse",
        "settings": {"callback_hosts": ["127.0.0.1"]},
    })
    key = account["inbound"]["api_key"]
    _step(f"linked account {account['id']}; Greenhouse gets the key and {account['inbound']['urls']}")
    api.call("PUT", "/unified/ats/assessments/packages", account["id"], json={"packages": [
        {"remote_id": "py-senior", "name": "Senior Python"}, {"remote_id": "sql-101", "name": "SQL basics"}]})
    simulator = GreenhouseSimulator(partner_base_url=f"{gateway_url}/connectors/greenhouse", inbound_key=key)
    server = simulator.serve("127.0.0.1", 0).start()
    tests = simulator.list_tests()
    _step(f"Greenhouse list_tests → {tests}")
    sent = simulator.send_test(
        "py-senior", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    )
    order_id = sent["partner_interview_id"]
    _step(f"Greenhouse send_test → order {order_id}")
    tenant_app.wait_for("ats_assessments.created", order_id)
    api.call("PATCH", f"/unified/ats/assessments/orders/{order_id}/result", account["id"], json={
        "score": {"value": 87, "min": 0, "max": 100}, "result": {"value": "passed", "source_value": "PASS"},
        "result_url": "https://vendor.example/reports/4711", "summary": "Strong on async code",
    })
    _step("vendor PATCHed the result; the gateway PATCHes Greenhouse from the outbox")
    simulator.wait_for_status_checks(order_id, count=1, timeout=20)
    status = simulator.test_for_interview(order_id).latest_status
    _step(f"Greenhouse received the PATCH and read test_status → {status}")
    server.stop()


def softgarden_flow(api: Api, gateway_url: str, tenant_app: TenantApp) -> None:
    from connectors.softgarden.simulator import SoftgardenSimulator

    say("\nsoftgarden (ats role): invitation, candidate link, notification, fetch, deletion")
    account = api.call("POST", "/accounts", json={
        "provider": "softgarden", "label": "Demo on softgarden",
        "credentials": {"notify_client_id": "demo-client", "notify_client_secret": "demo-secret"},
        "settings": {"callback_hosts": ["127.0.0.1"]},
    })
    key = account["inbound"]["api_key"]
    _step(f"linked account {account['id']}; softgarden gets the key and {account['inbound']['urls']}")
    api.call("PUT", "/unified/ats/assessments/packages", account["id"], json={"packages": [
        {"remote_id": "java-mid", "name": "Java (mid-level)"}]})
    simulator = SoftgardenSimulator(
        f"{gateway_url}/connectors/softgarden", key, "demo-client", "demo-secret", auto_delete=True
    )
    server = simulator.serve("127.0.0.1", 0)
    _step(f"softgarden GET tests → {simulator.get_tests()}")
    invitation = simulator.invite("java-mid", {
        "id": "cand-42", "firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com"})
    order_id = invitation["invitationId"]
    _step(f"softgarden POST invitations → {order_id}, candidate link {invitation['testUrl']}")
    page = requests.get(invitation["testUrl"], allow_redirects=False, timeout=10)
    _step(f"the candidate opens the link before the vendor is ready → {page.status_code} 'being prepared'")
    api.call("PATCH", f"/unified/ats/assessments/orders/{order_id}", account["id"], json={
        "remote_id": "vendor-991", "test_url": "https://vendor.example/take/991", "status": "in_progress"})
    page = requests.get(invitation["testUrl"], allow_redirects=False, timeout=10)
    _step(f"after the vendor sets its test URL the link redirects → {page.status_code} {page.headers.get('Location')}")
    api.call("PATCH", f"/unified/ats/assessments/orders/{order_id}/result", account["id"], json={
        "score": {"value": "78", "max": "100"}, "result": {"value": "completed", "source_value": "DONE"},
        "result_url": "https://vendor.example/reports/991"})
    _step("vendor PATCHed the result; the gateway notifies softgarden")
    deadline = time.monotonic() + 20
    while not simulator.deletions and time.monotonic() < deadline:
        time.sleep(0.2)
    simulator.wait_idle(10)
    _step(f"softgarden was notified, fetched {simulator.results.get(order_id, {}).get('status')} and deleted "
          f"the candidate's data ({len(simulator.deletions)} deletion)")
    server.stop()


def testdome_flow(api: Api, tenant_app: TenantApp, tenant_app_url: str) -> None:
    from connectors.testdome.simulator import TestDomeSimulator

    say("\nTestDome (provider role): the tenant orders a test, TestDome reports back")
    simulator = TestDomeSimulator(email="demo@example.com", api_password="demo-password")
    simulator.seed_tests(12)
    server = LoopbackServer(simulator).start()
    account = api.call("POST", "/accounts", json={
        "provider": "testdome", "label": "Demo on TestDome",
        "credentials": {"email": "demo@example.com", "api_password": "demo-password"},
        "settings": {"api_base_url": f"{server.url}/v3", "token_url": f"{server.url}/token"},
    })
    simulator.webhook_url = account["inbound"]["webhook_url"]
    _step(f"linked account {account['id']}; TestDome posts webhooks to {simulator.webhook_url}")
    packages = api.call("GET", "/unified/ats/assessments/packages?page_size=5", account["id"])["data"]
    _step(f"packages, read live from TestDome: {[p['name'] for p in packages]}")
    created = api.call("POST", "/unified/ats/assessments/orders", account["id"], json={
        "package": {"id": packages[0]["id"]},
        "candidate": {"first_name": "Ada", "last_name": "Lovelace", "emails": [{"value": "ada@example.com"}]},
        "results_update_url": f"{tenant_app_url}/results",
    })
    order_id = created["id"]
    _step(f"ordered: {order_id} (TestDome candidate {created['remote_id']})")
    simulator.complete_candidate(int(created["remote_id"]), score=91)
    simulator.deliver_webhooks()
    _step("the candidate finished; TestDome sent its webhook; the gateway re-reads the result")
    event = tenant_app.wait_for("ats_assessments.updated", order_id)
    result = event["data"]["result"] or {}
    _step(f"signed callback at results_update_url: score {result.get('score')}, {result.get('result')}")
    server.stop()


def run(*, port: int) -> None:
    call_command("migrate", verbosity=0)
    gateway_url = f"http://127.0.0.1:{port}"
    settings.GATEWAY_PUBLIC_URL = gateway_url
    if "127.0.0.1" not in settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS:
        settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS = [*settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS, "127.0.0.1"]
    from gateway.wsgi import application  # also starts the in-process scheduler

    gateway = LoopbackServer(StaticFilesHandler(application), port=port).start()

    created = tenant_create(name="Demo tenant")
    tenant_app = TenantApp(created.signing_secret)
    receiver = LoopbackServer(tenant_app).start()
    api = Api(gateway_url, created.api_key)
    api.call("POST", "/webhook_endpoints", json={"url": f"{receiver.url}/events", "events": ["*"]})

    say(f"Gateway on {gateway_url} (embedded mode: SQLite under var/, in-process tasks)")
    say(f"Demo tenant {created.tenant.id}: API key {created.api_key}")
    for flow in (
        lambda: greenhouse_flow(api, gateway_url, tenant_app),
        lambda: softgarden_flow(api, gateway_url, tenant_app),
        lambda: testdome_flow(api, tenant_app, receiver.url),
    ):
        try:
            flow()
        except Exception as exc:  # keep serving: the rest of the demo still works
            say(f"  ! this flow stopped: {exc}")

    say(f"\nAll set. Try: curl -u '{created.api_key}:' {gateway_url}/accounts")
    say(f"API docs: {gateway_url}/docs · health: {gateway_url}/health · Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        gateway.stop()
