"""Quizly's HTTP API through ``ctx.http``, the gateway's guarded client.

Every call is recorded (redacted) in ``ctx.calls`` by the gateway; this module only turns
Quizly's answers into values, and its failures into ``ProviderError`` with those records,
which the gateway shows as ``provider_errors`` (502, or 504 for a timeout).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from gateway.sdk import Context, HttpError, HttpResponse, HttpTimeout, ProviderError, retry_after_seconds

DEFAULT_BASE_URL = "https://api.quizly.example/v1"
MAX_PAGES = 100  # a cursor that never ends must not hang a list call


class QuizlyClient:
    """One account's calls. ``expect`` statuses are answers, not failures."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.base_url = str(ctx.settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self._key = str(ctx.credentials["api_key"])

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> HttpResponse:
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        try:
            response = self.ctx.http.request(method, self.base_url + path, headers=headers,
                                             secrets=[self._key], **kwargs)
        except HttpError as exc:
            raise ProviderError(f"Quizly could not be reached: {exc}", calls=self.ctx.calls,
                                timeout=isinstance(exc, HttpTimeout)) from exc
        if response.status not in expect:
            raise ProviderError(
                f"Quizly answered {method} {path.split('?')[0]} with {response.status}",
                calls=self.ctx.calls,
                status=response.status,
                retry_after=retry_after_seconds(response.headers) if response.status == 429 else None,
                account_error=response.status in (401, 403),
            )
        return response

    def _json(self, response: HttpResponse) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError("Quizly answered with something that is not JSON", calls=self.ctx.calls,
                                status=response.status) from exc

    def me(self) -> Mapping[str, Any]:
        return self._json(self.call("GET", "/me"))

    def quizzes(self) -> Iterator[Mapping[str, Any]]:
        page: Any = 1
        for _ in range(MAX_PAGES):
            params = {"page": page, **self.ctx.proxy}
            body = self._json(self.call("GET", "/quizzes", params=params))
            yield from body.get("quizzes") or []
            page = body.get("next_page")
            if not page:
                return

    def invite(self, payload: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]]:
        response = self.call("POST", "/invitations", json=dict(payload), expect=(201, 404, 422))
        return response.status, self._json(response)

    def invitation(self, invitation_id: str) -> Mapping[str, Any] | None:
        response = self.call("GET", f"/invitations/{quote(invitation_id, safe='')}", expect=(200, 404))
        return self._json(response) if response.status == 200 else None

    def cancel(self, invitation_id: str) -> None:
        """Gone (404) or already over (409) is as good as cancelled."""
        self.call("DELETE", f"/invitations/{quote(invitation_id, safe='')}", expect=(204, 404, 409))
