"""softgarden (ats role) through the conformance kit: one simulator per account plays
softgarden, inviting through the gateway and taking its result notifications."""

from __future__ import annotations

import uuid
from typing import Any

from connectors.softgarden.connector import SoftgardenConnector
from connectors.softgarden.simulator import SoftgardenSimulator
from gateway.sdk.testing import KIT_RESULT, ConnectorKit, Harness, KitAccount, PartnerCall

CLIENT_ID, CLIENT_SECRET = "kit-sg-client", "kit-sg-notify-secret-5d1e"


class SoftgardenHarness(Harness):
    """softgarden is one tenant per simulator: each account gets its own, on its own port."""

    def start(self) -> str:
        self.sims: dict[str, tuple[SoftgardenSimulator, Any]] = {}
        self.failure = (0, 503)
        return ""  # softgarden's settings name no URL of its own

    def stop(self) -> None:
        for sim, server in self.sims.values():
            server.stop()
            sim.close()

    def sim_for(self, account: KitAccount) -> SoftgardenSimulator:
        if account.id not in self.sims:
            sim = SoftgardenSimulator(account.partner_base, account.inbound_key or "", CLIENT_ID, CLIENT_SECRET,
                                      auto_fetch=False)
            self.sims[account.id] = (sim, sim.serve())
            sim.fail_next_notifications(*self.failure)
        return self.sims[account.id][0]

    def fail_next(self, count: int, status: int = 500) -> None:
        self.failure = (count, status)
        for sim, _server in self.sims.values():
            sim.fail_next_notifications(count, status)

    def send_order(self, account: KitAccount) -> str:
        person = {"firstName": "Jane", "lastName": "Kit", "email": f"jane.{account.tag}@candidates.example"}
        return self.sim_for(account).invite(str(account.package_remote_id), person)["invitationId"]

    def assert_delivered(self, account: KitAccount, order_id: str) -> None:
        sim = self.sim_for(account)
        sim.process_pending()  # softgarden reads the result after each notification
        result = sim.results.get(order_id) or {}
        assert result.get("status") == "COMPLETED", (result, sim.notifications)
        assert result["result"]["resultUrl"] == KIT_RESULT["result_url"], result
        assert sim.violations == [], sim.violations

    def sample_call(self, route: str, account: KitAccount) -> PartnerCall | None:
        order_id = (account.order or {}).get("id", "")
        if route == "tests":
            return PartnerCall()
        if route == "invitations":
            return PartnerCall(body={
                "testId": account.package_remote_id,
                "candidate": {"id": str(uuid.uuid4()), "firstName": "Kit", "lastName": "Probe",
                              "email": "kit.probe@candidates.example"},
                "callback": self.sim_for(account).callback_url,
            })
        if route in ("invitation", "result"):
            return PartnerCall(path={"invitationId": order_id})
        return None


class TestSoftgardenKit(ConnectorKit):
    connector = SoftgardenConnector
    credentials = {"notify_client_id": CLIENT_ID, "notify_client_secret": CLIENT_SECRET}
    settings = staticmethod(lambda url: {"callback_hosts": ["127.0.0.1"]})
    harness = SoftgardenHarness
