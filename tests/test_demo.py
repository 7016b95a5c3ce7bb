"""The README's first command: ``make demo`` runs every partner flow on a bare machine.

Runs the demo command as a new process in embedded mode (its own SQLite under a
temporary var/), and reads its narration until it reports that all is set.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_demo_walks_through_every_partner_flow(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY",
                       "GATEWAY_ENCRYPTION_KEYS", "GATEWAY_TASK_RUNNER", "GATEWAY_PUBLIC_URL"}
    }
    env.update(DEBUG="1", LOG_LEVEL="WARNING", GATEWAY_VAR_DIR=str(tmp_path / "var"))
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(_free_port())],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "All set." in line or time.monotonic() > deadline:
                break
    finally:
        process.kill()
        process.wait(timeout=10)
    output = "".join(lines)
    assert "All set." in output, output
    assert "this flow stopped" not in output, output
    assert "BAD SIGNATURE" not in output, output
    assert "read test_status → {'partner_status': 'complete'" in output
    assert "fetched COMPLETED and deleted" in output
    assert "signed callback at results_update_url" in output
    assert (tmp_path / "var" / "encryption.key").exists()  # the development key lives in var/
