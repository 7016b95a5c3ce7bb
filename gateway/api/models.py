"""Stored idempotent responses (CONTRACT §1.6)."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` of one API key: in flight until the response is stored.

    ``fingerprint`` hashes method, path, account and body, so the same key with another
    request is recognised (422) rather than replayed.
    """

    scope = models.CharField(max_length=64, help_text="Digest of the caller's credential.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    body = models.BinaryField(null=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return self.key
