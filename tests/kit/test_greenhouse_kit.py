"""Greenhouse (ats role) through the conformance kit: its simulator plays Greenhouse,
sending tests to the gateway and taking the result PATCH (then reading test_status)."""

from __future__ import annotations

import itertools
from typing import Any

from connectors.greenhouse.connector import GreenhouseConnector
from connectors.greenhouse.simulator import DEFAULT_HARVEST_KEY, TAKE_HOME_PREFIX, GreenhouseSimulator
from gateway.sdk.testing import KIT_RESULT, ConnectorKit, Harness, KitAccount, PartnerCall


class GreenhouseHarness(Harness):
    def start(self) -> str:
        self.sim = GreenhouseSimulator(harvest_api_keys=[DEFAULT_HARVEST_KEY])
        self.server = self.sim.serve().start()
        self._urls = itertools.count(1)
        return self.server.url

    def stop(self) -> None:
        self.server.stop()

    def fail_next(self, count: int, status: int = 500) -> None:
        self.sim.fail_next_patches(count, status)

    def _aim(self, account: KitAccount) -> None:
        self.sim.partner_base_url, self.sim.inbound_key = account.partner_base, account.inbound_key

    def send_order(self, account: KitAccount) -> str:
        self._aim(account)
        candidate = {"first_name": "Ada", "last_name": "Kit", "email": f"ada.{account.tag}@candidates.example"}
        return self.sim.send_test(str(account.package_remote_id), candidate)["partner_interview_id"]

    def assert_delivered(self, account: KitAccount, order_id: str) -> None:
        test = self.sim.wait_for_status_checks(order_id)
        assert test.follow_up_errors == [], test.follow_up_errors
        status: dict[str, Any] = test.latest_status or {}
        assert status.get("partner_status") == "complete", status
        assert status.get("partner_profile_url") == KIT_RESULT["result_url"], status
        assert self.sim.violations == [], self.sim.violations

    def sample_call(self, route: str, account: KitAccount) -> PartnerCall | None:
        order_id = (account.order or {}).get("id", "")
        if route == "list_tests":
            return PartnerCall()
        if route == "send_test":
            return PartnerCall(body={
                "partner_test_id": account.package_remote_id,
                "candidate": {"first_name": "Kit", "last_name": "Probe", "email": "kit.probe@candidates.example"},
                "url": f"{self.sim.public_url}{TAKE_HOME_PREFIX}{880000 + next(self._urls)}",
                "sent_by": "recruiter@customer.example",
            })
        if route == "test_status":
            return PartnerCall(query={"partner_interview_id": order_id})
        if route == "response_error":
            return PartnerCall(body={"api_call": "test_status", "errors": ["kit probe"],
                                     "partner_interview_id": order_id})
        return None


class TestGreenhouseKit(ConnectorKit):
    connector = GreenhouseConnector
    credentials = {"harvest_api_key": DEFAULT_HARVEST_KEY}
    settings = staticmethod(lambda url: {"callback_hosts": ["127.0.0.1"], "harvest_base_url": f"{url}/v1"})
    harness = GreenhouseHarness
