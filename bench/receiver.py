"""A loopback callback receiver for scenario 3, run as its own process.

It plays a tenant's endpoint: HTTP/1.1 with keep-alive (as any real receiver behind a
web server), answers 204 at once, and records for each request the ``webhook-id``, the
arrival time (wall clock, comparable with the commit times the loader records on this
same machine) and whether the Standard Webhooks signature verifies. It verifies with
its own HMAC code, independent of the gateway's signing module, so a broken signature is
counted rather than trusted.

``GET /_stats`` gives counts; ``GET /_dump`` gives every record; ``POST /_reset`` clears.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Records:
    def __init__(self, secret: str) -> None:
        self.key = base64.b64decode(secret.removeprefix("whsec_")) if secret else b""
        self.lock = threading.Lock()
        self.rows: list[tuple[str, float, bool]] = []

    def verify(self, msg_id: str, timestamp: str, signatures: str, body: bytes) -> bool:
        if not self.key:
            return False
        signed = f"{msg_id}.{timestamp}.".encode() + body
        expected = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        return any(
            part.startswith("v1,") and hmac.compare_digest(part[3:], expected) for part in signatures.split()
        )

    def add(self, msg_id: str, arrived: float, ok: bool) -> None:
        with self.lock:
            self.rows.append((msg_id, arrived, ok))

    def stats(self) -> dict:
        with self.lock:
            ids = [row[0] for row in self.rows]
            return {
                "received": len(ids),
                "unique": len(set(ids)),
                "bad_signatures": sum(1 for row in self.rows if not row[2]),
            }


def handler_for(records: Records) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

        def _reply(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived = time.time()
            if self.path == "/_reset":
                with records.lock:
                    records.rows.clear()
                self._reply(204)
                return
            msg_id = self.headers.get("webhook-id", "")
            ok = records.verify(
                msg_id, self.headers.get("webhook-timestamp", ""), self.headers.get("webhook-signature", ""), body
            )
            records.add(msg_id, arrived, ok)
            self._reply(204)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            if self.path == "/_stats":
                self._reply(200, json.dumps(records.stats()).encode())
            elif self.path == "/_dump":
                with records.lock:
                    rows = list(records.rows)
                self._reply(200, json.dumps(rows).encode())
            else:
                self._reply(404)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    records = Records(os.environ.get("BENCH_SIGNING_SECRET", ""))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(records))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
