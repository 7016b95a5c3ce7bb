"""Ashby (ats role) through the conformance kit: its simulator plays Ashby, starting
assessments on the gateway's RPCs and taking ``assessment.update``."""

from __future__ import annotations

from connectors.ashby.connector import AshbyConnector
from connectors.ashby.simulator import AshbySimulator
from gateway.sdk.loopback import LoopbackServer
from gateway.sdk.testing import ConnectorKit, FaultyApp, Harness, KitAccount, PartnerCall

API_KEY = "ashby-kit-customer-key-93c1"


class AshbyHarness(Harness):
    def start(self) -> str:
        self.sim = AshbySimulator(api_key=self.credentials["api_key"])
        self.app = FaultyApp(self.sim)
        self.server = LoopbackServer(self.app).start()
        self.sim.public_url = self.server.url
        self.started: dict[str, tuple[str, str]] = {}  # account id -> (type id, assessment id)
        return self.server.url

    def stop(self) -> None:
        self.server.stop()

    def fail_next(self, count: int, status: int = 500) -> None:
        self.app.fail_next(count, status)

    def send_order(self, account: KitAccount) -> str:
        self.sim.partner_base_url, self.sim.inbound_key = account.partner_base + "/", account.inbound_key or ""
        types = {item["name"]: item["assessment_type_id"] for item in self.sim.list_assessments()}
        type_id = types[f"Kit test {account.tag}"]
        assessment_id = self.sim.start(type_id)
        self.started[account.id] = (type_id, assessment_id)
        orders = account.unified().get("/unified/ats/assessments/orders").json()["data"]
        [order] = [o for o in orders if (o["passthrough"] or {}).get("assessment_id") == assessment_id]
        return order["id"]

    def assert_delivered(self, account: KitAccount, order_id: str) -> None:
        _type_id, assessment_id = self.started[account.id]
        done = self.sim.wait_for(lambda a: a.completed, assessment_id)
        assert done.completed, done
        assert self.sim.violations == [], self.sim.violations

    def sample_call(self, route: str, account: KitAccount) -> PartnerCall | None:
        type_id, assessment_id = self.started.get(account.id, ("", ""))
        if route == "assessment.list":
            return PartnerCall(body={})
        if route == "assessment.start":
            return PartnerCall(body=self.sim.start_body(type_id))
        if route == "assessment.cancel":
            return PartnerCall(body={"assessment_id": assessment_id})
        return None


class TestAshbyKit(ConnectorKit):
    connector = AshbyConnector
    credentials = {"api_key": API_KEY}
    settings = staticmethod(lambda url: {"api_base_url": url, "callback_hosts": ["127.0.0.1"]})
    harness = AshbyHarness
