"""A pytest plugin: every log record of the whole test session, at every level, goes to
one file; every credential the session mints or stores is remembered; at the end, the
file is searched for each of them, and the session fails loudly if one is there.

"Every credential" is collected where credentials come into being, not from a list:

* API keys, at the one place they are hashed when minted (``api_key_digest``);
* everything the gateway encrypts at rest (``gateway.tenancy.crypto.encrypt``): signing
  secrets, inbound keys and webhook tokens, the secret-named values of account
  credentials, cached provider tokens;
* ``SECRET_KEY`` and the Fernet keys.

Registered by ``tests/hardening/conftest.py`` (so it is active whenever the hardening
suite is collected) and, for runs of any subset, by ``pytest_plugins`` in
``tests/conftest.py``; both registrations are safe together. Records are written with
their arguments merged (``record.getMessage()``) and their tracebacks, which is what a
log handler in production writes.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

MIN_SECRET_LENGTH = 8  # shorter test values ("pw") would match by chance
_SECRET_WORDS = ("password", "secret", "key", "token")


class _State:
    path: Path | None = None
    handler: logging.Handler | None = None
    secrets: dict[str, str] = {}  # value -> where it came from
    lock = threading.Lock()
    patched = False
    checked = False


def remember(value: Any, origin: str) -> None:
    """Treat ``value`` as a credential from now on (strings of useful length only)."""
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        with _State.lock:
            _State.secrets.setdefault(value, origin)


def _remember_encrypted(plaintext: str) -> None:
    try:
        parsed = json.loads(plaintext)
    except ValueError:
        remember(plaintext, "secret stored encrypted")
        return
    if not isinstance(parsed, dict):
        remember(plaintext, "secret stored encrypted")
        return
    for name, value in parsed.items():  # credentials: only the secret-named fields
        if any(word in name.lower() for word in _SECRET_WORDS):
            remember(value, f"credentials.{name}")


def known_secrets() -> dict[str, str]:
    with _State.lock:
        return dict(_State.secrets)


def captured_text() -> str:
    if _State.handler is not None:
        _State.handler.flush()
    return _State.path.read_text(errors="replace") if _State.path and _State.path.exists() else ""


def find_leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """One line per secret found in ``text``, with the secret itself masked."""
    found = []
    for value, origin in secrets.items():
        index = text.find(value)
        if index >= 0:
            start = text.rfind("\n", 0, index) + 1
            end = text.find("\n", index)
            line = text[start : end if end >= 0 else len(text)].replace(value, f"<{origin}>")
            found.append(f"{origin} ({value[:4]}…): {line[:300]}")
    return found


class _FileHandler(logging.FileHandler):
    """Writes the merged message and the traceback; never drops a record on a bad one."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=False)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.setLevel(logging.DEBUG)

    def filter(self, record: logging.LogRecord) -> bool:
        """A simulator calling the gateway's partner routes (a webhook URL holds its token)
        is the partner's HTTP client logging the URL it was given, not a gateway log line:
        urllib3 writes it in the test process only because the simulator runs there."""
        if record.name == "urllib3.connectionpool" and " /connectors/" in record.getMessage():
            return False
        return super().filter(record)


def _ensure_capture() -> None:
    """Attach the handler and open the root logger to DEBUG, again if need be: anything
    that calls ``django.setup()`` (``get_wsgi_application()`` does) re-applies
    ``LOGGING``, which replaces the root logger's handlers and level."""
    root = logging.getLogger()
    if _State.handler is None or (_State.handler in root.handlers and root.level == logging.DEBUG):
        return
    # Capture DEBUG too (LOG_LEVEL=DEBUG is a production option); handlers that were
    # already there keep printing what they printed before.
    if root.level != logging.DEBUG:
        for handler in root.handlers:
            if handler.level == logging.NOTSET:
                handler.setLevel(root.level)
    if _State.handler not in root.handlers:
        root.addHandler(_State.handler)
    root.setLevel(logging.DEBUG)


def _start_capture(path: Path) -> None:
    _State.path, _State.handler = path, _FileHandler(path)
    _ensure_capture()


def _wrap(module: Any, name: str, on_call: Callable[..., None]) -> None:
    original = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        on_call(*args, **kwargs)
        return original(*args, **kwargs)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(module, name, wrapper)


def _collect_credentials() -> None:
    """Hook the places credentials come into being (Django is set up by now)."""
    if _State.patched:
        return
    _State.patched = True
    from django.conf import settings

    from gateway.tenancy import crypto, services

    _wrap(services, "api_key_digest", lambda raw_key, *a, **k: remember(raw_key, "API key"))
    _wrap(crypto, "encrypt", lambda plaintext, *a, **k: _remember_encrypted(plaintext))
    remember(settings.SECRET_KEY, "SECRET_KEY")
    for key in settings.GATEWAY_ENCRYPTION_KEYS:
        remember(key, "GATEWAY_ENCRYPTION_KEYS")


def _temp_dir(config: pytest.Config) -> Path:
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        return Path(factory.mktemp("session-logs", numbered=True))
    return Path(tempfile.mkdtemp(prefix="gateway-session-logs-"))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if _State.handler is None:
        _start_capture(_temp_dir(config) / "all-records.log")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterable[None]:
    _collect_credentials()
    _ensure_capture()
    yield


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _ensure_capture()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _State.checked or _State.handler is None:
        return
    _State.checked = True
    leaks = find_leaks(captured_text(), known_secrets())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = f"{len(known_secrets())} credentials searched for in {_State.path}"
    if leaks:
        message = "CREDENTIALS IN LOG RECORDS:\n  " + "\n  ".join(leaks) + f"\n({summary})"
        if reporter is not None:
            reporter.write_sep("!", "secrets in logs", red=True, bold=True)
            reporter.write_line(message, red=True)
        else:
            print(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None and session.config.option.verbose >= 0:
        reporter.write_line(f"secrets in logs: none ({summary})")
