"""The outbox's shared rate limiter state: one row per limited key (an account, or a chat of
an account), read and advanced by every worker in a single statement."""

from __future__ import annotations

from django.db import models


class OutboxRateBucket(models.Model):
    """A GCRA (generic cell rate algorithm) slot counter for one rate key.

    `tat` is the theoretical arrival time — the earliest moment (Unix seconds) the next send
    under this key may go; taking n slots moves it by n times the key's interval.
    `paused_until` holds a provider's "retry after" for the key. `holder` names the worker
    that took the latest slots: a worker taking slots right after another one's starts a
    tolerance later (see `limiter.take`). Keys are `acct:<account id>` and
    `chat:<account id>:<chat>`; they name accounts, not organizations, so the table is not
    tenant-owned (the workers reach it from every organization).
    """

    key = models.CharField(max_length=300, primary_key=True)
    tat = models.FloatField(default=0.0)
    paused_until = models.FloatField(default=0.0)
    holder = models.CharField(max_length=80, default="", blank=True)

    class Meta:
        verbose_name = "outbox rate bucket"

    def __str__(self) -> str:
        return self.key
