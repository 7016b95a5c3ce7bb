"""``ctx.http``: the gateway's guarded client, keeping every call's record in ``ctx.calls``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gateway.outbound import OutboundClient, OutboundError, OutboundResponse


class RecordingHttp:
    """The outbound client for one operation. Records land in ``calls`` whether the
    partner answered or not, so ``raw=true`` and ``provider_errors`` show every attempt."""

    def __init__(self, client: OutboundClient, calls: list[Any]) -> None:
        self._client = client
        self._calls = calls

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> OutboundResponse:
        try:
            response = self._client.request(
                method, url, params=params, json=json, data=data, headers=headers, secrets=secrets
            )
        except OutboundError as exc:
            self._calls.append(exc.record)
            raise
        self._calls.append(response.record)
        return response
