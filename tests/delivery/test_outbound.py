"""The outbound client over real loopback HTTP, plus its pure helpers.

No traffic ever leaves 127.0.0.1: addresses in other blocked ranges are only used in
checks that refuse them before any I/O (``validate_submitted_url``, ``is_blocked_ip``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import sys
import threading
import time
import types
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs

import pytest

from gateway.outbound import (
    RECORD_LIMIT,
    REDACTED,
    BlockedDestination,
    CallRecord,
    OutboundClient,
    OutboundConnectionError,
    OutboundError,
    OutboundTimeout,
    client_from_settings,
    host_matches,
    is_blocked_ip,
    redact,
    redact_url,
    validate_submitted_url,
)
from gateway.sdk.http import retry_after_seconds
from gateway.sdk.loopback import LoopbackServer

SECRET = "sk_live_0123456789abcdef"


class App:
    """A small WSGI target that counts hits per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.seen: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ["PATH_INFO"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        with self._lock:
            self.hits[path] += 1
            self.seen[path] = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
        status, headers, body = self.route(path, query, environ)
        start_response(status, headers)
        return [body]

    def route(self, path, query, environ):
        as_json = [("Content-Type", "application/json")]
        if path == "/json":
            body = {
                "ok": True,
                "echo": query.get("token"),
                "access_token": "tok_from_provider_123",
                "nested": [{"note": f"you sent {environ.get('HTTP_AUTHORIZATION')}"}],
            }
            return "200 OK", as_json, json.dumps(body).encode()
        if path == "/text":
            return "400 Bad Request", [("Content-Type", "text/plain")], f"bad key {SECRET}".encode()
        if path == "/big":
            body = "x" * (RECORD_LIMIT - 5) + SECRET + "y" * 100
            return "200 OK", [("Content-Type", "text/plain")], body.encode()
        if path == "/redirect":
            return "302 Found", [("Location", "/json")], b""
        if path == "/busy":
            return "503 Service Unavailable", [("Retry-After", "7")], b"try later"
        if path == "/slow":
            time.sleep(1)
            return "200 OK", [], b"late"
        if path == "/cookie":
            return "200 OK", [("Set-Cookie", "sid=abc; Path=/")], b"set"
        return "200 OK", [("Content-Type", "text/plain")], b"hello"


@pytest.fixture(scope="module")
def _served():
    """One server for the module: stopping one costs half a second of polling."""
    target = App()
    with LoopbackServer(target) as srv:
        yield target, srv


@pytest.fixture
def app(_served):
    target = _served[0]
    target.hits.clear()
    target.seen.clear()
    return target


@pytest.fixture
def server(_served, app):
    return _served[1]


@pytest.fixture
def client():
    c = OutboundClient(allowed_hosts=["127.0.0.1"], timeout=2.0)
    yield c
    c.close()


# --- the SSRF guard over real sockets -------------------------------------------------


def test_loopback_target_is_refused_by_default(server, app):
    guarded = OutboundClient()
    with pytest.raises(BlockedDestination) as info:
        guarded.request("GET", server.url + "/json")
    assert info.value.record.status is None
    assert "127.0.0.1" in info.value.record.error
    assert app.hits["/json"] == 0


@pytest.mark.parametrize(
    "host", ["localhost", "[::1]", "[::ffff:127.0.0.1]", "127.1", "0x7f.0.0.1"]
)
def test_names_and_odd_literals_reaching_loopback_are_refused(server, app, host):
    with pytest.raises(BlockedDestination):
        OutboundClient().request("GET", f"http://{host}:{server.port}/json")
    assert app.hits["/json"] == 0


def test_resolved_address_is_checked_by_the_pinning_filter(server, app):
    """``localhost`` is a name, so the refusal comes after DNS, from requests-hardened."""
    with pytest.raises(BlockedDestination) as info:
        OutboundClient().request("GET", f"http://localhost:{server.port}/json")
    assert "resolved address" in str(info.value)


def test_allowed_host_is_called_with_fixed_user_agent(server, app, client):
    resp = client.request("GET", server.url + "/json", headers={"X-Trace": "t1"})
    assert resp.status == 200
    assert resp.json()["ok"] is True
    assert resp.headers["Content-Type"] == "application/json"
    assert app.seen["/json"]["HTTP_USER_AGENT"] == "assessment-gateway/1"
    assert app.seen["/json"]["HTTP_X_TRACE"] == "t1"
    assert resp.record.method == "GET" and resp.record.status == 200
    assert resp.record.error is None and resp.record.elapsed_ms >= 0


def test_wildcard_allowlist_entry_allows_a_name(server, app):
    c = OutboundClient(allowed_hosts=["*.localhost", "LOCALHOST."])
    assert c.request("GET", f"http://localhost:{server.port}/plain").text == "hello"


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http:///nohost", "gopher://x"]
)
def test_other_schemes_and_hostless_urls_are_refused_before_io(client, url):
    with pytest.raises(BlockedDestination) as info:
        client.request("GET", url)
    assert info.value.record.status is None


