"""Retry timing for transient send errors: capped exponential backoff with full jitter."""

from __future__ import annotations

import random

from django.conf import settings


def base_seconds() -> float:
    return float(getattr(settings, "TEND_OUTBOX_BACKOFF_BASE", 2.0))


def cap_seconds() -> float:
    return float(getattr(settings, "TEND_OUTBOX_BACKOFF_CAP", 900.0))


def max_attempts() -> int:
    return int(getattr(settings, "TEND_OUTBOX_MAX_ATTEMPTS", 8))


def delay(attempts: int, *, retry_after: float | None = None,
          rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt `attempts + 1`.

    Full jitter (a uniform draw between 0 and the capped exponential `base * 2^(n-1)`) keeps
    a burst of failures from coming back as a burst. A provider's `retry_after` is a floor:
    never retry sooner than it asked.
    """
    draw = (rng or random).uniform(0.0, min(cap_seconds(),
                                            base_seconds() * 2 ** max(0, attempts - 1)))
    if retry_after is not None and retry_after > 0:
        return max(float(retry_after), draw)
    return draw
