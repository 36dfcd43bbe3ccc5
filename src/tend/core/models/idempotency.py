"""Stored responses for `Idempotency-Key` POST requests."""

from __future__ import annotations

from django.db import models

from tend.core.models.base import TenantModel


class IdempotencyRecord(TenantModel):
    """One idempotency key of one principal (user or API key) in one organization.

    While `response_status` is null the request is in flight (a repeat gets 409). Afterwards a
    repeat with the same `request_hash` replays status and body; a different body gets 422.
    Records older than 24 hours are pruned by the tick.
    """

    principal = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "principal", "key"], name="core_idempotency_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.principal}:{self.key}"
