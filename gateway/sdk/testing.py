"""The conformance kit: every test a connector must pass, inherited by subclassing one class.

A connector package writes::

    class QuizlyHarness(Harness): ...          # starts its simulator, drives the partner's side

    class TestQuizlyKit(ConnectorKit):
        connector = QuizlyConnector
        credentials = {"api_key": "quizly-kit-key-0001"}
        settings = staticmethod(lambda url: {"base_url": url + "/v1"})
        harness = QuizlyHarness

and runs ``pytest`` from the gateway's repository (``pytest examples/quizly/tests``): the
repository's ``pyproject.toml`` supplies ``DJANGO_SETTINGS_MODULE`` (real PostgreSQL and
Redis from ``DATABASE_URL`` / ``REDIS_URL``) and pytest-django supplies the database and
``live_server``. See ``docs/connectors.md``.

Choices, and why:

* **A base class, not a plugin to register.** The kit's fixtures are methods of
  ``ConnectorKit``, so a subclass carries them wherever it is collected: in this
  repository's ``tests/kit/``, in an out-of-tree package's own ``tests/``, with no
  ``conftest.py``, no ``pytest_plugins`` line and no ``pytest11`` entry point to keep in
  step. Fixture names start with ``kit_`` so they never shadow a suite's own.
* **The connector as the gateway loads it.** HTTP tests go through the registry (the
  ``gateway.connectors`` entry point), so what is proven is what ships; the package must
  be installed (``pip install -e``). The declaration tests use ``connector`` directly.
* **Real commits.** Tests that touch the database are transactional and, where a partner
  calls the gateway, use ``live_server``: the partner's simulator makes real HTTP calls
  on loopback, background work runs inline (``GATEWAY_TASK_RUNNER=sync``) after real
  commits, exactly as in production.
* **One small harness per connector** (``Harness``). The kit's tests call only the
  harness, the platform and unified APIs, the partner routes and, to look at what the
  gateway stored or sent, the core's models and outbox (this module is the one part of
  the SDK that may import the rest of the gateway).
* **Expectations from declarations.** Routes come from ``endpoints()`` (plus the core's
  ``webhooks/{token}`` route for ``handle_webhook``); whether a bad body must be refused is
  decided by the route's own JSON Schema; protocol-specific answers are declared, with a
  reason, in ``bad_body_answers``.
* **Secrets in logs, per test.** Every log record of every kit test (all loggers, all
  levels, other threads included) is kept and searched, when the test ends, for every
  credential the test made or stored: API keys, signing secrets, inbound keys, webhook
  tokens, the secret fields of the sample credentials, everything the gateway encrypted
  at rest meanwhile, and what the harness says its simulator issued (access tokens).
  A leak fails the test at teardown, naming the logger line with the secret masked.

Limits, said honestly: a connector that sends nothing to a partner synchronously has no
live 502 to show (ats role: the kit tests a refused result delivery instead); a route the
harness cannot sample cannot be proven and fails the kit rather than being skipped.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets as _random
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import pytest
from jsonschema import Draft202012Validator

from gateway.sdk import FINAL_RESULT_VALUES, Capability, Connector, InboundAuth, InboundKind, Role
from gateway.sdk.loopback import LoopbackServer

JSON = "application/json"
UNIFIED = "/unified/ats/assessments"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
ERROR_KEYS = frozenset({"statusCode", "message", "timestamp", "request_id", "errors", "provider_errors"})
SECRET_WORDS = ("password", "secret", "key", "token")
MIN_SECRET_LENGTH = 8  # shorter sample values ("pw") would match by chance
WAIT_SECONDS = 5.0

# What the tenant reports in the ats flow (StackOne's result body); harnesses compare with it.
KIT_RESULT: dict[str, Any] = {
    "score": {"label": "Points", "value": "42", "min": "0", "max": "50"},
    "result": {"value": "passed", "source_value": "PASS"},
    "result_url": "https://vendor.example/results/kit",
    "summary": "Kit result",
    "start_date": "2026-03-02T14:05:00Z",
    "submission_date": "2026-03-02T14:49:00Z",
}

transactional = pytest.mark.django_db(transaction=True)


# --- what the harness and the kit exchange --------------------------------------------------


@dataclass(frozen=True)
class PartnerCall:
    """One request to a partner route: ``path`` fills its ``{name}`` segments (``{token}``
    is the kit's), ``query`` the query string, ``body`` the JSON body (None: no body)."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class KitTenant:
    id: str
    api_key: str
    signing_secret: str

    def client(self) -> Any:
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=basic(self.api_key))
        return client


@dataclass
class KitAccount:
    """A linked account as the kit made it: ``linked`` is the ``POST /accounts`` answer
    (with ``inbound``), ``gateway_url`` where the gateway listens (the live server),
    ``package_remote_id`` the test the flow orders, ``order`` the flow's order (the
    unified Order object) once there is one."""

    tenant: KitTenant
    provider: str
    linked: dict[str, Any]
    gateway_url: str
    tag: str
    package_remote_id: str | None = None
    order: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return self.linked["id"]

    @property
    def inbound(self) -> dict[str, Any]:
        return self.linked.get("inbound") or {}

    @property
    def inbound_key(self) -> str | None:
        return self.inbound.get("api_key")

    @property
    def webhook_url(self) -> str | None:
        return self.inbound.get("webhook_url")

    @property
    def path_token(self) -> str | None:
        """The ``{token}`` of path-token routes: the webhook URL's, else the inbound key."""
        if self.webhook_url:
            return urlsplit(self.webhook_url).path.rstrip("/").rsplit("/", 1)[-1]
        return self.inbound_key

    @property
    def partner_base(self) -> str:
        """Where the partner calls: ``<gateway>/connectors/<provider>``."""
        return f"{self.gateway_url}/connectors/{self.provider}"

    def unified(self) -> Any:
        client = self.tenant.client()
        client.credentials(HTTP_AUTHORIZATION=basic(self.tenant.api_key), HTTP_X_ACCOUNT_ID=self.id)
        return client


