"""The delivery pipeline end to end: outbox rows written by the services, sent over real
loopback HTTP to a receiver, signed, retried, ordered, cancelled, swept and retried from
the admin (CONTRACT §5).

Most tests run on the plain ``db`` fixture and call the sender themselves: the rows are
written through the API or the services, and ``transaction.on_commit`` hooks (the
dispatch to workers) do not run inside the test transaction, which is exactly the "task
never enqueued" case the sweeper exists for. The embedded-runner test uses a real
transaction so that the after-commit hook fires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import override_settings
from standardwebhooks import Webhook

from gateway.assessments.models import Order, Package
from gateway.assessments.services import order_receive
from gateway.delivery.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryKind,
    DeliveryStatus,
    EventType,
)
from gateway.delivery.sender import DrainReport, deliveries_dispatch_due, deliveries_drain, delivery_send
from gateway.delivery.services import event_emit
from gateway.outbound import client_from_settings
from gateway.sdk import OutboundRequestSpec
from gateway.sdk.loopback import LoopbackServer
from gateway.tenancy.models import Account
from gateway.timefmt import parse_timestamp, utcnow
from tests.fakes import FakeAtsConnector

ENVELOPE_KEYS = {"id", "type", "created_at", "account_id", "data"}


# --- the receiver -----------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes = b'{"ok": true}'


@dataclass
class Arrival:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A WSGI tenant/ATS endpoint that records every request and answers from a script.

    ``script(path, 503, Reply(429, {"Retry-After": "120"}), ...)`` queues the answers for
    ``path``, used in order; once a path's script is spent it answers 200.
    """

    def __init__(self) -> None:
        self.url = ""
        self.arrivals: list[Arrival] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()

    def script(self, path: str, *replies: int | Reply) -> None:
        with self._lock:
            self._scripts.setdefault(path, []).extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    def at(self, path: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.path == path]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        path = environ["PATH_INFO"]
        with self._lock:
            self.arrivals.append(Arrival(environ["REQUEST_METHOD"], path, headers, body, time.monotonic()))
            queue = self._scripts.get(path)
            reply = queue.pop(0) if queue else Reply()
        if reply.delay:
            time.sleep(reply.delay)
        status = f"{reply.status} {HTTPStatus(reply.status).phrase}"
        start_response(status, [("Content-Type", "application/json"), *reply.headers.items()])
        return [reply.body]


@pytest.fixture
def receiver() -> Any:
    app = Receiver()
    with LoopbackServer(app) as server:
        app.url = server.url
        yield app


@pytest.fixture(autouse=True)
def fresh_outbound_client() -> Any:
    """Tests override the outbound settings; the client is built from them once."""
    client_from_settings.cache_clear()
    yield
    client_from_settings.cache_clear()


