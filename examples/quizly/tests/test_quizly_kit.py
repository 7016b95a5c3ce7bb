"""Quizly proves itself with the gateway's conformance kit: the harness plays Quizly's
side of each flow on its simulator; every test is inherited from ``ConnectorKit``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quizly_connector.connector import QuizlyConnector
from quizly_connector.simulator import QuizlySimulator

from gateway.sdk.loopback import LoopbackServer
from gateway.sdk.testing import ConnectorKit, Harness, KitAccount, PartnerCall

API_KEY = "quizly-kit-api-key-7f3a9c"


class QuizlyHarness(Harness):
    def start(self) -> str:
        self.sim = QuizlySimulator(api_key=self.credentials["api_key"])
        self.server = LoopbackServer(self.sim).start()
        self.sim.public_url = self.server.url
        return self.server.url

    def stop(self) -> None:
        self.server.stop()

    def fail_next(self, count: int, status: int = 500) -> None:
        self.sim.fail_next(count, status)

    def sample_call(self, route: str, account: KitAccount) -> PartnerCall | None:
        if route == "webhook" and account.order is not None:
            return PartnerCall(body={"event": "invitation.finished", "invitation_id": account.order["remote_id"]})
        return None

    def add_package(self) -> str:
        return self.sim.add_quiz("Kit quiz", "A quiz for the conformance kit.")

    def complete(self, account: KitAccount, order: Mapping[str, Any], *, notify: bool = True) -> None:
        self.sim.finish(order["remote_id"], 85, passed=True, notify=notify)
        if notify:
            self.sim.webhook_url = account.webhook_url
            assert self.sim.deliver_webhooks() == [200]

    def assert_cancelled(self, account: KitAccount, order: Mapping[str, Any]) -> None:
        state = self.sim.invitations[order["remote_id"]]["state"]
        assert state == "cancelled", f"Quizly shows the invitation {state!r}"


class TestQuizlyKit(ConnectorKit):
    connector = QuizlyConnector
    credentials = {"api_key": API_KEY}
    settings = staticmethod(lambda url: {"base_url": f"{url}/v1"})
    harness = QuizlyHarness