class Harness:
    """The connector's side of the kit: its simulator, and the partner's half of each flow.

    Subclass it next to the kit subclass and implement what the connector's role needs;
    every method that asserts raises ``AssertionError`` with a message. The kit builds
    one harness per test class: ``start()`` before the first test, ``stop()`` after the last.

    Both roles:
      ``start()`` start the simulator (e.g. a ``LoopbackServer``), return its base URL;
      ``fail_next(count, status)`` the partner answers ``status`` to its next ``count``
      requests (provider role: API calls; ats role: result deliveries); ``count=0``
      cancels what is left;
      ``sample_call(route, account)`` a call this route (an ``Endpoint`` name, or
      ``"webhook"``) answers with success for ``account``, about ``account.order`` where
      the route takes an order;
      ``issued_secrets()`` what the simulator issued that is a credential (tokens).
    ats role:
      ``send_order(account)`` the ATS sends an order for ``account.package_remote_id`` to
      the gateway (``account.partner_base``, ``account.inbound_key``); returns the
      gateway's order id;
      ``assert_delivered(account, order_id)`` the ATS received ``KIT_RESULT`` for that
      order and read it back as its protocol does.
    provider role:
      ``add_package()`` a test at the provider; returns its remote id;
      ``complete(account, order, notify=True)`` the candidate finishes ``order``'s test
      with a passing score; with ``notify`` the provider tells the gateway as it does
      (its webhook to ``account.webhook_url``);
      ``assert_cancelled(account, order)`` the provider shows the order cancelled.
    """

    def __init__(self, credentials: Mapping[str, Any]) -> None:
        self.credentials = dict(credentials)
        self.url = ""

    def start(self) -> str:
        raise NotImplementedError("Harness.start: start the simulator, return its base URL")

    def stop(self) -> None:
        """Stop what ``start`` started."""

    def fail_next(self, count: int, status: int = 500) -> None:
        raise NotImplementedError(f"{type(self).__name__}.fail_next")

    def sample_call(self, route: str, account: KitAccount) -> PartnerCall | None:
        return None

    def issued_secrets(self) -> Iterable[str]:
        return ()

    def send_order(self, account: KitAccount) -> str:
        raise NotImplementedError(f"{type(self).__name__}.send_order (ats role)")

    def assert_delivered(self, account: KitAccount, order_id: str) -> None:
        raise NotImplementedError(f"{type(self).__name__}.assert_delivered (ats role)")

    def add_package(self) -> str:
        raise NotImplementedError(f"{type(self).__name__}.add_package (provider role)")

    def complete(self, account: KitAccount, order: Mapping[str, Any], *, notify: bool = True) -> None:
        raise NotImplementedError(f"{type(self).__name__}.complete (provider role)")

    def assert_cancelled(self, account: KitAccount, order: Mapping[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__}.assert_cancelled (cancel_order)")


class FaultyApp:
    """A simulator's WSGI app that can be told to fail: ``fail_next(count, status)``
    answers ``status`` to the next ``count`` requests, whatever their path (a token
    endpoint included), before the simulator sees them; ``count=0`` cancels the rest.
    For harnesses whose simulator has no such switch, or only for some of its routes."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self._left, self._status = 0, 500
        self._lock = threading.Lock()

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._left, self._status = count, status

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            failing = self._left > 0
            self._left -= failing
            status = self._status
        if not failing:
            return self.app(environ, start_response)
        body = json.dumps({"error": "injected failure"}).encode()
        start_response(f"{status} Injected", [("Content-Type", JSON), ("Content-Length", str(len(body)))])
        return [body]


# --- routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A partner route as the kit probes it: a declared ``Endpoint``, or the core's
    webhook route for connectors that handle webhooks."""

    name: str
    method: str
    path: str
    auth: InboundAuth
    request_schema: Mapping[str, Any] | None = None
    invalid_status: int = 400
    basic_password_ok: bool = False

    @property
    def takes_body(self) -> bool:
        return self.method in BODY_METHODS

    def template(self, provider: str) -> str:
        return f"/connectors/{provider}/{self.path}"

    def url(self, provider: str, call: PartnerCall, token: str | None) -> str:
        path = self.template(provider)
        values = {**call.path, "token": token or "no-token"}
        for name in _placeholders(self.path):
            path = path.replace("{" + name + "}", str(values.get(name, "kit-probe")))
        return path + ("?" + urlencode(dict(call.query)) if call.query else "")


def _placeholders(path: str) -> list[str]:
    return [segment[1:-1] for segment in path.split("/") if segment.startswith("{") and segment.endswith("}")]


def routes_of(connector: Connector) -> list[Route]:
    routes = [
        Route(e.name, e.method.upper(), e.path, InboundAuth(e.auth), e.request_schema, e.invalid_status,
              e.basic_password_ok)
        for e in connector.endpoints()
    ]
    if connector.supports(Capability.HANDLE_WEBHOOK):
        routes.append(Route("webhook", "POST", "webhooks/{token}", InboundAuth.PATH_TOKEN,
                            connector.webhook_schema, 422))
    return routes


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _auth_headers(route: Route, key: str | None) -> dict[str, str]:
    if key is None or route.auth is InboundAuth.PATH_TOKEN:
        return {}
    if route.auth is InboundAuth.BASIC_KEY:
        return {"HTTP_AUTHORIZATION": basic(key)}
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _header_kwargs(headers: Mapping[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


def send(route: Route, provider: str, call: PartnerCall, *, key: str | None, token: str | None,
         raw: bytes | None = None, content_type: str = JSON, method: str | None = None,
         authorization: str | None = None, **extra: Any) -> Any:
    """One request through Django's test client (in-process, real middleware)."""
    from django.test import Client

    headers = _auth_headers(route, key)
    if authorization is not None:
        headers = {"HTTP_AUTHORIZATION": authorization}
    if raw is None and call.body is not None:
        raw = json.dumps(call.body).encode()
    kwargs: dict[str, Any] = {**_header_kwargs(call.headers), **headers, **extra}
    if raw is not None:
        kwargs["content_type"] = content_type
    return Client().generic(method or route.method, route.url(provider, call, token), raw or b"", **kwargs)


# --- bad bodies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BadBody:
    """``kind``: ``json`` (strict JSON refuses it: 400), ``empty`` (400, or the route's
    schema status), ``shape`` (the route's schema decides), ``size`` (413), ``type`` (415)."""

    name: str
    raw: bytes
    kind: str
    content_type: str = JSON


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


DEEP = 10_000
BAD_BODIES = [
    BadBody("empty body", b"", "empty"),
    BadBody("whitespace only", b"  \n ", "empty"),
    BadBody("not JSON", b"{not json", "json"),
    BadBody("truncated JSON", b'{"a": [1, 2', "json"),
    BadBody("invalid UTF-8", b'{"a": "\xff\xfe\xfd"}', "json"),
    BadBody("UTF-16", '{"a": "b"}'.encode("utf-16"), "json"),
    BadBody("duplicate keys", b'{"a": 1, "a": 2}', "json"),
    BadBody("NaN", b'{"a": NaN}', "json"),
    BadBody("Infinity", b'{"a": -Infinity}', "json"),
    BadBody("a number past float range", b'{"a": 1e999}', "json"),
    BadBody("arrays 10,000 deep", b"[" * DEEP + b"]" * DEEP, "json"),
    BadBody("objects 10,000 deep", _nested(DEEP), "json"),
    BadBody("objects 40 deep", _nested(40), "json"),
    BadBody("a NUL character", b'{"a": "x\\u0000y"}', "json"),
    BadBody("a NUL character in a key", b'{"a\\u0000": "x"}', "json"),
    BadBody("a lone surrogate", b'{"a": "\\ud800"}', "json"),
    BadBody("not an object: array", b"[1, 2, 3]", "shape"),
    BadBody("not an object: string", b'"kit"', "shape"),
    BadBody("not an object: null", b"null", "shape"),
    BadBody("not an object: number", b"42", "shape"),
    BadBody("missing fields", b"{}", "shape"),
    BadBody("over 1 MiB", b'{"pad": "' + b"x" * (1024 * 1024) + b'"}', "size"),
    BadBody("wrong content type: text", b'{"a": 1}', "type", "text/plain"),
    BadBody("wrong content type: form", b"a=1&b=2", "type", "application/x-www-form-urlencoded"),
    BadBody("wrong content type: multipart", b"--x\r\n\r\n--x--", "type", "multipart/form-data; boundary=x"),
]
_WRONG_VALUES: list[tuple[set[str], Any]] = [
    ({"integer", "number"}, 7),
    ({"string"}, "kit"),
    ({"boolean"}, True),
    ({"object"}, {"kit": 1}),
    ({"array"}, [1]),
    ({"null"}, None),
]


def wrong_types(schema: Mapping[str, Any] | None) -> Any:
    """An object whose required (else declared) properties each have a type the schema
    refuses; None when the schema names no typed property."""
    properties = (schema or {}).get("properties") or {}
    wrong = {}
    for name in (schema or {}).get("required") or list(properties):
        declared = (properties.get(name) or {}).get("type")
        allowed = {declared} if isinstance(declared, str) else set(declared or ())
        if not allowed:
            continue
        wrong[name] = next(value for types, value in _WRONG_VALUES if not types & allowed)
    return wrong or None


def cases_for(route: Route) -> list[BadBody]:
    cases = list(BAD_BODIES)
    body = wrong_types(route.request_schema)
    if body is not None:
        cases.append(BadBody("wrong types", json.dumps(body).encode(), "shape"))
    return cases


def expected_statuses(route: Route, bad: BadBody) -> set[int] | None:
    """The answers the contract allows; None: the route's schema accepts the body, so the
    kit only asks for no 5xx."""
    if bad.kind == "json":
        return {400}
    if bad.kind == "size":
        return {413}
    if bad.kind == "type":
        return {415}
    if bad.kind == "empty":
        return {400, route.invalid_status}
    if route.request_schema is None:
        return set(range(400, 500))
    if Draft202012Validator(route.request_schema).is_valid(json.loads(bad.raw)):
        return None
    return {route.invalid_status}


# --- secrets --------------------------------------------------------------------------------


class KitSecrets:
    """Every credential a test made or stored, with where it came from."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, value: Any, origin: str) -> None:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            with self._lock:
                self._values.setdefault(value, origin)

    def add_plaintext(self, plaintext: Any) -> None:
        """What the gateway encrypts at rest: a credentials object (its secret-named
        fields) or a secret string."""
        try:
            parsed = json.loads(plaintext)
        except (TypeError, ValueError):
            parsed = None
        if isinstance(parsed, dict):
            for name, value in parsed.items():
                if any(word in name.lower() for word in SECRET_WORDS):
                    self.add(value, f"encrypted credentials.{name}")
        else:
            self.add(plaintext, "a secret the gateway encrypted")

    def values(self) -> dict[str, str]:
        with self._lock:
            return dict(self._values)

    def found_in(self, text: str) -> list[str]:
        """One line per secret found in ``text``, the secret masked."""
        found = []
        for value, origin in self.values().items():
            index = text.find(value)
            if index >= 0:
                start, end = text.rfind("\n", 0, index) + 1, text.find("\n", index)
                line = text[start: end if end >= 0 else len(text)].replace(value, f"<{origin}>")
                found.append(f"{origin} ({value[:4]}…): {line[:300]}")
        return found


_PARTNER = threading.local()  # set while a harness call runs in this thread


class _PartnerSide:
    """The harness, each of its calls marked as the partner's own: what a simulator's HTTP
    client logs in the calling thread (``urllib3`` writes the URLs it calls, a webhook
    token included) is the partner's log, not the gateway's. The gateway's records still
    count: harnesses reach the gateway over HTTP, so those come from its threads."""

    def __init__(self, harness: Harness) -> None:
        self._harness = harness

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._harness, name)
        if not callable(value):
            return value

        def as_partner(*args: Any, **kwargs: Any) -> Any:
            previous = getattr(_PARTNER, "active", False)
            _PARTNER.active = True
            try:
                return value(*args, **kwargs)
            finally:
                _PARTNER.active = previous

        return as_partner


class _Records(logging.Handler):
    """Keeps every record as a production handler would write it: message and traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(_PARTNER, "active", False):
            return
        try:
            text = record.getMessage()
        except Exception:  # a bad format string must not hide the record's content
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        if record.stack_info:
            text += "\n" + record.stack_info
        self.lines.append(f"{record.levelname} {record.name} {text}")

    def text(self) -> str:
        self.acquire()
        try:
            return "\n".join(self.lines)
        finally:
            self.release()


def _watch_encryption(monkeypatch: pytest.MonkeyPatch, found: KitSecrets) -> None:
    """Remember every plaintext the gateway encrypts while the test runs, wherever a
    module bound ``encrypt`` (``from … import encrypt`` copies the function)."""
    crypto = sys.modules.get("gateway.tenancy.crypto")
    if crypto is None:
        import gateway.tenancy.crypto as crypto
    originals = {crypto.encrypt, getattr(crypto.encrypt, "__wrapped__", crypto.encrypt)}
    for name, module in list(sys.modules.items()):
        bound = getattr(module, "encrypt", None) if name.startswith("gateway") else None
        if bound in originals:

            def watched(plaintext: Any, *args: Any, _bound: Any = bound, **kwargs: Any) -> Any:
                found.add_plaintext(plaintext)
                return _bound(plaintext, *args, **kwargs)

            watched.__wrapped__ = bound  # type: ignore[attr-defined]
            monkeypatch.setattr(module, "encrypt", watched)


def secret_credentials(connector: Connector, credentials: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials that are secrets: marked ``writeOnly`` or ``format: password``, or
    named like one."""
    properties = _all_properties(connector.credentials_schema)
    return {
        name: value for name, value in credentials.items()
        if any(word in name.lower() for word in SECRET_WORDS)
        or any(p.get("writeOnly") or p.get("format") == "password" for p in properties.get(name, []))
    }


def _all_properties(schema: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    """Every property schema by name, through ``oneOf``/``anyOf``/``allOf`` alternatives."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for name, sub in (schema.get("properties") or {}).items():
        found.setdefault(name, []).append(sub)
    for key in ("oneOf", "anyOf", "allOf"):
        for alternative in schema.get(key) or []:
            for name, subs in _all_properties(alternative).items():
                found.setdefault(name, []).extend(subs)
    return found


def _documentation_problems(schema: Any, where: str) -> list[str]:
    """``title``/``description`` that are not non-empty strings, and defaults their own
    schema refuses, anywhere in ``schema``."""
    if not isinstance(schema, Mapping):
        return []
    problems = [
        f"{where}.{key} must be a non-empty string"
        for key in ("title", "description")
        if key in schema and not (isinstance(schema[key], str) and schema[key].strip())
    ]
    if "default" in schema and not Draft202012Validator(dict(schema)).is_valid(schema["default"]):
        problems.append(f"{where}.default {schema['default']!r} does not meet its own schema")
    for name, sub in (schema.get("properties") or {}).items():
        problems += _documentation_problems(sub, f"{where}.{name}")
    for key in ("oneOf", "anyOf", "allOf"):
        for index, sub in enumerate(schema.get(key) or []):
            problems += _documentation_problems(sub, f"{where}.{key}[{index}]")
    if isinstance(schema.get("items"), Mapping):
        problems += _documentation_problems(schema["items"], f"{where}.items")
    return problems


# --- the gateway, as the kit sees it --------------------------------------------------------


def _stored() -> dict[str, int]:
    """Row counts of everything a partner call could create."""
    from gateway.assessments.models import Order, Package, PartnerErrorReport, Result
    from gateway.delivery.models import Delivery

    return {model.__name__: model.objects.count() for model in (Order, Result, Delivery, PartnerErrorReport, Package)}


def _snapshot(account_id: str) -> dict[str, Any]:
    """Every row of one account, or about its orders, as plain values (for "nothing changed")."""
    from django.db.models import Q
    from django.forms.models import model_to_dict

    from gateway.assessments.models import Order, Package, PartnerErrorReport, Result
    from gateway.delivery.models import Delivery

    rows = {}
    for model in (Order, Result, Package, Delivery, PartnerErrorReport):
        mine = Q(account_id=account_id)
        if model is not Order and any(f.name == "order" for f in model._meta.get_fields()):
            mine |= Q(order__account_id=account_id)  # another account's row about this account's order
        rows[model.__name__] = sorted(
            (model_to_dict(row) for row in model.objects.filter(mine)), key=lambda row: str(row.get("id"))
        )
    return rows


def _drain() -> None:
    """Send whatever the outbox has due, as a worker would."""
    from gateway.delivery.sender import deliveries_drain

    deliveries_drain(budget_seconds=WAIT_SECONDS)


def _dead_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.content[:1000]!r}"
    )
    return response.json() if response.content else None


def _json_body(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise AssertionError(f"not JSON ({response.status_code}): {response.content[:300]!r}") from None


def _wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class _Receiver:
    """The tenant's webhook endpoint on loopback: keeps every event, by path."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self._lock:
            self.events.append((environ.get("PATH_INFO") or "/", json.loads(raw or b"null")))
        start_response("204 No Content", [])
        return [b""]

    def received(self, path: str, event_type: str, order_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for p, e in self.events
                    if p == path and e.get("type") == event_type and (e.get("data") or {}).get("id") == order_id]


# --- the kit --------------------------------------------------------------------------------


class ConnectorKit:
    """Subclass as ``Test<Name>Kit`` and set the four attributes; every test is inherited.

    ``connector``: the ``Connector`` class (or an instance); ``credentials``: sample valid
    credentials (the simulator accepts them); ``settings``: account settings, a dict or a
    callable given the simulator's base URL (wrap a lambda in ``staticmethod``);
    ``harness``: the ``Harness`` subclass. ``bad_body_answers``: where the partner's
    protocol answers a bad body otherwise, ``{(route, case): status}``, each with a reason
    in a comment.
    """

    connector: ClassVar[Any]
    credentials: ClassVar[Mapping[str, Any]] = {}
    settings: ClassVar[Any] = {}
    harness: ClassVar[type[Harness]]
    bad_body_answers: ClassVar[Mapping[tuple[str, str], int]] = {}

    # --- helpers -------------------------------------------------------------------------

    @classmethod
    def kit_connector(cls) -> Connector:
        return cls.connector() if isinstance(cls.connector, type) else cls.connector

    @classmethod
    def kit_settings(cls, base_url: str) -> dict[str, Any]:
        value = cls.settings
        return dict(value(base_url) if callable(value) else value)

    @classmethod
    def kit_routes(cls) -> list[Route]:
        return routes_of(cls.kit_connector())

    def _error(self, response: Any, statuses: Iterable[int], label: str = "", *, partner: bool = False) -> Any:
        """Assert ``response`` is an error in the contract's shape (or the connector's
        declared envelope) with one of ``statuses``; return the body."""
        allowed = set(statuses)
        where = f"{label}: " if label else ""
        assert response.status_code in allowed, (
            f"{where}expected {sorted(allowed)[:6]}, got {response.status_code}: {response.content[:300]!r}"
        )
        assert response.get("X-Request-Id"), f"{where}no X-Request-Id"
        assert response["Content-Type"].startswith(JSON), f"{where}Content-Type {response['Content-Type']!r}"
        body = _json_body(response)
        envelope = self.kit_connector().inbound_error_body(
            status=response.status_code, message="kit", errors=[], request_id="req_kit"
        ) if partner else None
        if envelope is not None:
            assert isinstance(body, dict) and set(body) == set(envelope), f"{where}not the envelope: {body}"
            return body
        assert isinstance(body, dict) and set(body) == ERROR_KEYS, f"{where}not the error shape: {body}"
        assert body["statusCode"] == response.status_code, f"{where}{body}"
        assert isinstance(body["message"], str) and body["message"], f"{where}{body}"
        assert body["request_id"] == response["X-Request-Id"], f"{where}{body}"
        assert isinstance(body["errors"], list) and isinstance(body["provider_errors"], list), f"{where}{body}"
        return body

    def _sample(self, harness: Harness, route: Route, account: KitAccount) -> PartnerCall:
        call = harness.sample_call(route.name, account)
        assert call is not None, (
            f"{type(harness).__name__}.sample_call({route.name!r}) returned None: every route needs a sample call"
        )
        return call

    # --- fixtures ------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def kit_harness(cls) -> Iterator[Harness]:
        harness = cls.harness(cls.credentials)
        harness.url = harness.start()
        try:
            yield _PartnerSide(harness)  # type: ignore[misc]
        finally:
            harness.stop()

    @pytest.fixture(scope="class")
    @classmethod
    def kit_receiver(cls) -> Iterator[tuple[_Receiver, str]]:
        receiver = _Receiver()
        with LoopbackServer(receiver) as server:
            yield receiver, server.url

    @pytest.fixture(autouse=True)
    def kit_secrets(self) -> Iterator[KitSecrets]:
        """Capture every log record of the test; at the end, fail on any credential in one."""
        found = KitSecrets()
        for name, value in secret_credentials(self.kit_connector(), self.credentials).items():
            found.add(value, f"credentials.{name}")
        handler, root = _Records(), logging.getLogger()
        level, quieted = root.level, [h for h in root.handlers if h.level == logging.NOTSET]
        for existing in quieted:  # they keep printing only what they printed before
            existing.setLevel(level)
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            yield found
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
            for existing in quieted:
                existing.setLevel(logging.NOTSET)
        leaks = found.found_in(handler.text())
        if leaks:
            pytest.fail("Credentials in log records:\n  " + "\n  ".join(leaks), pytrace=False)

    @pytest.fixture
    def kit_gateway(self, request: pytest.FixtureRequest, settings: Any, kit_secrets: KitSecrets,
                    kit_harness: Harness) -> str:
        """The gateway on a live server, background work inline, no rate limit in the way."""
        live_server = request.getfixturevalue("live_server")
        settings.GATEWAY_PUBLIC_URL = live_server.url
        settings.GATEWAY_TASK_RUNNER = "sync"
        settings.GATEWAY_RATE_LIMIT = "1000000/min"
        _watch_encryption(request.getfixturevalue("monkeypatch"), kit_secrets)

        def remember_issued() -> None:  # runs before ``kit_secrets`` checks the records
            for value in kit_harness.issued_secrets():
                kit_secrets.add(value, "issued by the simulator")

        request.addfinalizer(remember_issued)
        return live_server.url

    @pytest.fixture
    def kit_tenant(self, kit_gateway: str, kit_secrets: KitSecrets) -> Callable[[str], KitTenant]:
        from gateway.tenancy.services import tenant_create

        def make(name: str) -> KitTenant:
            created = tenant_create(name=f"kit-{name}-{_random.token_hex(3)}")
            kit_secrets.add(created.api_key, f"{name}'s API key")
            kit_secrets.add(created.signing_secret, f"{name}'s signing secret")
            return KitTenant(id=created.tenant.id, api_key=created.api_key, signing_secret=created.signing_secret)

        return make

    @pytest.fixture
    def kit_link(self, kit_gateway: str, kit_harness: Harness, kit_secrets: KitSecrets) -> Callable[..., KitAccount]:
        connector = self.kit_connector()

        def link(tenant: KitTenant, **changes: Any) -> KitAccount:
            body = {
                "provider": connector.provider,
                "label": f"{connector.name} (kit)",
                "credentials": dict(self.credentials),
                "settings": self.kit_settings(kit_harness.url),
                **changes,
            }
            linked = _ok(tenant.client().post("/accounts", body, format="json"), 201)
            account = KitAccount(tenant=tenant, provider=connector.provider, linked=linked,
                                 gateway_url=kit_gateway, tag=_random.token_hex(4))
            kit_secrets.add(account.inbound_key, "inbound key")
            kit_secrets.add(account.path_token, "webhook token")
            return account

        return link

    @pytest.fixture
    def kit_world(self, kit_tenant: Callable[[str], KitTenant], kit_link: Callable[..., KitAccount],
                  kit_harness: Harness) -> Callable[[str], KitAccount]:
        """A tenant with a linked account, a package and one order placed by the role's flow."""
        connector = self.kit_connector()

        def build(name: str) -> KitAccount:
            account = kit_link(kit_tenant(name))
            if connector.role is Role.ATS:
                account.package_remote_id = f"kit-{account.tag}"
                _ok(account.unified().put(
                    f"{UNIFIED}/packages",
                    {"packages": [{"remote_id": account.package_remote_id, "name": f"Kit test {account.tag}"}]},
                    format="json",
                ))
                order_id = kit_harness.send_order(account)
            else:
                account.package_remote_id = kit_harness.add_package()
                if not connector.supports(Capability.CREATE_ORDER):
                    return account
                created = _ok(account.unified().post(f"{UNIFIED}/orders", self._order_body(account), format="json"),
                              201)
                order_id = created["id"]
            account.order = _ok(account.unified().get(f"{UNIFIED}/orders/{order_id}"))["data"]
            return account

        return build

    @staticmethod
    def _order_body(account: KitAccount) -> dict[str, Any]:
        return {
            "package": {"remote_id": account.package_remote_id},
            "candidate": {
                "first_name": f"Ada{account.tag}",
                "last_name": "Kit",
                "emails": [{"type": "personal", "value": f"ada.{account.tag}@candidates.example"}],
            },
        }

    # --- declaration ---------------------------------------------------------------------

    def test_declaration_is_valid(self) -> None:
        from gateway.registry import validate_connector

        connector = self.kit_connector()
        validate_connector(connector, connector.provider)

    def test_entry_point_loads_the_connector(self) -> None:
        from gateway.registry import ENTRY_POINT_GROUP

        connector = self.kit_connector()
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == connector.provider]
        assert len(found) == 1, f"{len(found)} entry points named {connector.provider!r} in {ENTRY_POINT_GROUP}"
        loaded = found[0].load()
        assert loaded is type(connector) or isinstance(loaded, type(connector)), (
            f"the entry point loads {loaded!r}, not {type(connector).__name__}"
        )

    def test_schemas_are_valid_and_documented(self) -> None:
        connector = self.kit_connector()
        problems: list[str] = []
        schemas = {"credentials_schema": connector.credentials_schema, "settings_schema": connector.settings_schema}
        if connector.webhook_schema is not None:
            schemas["webhook_schema"] = connector.webhook_schema
        for route in self.kit_routes():
            if route.request_schema is not None:
                schemas[f"{route.name}.request_schema"] = route.request_schema
        for endpoint in connector.endpoints():
            for attr in ("query_schema", "response_schema"):
                if getattr(endpoint, attr) is not None:
                    schemas[f"{endpoint.name}.{attr}"] = getattr(endpoint, attr)
        for where, schema in schemas.items():
            Draft202012Validator.check_schema(schema)
            problems += _documentation_problems(schema, where)
        assert not problems, "\n".join(problems)

    def test_secret_fields_are_write_only(self) -> None:
        """The connect page masks ``writeOnly`` / ``format: password`` fields; a field
        named like a secret must say so."""
        unmarked = [
            name for name, subs in _all_properties(self.kit_connector().credentials_schema).items()
            if any(word in name.lower() for word in SECRET_WORDS)
            and not any(sub.get("writeOnly") or sub.get("format") == "password" for sub in subs)
        ]
        assert not unmarked, f"credentials named like secrets but not writeOnly: {unmarked}"

    def test_sample_credentials_and_settings_meet_the_schemas(self) -> None:
        connector = self.kit_connector()
        Draft202012Validator(connector.credentials_schema).validate(dict(self.credentials))
        Draft202012Validator(connector.settings_schema).validate(self.kit_settings("http://127.0.0.1:9"))

    # --- platform API --------------------------------------------------------------------

    @transactional
    def test_the_connector_is_listed(self, kit_tenant: Callable[[str], KitTenant]) -> None:
        connector = self.kit_connector()
        listed = _ok(kit_tenant("lister").client().get("/connectors"))["data"]
        entries = [entry for entry in listed if entry["provider"] == connector.provider]
        assert len(entries) == 1, f"GET /connectors lists {connector.provider!r} {len(entries)} times"
        entry = entries[0]
        assert (entry["name"], entry["role"]) == (connector.name, connector.role.value)
        assert sorted(entry["capabilities"]) == sorted(c.value for c in connector.capabilities)
        assert entry["credentials_schema"] == connector.credentials_schema
        assert entry["settings_schema"] == connector.settings_schema

    @transactional
    def test_linking_shows_inbound_once_and_never_credentials(
        self, kit_tenant: Callable[[str], KitTenant], kit_link: Callable[..., KitAccount], kit_gateway: str
    ) -> None:
        connector = self.kit_connector()
        tenant = kit_tenant("linker")
        account = kit_link(tenant)
        shown = json.dumps(account.linked)
        assert "credentials" not in account.linked
        hidden = secret_credentials(connector, self.credentials).values()
        assert not [value for value in hidden if isinstance(value, str) and value in shown], "credentials shown"
        base = f"{kit_gateway}/connectors/{connector.provider}/"
        if connector.inbound is InboundKind.API_KEY:
            key = account.inbound_key
            assert isinstance(key, str) and 32 <= len(key) <= 170, f"inbound.api_key {key!r}"
            urls = account.inbound.get("urls")
            assert isinstance(urls, dict) and urls, f"inbound.urls {urls!r}"
            assert all(isinstance(u, str) and u.startswith(base) for u in urls.values()), urls
        if connector.supports(Capability.HANDLE_WEBHOOK):
            assert account.webhook_url == f"{base}webhooks/{account.path_token}", account.inbound
            assert len(account.path_token or "") >= 32, "the webhook token is too short to be unguessable"
        read = _ok(tenant.client().get(f"/accounts/{account.id}"))
        assert "inbound" not in read and "credentials" not in read, read
        listed = json.dumps(_ok(tenant.client().get("/accounts")))
        for value in [*hidden, account.inbound_key, account.path_token]:
            assert not (isinstance(value, str) and value in listed + json.dumps(read)), "a secret is shown again"

    @transactional
    def test_bad_credentials_are_refused(self, kit_tenant: Callable[[str], KitTenant], kit_harness: Harness) -> None:
        connector = self.kit_connector()
        client = kit_tenant("refused").client()
        tries: list[Any] = ["not an object", [dict(self.credentials)]]
        if not Draft202012Validator(connector.credentials_schema).is_valid({}):
            tries.append({})
        for credentials in tries:
            body = {"provider": connector.provider, "credentials": credentials,
                    "settings": self.kit_settings(kit_harness.url)}
            response = client.post("/accounts", body, format="json")
            self._error(response, {422}, f"credentials {credentials!r}")
        assert _ok(client.get("/accounts"))["data"] == []

    @transactional
    def test_routes_are_in_the_openapi_document(self, kit_gateway: str) -> None:
        from django.test import Client

        provider = self.kit_connector().provider
        paths = _ok(Client().get("/openapi.json"))["paths"]
        missing = [
            f"{route.method} {route.template(provider)}" for route in self.kit_routes()
            if route.method.lower() not in paths.get(route.template(provider), {})
        ]
        assert not missing, f"not in /openapi.json: {missing}"

    # --- partner routes: authentication, methods, bodies, tenants ------------------------

    @transactional
    def test_routes_refuse_missing_and_wrong_credentials(
        self, kit_world: Callable[[str], KitAccount], kit_harness: Harness
    ) -> None:
        account = kit_world("owner")
        provider = self.kit_connector().provider
        before = _stored()
        for route in self.kit_routes():
            call = self._sample(kit_harness, route, account)
            label = f"{route.template(provider)} ({route.name})"
            if route.auth is InboundAuth.PATH_TOKEN:
                for token in (account.path_token + "x", "x" * 43, account.tenant.api_key):
                    response = send(route, provider, call, key=None, token=token)
                    self._error(response, {404}, label + " with a wrong token", partner=True)
                continue
            key, api_key = account.inbound_key or "", account.tenant.api_key
            if route.auth is InboundAuth.BASIC_KEY:
                probes = {"no credentials": None, "a wrong key": basic(key + "x"),
                          "the tenant's API key": basic(api_key), "the key as a Bearer token": f"Bearer {key}",
                          "a malformed header": "Basic !!!"}
            else:
                probes = {"no credentials": None, "a wrong key": f"Bearer {key}x",
                          "the tenant's API key": f"Bearer {api_key}", "the key as Basic": basic(key),
                          "a malformed header": "Bearer"}
            for what, authorization in probes.items():
                response = send(route, provider, call, key=None, token=None, authorization=authorization)
                self._error(response, {401}, f"{label} with {what}", partner=True)
        assert _stored() == before, "a refused call stored something"

    @transactional
    def test_rotated_and_unlinked_keys_stop_working(
        self, kit_world: Callable[[str], KitAccount], kit_harness: Harness, kit_secrets: KitSecrets
    ) -> None:
        account = kit_world("rotator")
        provider = self.kit_connector().provider
        routes = [r for r in self.kit_routes() if r.method == "GET"] or self.kit_routes()
        if not routes:
            pytest.skip("no partner routes")
        route = routes[0]
        call = self._sample(kit_harness, route, account)
        old_key, old_token = account.inbound_key, account.path_token
        rotated = _ok(account.tenant.client().post(f"/accounts/{account.id}/inbound_key"))
        account.linked = {**account.linked, "inbound": rotated["inbound"]}
        kit_secrets.add(account.inbound_key, "rotated inbound key")
        kit_secrets.add(account.path_token, "rotated webhook token")
        refused = 404 if route.auth is InboundAuth.PATH_TOKEN else 401
        label = f"{route.template(provider)} ({route.name})"
        self._error(send(route, provider, call, key=old_key, token=old_token), {refused}, label + " with the old key",
                    partner=True)
        fresh = send(route, provider, call, key=account.inbound_key, token=account.path_token)
        assert 200 <= fresh.status_code < 300, f"{label} with the new key: {fresh.status_code} {fresh.content[:300]!r}"
        assert account.tenant.client().delete(f"/accounts/{account.id}").status_code == 204
        self._error(send(route, provider, call, key=account.inbound_key, token=account.path_token), {refused},
                    label + " after unlinking", partner=True)

    @transactional
    def test_other_methods_answer_405(self, kit_world: Callable[[str], KitAccount], kit_harness: Harness) -> None:
        account = kit_world("methods")
        provider = self.kit_connector().provider
        by_path: dict[str, list[Route]] = {}
        for route in self.kit_routes():
            by_path.setdefault(route.path, []).append(route)
        for routes in by_path.values():
            served = {route.method for route in routes}
            route = routes[0]
            call = self._sample(kit_harness, route, account)
            for method in sorted(set(METHODS) - served):
                response = send(route, provider, call, key=account.inbound_key, token=account.path_token,
                                method=method, raw=b"{}" if method in BODY_METHODS else None)
                label = f"{method} {route.template(provider)}"
                body = self._error(response, {405}, label, partner=True)
                if "message" in body:
                    assert body["message"] == f"Method {method} not allowed.", f"{label}: {body['message']!r}"
                allow = {m.strip() for m in response.get("Allow", "").split(",") if m.strip()}
                assert served <= allow, f"{label}: Allow {response.get('Allow')!r} does not list {sorted(served)}"

    @transactional
    def test_bad_bodies_are_refused_and_store_nothing(
        self, kit_world: Callable[[str], KitAccount], kit_harness: Harness
    ) -> None:
        account = kit_world("bodies")
        provider = self.kit_connector().provider
        failures: list[str] = []
        routes = [route for route in self.kit_routes() if route.takes_body]
        if not routes:
            pytest.skip("no partner route takes a body")
        for route in routes:
            call = self._sample(kit_harness, route, account)
            label = f"{route.template(provider)} ({route.name})"
            for bad in cases_for(route):
                expected = self.bad_body_answers.get((route.name, bad.name)) or expected_statuses(route, bad)
                expected = {expected} if isinstance(expected, int) else expected
                before = _stored()
                response = send(route, provider, call, key=account.inbound_key, token=account.path_token,
                                raw=bad.raw, content_type=bad.content_type)
                try:
                    if expected is None or min(expected) < 400:
                        allowed = expected or set(range(200, 500))
                        assert response.status_code in allowed, f"got {response.status_code}"
                    else:
                        self._error(response, expected, label, partner=True)
                        assert _stored() == before, f"stored something: {before} -> {_stored()}"
                except AssertionError as exc:
                    failures.append(f"{label} {bad.name}: {exc}")
            if call.body is not None:  # a body shorter than its declared length reads as truncated
                raw = json.dumps(call.body).encode()
                before = _stored()
                response = send(route, provider, call, key=account.inbound_key, token=account.path_token,
                                raw=raw, CONTENT_LENGTH=str(len(raw) - 5))
                try:
                    self._error(response, {400}, label, partner=True)
                    assert _stored() == before, "stored something"
                except AssertionError as exc:
                    failures.append(f"{label} a lying Content-Length: {exc}")
            good = send(route, provider, self._sample(kit_harness, route, account), key=account.inbound_key,
                        token=account.path_token)
            if not 200 <= good.status_code < 300:
                failures.append(f"{label}: the next good call answered {good.status_code}: {good.content[:300]!r}")
        assert not failures, "\n".join(failures)

    @transactional
    def test_another_tenant_reaches_nothing(
        self, kit_world: Callable[[str], KitAccount], kit_harness: Harness
    ) -> None:
        """The attacker's own valid credentials, aimed at the victim's objects on every
        route: never a 5xx, nothing of the victim's in the answer, the victim's rows as
        they were (a provider's trigger included: the victim's result waits at the
        provider, so a trigger that reached the victim's order would store it)."""
        connector = self.kit_connector()
        victim, attacker = kit_world("victim"), kit_world("attacker")
        if connector.role is Role.PROVIDER and victim.order is not None:
            kit_harness.complete(victim, victim.order, notify=False)
        _drain()
        before = _snapshot(victim.id)
        names = self._identifiers(victim)
        failures = []
        for route in self.kit_routes():
            call = self._sample(kit_harness, route, victim)
            response = send(route, connector.provider, call, key=attacker.inbound_key, token=attacker.path_token)
            _drain()
            sent = route.url(connector.provider, call, attacker.path_token) + json.dumps(call.body)
            text = response.content.decode("utf-8", errors="replace")
            for value in names.values():
                if value in sent:
                    text = text.replace(value, "")
            label = f"{route.template(connector.provider)} ({route.name})"
            if response.status_code >= 500:
                failures.append(f"{label}: {response.status_code}")
            leaked = [name for name, value in names.items() if value in text]
            if leaked:
                failures.append(f"{label}: the answer names the victim's {leaked}")
            if _snapshot(victim.id) != before:
                failures.append(f"{label}: the victim's data changed")
                before = _snapshot(victim.id)
        assert not failures, "\n".join(failures)

    @staticmethod
    def _identifiers(account: KitAccount) -> dict[str, str]:
        order = account.order or {}
        found = {"account id": account.id, "tenant id": account.tenant.id, "order id": order.get("id"),
                 "order remote_id": order.get("remote_id"), "package id": (order.get("package") or {}).get("id")}
        for email in (order.get("candidate") or {}).get("emails") or []:
            found["candidate email"] = email.get("value")
        return {name: value for name, value in found.items() if isinstance(value, str) and len(value) >= 6}

    # --- the role's flow against the simulator -------------------------------------------

    def _subscribe(self, account: KitAccount, receiver_url: str) -> str:
        path = f"/{account.tag}"
        body = {"url": receiver_url + path, "events": ["*"]}
        _ok(account.tenant.client().post("/webhook_endpoints", body, format="json"), 201)
        return path

    @transactional
    def test_the_role_flow_end_to_end(
        self, kit_tenant: Callable[[str], KitTenant], kit_link: Callable[..., KitAccount], kit_harness: Harness,
        kit_receiver: tuple[_Receiver, str],
    ) -> None:
        account = kit_link(kit_tenant("flow"))
        receiver, receiver_url = kit_receiver
        path = self._subscribe(account, receiver_url)
        if self.kit_connector().role is Role.ATS:
            self._ats_flow(account, kit_harness, receiver, path)
        else:
            self._provider_flow(account, kit_harness, receiver, path)

    def _ats_flow(self, account: KitAccount, harness: Harness, receiver: _Receiver, path: str) -> None:
        account.package_remote_id = f"kit-{account.tag}"
        catalog = [{"remote_id": account.package_remote_id, "name": f"Kit test {account.tag}"}]
        _ok(account.unified().put(f"{UNIFIED}/packages", {"packages": catalog}, format="json"))
        order_id = harness.send_order(account)
        order = _ok(account.unified().get(f"{UNIFIED}/orders/{order_id}"))["data"]
        assert order["status"] == "open", order
        assert order["package"]["remote_id"] == account.package_remote_id, order["package"]
        _wait_for(lambda: receiver.received(path, "ats_assessments.created", order_id), "ats_assessments.created")
        _ok(account.unified().patch(f"{UNIFIED}/orders/{order_id}/result", KIT_RESULT, format="json"))
        _drain()
        harness.assert_delivered(account, order_id)
        order = _ok(account.unified().get(f"{UNIFIED}/orders/{order_id}"))["data"]
        assert order["status"] == "completed" and order["result"]["result"]["value"] == "passed", order
        _wait_for(lambda: receiver.received(path, "ats_assessments.updated", order_id), "ats_assessments.updated")

    def _provider_flow(self, account: KitAccount, harness: Harness, receiver: _Receiver, path: str) -> None:
        connector = self.kit_connector()
        account.package_remote_id = harness.add_package()
        if connector.supports(Capability.LIST_PACKAGES):
            listed = _ok(account.unified().get(f"{UNIFIED}/packages", {"page_size": 200}))["data"]
            assert account.package_remote_id in [p["remote_id"] for p in listed], listed
        assert connector.supports(Capability.CREATE_ORDER), "a provider connector must create orders"
        created = _ok(account.unified().post(f"{UNIFIED}/orders", self._order_body(account), format="json"), 201)
        order = created["data"]
        assert order["status"] in ("open", "in_progress"), order
        _wait_for(lambda: receiver.received(path, "ats_assessments.created", order["id"]), "ats_assessments.created")
        harness.complete(account, order, notify=True)
        if not connector.supports(Capability.HANDLE_WEBHOOK):
            self._reconcile(account)
        # A webhook is processed after the provider has its answer: wait for it.
        self._assert_completed(self._order_when(account, order["id"], lambda o: o["status"] == "completed"))
        _wait_for(lambda: receiver.received(path, "ats_assessments.updated", order["id"]), "ats_assessments.updated")

    @staticmethod
    def _order_when(account: KitAccount, order_id: str, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The order once ``ready`` says so, or as it is after ``WAIT_SECONDS``."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            _drain()
            order = _ok(account.unified().get(f"{UNIFIED}/orders/{order_id}"))["data"]
            if ready(order) or time.monotonic() > deadline:
                return order
            time.sleep(0.05)

    @staticmethod
    def _assert_completed(order: Mapping[str, Any]) -> None:
        result = order.get("result") or {}
        assert order["status"] == "completed", f"status {order['status']!r}: {order}"
        assert (result.get("result") or {}).get("value") in {v.value for v in FINAL_RESULT_VALUES}, result
        assert (result.get("score") or {}).get("value") is not None, f"no score: {result}"

    @staticmethod
    def _reconcile(account: KitAccount) -> None:
        from gateway.assessments.pipeline import account_reconcile
        from gateway.tenancy.models import Account

        account_reconcile(account=Account.objects.get(id=account.id))

    @transactional
    def test_reconciliation_finds_results_without_a_webhook(
        self, kit_world: Callable[[str], KitAccount], kit_harness: Harness
    ) -> None:
        if self.kit_connector().reconcile_every is None:
            pytest.skip("the connector declares no reconcile_every")
        account = kit_world("reconciled")
        assert account.order is not None
        kit_harness.complete(account, account.order, notify=False)
        waiting = _ok(account.unified().get(f"{UNIFIED}/orders/{account.order['id']}"))["data"]
        assert waiting["status"] in ("open", "in_progress"), "stored before anyone re-read it"
        self._reconcile(account)
        self._assert_completed(_ok(account.unified().get(f"{UNIFIED}/orders/{account.order['id']}"))["data"])

    @transactional
    def test_erasing_an_order_cancels_it_upstream(
        self, kit_world: Callable[[str], KitAccount], kit_harness: Harness
    ) -> None:
        if not self.kit_connector().supports(Capability.CANCEL_ORDER):
            pytest.skip("the connector does not cancel orders")
        account = kit_world("erased")
        assert account.order is not None
        assert account.unified().delete(f"{UNIFIED}/orders/{account.order['id']}").status_code == 204
        kit_harness.assert_cancelled(account, account.order)
        erased = _ok(account.unified().get(f"{UNIFIED}/orders/{account.order['id']}"))["data"]
        assert erased["candidate"] is None and erased["result"] is None, erased

    # --- failures -------------------------------------------------------------------------

    def _assert_provider_errors(self, response: Any, statuses: set[int], secrets: KitSecrets, label: str) -> None:
        body = self._error(response, statuses, label)
        assert body["provider_errors"], f"{label}: no provider_errors"
        for item in body["provider_errors"]:
            assert {"status", "url", "raw"} <= set(item), f"{label}: provider_errors item {item}"
        leaks = secrets.found_in(response.content.decode("utf-8", errors="replace"))
        assert not leaks, f"{label}: credentials in the answer: {leaks}"

    @transactional
    def test_a_partner_failure_is_reported_with_redacted_calls(
        self, kit_world: Callable[[str], KitAccount], kit_harness: Harness, kit_secrets: KitSecrets
    ) -> None:
        """provider role: the provider answers 500 → 502 with ``provider_errors``, nothing
        stored. ats role: the ATS refuses the result delivery → it stays pending with the
        attempt recorded, credential-free, and is delivered on the next attempt."""
        connector = self.kit_connector()
        account = kit_world("failing")
        if connector.role is Role.ATS:
            self._ats_delivery_failure(account, kit_harness, kit_secrets)
            return
        before = _stored()
        try:
            if connector.supports(Capability.LIST_PACKAGES):
                kit_harness.fail_next(20, 500)
                response = account.unified().get(f"{UNIFIED}/packages")
                self._assert_provider_errors(response, {502}, kit_secrets, "GET packages")
            kit_harness.fail_next(20, 500)
            response = account.unified().post(f"{UNIFIED}/orders", self._order_body(account), format="json")
            self._assert_provider_errors(response, {502}, kit_secrets, "POST orders")
            assert _stored()["Order"] == before["Order"], "a failed order was stored"
        finally:
            kit_harness.fail_next(0)

    def _ats_delivery_failure(self, account: KitAccount, harness: Harness, secrets: KitSecrets) -> None:
        from django.utils import timezone

        from gateway.delivery.models import Delivery, DeliveryAttempt, DeliveryKind, DeliveryStatus
        from gateway.delivery.sender import delivery_send

        assert account.order is not None
        order_id = account.order["id"]
        harness.fail_next(1, 503)
        try:
            _ok(account.unified().patch(f"{UNIFIED}/orders/{order_id}/result", KIT_RESULT, format="json"))
            _drain()
            row = Delivery.objects.filter(order_id=order_id, kind=DeliveryKind.PARTNER).latest("created_at")
            assert row.status == DeliveryStatus.PENDING and row.attempts >= 1, (row.status, row.attempts)
            assert row.last_status_code == 503, row.last_status_code
        finally:
            harness.fail_next(0)
        kept = [row.last_error, row.url] + [
            f"{a.error} {a.response_excerpt}" for a in DeliveryAttempt.objects.filter(delivery_id=row.id)
        ]
        leaks = secrets.found_in("\n".join(kept))
        assert not leaks, f"credentials kept with the delivery: {leaks}"
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        assert delivery_send(row.id) == "sent"
        harness.assert_delivered(account, order_id)

    @transactional
    def test_an_unreachable_provider_is_a_502(
        self, kit_world: Callable[[str], KitAccount], kit_secrets: KitSecrets
    ) -> None:
        connector = self.kit_connector()
        if connector.role is Role.ATS:
            pytest.skip("ats role: the gateway calls the ATS only to deliver (see the partner failure test)")
        account = kit_world("unreachable")
        dead = self.kit_settings(_dead_url())
        _ok(account.tenant.client().patch(f"/accounts/{account.id}", {"settings": dead}, format="json"))
        if connector.supports(Capability.LIST_PACKAGES):
            response = account.unified().get(f"{UNIFIED}/packages")
        else:
            response = account.unified().post(f"{UNIFIED}/orders", self._order_body(account), format="json")
        self._assert_provider_errors(response, {502, 504}, kit_secrets, "unreachable provider")

    @transactional
    def test_check_reports_the_partner_answer(
        self, kit_tenant: Callable[[str], KitTenant], kit_link: Callable[..., KitAccount], kit_harness: Harness,
        kit_secrets: KitSecrets,
    ) -> None:
        if not self.kit_connector().supports(Capability.CHECK):
            pytest.skip("the connector cannot check credentials")
        account = kit_link(kit_tenant("checker"))
        client = account.tenant.client()
        assert _ok(client.post(f"/accounts/{account.id}/check")) == {"status": "ok"}
        kit_harness.fail_next(20, 500)
        try:
            response = client.post(f"/accounts/{account.id}/check")
        finally:
            kit_harness.fail_next(0)
        body = _ok(response)
        assert body["status"] == "error" and body["provider_errors"], body
        assert not kit_secrets.found_in(response.content.decode()), "credentials in the check's answer"
        assert _ok(client.get(f"/accounts/{account.id}"))["status"] == "error"
        assert _ok(client.post(f"/accounts/{account.id}/check")) == {"status": "ok"}
        assert _ok(client.get(f"/accounts/{account.id}"))["status"] == "active"

    @transactional
    def test_no_secret_in_any_log_record(
        self, kit_world: Callable[[str], KitAccount], kit_harness: Harness, kit_secrets: KitSecrets
    ) -> None:
        """A busy run (the flow's start, a refused key, a partner failure) with every
        logger at DEBUG, searched explicitly; ``kit_secrets`` also checks every other test."""
        marker = f"kit-capture-probe-{_random.token_hex(6)}"
        probe = threading.Thread(target=logging.getLogger("gateway.kit.probe").debug, args=(marker,))
        probe.start()
        probe.join()
        account = kit_world("logged")
        for route in self.kit_routes():
            call = self._sample(kit_harness, route, account)
            send(route, account.provider, call, key=(account.inbound_key or "") + "x", token="x" * 43)
        kit_harness.fail_next(20, 500)
        try:
            if self.kit_connector().role is Role.PROVIDER:
                account.unified().post(f"{UNIFIED}/orders", self._order_body(account), format="json")
            else:
                assert account.order is not None
                account.unified().patch(f"{UNIFIED}/orders/{account.order['id']}/result", KIT_RESULT, format="json")
                _drain()
        finally:
            kit_harness.fail_next(0)
        for value in kit_harness.issued_secrets():
            kit_secrets.add(value, "issued by the simulator")
        handler = next(h for h in logging.getLogger().handlers if isinstance(h, _Records))
        text = handler.text()
        assert marker in text, "the capture missed a DEBUG record from another thread"
        leaks = kit_secrets.found_in(text)
        assert not leaks, "Credentials in log records:\n" + "\n".join(leaks)