@pytest.fixture(autouse=True)
def quiet_partner(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake ATS notifies https://hooks.ats.example (a DNS lookup off this machine)
    when its partner row is sent; by default it has nothing to send. Partner tests
    replace this with a request to the receiver."""
    monkeypatch.setattr(FakeAtsConnector, "deliver_result", lambda self, ctx, order: None)


# --- helpers ----------------------------------------------------------------------------


def signatures_matching(secret: str, headers: dict[str, str], body: bytes) -> list[int]:
    """Indexes of the ``webhook-signature`` entries that ``secret`` produced, computed
    from the Standard Webhooks spec without the library the gateway signs with."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    found = []
    for index, entry in enumerate(headers["webhook-signature"].split(" ")):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            found.append(index)
    return found


def score(value: Any, label: str = "Score") -> dict[str, Any]:
    return {
        "score": {"label": label, "value": str(value), "min": "0", "max": "100"},
        "result": {"value": "completed", "source_value": "done"},
    }


@pytest.fixture
def make_ats_order(tenant: Any, ats_account: dict[str, Any]) -> Any:
    """An order the ATS sent (as Greenhouse's send_test would), on a published package."""
    api = tenant.unified(ats_account["id"])
    response = api.put(
        "/unified/ats/assessments/packages",
        {"packages": [{"remote_id": "t1", "name": "Logic test"}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    account = Account.objects.get(pk=ats_account["id"])
    package = Package.objects.get(account=account, remote_id="t1")

    def factory(key: str = "order-1") -> Order:
        order, created = order_receive(
            account=account,
            source_key=key,
            package=package,
            fields={
                "candidate": {
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "emails": [{"type": "personal", "value": "ada@example.com"}],
                }
            },
        )
        assert created
        return order

    return factory


@pytest.fixture
def ats(tenant: Any, ats_account: dict[str, Any]) -> Any:
    return tenant.unified(ats_account["id"])


def endpoint_create(tenant: Any, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = tenant.client.post("/webhook_endpoints", {"url": url, "events": events or ["*"]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def result_patch(api: Any, order_id: str, body: dict[str, Any]) -> None:
    response = api.patch(f"/unified/ats/assessments/orders/{order_id}/result", body, format="json")
    assert response.status_code == 200, response.content


def webhook_rows(order: Order, event_type: str = EventType.UPDATED) -> list[Delivery]:
    return list(Delivery.objects.filter(order=order, kind=DeliveryKind.WEBHOOK, event_type=event_type).order_by("id"))


def bare_row(tenant: Any, order: Order, url: str, **extra: Any) -> Delivery:
    """An outbox row written directly (targets the API would refuse, leases, …)."""
    fields = dict(
        tenant_id=tenant.id,
        account_id=order.account_id,
        kind=DeliveryKind.WEBHOOK,
        url=url,
        event_type=EventType.UPDATED,
        order=order,
        order_version=order.version,
        next_attempt_at=utcnow(),
    )
    fields.update(extra)
    return Delivery.objects.create(**fields)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- 1. a signed webhook ----------------------------------------------------------------


def test_result_patch_delivers_a_signed_envelope(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    endpoint = endpoint_create(tenant, receiver.url + "/hooks")
    result_patch(ats, order.id, score(87))

    [row] = webhook_rows(order)
    assert row.endpoint_id == endpoint["id"] and row.url == receiver.url + "/hooks"
    assert row.status == DeliveryStatus.PENDING and row.attempts == 0
    assert row.event_id.startswith("evt_")

    assert delivery_send(row.id) == "sent"
    [arrival] = receiver.arrivals
    assert arrival.method == "POST" and arrival.path == "/hooks"
    headers = arrival.headers
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == row.event_id
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["webhook-signature"].startswith("v1,")

    body = arrival.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["id"] == row.event_id
    assert body["type"] == "ats_assessments.updated"
    assert body["account_id"] == order.account_id
    assert parse_timestamp(body["created_at"]) is not None and body["created_at"].endswith("Z")
    data = body["data"]
    assert data["id"] == order.id and data["status"] == "completed"
    assert data["candidate"]["first_name"] == "Ada"
    assert data["result"]["order_id"] == order.id
    assert data["result"]["score"] == {"label": "Score", "value": "87", "min": "0", "max": "100"}
    assert data["result"]["result"] == {"value": "completed", "source_value": "done"}
    # The body is the order as the API shows it.
    shown = ats.get(f"/unified/ats/assessments/orders/{order.id}").json()["data"]
    assert data == shown

    assert signatures_matching(tenant.signing_secret, headers, arrival.body) == [0]
    assert signatures_matching("whsec_" + base64.b64encode(b"x" * 24).decode(), headers, arrival.body) == []
    assert Webhook(tenant.signing_secret).verify(arrival.body, headers) == body

    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED and row.attempts == 1
    assert row.last_status_code == 200 and row.delivered_at is not None
    [attempt] = row.attempt_log.all()
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")


# --- 2-4. retries -----------------------------------------------------------------------


@override_settings(GATEWAY_DELIVERY_BACKOFF=[0, 0, 0])
def test_failures_are_retried_with_the_same_webhook_id(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    endpoint_create(tenant, receiver.url + "/hooks")
    receiver.script("/hooks", 503, 500)
    result_patch(ats, order.id, score(60))
    [row] = webhook_rows(order)

    assert delivery_send(row.id) == "failed"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1 and row.last_status_code == 503
    assert delivery_send(row.id) == "failed"
    assert delivery_send(row.id) == "sent"

    assert [a.headers["webhook-id"] for a in receiver.arrivals] == [row.event_id] * 3
    assert len({a.body for a in receiver.arrivals}) == 1  # same state each time
    for arrival in receiver.arrivals:
        assert signatures_matching(tenant.signing_secret, arrival.headers, arrival.body) == [0]
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED and row.attempts == 3
    attempts = list(DeliveryAttempt.objects.filter(delivery=row).order_by("number"))
    assert [(a.number, a.status_code, a.error) for a in attempts] == [
        (1, 503, "HTTP 503"),
        (2, 500, "HTTP 500"),
        (3, 200, ""),
    ]


def test_which_failures_are_retried(tenant, make_ats_order, receiver, settings):
    settings.GATEWAY_DELIVERY_BACKOFF = []  # the default schedule: 10 s after a first failure
    settings.GATEWAY_OUTBOUND_TIMEOUT = 0.5
    client_from_settings.cache_clear()
    order = make_ats_order()

    retried = {"/408": 408, "/429": 429, "/500": 500, "/502": 502, "/503": 503, "/504": 504}
    final = {"/400": 400, "/401": 401, "/404": 404, "/410": 410}
    for path, status in {**retried, **final}.items():
        receiver.script(path, status)
    receiver.script("/slow", Reply(200, delay=1.5))
    receiver.script("/busy", Reply(429, {"Retry-After": "120"}))

    rows = {path: bare_row(tenant, order, receiver.url + path) for path in [*retried, *final, "/slow", "/busy"]}
    rows["down"] = bare_row(tenant, order, f"http://127.0.0.1:{closed_port()}/hooks")

    started = utcnow()
    for row in rows.values():
        assert delivery_send(row.id) == "failed"
    for row in rows.values():
        row.refresh_from_db()
        assert row.attempts == 1 and row.attempt_log.count() == 1

    for path, status in retried.items():
        row = rows[path]
        assert row.status == DeliveryStatus.PENDING, path
        assert row.last_status_code == status and row.last_error == f"HTTP {status}"
        assert row.next_attempt_at > started + timedelta(seconds=7), path  # 10 s ± 20 %
        assert row.locked_until is None and row.lease_token == ""
    for path, status in final.items():
        row = rows[path]
        assert row.status == DeliveryStatus.FAILED, path
        assert row.last_status_code == status and row.last_error == f"HTTP {status}"
        assert delivery_send(row.id) == "skipped"  # failed at once, for good

    down = rows["down"]
    assert down.status == DeliveryStatus.PENDING and down.last_status_code is None
    assert down.last_error.startswith("OutboundConnectionError"), down.last_error
    assert down.next_attempt_at > started + timedelta(seconds=7)

    slow = rows["/slow"]
    assert slow.status == DeliveryStatus.PENDING and slow.last_status_code is None
    assert slow.last_error.startswith("OutboundTimeout"), slow.last_error
    assert slow.next_attempt_at > started + timedelta(seconds=7)
    assert len(receiver.at("/slow")) == 1  # it did arrive, but answered too late

    busy = rows["/busy"]
    assert busy.status == DeliveryStatus.PENDING and busy.last_status_code == 429
    assert busy.next_attempt_at >= started + timedelta(seconds=120)
    assert busy.next_attempt_at <= utcnow() + timedelta(seconds=121)

    # Nothing is due yet: the sender refuses to send early.
    for row in rows.values():
        assert delivery_send(row.id) == "skipped"
    assert len(receiver.arrivals) == len(retried) + len(final) + 2


@override_settings(GATEWAY_DELIVERY_BACKOFF=[0])
def test_an_exhausted_schedule_stops(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    endpoint_create(tenant, receiver.url + "/hooks")
    receiver.script("/hooks", 500, 500)
    result_patch(ats, order.id, score(10))
    [row] = webhook_rows(order)

    assert delivery_send(row.id) == "failed"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING
    assert delivery_send(row.id) == "failed"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.EXHAUSTED and row.attempts == 2
    assert [a.status_code for a in row.attempt_log.all()] == [500, 500]
    assert delivery_send(row.id) == "skipped"
    with override_settings(GATEWAY_TASK_RUNNER="sync"):
        deliveries_dispatch_due()  # sends the PATCH's partner row, never this one
    row.refresh_from_db()
    assert row.status == DeliveryStatus.EXHAUSTED and row.attempts == 2 and row.lease_token == ""
    assert len(receiver.arrivals) == 2


# --- 5. a long outage, retried on schedule by the sweeper --------------------------------


@override_settings(GATEWAY_DELIVERY_BACKOFF=[1, 2, 3], GATEWAY_TASK_RUNNER="sync")
def test_an_outage_is_retried_on_schedule_by_the_sweeper(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    endpoint_create(tenant, receiver.url + "/hooks")
    receiver.script("/hooks", 503, 502, 500)
    result_patch(ats, order.id, score(70))
    [row] = webhook_rows(order)

    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        deliveries_dispatch_due()
        row.refresh_from_db()
        if row.status != DeliveryStatus.PENDING:
            break
        time.sleep(0.2)

    assert row.status == DeliveryStatus.SUCCEEDED and row.attempts == 4
    arrivals = receiver.at("/hooks")
    assert len(arrivals) == 4
    assert {a.headers["webhook-id"] for a in arrivals} == {row.event_id}
    gaps = [later.at - earlier.at for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    for gap, step in zip(gaps, [1, 2, 3], strict=True):
        # ±20 % jitter, plus the 0.2 s polling and a little time to send.
        assert step * 0.8 - 0.05 <= gap <= step * 1.2 + 0.5, gaps
    assert [a.status_code for a in row.attempt_log.all()] == [503, 502, 500, 200]


# --- 6. SSRF ------------------------------------------------------------------------------


def test_the_ssrf_guard_refuses_loopback_at_delivery(tenant, make_ats_order, receiver, settings):
    order = make_ats_order()
    settings.GATEWAY_OUTBOUND_ALLOWED_HOSTS = []
    client_from_settings.cache_clear()
    # The API refuses such a URL when it is submitted; an old row (or a DNS name that
    # now resolves to loopback) still has to be refused at send time.
    refused = tenant.client.post(
        "/webhook_endpoints",
        {"url": f"http://127.0.0.1:{receiver.url.rsplit(':', 1)[1]}/", "events": ["*"]},
        format="json",
    )
    assert refused.status_code == 422
    row = bare_row(tenant, order, f"http://localhost:{receiver.url.rsplit(':', 1)[1]}/")

    assert delivery_send(row.id) == "failed"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 1
    assert "SSRF guard" in row.last_error, row.last_error
    assert row.last_status_code is None
    assert "SSRF guard" in row.attempt_log.get().error
    assert receiver.arrivals == []


# --- 7. signing-secret rotation ----------------------------------------------------------


def test_a_rotation_signs_with_both_secrets(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    endpoint_create(tenant, receiver.url + "/hooks")
    old_secret = tenant.signing_secret
    response = tenant.client.post("/signing_secret")
    assert response.status_code == 200
    new_secret = response.json()["signing_secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret

    result_patch(ats, order.id, score(42))
    [row] = webhook_rows(order)
    assert delivery_send(row.id) == "sent"
    [arrival] = receiver.arrivals

    signatures = arrival.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert signatures_matching(new_secret, arrival.headers, arrival.body) == [0]
    assert signatures_matching(old_secret, arrival.headers, arrival.body) == [1]
    for secret in (new_secret, old_secret):
        assert Webhook(secret).verify(arrival.body, arrival.headers)["id"] == row.event_id


# --- 8. ordering per order ---------------------------------------------------------------


def test_per_order_rows_go_out_in_order_with_the_current_state(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    endpoint_create(tenant, receiver.url + "/hooks")
    result_patch(ats, order.id, score(50))
    result_patch(ats, order.id, score(80))
    first, second = webhook_rows(order)
    assert first.id < second.id and first.event_id != second.event_id
    assert first.order_version < second.order_version

    assert delivery_send(second.id) == "skipped"  # the first is still pending
    second.refresh_from_db()
    assert second.attempts == 0 and second.status == DeliveryStatus.PENDING
    assert receiver.arrivals == []

    with override_settings(GATEWAY_TASK_RUNNER="sync"):
        # Sending the first releases the second (the runner sends it inline here).
        assert delivery_send(first.id) == "sent"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == DeliveryStatus.SUCCEEDED
    assert first.delivered_at <= second.delivered_at

    bodies = [a.json() for a in receiver.at("/hooks")]
    assert [b["id"] for b in bodies] == [first.event_id, second.event_id]
    scores = [int(b["data"]["result"]["score"]["value"]) for b in bodies]
    assert scores == sorted(scores)
    # Both carry the state at send time: the first already shows the corrected score.
    assert scores == [80, 80]


def two_updates_the_first_refused(tenant: Any, ats: Any, order: Order, receiver: Receiver) -> list[Delivery]:
    """Two webhook rows for one order and endpoint, whose receiver answers the first 503."""
    endpoint_create(tenant, receiver.url + "/hooks")
    receiver.script("/hooks", 503)
    result_patch(ats, order.id, score(50))
    result_patch(ats, order.id, score(80))
    return webhook_rows(order)


def test_a_failing_older_row_holds_back_newer_ones(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    first, second = two_updates_the_first_refused(tenant, ats, order, receiver)

    with override_settings(GATEWAY_TASK_RUNNER="sync"):
        assert delivery_send(first.id) == "failed"
        assert delivery_send(second.id) == "skipped"
        # The sweeper leaves the second webhook row alone while the first is pending
        # (retrying later); of the two partner rows it takes the older, whose sending
        # releases the newer one.
        assert deliveries_dispatch_due() == 1
    second.refresh_from_db()
    assert second.status == DeliveryStatus.PENDING and second.attempts == 0
    assert second.lease_token == "" and second.locked_until is None  # no idle lease left
    assert len(receiver.arrivals) == 1
    partner = Delivery.objects.filter(order=order, kind=DeliveryKind.PARTNER)
    assert [r.status for r in partner] == [DeliveryStatus.SUCCEEDED] * 2


# --- 9. erase -------------------------------------------------------------------------------


def test_erase_cancels_pending_rows_and_delivers_the_tombstone(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    endpoint_create(tenant, receiver.url + "/hooks")
    result_patch(ats, order.id, score(99))
    pending = list(Delivery.objects.filter(order=order))
    assert {r.kind for r in pending} == {DeliveryKind.WEBHOOK, DeliveryKind.PARTNER}

    response = ats.delete(f"/unified/ats/assessments/orders/{order.id}")
    assert response.status_code == 204
    for row in pending:
        row.refresh_from_db()
        assert row.status == DeliveryStatus.CANCELLED and row.last_error == "Order erased"
        assert delivery_send(row.id) == "skipped"

    [deleted] = webhook_rows(order, EventType.DELETED)
    assert deleted.status == DeliveryStatus.PENDING
    assert delivery_send(deleted.id) == "sent"
    [arrival] = receiver.arrivals
    body = arrival.json()
    assert body["type"] == "ats_assessments.deleted" and body["id"] == deleted.event_id
    data = body["data"]
    assert data["id"] == order.id
    assert data["candidate"] is None and data["result"] is None
    assert data["application"] is None and data["requester"] is None and data["passthrough"] is None
    assert data["status"] == "completed"
    assert data["package"]["remote_id"] == "t1"
    assert signatures_matching(tenant.signing_secret, arrival.headers, arrival.body) == [0]
    # Nothing more about the order is accepted, so nothing more is delivered.
    assert ats.patch(f"/unified/ats/assessments/orders/{order.id}/result", score(1), format="json").status_code == 409
    assert Delivery.objects.filter(order=order, status=DeliveryStatus.PENDING).count() == 0


# --- 10. partner notifications -----------------------------------------------------------


def deliver_to(url: str) -> Any:
    def deliver_result(self: Any, ctx: Any, order: Any) -> OutboundRequestSpec:
        return OutboundRequestSpec(
            method="POST",
            url=url,
            headers={"X-Notify": "yes"},
            json={"id": order.id},
            allowed_hosts=tuple(ctx.settings.get("callback_hosts", ["*.ats.example"])),
        )

    return deliver_result


def partner_row(order: Order) -> Delivery:
    return Delivery.objects.filter(order=order, kind=DeliveryKind.PARTNER).latest("id")


def test_partner_notifications(tenant, ats, ats_account, make_ats_order, receiver, monkeypatch):
    # The account allows only its ATS's hosts (the default): the receiver is refused.
    monkeypatch.setattr(FakeAtsConnector, "deliver_result", deliver_to(receiver.url + "/notify"))
    refused_order = make_ats_order("o-refused")
    result_patch(ats, refused_order.id, score(1))
    row = partner_row(refused_order)
    assert row.url == "" and row.event_type == EventType.UPDATED
    assert delivery_send(row.id) == "failed"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 1
    assert "callback_hosts" in row.last_error
    assert receiver.arrivals == []

    # Nothing to send (e.g. the ATS reads results itself): done without a request.
    monkeypatch.setattr(FakeAtsConnector, "deliver_result", lambda self, ctx, order: None)
    quiet_order = make_ats_order("o-quiet")
    result_patch(ats, quiet_order.id, score(2))
    row = partner_row(quiet_order)
    assert delivery_send(row.id) == "sent"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED and row.last_status_code is None
    assert receiver.arrivals == []

    # Allowed host: a real POST, recorded.
    response = tenant.client.patch(
        f"/accounts/{ats_account['id']}", {"settings": {"callback_hosts": ["127.0.0.1"]}}, format="json"
    )
    assert response.status_code == 200, response.content
    monkeypatch.setattr(FakeAtsConnector, "deliver_result", deliver_to(receiver.url + "/notify"))
    receiver.script("/notify", 502)
    order = make_ats_order("o-sent")
    result_patch(ats, order.id, score(3))
    row = partner_row(order)
    with override_settings(GATEWAY_DELIVERY_BACKOFF=[0]):
        assert delivery_send(row.id) == "failed"
        assert delivery_send(row.id) == "sent"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED and row.last_status_code == 200
    assert [(a.number, a.status_code) for a in row.attempt_log.all()] == [(1, 502), (2, 200)]
    arrivals = receiver.at("/notify")
    assert len(arrivals) == 2
    for arrival in arrivals:
        assert arrival.method == "POST" and arrival.json() == {"id": order.id}
        assert arrival.headers["x-notify"] == "yes"
        assert "webhook-signature" not in arrival.headers  # the connector's own protocol


# --- 11. results_update_url ---------------------------------------------------------------


def test_results_update_url_gets_the_signed_update(tenant, provider_account, receiver):
    api = tenant.unified(provider_account["id"])
    response = api.post(
        "/unified/ats/assessments/orders",
        {
            "package": {"remote_id": "1"},
            "candidate": {"first_name": "Grace", "emails": [{"value": "grace@example.com"}]},
            "results_update_url": receiver.url + "/results",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert order.results_update_url == receiver.url + "/results"
    assert not Delivery.objects.filter(order=order).exists()  # created: no endpoint, no callback

    with transaction.atomic():
        rows = event_emit(
            account=Account.objects.get(pk=provider_account["id"]),
            event_type=EventType.UPDATED,
            order=order,
        )
    [row] = rows
    assert row.kind == DeliveryKind.RESULTS_CALLBACK and row.url == receiver.url + "/results"
    assert row.endpoint_id is None

    assert delivery_send(row.id) == "sent"
    [arrival] = receiver.at("/results")
    assert arrival.method == "POST"
    assert arrival.headers["webhook-id"] == row.event_id
    body = Webhook(tenant.signing_secret).verify(arrival.body, arrival.headers)
    assert signatures_matching(tenant.signing_secret, arrival.headers, arrival.body) == [0]
    assert set(body) == ENVELOPE_KEYS
    assert body["type"] == "ats_assessments.updated"
    assert body["account_id"] == provider_account["id"]
    assert body["data"]["id"] == order.id
    assert body["data"]["results_update_url"] == receiver.url + "/results"
    assert body["data"]["candidate"]["first_name"] == "Grace"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED


# --- 12. the sweeper -----------------------------------------------------------------------


def test_the_sweeper_sends_lost_and_orphaned_rows_only(tenant, ats, make_ats_order, receiver):
    order = make_ats_order()
    endpoint_create(tenant, receiver.url + "/hooks")
    result_patch(ats, order.id, score(55))  # runner "off": its task never ran
    [lost] = webhook_rows(order)
    now = utcnow()
    dead = bare_row(
        tenant, order, receiver.url + "/dead", attempts=1, locked_until=now - timedelta(seconds=1), lease_token="dead"
    )
    alive = bare_row(
        tenant, order, receiver.url + "/alive", locked_until=now + timedelta(seconds=60), lease_token="alive"
    )
    later = bare_row(tenant, order, receiver.url + "/later", next_attempt_at=now + timedelta(hours=1))

    # The lease holder of a live lease may send; nobody else.
    assert delivery_send(alive.id) == "skipped"
    assert delivery_send(alive.id, "someone-else") == "skipped"

    due_unleased = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=utcnow())
        .exclude(lease_token="alive")
        .count()
    )
    assert due_unleased == 3  # lost, dead, and the partner row of the PATCH
    with override_settings(GATEWAY_TASK_RUNNER="sync"):
        assert deliveries_dispatch_due() == due_unleased

    lost.refresh_from_db()
    dead.refresh_from_db()
    alive.refresh_from_db()
    later.refresh_from_db()
    assert lost.status == DeliveryStatus.SUCCEEDED and lost.attempts == 1
    assert dead.status == DeliveryStatus.SUCCEEDED and dead.attempts == 2
    assert dead.lease_token == "" and dead.locked_until is None
    assert alive.status == DeliveryStatus.PENDING and alive.attempts == 0
    assert alive.lease_token == "alive" and alive.locked_until > utcnow()
    assert later.status == DeliveryStatus.PENDING and later.attempts == 0 and later.lease_token == ""
    assert sorted(a.path for a in receiver.arrivals) == ["/dead", "/hooks"]

    # A second sweep finds nothing more to do.
    with override_settings(GATEWAY_TASK_RUNNER="sync"):
        assert deliveries_dispatch_due() == 0
    assert len(receiver.arrivals) == 2


def test_a_sweeper_lease_lets_only_its_task_send(tenant, make_ats_order, receiver):
    order = make_ats_order()
    row = bare_row(tenant, order, receiver.url + "/hooks")
    assert deliveries_dispatch_due() == 1  # runner "off": leased, task not run
    row.refresh_from_db()
    assert row.lease_token and row.locked_until > utcnow()
    assert delivery_send(row.id) == "skipped"  # a duplicate task without the lease
    assert receiver.arrivals == []
    assert delivery_send(row.id, row.lease_token) == "sent"
    assert len(receiver.arrivals) == 1


# --- 13. the admin -------------------------------------------------------------------------


def test_admin_retries_a_failed_delivery_and_lists_its_attempts(
    tenant, make_ats_order, receiver, client, django_user_model
):
    order = make_ats_order()
    receiver.script("/hooks", 410)
    row = bare_row(tenant, order, receiver.url + "/hooks")
    assert delivery_send(row.id) == "failed"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 1

    admin = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(admin)
    changelist = "/admin/delivery/delivery/"
    assert client.get(changelist).status_code == 200
    response = client.post(changelist, {"action": "retry_now", "_selected_action": [row.id], "index": 0})
    assert response.status_code == 302, response.content[:500]

    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 0
    assert row.next_attempt_at <= utcnow() and row.lease_token == ""
    assert delivery_send(row.id) == "sent"
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SUCCEEDED and row.attempts == 1

    page = client.get(f"/admin/delivery/delivery/{row.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "HTTP 410" in html
    assert [(a.number, a.status_code) for a in row.attempt_log.all()] == [(1, 410), (2, 200)]
    assert html.count("attempt_log-") >= 2  # one inline row per attempt


# --- 14. the embedded runner -----------------------------------------------------------------


def _in_memory_sqlite() -> bool:
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


@pytest.mark.django_db(transaction=True)
def test_the_thread_runner_delivers_after_commit(tenant, ats, make_ats_order, receiver, monkeypatch):
    if _in_memory_sqlite():
        pytest.skip(
            "SQLite's in-memory test database is shared between threads through its shared "
            "cache, whose table locks fail at once ('database table is locked') instead of "
            "waiting, so concurrent worker threads cannot write; the embedded runner uses a "
            "file database with WAL and a busy timeout. Run with DATABASE_URL (PostgreSQL)."
        )
    # Pool threads keep their own connections; with CONN_MAX_AGE > 0 (DATABASE_URL) one
    # would outlive the test and block dropping the test database. The threads share this
    # settings dict, so each task closes its connection when it ends.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    order = make_ats_order()
    endpoint_create(tenant, receiver.url + "/hooks")
    with override_settings(GATEWAY_TASK_RUNNER="thread"):
        result_patch(ats, order.id, score(77))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not receiver.at("/hooks"):
            time.sleep(0.05)
        [arrival] = receiver.at("/hooks")
        assert arrival.json()["data"]["result"]["score"]["value"] == "77"
        # Let the workers finish recording before the test's data is flushed.
        while (
            time.monotonic() < deadline and Delivery.objects.filter(order=order, status=DeliveryStatus.PENDING).exists()
        ):
            time.sleep(0.05)
    [row] = webhook_rows(order)
    assert row.status == DeliveryStatus.SUCCEEDED and row.attempts == 1
    assert arrival.headers["webhook-id"] == row.event_id
    assert Delivery.objects.get(order=order, kind=DeliveryKind.PARTNER).status == DeliveryStatus.SUCCEEDED


def test_rows_waiting_their_turn_do_not_crowd_out_due_ones(tenant, make_ats_order, receiver):
    """However many rows wait behind an older pending row for their order, the sweeper's
    batch still reaches the rows that are due (it skips the waiting ones)."""
    now = utcnow()
    waiting = []
    for n in range(3):
        order = make_ats_order(f"o-{n}")
        # The older row of each order is in backoff (its receiver is down) ...
        bare_row(tenant, order, receiver.url + "/down", attempts=1, next_attempt_at=now + timedelta(hours=1))
        # Row ids order rows by the millisecond only (gateway/ids.py).
        time.sleep(0.002)
        # ... so the newer one, long due, must wait for it.
        waiting.append(bare_row(tenant, order, receiver.url + "/down", next_attempt_at=now - timedelta(hours=1)))
    due = bare_row(tenant, make_ats_order("o-due"), receiver.url + "/due", next_attempt_at=now - timedelta(minutes=1))

    with override_settings(GATEWAY_TASK_RUNNER="sync"):
        assert deliveries_dispatch_due(limit=3) == 1
    due.refresh_from_db()
    assert due.status == DeliveryStatus.SUCCEEDED
    assert [a.path for a in receiver.arrivals] == ["/due"]
    for row in waiting:
        row.refresh_from_db()
        assert row.status == DeliveryStatus.PENDING and row.attempts == 0 and row.lease_token == ""


def test_rows_of_one_millisecond_go_out_in_the_order_they_were_written(tenant, make_ats_order, receiver):
    """Ids are time-ordered to the millisecond only: two rows written within one may have
    their ids the other way round. The written order (created_at) decides."""
    order = make_ats_order("same-ms")
    first = bare_row(tenant, order, receiver.url + "/first", id="dlv_01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    second = bare_row(tenant, order, receiver.url + "/first", id="dlv_01AAAAAAAAAAAAAAAAAAAAAAAA")
    assert second.id < first.id and first.created_at < second.created_at
    assert delivery_send(second.id) == "skipped"  # waits behind the row written before it
    with override_settings(GATEWAY_TASK_RUNNER="sync"):
        assert delivery_send(first.id) == "sent"  # and is released by it
    second.refresh_from_db()
    assert second.status == DeliveryStatus.SUCCEEDED
    assert [a.path for a in receiver.arrivals] == ["/first", "/first"]
    assert [a.headers["webhook-id"] for a in receiver.arrivals] == [first.event_id, second.event_id]


def test_a_batch_skips_a_row_written_after_a_pending_one_whatever_their_ids(tenant, make_ats_order, receiver):
    order = make_ats_order("same-ms-batch")
    first = bare_row(tenant, order, receiver.url + "/b", id="dlv_01ZZZZZZZZZZZZZZZZZZZZZZZY")
    second = bare_row(tenant, order, receiver.url + "/b", id="dlv_01AAAAAAAAAAAAAAAAAAAAAAAB")
    report = deliveries_drain(batch=10)
    assert report.sent == 2
    assert [_refreshed([row])[0].status for row in (first, second)] == [DeliveryStatus.SUCCEEDED] * 2
    assert [a.headers["webhook-id"] for a in receiver.arrivals] == [first.event_id, second.event_id]


# --- 15. draining: how Celery workers send -------------------------------------------------


def _refreshed(rows: list[Delivery]) -> list[Delivery]:
    for row in rows:
        row.refresh_from_db()
    return rows


def test_a_drain_sends_every_due_row_in_batches(tenant, make_ats_order, receiver):
    order = make_ats_order()
    now = utcnow()
    due = [bare_row(tenant, order, f"{receiver.url}/hooks/{n}") for n in range(23)]
    leased = bare_row(tenant, order, receiver.url + "/leased", locked_until=now + timedelta(minutes=1),
                      lease_token="someone")
    later = bare_row(tenant, order, receiver.url + "/later", next_attempt_at=now + timedelta(hours=1))
    full_batches = []

    report = deliveries_drain(batch=10, on_full_batch=lambda: full_batches.append(1))

    assert (report.sent, report.failed, report.released, report.more) == (23, 0, 0, False)
    assert full_batches == [1]  # asked once for a second drain, not once per batch
    assert sorted(a.path for a in receiver.arrivals) == sorted(f"/hooks/{n}" for n in range(23))
    for row in _refreshed(due):
        assert row.status == DeliveryStatus.SUCCEEDED and row.attempts == 1 and row.lease_token == ""
        assert [(a.number, a.status_code) for a in row.attempt_log.all()] == [(1, 200)]
    leased, later = _refreshed([leased, later])
    assert leased.status == later.status == DeliveryStatus.PENDING
    assert (leased.attempts, leased.lease_token, later.attempts) == (0, "someone", 0)
    assert deliveries_drain(batch=10) == DrainReport()  # nothing left that is due


def test_a_drain_keeps_each_orders_rows_in_order(tenant, ats, make_ats_order, receiver):
    first, second = two_updates_the_first_refused(tenant, ats, make_ats_order(), receiver)

    report = deliveries_drain(batch=10)
    # The first fails and goes into backoff; the second waits behind it, untouched.
    assert report.failed == 1 and [a.path for a in receiver.at("/hooks")] == ["/hooks"]
    first, second = _refreshed([first, second])
    assert first.status == second.status == DeliveryStatus.PENDING
    assert first.attempts == 1 and first.next_attempt_at > utcnow()
    assert second.attempts == 0 and second.lease_token == ""

    Delivery.objects.filter(pk=first.pk).update(next_attempt_at=utcnow())
    deliveries_drain(batch=10)
    bodies = [a.json() for a in receiver.at("/hooks")]
    assert [b["id"] for b in bodies] == [first.event_id, first.event_id, second.event_id]
    assert all(row.status == DeliveryStatus.SUCCEEDED for row in _refreshed([first, second]))


def test_a_drain_hands_back_what_its_budget_cannot_cover(tenant, make_ats_order, receiver):
    order = make_ats_order()
    rows = [bare_row(tenant, order, f"{receiver.url}/slow/{n}") for n in range(5)]
    for n in range(5):
        receiver.script(f"/slow/{n}", Reply(200, delay=0.2))

    report = deliveries_drain(batch=10, budget_seconds=0.05)
    # The first row of a batch always goes; the rest are released, their attempt uncounted.
    assert (report.sent, report.released, report.more) == (1, 4, True)
    unsent = [row for row in _refreshed(rows) if row.status == DeliveryStatus.PENDING]
    assert len(unsent) == 4
    assert all((row.attempts, row.lease_token, row.locked_until) == (0, "", None) for row in unsent)

    assert deliveries_drain(batch=10).sent == 4
    assert all(row.status == DeliveryStatus.SUCCEEDED and row.attempts == 1 for row in _refreshed(rows))


@override_settings(GATEWAY_DELIVERY_LEASE_SECONDS=2, GATEWAY_OUTBOUND_TIMEOUT=0.9)
def test_a_drain_never_starts_a_send_its_lease_might_not_cover(tenant, make_ats_order, receiver):
    """Each send may take up to twice the timeout: with a 2 s lease and 0.9 s timeouts,
    rows of a batch may start only in the first 0.2 s, so 0.3 s sends go one per batch."""
    order = make_ats_order()
    rows = [bare_row(tenant, order, f"{receiver.url}/slow/{n}") for n in range(3)]
    for n in range(3):
        receiver.script(f"/slow/{n}", Reply(200, delay=0.3))

    report = deliveries_drain(batch=10)
    assert (report.sent, report.released, report.more) == (3, 2 + 1, False)
    assert all(row.status == DeliveryStatus.SUCCEEDED and row.attempts == 1 for row in _refreshed(rows))


def test_commits_queue_at_most_one_waiting_drain(monkeypatch):
    from gateway.delivery import dispatch as dispatching

    queued = []
    monkeypatch.setattr(dispatching, "enqueue", lambda task, *args: queued.append(task))
    cache.delete(dispatching.DRAIN_PENDING_KEY)
    with override_settings(GATEWAY_TASK_RUNNER="celery"):
        for _ in range(3):
            dispatching.dispatch(["dlv_1", "dlv_2"])
        assert queued == ["delivery.drain"]
        dispatching.drain_started()  # the waiting task started: the next commit queues another
        dispatching.dispatch(["dlv_3"])
        assert queued == ["delivery.drain", "delivery.drain"]
    cache.delete(dispatching.DRAIN_PENDING_KEY)
    with override_settings(GATEWAY_TASK_RUNNER="sync"):  # the in-process runners: one task per row
        monkeypatch.setattr(dispatching, "enqueue", lambda task, *args: queued.append((task, *args)))
        dispatching.dispatch(["dlv_4"])
        assert queued[-1] == ("delivery.send", "dlv_4")


def test_the_celery_sweeper_drains_what_no_task_sends(tenant, make_ats_order, receiver, monkeypatch):
    from gateway.delivery import dispatch as dispatching
    from gateway.delivery.tasks import deliveries_drain_task, deliveries_sweep_task

    order = make_ats_order()
    now = utcnow()
    lost = bare_row(tenant, order, receiver.url + "/lost")
    dead = bare_row(tenant, order, receiver.url + "/dead", attempts=1, locked_until=now - timedelta(seconds=1),
                    lease_token="dead")
    queued = []
    monkeypatch.setattr(dispatching, "enqueue", lambda task, *args: queued.append(task))
    with override_settings(GATEWAY_TASK_RUNNER="celery"):
        assert deliveries_sweep_task.run() == 2
        assert deliveries_drain_task.run() == {"sent": 0, "failed": 0, "released": 0}
    lost, dead = _refreshed([lost, dead])
    assert (lost.status, lost.attempts, dead.status, dead.attempts) == (
        DeliveryStatus.SUCCEEDED, 1, DeliveryStatus.SUCCEEDED, 2)
    assert queued == []  # no per-row tasks, and nothing left to drain
