"""The tenant-isolation matrix: another tenant ("attacker", with its own fully populated
world and every one of its own credentials) aims at this tenant's ("victim's") account,
order, result, package, webhook endpoint and inbound key ids on every route and method.

* Platform and unified API: the victim's ids answer 404, exactly as ids that never
  existed do (the bodies are compared), whether they come in the path, in
  ``x-account-id`` or in a filter.
* Partner endpoints: the attacker's inbound key reaches only the attacker's account
  (404, or 400 where the partner's protocol says so), and a credential presented where
  it does not belong (an inbound key as an API key, a Greenhouse key at softgarden…)
  is a 401 (TestDome's path token: 404).
* Nothing in any response to the attacker names the victim (ids, names, emails, test
  ids), nothing in any response or log line is a credential of either tenant, and the
  victim's data is exactly as it was.

``test_the_matrix_covers_every_route`` fails when a route or method is served that no
probe aims at, so a new endpoint cannot slip past this file.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import resolve

from gateway.assessments.models import Order, Package, PartnerErrorReport, Result
from gateway.delivery.models import Delivery, WebhookEndpoint
from gateway.tenancy.models import Account, ApiKey, Tenant
from tests.conftest import basic
from tests.hardening.routes import mounted_routes
from tests.hardening.world import SG_CALLBACK, World

pytestmark = pytest.mark.django_db

U = "/unified/ats/assessments"
GH = "/connectors/greenhouse"
SG = "/connectors/softgarden"
AB = "/connectors/ashby"
PUBLIC = {"/health", "/openapi.json", "/docs", "/t/{token}"}
_ID = re.compile(r"\b(acc|ord|res|pkg|whe|ten)_[0-9A-Z]{26}\b")


@dataclass(frozen=True)
class Probe:
    """One request by the attacker. ``path`` and string values in ``body`` and
    ``headers`` are formatted with ``v`` (victim) and ``a`` (attacker). ``auth``:
    ``key`` (the attacker's API key), ``greenhouse`` / ``softgarden`` (its inbound keys),
    ``none``, or a literal ``Authorization`` value template."""

    method: str
    path: str
    auth: str
    expect: int
    body: Any = None
    account: str | None = None  # x-account-id template
    why: str = ""


def _unified_writes(order: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", f"{U}/packages", None),
        ("PUT", f"{U}/packages", {"packages": [{"remote_id": "attacker-test", "name": "Attacker test"}]}),
        ("GET", f"{U}/packages/{{v.gh_package}}", None),
        ("GET", f"{U}/orders", None),
        (
            "POST",
            f"{U}/orders",
            {"package": {"remote_id": "{v.td_test_id}"}, "candidate": {"emails": [{"value": "x@attacker.example"}]}},
        ),
        ("GET", f"{U}/orders/{order}", None),
        ("PATCH", f"{U}/orders/{order}", {"status": "in_progress"}),
        ("DELETE", f"{U}/orders/{order}", None),
        ("GET", f"{U}/orders/{order}/result", None),
        ("PATCH", f"{U}/orders/{order}/result", {"score": {"value": "99"}, "result": {"value": "passed"}}),
        ("GET", f"{U}/results", None),
        ("GET", f"{U}/results/{{v.gh_result}}", None),
    ]


def _probes() -> list[Probe]:
    probes = [
        # --- platform API: the attacker's key, the victim's ids ---------------------------
        Probe("GET", "/connectors", "key", 200),
        Probe("GET", "/accounts", "key", 200),
        Probe("POST", "/accounts", "key", 201, {"provider": "softgarden", "credentials": {"notify_client_id": "x"}}),
        Probe("GET", "/accounts/{v.gh_account}", "key", 404),
        Probe("PATCH", "/accounts/{v.gh_account}", "key", 404, {"label": "pwned", "settings": {}}),
        Probe("DELETE", "/accounts/{v.sg_account}", "key", 404),
        Probe("POST", "/accounts/{v.gh_account}/inbound_key", "key", 404),
        Probe("POST", "/accounts/{v.td_account}/inbound_key", "key", 404),
        Probe("POST", "/accounts/{v.td_account}/check", "key", 404),
        Probe("GET", "/webhook_endpoints", "key", 200),
        Probe("POST", "/webhook_endpoints", "key", 201, {"url": "https://attacker.example/hook", "events": ["*"]}),
        Probe("GET", "/webhook_endpoints/{v.endpoint}", "key", 404),
        Probe("DELETE", "/webhook_endpoints/{v.endpoint}", "key", 404),
        Probe("POST", "/signing_secret", "key", 200, why="rotates the attacker's own secret only"),
        # --- public routes: no tenant data at all -----------------------------------------
        Probe("GET", "/health", "none", 200),
        Probe("GET", "/openapi.json", "none", 200),
        Probe("GET", "/docs", "none", 200),
        Probe("GET", "/t/" + "x" * 32, "none", 404, why="the link token is the only credential"),
        # --- own routes with the victim's ids in filters: empty, not an error ---------------
        Probe("GET", f"{U}/orders?filter[package_id]={{v.gh_package}}", "key", 200, account="{a.gh_account}"),
        Probe("GET", f"{U}/results?filter[order_id]={{v.gh_order}}", "key", 200, account="{a.gh_account}"),
        Probe("GET", "/accounts?filter[origin_owner_id]={v.tenant.id}", "key", 200),
        # --- partner endpoints: the attacker's inbound keys, the victim's ids ---------------
        Probe("GET", f"{GH}/list_tests", "greenhouse", 200),
        Probe(
            "POST",
            f"{GH}/send_test",
            "greenhouse",
            404,
            {
                "partner_test_id": "{v.gh_test_id}",
                "url": "https://app.greenhouse.io/x/{a.tag}",
                "candidate": {"first_name": "A", "last_name": "B", "email": "a@attacker.example"},
            },
        ),
        Probe("GET", f"{GH}/test_status?partner_interview_id={{v.gh_order}}", "greenhouse", 404),
        Probe(
            "POST",
            f"{GH}/response_error",
            "greenhouse",
            200,
            {"partner_interview_id": "{v.gh_order}", "errors": ["probe"]},
            why="kept, never linked to the victim",
        ),
        Probe("GET", f"{SG}/tests", "softgarden", 200),
        Probe(
            "POST",
            f"{SG}/invitations",
            "softgarden",
            400,
            {
                "testId": "{v.sg_test_id}",
                "candidate": {"id": "app-{a.tag}"},
                "callback": SG_CALLBACK,
            },
            why="softgarden: an unknown testId is a 400",
        ),
        Probe("DELETE", f"{SG}/invitations/{{v.sg_order}}", "softgarden", 400, why="softgarden: never seen is a 400"),
        Probe("GET", f"{SG}/results/{{v.sg_order}}", "softgarden", 404),
        # Ashby: the attacker's key sees its own (empty) catalog; ids it never issued are
        # unknown (the kit probes every Ashby route with another tenant's orders too).
        Probe("POST", f"{AB}/assessment.list", "ashby", 200, {}),
        Probe(
            "POST",
            f"{AB}/assessment.start",
            "ashby",
            422,
            {
                "assessment_type_id": "0b6c1f6e-5a6f-5d34-9c39-7c0d3d8c9a11",
                "candidate": {"ashby_id": "c-{a.tag}", "first_name": "A", "last_name": "B", "email": "a@x.example"},
                "application": {"ashby_id": "app-{a.tag}"},
                "job": {"ashby_id": "job-{a.tag}", "name": "Probe"},
            },
            why="Ashby: an unknown assessment type is a 422",
        ),
        Probe(
            "POST",
            f"{AB}/assessment.cancel",
            "ashby",
            200,
            {"assessment_id": "6f1d9c0e-1111-5222-8333-444455556666"},
            why="Ashby: an unknown assessment is success: false, not_found",
        ),
        Probe(
            "POST",
            "/connectors/testdome/webhooks/{a.td_token}",
            "none",
            200,
            {"candidateId": "{v.td_candidate}", "status": "Completed"},
            why="a trigger on the attacker's account: the victim's order must not move",
        ),
    ]
    # --- unified API: the attacker's key with the victim's account in x-account-id ----------
    for account, order in (
        ("{v.gh_account}", "{v.gh_order}"),
        ("{v.sg_account}", "{v.sg_order}"),
        ("{v.td_account}", "{v.td_order}"),
    ):
        probes += [Probe(m, p, "key", 404, b, account=account) for m, p, b in _unified_writes(order)]
    # --- unified API: the attacker's own account, the victim's object ids -----------------
    for account, order in (
        ("{a.gh_account}", "{v.gh_order}"),
        ("{a.sg_account}", "{v.sg_order}"),
        ("{a.td_account}", "{v.td_order}"),
    ):
        probes += [
            Probe(m, p, "key", 404, b, account=account)
            for m, p, b in _unified_writes(order)
            if "{v." in p  # the list and catalog routes take no victim id
        ]
    probes += [
        Probe("GET", f"{U}/packages", "key", 200, account="{a.gh_account}"),
        Probe(
            "PUT",
            f"{U}/packages",
            "key",
            200,
            {"packages": [{"remote_id": "{v.gh_test_id}", "name": "Mine"}]},
            account="{a.gh_account}",
            why="the same remote_id on another account is another package",
        ),
        Probe("GET", f"{U}/orders", "key", 200, account="{a.gh_account}"),
        Probe(
            "POST",
            f"{U}/orders",
            "key",
            201,
            {"package": {"remote_id": "{a.td_test_id}"}, "candidate": {"emails": [{"value": "y@attacker.example"}]}},
            account="{a.td_account}",
        ),
        Probe("GET", f"{U}/results", "key", 200, account="{a.gh_account}"),
    ]
    # --- credentials where they do not belong: 401 (a path token: 404) ---------------------
    misplaced = {
        "/accounts": ["Basic {a.gh_key}", "Bearer {a.sg_key}", "Basic {a.signing_secret}", "Bearer {a.td_token}"],
        f"{U}/orders": ["Basic {a.gh_key}", "Bearer {a.sg_key}"],
        f"{GH}/list_tests": ["Basic {a.api_key}", "Basic {a.sg_key}", "Bearer {a.gh_key}", "Basic {v.gh_key}x"],
        f"{SG}/tests": ["Bearer {a.api_key}", "Bearer {a.gh_key}", "Basic {a.sg_key}", "Bearer {v.sg_key}x"],
    }
    for path, headers in misplaced.items():
        account = "{a.gh_account}" if path.startswith(U) else None
        probes += [Probe("GET", path, "raw:" + header, 401, account=account) for header in headers]
    probes += [
        Probe("POST", "/connectors/testdome/webhooks/{a.api_key}", "none", 404, {"candidateId": "1"}),
        Probe("POST", "/connectors/testdome/webhooks/{a.gh_key}", "none", 404, {"candidateId": "1"}),
    ]
    return probes


PROBES = _probes()


class Render:
    """Formats templates; ``{a.api_key}`` and friends resolve through ``secrets``."""

    def __init__(self, victim: World, attacker: World) -> None:
        self.v, self.a = _View(victim), _View(attacker)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(v=self.v, a=self.a)
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self(item) for item in value]
        return value


class _View:
    """A world whose ``api_key``, ``signing_secret`` and ``tenant`` read as attributes."""

    def __init__(self, world: World) -> None:
        self._world = world

    def __getattr__(self, name: str) -> Any:
        if name in ("api_key", "signing_secret"):
            return getattr(self._world.tenant, name)
        return getattr(self._world, name)


def _send(probe: Probe, render: Render, attacker: World) -> Any:
    headers: dict[str, str] = {}
    if probe.auth == "key":
        headers["HTTP_AUTHORIZATION"] = basic(attacker.tenant.api_key)
    elif probe.auth == "greenhouse":
        headers["HTTP_AUTHORIZATION"] = basic(attacker.gh_key)
    elif probe.auth == "softgarden":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {attacker.sg_key}"
    elif probe.auth == "ashby":
        headers["HTTP_AUTHORIZATION"] = basic(attacker.ab_key)
    elif probe.auth.startswith("raw:"):
        scheme, _, value = render(probe.auth[4:]).partition(" ")
        headers["HTTP_AUTHORIZATION"] = basic(value) if scheme == "Basic" else f"{scheme} {value}"
    if probe.account:
        headers["HTTP_X_ACCOUNT_ID"] = render(probe.account)
    body = json.dumps(render(probe.body)) if probe.body is not None else None
    extra = {"content_type": "application/json"} if body is not None else {}
    return Client(**headers).generic(probe.method, render(probe.path), body or "", **extra)


def _ghost(text: str, victim: World) -> str:
    """``text`` with the victim's ids swapped for ids of the same kind that never existed."""
    theirs = set(victim.identifiers.values())
    return _ID.sub(lambda m: f"{m.group(1)}_{'0' * 26}" if m.group(0) in theirs else m.group(0), text)


def _comparable(response: Any) -> dict[str, Any]:
    body = response.json()
    return {k: v for k, v in body.items() if k not in ("timestamp", "request_id")}


def _snapshot(world: World) -> dict[str, Any]:
    """Every row of the victim's, as plain values."""
    tenant = Tenant.objects.get(pk=world.tenant.id)
    accounts = Account.objects.filter(tenant=tenant)
    rows: dict[str, Any] = {
        "tenant": model_to_dict(tenant),
        "api_keys": list(ApiKey.objects.filter(tenant=tenant).values()),
    }
    for name, queryset in (
        ("accounts", accounts),
        ("packages", Package.objects.filter(account__in=accounts)),
        ("orders", Order.objects.filter(account__in=accounts)),
        ("results", Result.objects.filter(account__in=accounts)),
        ("endpoints", WebhookEndpoint.objects.filter(tenant=tenant)),
        ("deliveries", Delivery.objects.filter(tenant=tenant)),
        ("partner_errors", PartnerErrorReport.objects.filter(account__in=accounts)),
    ):
        rows[name] = sorted((model_to_dict(row) for row in queryset), key=lambda row: str(row.get("id")))
    return rows


def _without(content: str, sent: str, victim: World) -> str:
    """``content`` minus the victim's values that the attacker itself put in the request."""
    for value in victim.identifiers.values():
        if value and value in sent:
            content = content.replace(value, "")
    return content


def _leaks(text: str, needles: dict[str, str]) -> list[str]:
    return [name for name, value in needles.items() if value and value in text]


def _credentials(*worlds: World, extra: Iterable[str] = ()) -> dict[str, str]:
    found = {f"{w.tag}:{name}": value for w in worlds for name, value in w.secrets.items()}
    found.update({f"extra:{n}": value for n, value in enumerate(extra)})
    return found


def test_another_tenant_reaches_nothing_and_learns_nothing(
    world: World, other_world: World, td_sim: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    victim, attacker = world, other_world
    settings.GATEWAY_TASK_RUNNER = "sync"  # the TestDome trigger is processed for real
    render = Render(victim, attacker)
    before = _snapshot(victim)
    caplog.set_level(logging.DEBUG)

    failures: list[str] = []
    bodies: list[tuple[Probe, str]] = []
    for probe in PROBES:
        response = _send(probe, render, attacker)
        content = response.content.decode("utf-8", errors="replace")
        # What the attacker sent itself may come back (an echoed test id is no leak).
        sent = render(probe.path) + json.dumps(render(probe.body)) + render(probe.account or "")
        bodies.append((probe, _without(content, sent, victim)))
        label = f"{probe.method} {render(probe.path)} as {probe.auth} (x-account-id {probe.account})"
        if response.status_code != probe.expect:
            failures.append(f"{label}: {response.status_code} != {probe.expect}: {content[:300]}")
            continue
        aimed = render(probe.path) + render(probe.account or "")
        if probe.expect == 404 and _ghost(aimed, victim) != aimed:
            ghost = Probe(
                probe.method,
                _ghost(render(probe.path), victim),
                probe.auth,
                404,
                probe.body,
                _ghost(render(probe.account), victim) if probe.account else None,
            )
            twin = _send(ghost, render, attacker)
            if twin.status_code != 404 or _comparable(twin) != _comparable(response):
                failures.append(f"{label}: tells the victim's id from a missing one: {content} vs {twin.content!r}")
        if probe.auth == "key" and "filter[" in probe.path and response.json()["data"]:
            failures.append(f"{label}: a filter on the victim's id found something")
    assert not failures, "\n".join(failures)

    # Nothing names the victim, and nothing anywhere is a credential.
    victim_names = {**victim.identifiers, **victim.secrets}
    leaked = [f"{p.method} {p.path}: {_leaks(body, victim_names)}" for p, body in bodies if _leaks(body, victim_names)]
    assert not leaked, "Responses to the attacker name the victim:\n" + "\n".join(leaked)
    credentials = _credentials(victim, attacker, extra=[td_sim.password])
    in_bodies = [f"{p.method} {p.path}: {_leaks(body, credentials)}" for p, body in bodies if _leaks(body, credentials)]
    assert not in_bodies, "Responses carry credentials:\n" + "\n".join(in_bodies)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    log = "\n".join(formatter.format(record) for record in caplog.records)
    assert not _leaks(log, credentials), f"Credentials in log lines: {_leaks(log, credentials)}"

    # And the victim's data is exactly as it was.
    assert _snapshot(victim) == before
    assert (
        not PartnerErrorReport.objects.filter(order__account__tenant_id=victim.tenant.id)
        .exclude(account__tenant_id=victim.tenant.id)
        .exists()
    )


def _route_of(path: str) -> str:
    match = resolve(path.split("?")[0])
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", match.route)


def test_the_matrix_covers_every_route() -> None:
    """Every (route, method) the URLconf serves has a probe by the other tenant (public
    routes: a probe with no credentials)."""
    sample = _SampleIds()
    covered: dict[str, set[str]] = {}
    for probe in PROBES:
        path = probe.path.format(v=sample, a=sample)
        if probe.auth == "none" and _route_of(path) not in PUBLIC and "/testdome/" not in path:
            continue
        covered.setdefault(_route_of(path), set()).add(probe.method)
    missing = {
        route: sorted(methods - covered.get(route, set()))
        for route, methods in mounted_routes().items()
        if methods - covered.get(route, set())
    }
    assert not missing, f"Served but not in the isolation matrix: {missing}"


class _SampleIds:
    """Stands in for a world when only the shape of the paths matters."""

    tenant = type("T", (), {"id": "ten_" + "0" * 26})()

    def __getattr__(self, name: str) -> str:
        return f"sample-{name}-{secrets.token_hex(2)}"