def test_redirect_is_returned_not_followed(server, app, client):
    resp = client.request("GET", server.url + "/redirect")
    assert resp.status == 302
    assert resp.headers["Location"] == "/json"
    assert app.hits["/json"] == 0


def test_non_2xx_is_a_response_and_retry_after_is_readable(server, client):
    resp = client.request("POST", server.url + "/busy", json={"a": 1})
    assert resp.status == 503
    assert retry_after_seconds(resp.headers) == 7.0
    assert resp.record.response == "try later"


def test_timeout_raises_quickly(server):
    c = OutboundClient(allowed_hosts=["127.0.0.1"], timeout=5.0)
    started = time.monotonic()
    with pytest.raises(OutboundTimeout) as info:
        c.request("GET", server.url + "/slow", timeout=0.2)
    assert time.monotonic() - started < 0.9
    assert info.value.record.status is None and info.value.record.error


def test_connection_refused_is_a_connection_error(client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OutboundConnectionError) as info:
        client.request("GET", f"http://127.0.0.1:{port}/x?token={SECRET}")
    assert isinstance(info.value, OutboundError)
    assert SECRET not in str(info.value) and SECRET not in info.value.record.error


def test_oversized_body_is_refused(server):
    c = OutboundClient(allowed_hosts=["127.0.0.1"], max_response_bytes=1000)
    with pytest.raises(OutboundError, match="larger than 1000"):
        c.request("GET", server.url + "/big")


def test_cookies_are_never_stored_or_sent_back(server, app, client):
    client.request("GET", server.url + "/cookie")
    client.request("GET", server.url + "/plain")
    assert "HTTP_COOKIE" not in app.seen["/plain"]


def test_one_client_serves_many_threads(server, app, client):
    with ThreadPoolExecutor(4) as pool:  # the server's listen backlog is 5
        calls = pool.map(lambda _: client.request("GET", server.url + "/plain"), range(40))
        statuses = [resp.status for resp in calls]
    assert statuses == [200] * 40
    assert app.hits["/plain"] == 40


# --- what the record keeps ------------------------------------------------------------


def test_record_redacts_url_query_userinfo_and_echoed_credentials(server, client):
    url = f"http://127.0.0.1:{server.port}/json?token={SECRET}&page=2"
    resp = client.request("GET", url, headers={"Authorization": "Bearer header-credential-42"})
    assert resp.json()["echo"] == SECRET  # the caller gets the real body
    rec = resp.record
    assert rec.url == f"http://127.0.0.1:{server.port}/json?token={REDACTED}&page=2"
    assert rec.response == {
        "ok": True,
        "echo": REDACTED,
        "access_token": REDACTED,
        "nested": [{"note": f"you sent {REDACTED}"}],
    }
    assert SECRET not in json.dumps(rec.as_dict()) and "header-credential-42" not in repr(rec)


