"""End to end: a TestDome result reaches the order's ``results_update_url`` as a signed
``ats_assessments.updated`` event (Standard Webhooks), verified here independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from typing import Any

import pytest

from connectors.testdome.simulator import TestDomeSimulator
from gateway.delivery.models import Delivery, DeliveryKind, DeliveryStatus, EventType
from gateway.sdk.loopback import LoopbackServer

sender = pytest.importorskip("gateway.delivery.sender")


class ResultsReceiver:
    """The tenant's ATS: records what arrives at its results URL."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[dict[str, str], bytes]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        with self._lock:
            self.arrivals.append((headers, body))
        start_response("204 No Content", [])
        return []


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in headers["webhook-signature"].split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


def test_the_results_url_gets_a_signed_update(
    tenant: Any, sim: TestDomeSimulator, place_order: Any, deliver: Any
) -> None:
    receiver = ResultsReceiver()
    with LoopbackServer(receiver) as server:
        body, candidate_id = place_order(results_update_url=f"{server.url}/ats/results")
        sim.complete_candidate(candidate_id, 85)
        assert [r.status_code for r in deliver()] == [200]
        [row] = Delivery.objects.filter(order_id=body["id"], kind=DeliveryKind.RESULTS_CALLBACK)
        assert row.event_type == EventType.UPDATED
        assert sender.delivery_send(row.id) == "sent"

    [(headers, raw)] = receiver.arrivals
    assert signature_valid(tenant.signing_secret, headers, raw)
    event = json.loads(raw)
    assert event["id"] == headers["webhook-id"] == row.event_id
    assert event["type"] == "ats_assessments.updated" and event["account_id"] == row.account_id
    order = event["data"]
    assert order["id"] == body["id"] and order["status"] == "completed"
    assert order["result"]["score"]["value"] == "85"
    assert order["result"]["result"] == {"value": "passed", "source_value": "completed"}
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED
