"""Deployment hardening: ``manage.py check --deploy`` on the production settings, the
security headers on every kind of response (in process and from the real gunicorn
server the Makefile and docker-compose run), and the admin behind its login page.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import basic
from tests.hardening.world import World

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What `make web` and docker-compose leave to the environment; everything else in the
# process environment (the test database, a developer's DEBUG=1) must not leak in.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a production deployment as README.md and .env.example describe it."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="gateway.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="gateway.example.com,127.0.0.1",
        GATEWAY_PUBLIC_URL="https://gateway.example.com",
        GATEWAY_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        GATEWAY_VAR_DIR=str(tmp_path),
        GATEWAY_TASK_RUNNER="off",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- manage.py check --deploy -------------------------------------------------------------


def test_check_deploy_is_clean_for_the_production_settings(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    hsts_flags = {"security.W005", "security.W021"}
    found = set(re.findall(r"\((security\.\w+)\)", output))
    settings_text = (ROOT / "gateway" / "settings.py").read_text()
    if found and found <= hsts_flags and "SECURE_HSTS_PRELOAD" not in settings_text:
        pytest.xfail(
            "gateway/settings.py does not read SECURE_HSTS_INCLUDE_SUBDOMAINS and SECURE_HSTS_PRELOAD "
            "from the environment yet, so an operator cannot make check --deploy clean"
        )
    assert result.returncode == 0, output
    assert "no issues" in output, output


@pytest.mark.parametrize("missing", ["SECRET_KEY", "GATEWAY_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_its_secrets(tmp_path: Path, missing: str) -> None:
    env = production_env(tmp_path)
    del env[missing]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr, result.stderr[-2000:]


# --- security headers ---------------------------------------------------------------------

SECURITY_HEADERS = {
    "X-Content-Type-Options": {"nosniff"},
    # same-origin everywhere; the candidate link, which candidates open from emails, is
    # stricter (its URL is a credential).
    "Referrer-Policy": {"same-origin", "no-referrer"},
    "X-Frame-Options": {"DENY"},
}


def _assert_secure_headers(response: Any, label: str) -> None:
    for name, allowed in SECURITY_HEADERS.items():
        assert response.get(name) in allowed, f"{label}: {name} is {response.get(name)!r}"
    assert "X-Powered-By" not in response, label
    assert not re.search(r"\d", response.get("Server", "")), f"{label}: Server header {response.get('Server')!r}"


@pytest.mark.django_db
def test_every_kind_of_response_carries_the_security_headers(world: World) -> None:
    key = basic(world.tenant.api_key)
    calls = {
        "health": Client().get("/health"),
        "schema": Client().get("/openapi.json"),
        "docs": Client().get("/docs"),
        "platform 200": Client(HTTP_AUTHORIZATION=key).get("/accounts"),
        "platform 401": Client().get("/accounts"),
        "unified 200": world.unified(world.gh_account).get("/unified/ats/assessments/orders"),
        "unified 404": Client(HTTP_AUTHORIZATION=key, HTTP_X_ACCOUNT_ID="acc_x").get("/unified/ats/assessments/orders"),
        "unified 422": world.unified(world.gh_account).put("/unified/ats/assessments/packages", {}, format="json"),
        "greenhouse 200": world.greenhouse().get("/connectors/greenhouse/list_tests"),
        "greenhouse 401": Client().get("/connectors/greenhouse/list_tests"),
        "softgarden 200": world.softgarden().get(f"/connectors/softgarden/results/{world.sg_order}"),
        "testdome 404": Client().post("/connectors/testdome/webhooks/nope", "{}", content_type="application/json"),
        "candidate link": Client().get(f"/t/{world.link_token}"),
        "unknown path 404": Client().get("/nothing/here"),
        "admin login": Client().get("/admin/login/"),
        "413": Client(HTTP_AUTHORIZATION=key).generic(
            "POST", "/webhook_endpoints", b"x" * (1024 * 1024 + 1), content_type="application/json"
        ),
    }
    for label, response in calls.items():
        _assert_secure_headers(response, label)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[str]:
    """``make web``'s server with the production settings, on a free loopback port."""
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "gateway.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=production_env(tmp_path),
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_the_production_server_sends_secure_headers_and_no_version(gunicorn: str) -> None:
    https = {"X-Forwarded-Proto": "https"}  # as the TLS-terminating proxy says
    status, headers = _get(f"{gunicorn}/health", **https)
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    for path in ("/health", "/accounts", "/connectors/greenhouse/list_tests", "/nothing"):
        status, headers = _get(gunicorn + path, **https)
        for name, allowed in SECURITY_HEADERS.items():
            assert headers.get(name) in allowed, (path, name, headers)
        assert not re.search(r"\d", headers.get("Server", "")), headers.get("Server")
        assert "X-Powered-By" not in headers
    status, headers = _get(f"{gunicorn}/accounts")  # plain HTTP: sent to HTTPS
    assert status == 301 and headers["Location"].startswith("https://")


# --- the admin ----------------------------------------------------------------------------

SAMPLE_KWARGS = {"object_id": "1", "content_type_id": 1, "url": "no-such-page/", "id": "1"}


def _admin_urls() -> list[str]:
    """Every admin URL, from the admin's own URLconf (one app per app-list pattern)."""
    (resolver,) = [p for p in get_resolver().url_patterns if str(p.pattern) == "admin/"]
    urls: set[str] = set()
    labels = sorted({model._meta.app_label for model in admin.site._registry})

    def walk(patterns: list[Any], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names = list(pattern.pattern.regex.groupindex)
                for label in labels if "app_label" in names else [None]:
                    kwargs = {name: SAMPLE_KWARGS.get(name, "1") for name in names}
                    if label:
                        kwargs["app_label"] = label
                    urls.add(reverse(f"{namespace}:{pattern.name}", kwargs=kwargs))

    walk(resolver.url_patterns, "admin")
    urls.add("/admin/no-such-page/")
    return sorted(urls)


@pytest.mark.django_db
def test_every_admin_url_requires_login() -> None:
    urls = _admin_urls()
    assert len(urls) > 20  # every registered model's changelist, add, change, delete, history…
    anonymous = Client()
    for url in urls:
        response = anonymous.get(url)
        if url == "/admin/login/":
            assert response.status_code == 200
        elif url == "/admin/logout/":  # nobody to log out: back to the index, i.e. the login
            assert response.status_code == 302 and response["Location"] == "/admin/", url
        else:
            assert response.status_code == 302, (url, response.status_code)
            assert response["Location"].startswith("/admin/login/"), (url, response["Location"])


@pytest.mark.django_db
def test_a_tenant_api_key_is_no_admin_login(world: World) -> None:
    response = Client(HTTP_AUTHORIZATION=basic(world.tenant.api_key)).get("/admin/tenancy/account/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
