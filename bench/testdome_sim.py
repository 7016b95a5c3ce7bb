"""The TestDome simulator as a stand-alone loopback server, plus ``GET /_bench/stats``.

The stats route reports how many token requests the simulator answered, which is how
scenario 2 checks that the gateway reuses its cached token instead of fetching one per
call. Everything else is the shipped simulator, unchanged.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from connectors.testdome.simulator import TestDomeSimulator
from gateway.sdk.loopback import LoopbackServer


def with_stats(sim: TestDomeSimulator) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") == "/_bench/stats":
            body = json.dumps({"token_requests": sim.token_requests, "api_calls": len(sim.api_calls)}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return sim.wsgi_app(environ, start_response)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--seed-tests", type=int, default=20)
    args = parser.parse_args()
    sim = TestDomeSimulator(client_id=args.client_id, client_secret=args.client_secret)
    sim.seed_tests(args.seed_tests)
    LoopbackServer(with_stats(sim), port=args.port).serve_forever()


if __name__ == "__main__":
    main()
