"""The fuzzing machinery of ``test_fuzz.py``: the schema as served, one hypothesis run per
operation and generation mode, aimed at a ``World`` (real credentials, and half of the
time its real ids and test ids). Kept apart so that ``test_fuzz.py`` can skip cleanly
where schemathesis is not installed."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from gateway.assessments.models import Order, Package, Result
from gateway.assessments.selectors import live_package_id
from gateway.delivery.models import Delivery, WebhookEndpoint
from gateway.tenancy.models import Account
from tests.conftest import basic
from tests.hardening.schema import connector_hook, requires_auth
from tests.hardening.world import SG_CALLBACK, World

MAX_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "25"))
DERANDOMIZE = os.environ.get("GATEWAY_FUZZ_RANDOM") != "1"


def _load_schema() -> Any:
    # gateway.wsgi's application is exactly this handler, but importing it would call
    # django.setup() again, which re-applies LOGGING in the middle of the test session.
    from django.core.handlers.wsgi import WSGIHandler

    with connector_hook():
        return schemathesis.openapi.from_wsgi("/openapi.json", WSGIHandler())


SCHEMA = _load_schema()
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


def targets() -> list[Any]:
    """Every operation once; the unified API's twice, as an ``ats`` and a ``provider`` account."""
    params = []
    for label in sorted(OPERATIONS):
        roles = ("ats", "provider") if OPERATIONS[label].path.startswith("/unified/") else ("",)
        params.extend(pytest.param(label, role, id=f"{label}{' ' + role if role else ''}") for role in roles)
    return params


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Account, Order, Result, Package, Delivery, WebhookEndpoint))


def _drop_authorization(headers: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}


@dataclass
class Target:
    """How to aim one operation at the world: credentials, real ids, real test ids."""

    world: World
    path: str
    role: str

    @property
    def account(self) -> str:
        return self.world.td_account if self.role == "provider" else self.world.gh_account

    def authorization(self) -> str | None:
        w = self.world
        if self.path.startswith("/connectors/greenhouse/"):
            return basic(w.gh_key)
        if self.path.startswith("/connectors/softgarden/"):
            return f"Bearer {w.sg_key}"
        if self.path.startswith("/connectors/ashby/"):
            return basic(w.ab_key)
        if self.path.startswith("/connectors/testdome/"):
            return None
        return basic(w.tenant.api_key)

    def real_path_parameters(self) -> dict[str, str]:
        w, provider = self.world, self.role == "provider"
        return {
            "account_id": self.account if self.path.startswith("/unified/") else w.gh_account,
            "order_id": w.td_order if provider else w.gh_order,
            "result_id": w.gh_result,
            "package_id": live_package_id(w.td_test_id) if provider else w.gh_package,
            "endpoint_id": w.endpoint,
            "invitationId": w.sg_order,
            "token": w.td_token,
        }

    def aim(self, case: Any, real: bool) -> None:
        """Real credentials always; with ``real``, real ids and test ids as well."""
        headers = _drop_authorization(case.headers)
        authorization = self.authorization()
        if authorization:
            headers["Authorization"] = authorization
        if self.path.startswith("/unified/") and (real or "x-account-id" not in headers):
            headers["x-account-id"] = self.account
        case.headers = headers
        if not real:
            return
        for name in list(case.path_parameters or {}):
            case.path_parameters[name] = self.real_path_parameters().get(name, case.path_parameters[name])
        if isinstance(case.body, dict):
            w = self.world
            replacements: dict[str, Any] = {"partner_test_id": w.gh_test_id, "testId": w.sg_test_id}
            if self.path.startswith("/connectors/softgarden/"):
                replacements["callback"] = SG_CALLBACK
            if self.path == "/unified/ats/assessments/orders":
                replacements["package"] = {"remote_id": w.td_test_id}
            for key, value in replacements.items():
                if key in case.body:
                    case.body[key] = value


def _describe(case: Any, response: Any) -> str:
    return (
        f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}\n"
        f"-> {response.status_code} {response.content[:2000]!r}\n{case.as_curl_command()}"
    )


def _refused_before_auth(response: Any) -> bool:
    """The middleware refuses a NUL in the path, query or headers before any view, and
    so before authentication: a 400 that reveals nothing and does nothing."""
    return response.status_code == 400 and b"NUL characters are not allowed" in response.content


def _assert_auth_enforced(case: Any, target: Target, operation: dict[str, Any]) -> None:
    """The same request without credentials, then with a wrong one: refused, no effect."""
    writes = case.method.upper() != "GET"
    before = _counts() if writes else None
    if target.path.startswith("/connectors/testdome/"):
        real_token = case.path_parameters["token"]
        case.path_parameters["token"] = secrets.token_urlsafe(32)
        response = case.call()
        case.path_parameters["token"] = real_token
        assert response.status_code == 404, (case.path, response.status_code, response.content[:500])
    elif requires_auth(operation):
        headers = case.headers
        for attempt in (None, basic("gw_not-a-key") if "softgarden" not in target.path else "Bearer gwi_nope"):
            case.headers = _drop_authorization(headers)
            if attempt:
                case.headers["Authorization"] = attempt
            response = case.call()
            assert response.status_code == 401 or _refused_before_auth(response), (
                case.method,
                case.path,
                attempt,
                response.status_code,
                response.content[:500],
            )
        case.headers = headers
    if writes:
        assert _counts() == before, f"{case.method} {case.path}: a refused request changed the database"


def run(label: str, target: Target, mode: GenerationMode) -> None:
    operation = OPERATIONS[label]
    strategy = st.tuples(operation.as_strategy(generation_mode=mode), st.booleans())

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @hypothesis.given(drawn=strategy)
    def fuzz(drawn: tuple[Any, bool]) -> None:
        case, real = drawn
        target.aim(case, real)
        # Every example starts from the same world: what one example deletes or
        # rotates, the next one still has.
        with transaction.atomic():
            _assert_auth_enforced(case, target, operation.definition.raw)
            response = case.call()
            assert response.status_code < 500 or response.status_code == 501, _describe(case, response)
            # ``fields=`` keeps only the named keys of each item, which a schema cannot
            # express (its keys are required): such successes are checked for 5xx only.
            if response.status_code >= 400 or not (case.query or {}).get("fields"):
                case.validate_response(response, checks=[response_schema_conformance])
            assert response.headers.get("x-request-id"), f"{label}: no X-Request-Id"
            transaction.set_rollback(True)

    fuzz()


def has_inputs(label: str) -> bool:
    definition = OPERATIONS[label].definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody") or OPERATIONS[label].path_parameters)