def test_record_redacts_given_secrets_in_text_and_params(server, client):
    resp = client.request(
        "GET", server.url + "/text", params={"api_key": "k-123456"}, secrets=[SECRET]
    )
    assert resp.status == 400
    assert resp.text == f"bad key {SECRET}"
    assert resp.record.response == f"bad key {REDACTED}"
    assert resp.record.url.endswith(f"/text?api_key={REDACTED}")


def test_record_is_bounded_and_redacted_before_truncation(server, client):
    resp = client.request("GET", server.url + "/big", secrets=[SECRET])
    assert len(resp.content) > RECORD_LIMIT
    body = resp.record.response
    assert len(body) <= RECORD_LIMIT + 20 and body.endswith("[truncated]")
    assert SECRET[:8] not in body


def test_basic_auth_credentials_are_masked_in_the_record(server, client):
    resp = client.request("GET", server.url + "/json", auth=("inbound-key-abcdef", ""))
    assert "Basic" in resp.json()["nested"][0]["note"]
    assert resp.record.response["nested"] == [{"note": f"you sent Basic {REDACTED}"}]


def test_userinfo_is_dropped_from_the_record_and_masked_in_echoes(server, client):
    resp = client.request("GET", f"http://gh-user:gh-pass-123@127.0.0.1:{server.port}/json")
    assert resp.record.url == f"http://127.0.0.1:{server.port}/json"
    assert "gh-pass-123" not in json.dumps(resp.record.as_dict())


def test_one_info_line_per_call_without_secrets(server, client, caplog):
    caplog.set_level(logging.INFO, logger="gateway.outbound")
    client.request("GET", server.url + f"/json?signature={SECRET}")
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.outbound"]
    assert len(lines) == 1
    assert lines[0].startswith(f"GET http://127.0.0.1:{server.port}/json?signature={REDACTED}")
    assert "-> 200 in" in lines[0] and SECRET not in lines[0]


def test_call_record_is_frozen():
    rec = CallRecord("GET", "https://x", 200, None, 1)
    with pytest.raises(AttributeError):
        rec.status = 500  # type: ignore[misc]


# --- pure helpers ---------------------------------------------------------------------


def test_redact_nested_values_and_credential_patterns():
    value = {
        "apiKey": "abc",
        "clientSecret": None,
        "items": [f"x{SECRET}y", {"Authorization": "Basic Zm9vOmJhcg=="}],
        "log": 'headers {"authorization": "Bearer abcdefghijkl"} and Bearer zyxwvutsrqpo',
        "plan": "The Basic plan, basic information",
        "score": 78,
    }
    assert redact(value, [SECRET]) == {
        "apiKey": REDACTED,
        "clientSecret": None,
        "items": [f"x{REDACTED}y", {"Authorization": REDACTED}],
        "log": f'headers {{"authorization": "{REDACTED}"}} and Bearer {REDACTED}',
        "plan": "The Basic plan, basic information",
        "score": 78,
    }
    assert redact("auth: Basic Zm9vOmJhcg==") == f"auth: Basic {REDACTED}"
    assert redact("a b", ["a"]) == "a b"  # too short to be a secret; would shred text


def test_redact_url():
    assert redact_url("https://u:p@h.example/p?Access_Token=1&x=2&code=3#frag") == (
        f"https://h.example/p?Access_Token={REDACTED}&x=2&code={REDACTED}"
    )
    hook = "https://h.example/hooks/"
    assert redact_url(hook + SECRET, [SECRET]) == hook + REDACTED


