"""TestDome (provider role) through the conformance kit: its simulator is TestDome's API,
its candidates and its webhook."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from connectors.testdome.connector import TestDomeConnector
from connectors.testdome.simulator import TestDomeSimulator
from gateway.sdk.loopback import LoopbackServer
from gateway.sdk.testing import ConnectorKit, FaultyApp, Harness, KitAccount, PartnerCall

EMAIL, PASSWORD = "kit@testdome.example", "td-kit-api-password-4b7e"


class TestDomeHarness(Harness):
    __test__ = False  # not a pytest class, despite the name

    def start(self) -> str:
        self.sim = TestDomeSimulator(email=self.credentials["email"], api_password=self.credentials["api_password"])
        self.app = FaultyApp(self.sim)  # the token endpoint fails too, not only /v3
        self.server = LoopbackServer(self.app).start()
        return self.server.url

    def stop(self) -> None:
        self.server.stop()

    def fail_next(self, count: int, status: int = 500) -> None:
        self.app.fail_next(count, status)

    def add_package(self) -> str:
        return str(self.sim.add_test("Kit test", cutoff_score=60))

    def complete(self, account: KitAccount, order: Mapping[str, Any], *, notify: bool = True) -> None:
        self.sim.complete_candidate(int(order["remote_id"]), 85, webhook="once" if notify else "drop")
        if notify:
            self.sim.webhook_url = account.webhook_url
            delivered = self.sim.deliver_webhooks()
            assert [d.status for d in delivered] == [200], delivered

    def assert_cancelled(self, account: KitAccount, order: Mapping[str, Any]) -> None:
        status = self.sim.candidate(int(order["remote_id"]))["status"]
        assert status in ("canceled", "cancelled"), f"TestDome shows the candidate {status!r}"

    def sample_call(self, route: str, account: KitAccount) -> PartnerCall | None:
        if route != "webhook" or account.order is None:
            return None
        body = {"candidateId": str(account.order["remote_id"]), "testId": int(str(account.package_remote_id)),
                "status": "Completed"}
        return PartnerCall(body=body, headers={"X-TestDome-CorrelationId": str(uuid.uuid4())})


class TestTestDomeKit(ConnectorKit):
    connector = TestDomeConnector
    credentials = {"email": EMAIL, "api_password": PASSWORD}
    settings = staticmethod(lambda url: {"api_base_url": f"{url}/v3", "token_url": f"{url}/token"})
    harness = TestDomeHarness
