"""Helpers shared by the reminders, social and webhooks pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tend.core.errors import TendError
from tend.core.views.base import tenant_and_actor

ctx = tenant_and_actor


def url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"marketing:{name}", kwargs={"org_slug": request.tenant.slug,  # type: ignore[attr-defined]
                                                **kwargs})


def when(value: str | None, zone: Any = None) -> datetime | None:
    """A `datetime-local` value (the organization's zone when naive); None when empty or
    malformed."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well formed but not a date, e.g. 2026-02-30
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, zone)
    return parsed


def error_list(exc: TendError) -> dict[str, list[str]]:
    if exc.fields:
        return {k: [str(m) for m in v] for k, v in exc.fields.items()}
    return {"": [exc.message]}
