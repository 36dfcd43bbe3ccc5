"""One counter row per rate-limited thing (an ingestion source, an API key…)."""

from __future__ import annotations

from django.db import models

from tend.core.models import TenantModel


class RateWindow(TenantModel):
    """How many requests `scope` (e.g. `"source:<id>"`) made in the minute-long window that
    began at `window_start`. One row per scope, moved to the next window by the first request
    after it ends; updated only with atomic `UPDATE`s (see `services.rate_hit`), so web
    processes on one database share the count."""

    scope = models.CharField(max_length=150)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scope"], name="ratelimit_unique_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.count} since {self.window_start:%H:%M}"
