"""Bad input on every partner endpoint that takes a body: each one a clear 4xx in the
contract's error shape, nothing stored (orders, results, deliveries, partner error
reports, packages), and the endpoint still working for the next good request.

The table is the same for all four endpoints; where an endpoint's protocol decides
otherwise, ``EXPECTED`` says so and why.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from gateway.assessments.models import Order, Package, PartnerErrorReport, Result
from gateway.delivery.models import Delivery
from tests.conftest import basic
from tests.hardening.world import SG_CALLBACK, World
from tests.helpers import error_of

pytestmark = pytest.mark.django_db

JSON = "application/json"
DEEP = 10_000


@dataclass(frozen=True)
class Bad:
    name: str
    raw: bytes
    content_type: str = JSON
    status: int = 400


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


BAD_BODIES = [
    Bad("empty body", b""),
    Bad("whitespace only", b"  \n "),
    Bad("not JSON", b"{not json"),
    Bad("truncated JSON", b'{"a": [1, 2'),
    Bad("invalid UTF-8", b'{"a": "\xff\xfe\xfd"}'),
    Bad("UTF-16", '{"a": "b"}'.encode("utf-16")),
    Bad("duplicate keys", b'{"a": 1, "a": 2}'),
    Bad("NaN", b'{"a": NaN}'),
    Bad("Infinity", b'{"a": -Infinity}'),
    Bad("a number past float range", b'{"a": 1e999}'),
    Bad("arrays 10,000 deep", b"[" * DEEP + b"]" * DEEP),
    Bad("objects 10,000 deep", _nested(DEEP)),
    Bad("objects 40 deep", _nested(40)),
    Bad("a NUL character", b'{"a": "x\\u0000y"}'),
    Bad("a NUL character in a key", b'{"a\\u0000": "x"}'),
    Bad("a lone surrogate", b'{"a": "\\ud800"}'),
    Bad("not an object: array", b"[1, 2, 3]"),
    Bad("not an object: string", b'"send_test"'),
    Bad("not an object: null", b"null"),
    Bad("not an object: number", b"42"),
    Bad("missing fields", b"{}"),
    Bad("over 1 MiB", b'{"pad": "' + b"x" * (1024 * 1024) + b'"}', status=413),
    Bad("wrong content type: text", b'{"a": 1}', "text/plain", 415),
    Bad("wrong content type: form", b"a=1&b=2", "application/x-www-form-urlencoded", 415),
    Bad("wrong content type: multipart", b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x", 415),
]

# Wrong types, per endpoint: every required field present, each of the wrong type.
WRONG_TYPES = {
    "greenhouse send_test": {"partner_test_id": 7, "candidate": "Ada", "url": ["https://x"], "sent_by": {}},
    "greenhouse response_error": [{"api_call": "send_test"}],
    "softgarden invitations": {"testId": True, "candidate": ["id"], "callback": 5},
    "testdome webhook": {"candidateId": {"id": 1}, "testId": [], "status": 3},
}

# Where a protocol answers otherwise, by (endpoint, case).
EXPECTED: dict[tuple[str, str], int] = {
    # TestDome's body is only a trigger: anything that names no candidate is a 422.
    **{
        ("testdome webhook", name): 422
        for name in (
            "empty body",
            "whitespace only",
            "not an object: array",
            "not an object: string",
            "not an object: null",
            "not an object: number",
            "missing fields",
            "wrong types",
        )
    },
    # Greenhouse's only feedback channel keeps any object, however odd (greenhouse.md §1.9).
    ("greenhouse response_error", "missing fields"): 200,
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: Callable[[World], str]
    client: Callable[[World], Client]
    good: Callable[[World], dict[str, Any]]


ENDPOINTS = [
    Endpoint(
        "greenhouse send_test",
        lambda w: "/connectors/greenhouse/send_test",
        lambda w: Client(HTTP_AUTHORIZATION=basic(w.gh_key)),
        lambda w: {
            "partner_test_id": w.gh_test_id,
            "url": f"https://app.greenhouse.io/t/{w.tag}-2",
            "candidate": {"first_name": "A", "last_name": "B", "email": "a@b.example"},
        },
    ),
    Endpoint(
        "greenhouse response_error",
        lambda w: "/connectors/greenhouse/response_error",
        lambda w: Client(HTTP_AUTHORIZATION=basic(w.gh_key)),
        lambda w: {"api_call": "test_status", "errors": ["partner_score is missing"]},
    ),
    Endpoint(
        "softgarden invitations",
        lambda w: "/connectors/softgarden/invitations",
        lambda w: Client(HTTP_AUTHORIZATION=f"Bearer {w.sg_key}"),
        lambda w: {"testId": w.sg_test_id, "candidate": {"id": f"app-{w.tag}-2"}, "callback": SG_CALLBACK},
    ),
    Endpoint(
        "testdome webhook",
        lambda w: f"/connectors/testdome/webhooks/{w.td_token}",
        lambda w: Client(),
        lambda w: {"candidateId": w.td_candidate, "testId": w.td_test_id, "status": "Completed"},
    ),
]


def _stored() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Order, Result, Delivery, PartnerErrorReport, Package)}


def _cases(endpoint: Endpoint) -> list[Bad]:
    wrong = Bad("wrong types", json.dumps(WRONG_TYPES[endpoint.name]).encode())
    return [
        Bad(bad.name, bad.raw, bad.content_type, EXPECTED.get((endpoint.name, bad.name), bad.status))
        for bad in [*BAD_BODIES, wrong]
    ]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_bad_bodies_are_refused_and_store_nothing(endpoint: Endpoint, world: World) -> None:
    client, path = endpoint.client(world), endpoint.path(world)
    failures = []
    for bad in _cases(endpoint):
        before = _stored()
        response = client.generic("POST", path, bad.raw, content_type=bad.content_type)
        try:
            if bad.status >= 400:
                error_of(response, bad.status)
                assert _stored() == before, f"stored something: {before} -> {_stored()}"
            else:
                assert response.status_code == bad.status, (response.status_code, response.content[:300])
        except AssertionError as exc:
            failures.append(f"{bad.name}: {exc}")
    assert not failures, f"{endpoint.name}:\n" + "\n".join(failures)

    # Nothing is wedged: the next good request works.
    response = client.generic("POST", path, json.dumps(endpoint.good(world)), content_type=JSON)
    assert response.status_code == 200, response.content[:500]


def test_a_lying_content_length_stores_nothing(world: World) -> None:
    """A body shorter than its declared length reads as truncated JSON: a 400."""
    before = _stored()
    raw = json.dumps({"testId": world.sg_test_id, "candidate": {"id": "x"}, "callback": SG_CALLBACK}).encode()
    response = Client(HTTP_AUTHORIZATION=f"Bearer {world.sg_key}").generic(
        "POST", "/connectors/softgarden/invitations", raw, content_type=JSON, CONTENT_LENGTH=str(len(raw) - 5)
    )
    error_of(response, 400)
    assert _stored() == before