def test_retry_after_seconds():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    in_30s = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds({"Retry-After": "120"}) == 120.0
    assert retry_after_seconds({"retry-after": " 0 "}) == 0.0
    assert retry_after_seconds({"Retry-After": in_30s}, now=now) == 30.0
    assert retry_after_seconds({"Retry-After": "Wed, 01 Jan 2025 11:00:00 GMT"}, now=now) == 0.0
    for garbage in ("-5", "soon", "", "1e3", "Wed, 99 Foo 2025"):
        assert retry_after_seconds({"Retry-After": garbage}, now=now) is None
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://10.1.2.3",
        "http://169.254.169.254/",
        "http://100.64.0.1",
        "http://0.0.0.0:8000/",
        "http://192.168.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:a00:1::]/",
        "http://0x7f.0.0.1/",
        "http://2130706433/",
        "ftp://x",
        "javascript:alert(1)",
        "https://user:pw@example.com",
        "https://token@example.com/",
        "https:///path-only",
        "https://example.com:99999/",
    ],
)
def test_validate_submitted_url_refuses(url):
    with pytest.raises(ValueError) as info:
        validate_submitted_url(url)
    assert str(info.value).endswith(".")  # a sentence a tenant can read


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/x",
        "http://example.com:8080/a?b=c",
        "https://8.8.8.8/",
        "https://[2606:4700::1111]/",
    ],
)
def test_validate_submitted_url_accepts(url):
    assert validate_submitted_url(url) is None


def test_validate_submitted_url_allowlist_and_messages():
    validate_submitted_url("http://127.0.0.1:9000/hook", allowed_hosts=["127.0.0.1"])
    validate_submitted_url("http://sim.local/hook", allowed_hosts=["*.local"])
    with pytest.raises(ValueError, match="Credentials"):
        validate_submitted_url("https://a:b@127.0.0.1/", allowed_hosts=["127.0.0.1"])
    with pytest.raises(ValueError, match="http:// and https://"):
        validate_submitted_url("ftp://example.com")


@pytest.mark.parametrize(
    "host, patterns, expected",
    [
        ("boards.greenhouse.io", ["*.greenhouse.io"], True),
        ("a.b.greenhouse.io", ["*.greenhouse.io"], True),
        ("API.Greenhouse.IO.", ["*.greenhouse.io"], True),
        ("greenhouse.io", ["*.greenhouse.io"], False),
        ("evil-greenhouse.io", ["*.greenhouse.io"], False),
        ("greenhouse.io.evil.com", ["*.greenhouse.io"], False),
        ("greenhouse.io", ["greenhouse.io"], True),
        ("x.softgarden.de", ["*.softgarden.io", "*.softgarden.de"], True),
        ("127.0.0.1", ["127.0.0.1"], True),
        ("::1", ["[0:0::1]"], True),
        ("anything.com", ["*"], False),
        ("anything.com", [], False),
        ("", ["*."], False),
    ],
)
def test_host_matches(host, patterns, expected):
    assert host_matches(host, patterns) is expected


@pytest.mark.parametrize(
    "address, blocked",
    [
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
        ("::ffff:8.8.8.8", False),
        ("127.0.0.1", True),
        ("100.64.0.1", True),
        ("192.0.0.8", True),
        ("224.0.0.1", True),
        ("fec0::1", True),
        ("::10.0.0.1", True),
        ("ff02::1", True),
        ("2001:db8::1", True),
    ],
)
def test_is_blocked_ip(address, blocked):
    assert is_blocked_ip(ipaddress.ip_address(address)) is blocked


def test_client_from_settings_is_lazy_and_cached(monkeypatch):
    fake_settings = types.SimpleNamespace(
        GATEWAY_OUTBOUND_ALLOWED_HOSTS=["sim.test"], GATEWAY_OUTBOUND_TIMEOUT=3
    )
    monkeypatch.setitem(sys.modules, "django.conf", types.SimpleNamespace(settings=fake_settings))
    client_from_settings.cache_clear()
    try:
        first = client_from_settings()
        assert first is client_from_settings()
        assert first.allowed_hosts == ("sim.test",) and first.timeout == 3.0
    finally:
        client_from_settings.cache_clear()
