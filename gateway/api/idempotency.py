"""``Idempotency-Key`` on POST, PUT and PATCH (CONTRACT §1.6).

Same key and same request within 24 h: the first response is replayed with
``Idempotent-Replayed: true``. Same key, another request: 422. Same key while the first
is still running: 409. Keys are scoped to the caller's API key, so two tenants can
use the same key. Responses that a retry could change (401, 429, 5xx) are not kept.
Kept responses are encrypted: some carry a secret shown once (a new inbound key).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpResponse

from gateway.api.errors import error_response
from gateway.api.models import IdempotencyRecord
from gateway.tenancy.authentication import credential_from_header
from gateway.tenancy.crypto import decrypt_bytes, encrypt_bytes
from gateway.timefmt import utcnow

RETENTION = timedelta(hours=24)
# A request still "in flight" after this long died with its process; let a retry take over.
ABANDONED_AFTER = timedelta(minutes=2)
_NOT_KEPT = {401, 408, 429}
_METHODS = {"POST", "PUT", "PATCH"}


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        credential = credential_from_header(request.headers.get("Authorization", "").encode("latin-1", "replace"))
        if request.method not in _METHODS or key is None or credential is None:
            return self.get_response(request)  # no usable key: the view answers 401
        if not key or len(key) > 255:
            return error_response(request, 400, "Idempotency-Key must be 1 to 255 characters")
        # Basic and Bearer carry the same API key: one scope for both.
        scope = _digest(credential[1].encode())
        fingerprint = _digest(
            request.method.encode(),
            request.path.encode(),
            request.headers.get("x-account-id", "").encode(),
            request.body,
        )
        record, early = self._claim(request, scope, key, fingerprint)
        if early is not None:
            return early
        response = self.get_response(request)
        self._finish(record, response)
        return response

    def _claim(
        self, request: Any, scope: str, key: str, fingerprint: str
    ) -> tuple[IdempotencyRecord | None, Any]:
        now = utcnow()
        for _ in range(2):
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(
                        scope=scope, key=key, fingerprint=fingerprint, created_at=now
                    ), None
            except IntegrityError:
                pass
            existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
            if existing is None:
                continue  # it finished and was removed meanwhile: try again
            abandoned = not existing.completed and existing.created_at < now - ABANDONED_AFTER
            if existing.created_at < now - RETENTION or abandoned:
                existing.delete()
                continue
            if existing.fingerprint != fingerprint:
                return None, error_response(
                    request, 422, "Idempotency-Key was already used with a different request"
                )
            if not existing.completed:
                return None, error_response(
                    request, 409, "A request with this Idempotency-Key is still in progress"
                )
            replay = HttpResponse(
                decrypt_bytes(bytes(existing.body)) if existing.body else b"",
                status=existing.status_code,
                content_type=existing.content_type or "application/json",
            )
            replay["Idempotent-Replayed"] = "true"
            return None, replay
        return None, error_response(request, 409, "Idempotency-Key is contended; retry")

    def _finish(self, record: IdempotencyRecord | None, response: Any) -> None:
        if record is None:
            return
        status = response.status_code
        if status >= 500 or status in _NOT_KEPT or getattr(response, "streaming", False):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            completed=True,
            status_code=status,
            content_type=response.get("Content-Type", ""),
            body=encrypt_bytes(bytes(response.content)),
        )


def idempotency_records_purge() -> int:
    """Drop records past the 24 h window (run periodically)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=utcnow() - RETENTION).delete()
    return deleted
