"""No credential in any log record: the session-wide capture of ``log_capture`` (every
record of the whole run, every level) searched for every credential minted or stored.

The plugin's own check runs when the session ends, over everything; the tests here
prove that the capture and the collection work, and check what ran before them.
"""

from __future__ import annotations

import logging
import secrets

import pytest

from gateway.tenancy.services import tenant_create
from tests.hardening.log_capture import captured_text, find_leaks, known_secrets
from tests.hardening.world import World

pytestmark = pytest.mark.django_db


def test_every_logger_and_level_is_captured() -> None:
    marker = f"capture-probe-{secrets.token_hex(6)}"
    logging.getLogger("gateway.some.module").debug("debug %s with %s", marker, "args")
    logging.getLogger("celery.worker").info("info %s", marker)
    assert f"debug {marker} with args" in captured_text()
    assert f"info {marker}" in captured_text()


def test_every_kind_of_credential_is_collected(world: World) -> None:
    created = tenant_create(name="collector")
    collected = known_secrets()
    for value in (created.api_key, created.signing_secret, *world.secrets.values()):
        if value != world.link_token:  # a candidate link is no credential of the tenant's
            assert value in collected, f"not collected: {value[:6]}…"


def test_a_leak_would_be_found_and_masked() -> None:
    secret = "gw_" + secrets.token_urlsafe(32)
    text = f"line one\nINFO gateway.x sent Authorization: Basic {secret}\nline three"
    [leak] = find_leaks(text, {secret: "API key"})
    assert "<API key>" in leak and secret not in leak


def test_no_credential_in_the_log_records_so_far() -> None:
    """What ran before this test; the session end checks everything after it too."""
    leaks = find_leaks(captured_text(), known_secrets())
    assert not leaks, "\n".join(leaks)
