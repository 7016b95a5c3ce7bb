"""Schema-driven fuzzing of every operation in ``/openapi.json``: the unified API (once on
an ``ats`` account, once on a ``provider`` account), the platform API and the partner
endpoints, in process through the real WSGI application.

For each operation, schemathesis generates requests that fit the schema (positive) and
requests that break it (negative); half of them are aimed at the world's real ids and
test ids, so the fuzzer reaches past the 404s. Every response must:

* not be a 5xx (bad input never produces a 500, CONTRACT §1), except 501: an operation
  the account's role does not support (CONTRACT §3); the simulators never fail here, so
  a 502 or 504 would be a bug too;
* conform to the schema, errors included (every operation's ``default`` is the error body);
* carry ``X-Request-Id``.

And auth is never ignored: before each authenticated call, the same request without
credentials and with a wrong key gets 401 and changes nothing (for TestDome, whose path
token is the credential, a wrong token gets 404).

Bounded: ``GATEWAY_FUZZ_EXAMPLES`` examples per operation and mode (default 25), with a
fixed seed unless ``GATEWAY_FUZZ_RANDOM=1`` (run that locally to explore further).
"""

from __future__ import annotations

import re

import pytest

from tests.hardening.routes import mounted_routes
from tests.hardening.world import World

# The `test` extra brings schemathesis (and hypothesis); without it, say so and skip.
pytest.importorskip("schemathesis", reason="needs the `test` extra: pip install -e '.[test]'")
from tests.hardening import fuzzing  # noqa: E402

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("label", "role"), fuzzing.targets())
def test_every_operation_survives_fuzzing(label: str, role: str, world: World, in_process_wsgi: None) -> None:
    target = fuzzing.Target(world=world, path=fuzzing.OPERATIONS[label].path, role=role)
    fuzzing.run(label, target, fuzzing.GenerationMode.POSITIVE)
    if fuzzing.has_inputs(label):
        fuzzing.run(label, target, fuzzing.GenerationMode.NEGATIVE)


# Served, deliberately outside the schema: the schema itself, its page, and the
# candidate link (a browser redirect, not an API).
UNDOCUMENTED = {"/openapi.json", "/docs", "/t/{}"}


def _shape(template: str) -> str:
    return re.sub(r"\{\w+\}", "{}", template)


def test_every_mounted_route_is_in_the_schema_and_so_fuzzed() -> None:
    documented: dict[str, set[str]] = {}
    for operation in fuzzing.OPERATIONS.values():
        documented.setdefault(_shape(operation.path), set()).add(operation.method.upper())
    missing = {
        template: sorted(methods - documented.get(_shape(template), set()))
        for template, methods in mounted_routes().items()
        if _shape(template) not in UNDOCUMENTED and methods - documented.get(_shape(template), set())
    }
    assert not missing, f"Routes served but not in /openapi.json (so never fuzzed): {missing}"
