"""Scenario 5: the partner endpoints the ATSs call, each request creating an order.

Greenhouse ``send_test`` (Basic inbound key, a new ``url`` each time) and softgarden
``invitations`` (Bearer inbound key, a new ``candidate.id`` each time). Their tenant has
no webhook endpoints, so the numbers are the endpoints' own.
"""

from __future__ import annotations

import base64
import itertools
import json

from bench import fixtures
from bench.context import Bench
from bench.load import Call


def setup(bench: Bench) -> None:
    keys = fixtures.tenant_new("bench partners")
    hosts = {"callback_hosts": ["127.0.0.1"]}
    greenhouse, gh_inbound = fixtures.account_new(keys.tenant_id, "greenhouse", settings=hosts)
    softgarden, sg_inbound = fixtures.account_new(keys.tenant_id, "softgarden",
                                                  credentials={"notify_client_id": "bench"}, settings=hosts)
    fixtures.catalog_publish(greenhouse, 3)
    fixtures.catalog_publish(softgarden, 3)
    bench.data["partner"] = {"greenhouse_key": gh_inbound["api_key"], "softgarden_key": sg_inbound["api_key"]}


def run(bench: Bench) -> dict:
    partner = bench.data["partner"]
    callback = bench.stack.receiver_url
    gh_auth = "Basic " + base64.b64encode(f"{partner['greenhouse_key']}:".encode()).decode()
    sg_auth = f"Bearer {partner['softgarden_key']}"

    def send_test(i: int, run_id: str) -> Call:
        body = {
            "partner_test_id": "test-1",
            "candidate": {"first_name": "Grace", "last_name": f"Hopper {i}", "email": f"grace.{i}@example.com",
                          "greenhouse_profile_url": f"https://app.greenhouse.io/people/{i}?application_id={i}"},
            "url": f"{callback}/greenhouse/{run_id}/{i}",
            "sent_by": "recruiter@example.com",
        }
        return Call("POST", "/connectors/greenhouse/send_test",
                    {"Authorization": gh_auth, "Content-Type": "application/json"}, json.dumps(body).encode())

    def invitation(i: int, run_id: str) -> Call:
        body = {"testId": "test-1", "callback": f"{callback}/softgarden",
                "candidate": {"id": f"{run_id}-{i}", "firstName": "Alan", "lastName": f"Turing {i}",
                              "email": f"alan.{i}@example.com"}}
        return Call("POST", "/connectors/softgarden/invitations",
                    {"Authorization": sg_auth, "Content-Type": "application/json"}, json.dumps(body).encode())

    bench.warm(lambda i: send_test(i, "warm"))
    bench.warm(lambda i: invitation(i, "warm"))
    # Every measured request creates a new order: rounds must not repeat a key.
    serial = itertools.count()
    calls = {
        "greenhouse_send_test": lambda i: send_test(next(serial), "m"),
        "softgarden_invitations": lambda i: invitation(next(serial), "m"),
    }
    measured = bench.compare(calls)
    return {name: result.summary() for name, result in measured.items()} | {"concurrency": bench.sizes.concurrency}
