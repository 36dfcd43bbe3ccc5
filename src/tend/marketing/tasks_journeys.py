"""Background work of journeys: the tick that advances due enrollments, the daily-date
trigger, advancing fresh enrollments at once, and the WEBHOOK step's call."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from datetime import datetime
from typing import Any

from django.conf import settings

from tend.core.background import tenant_task
from tend.core.models import Tenant

logger = logging.getLogger(__name__)


def journeys_tick(due_at: datetime) -> int:
    """Periodic: advance every due enrollment (for at most the tick budget; the next tick
    carries on). Runs under `system_scope()`."""
    from tend.marketing.services.journeys_engine import BATCH, run_due

    budget = float(getattr(settings, "TEND_JOURNEY_TICK_BUDGET", 20.0))
    # Enrollments per claim (a transaction): TEND_JOURNEY_BATCH in the environment.
    batch = int(getattr(settings, "TEND_JOURNEY_BATCH", 0) or os.environ.get("TEND_JOURNEY_BATCH")
                or BATCH)
    return run_due(budget_seconds=budget, batch=batch).steps


def journeys_dates_tick(due_at: datetime) -> int:
    """Periodic: enroll contacts whose date (birthday, a custom date) comes round."""
    from tend.marketing.services.journeys_triggers import date_triggers_run

    return date_triggers_run()


@tenant_task
def journey_advance_task(tenant: Tenant, enrollment_ids: list[str]) -> int:
    """Advance fresh enrollments right away (idempotent: only due, unclaimed ones move)."""
    from tend.marketing.services.journeys_engine import advance_enrollments

    return advance_enrollments(tenant=tenant, enrollment_ids=enrollment_ids).steps


@tenant_task
def journey_webhook_task(tenant: Tenant, url: str, payload: dict[str, Any],
                         idempotency_key: str) -> int:
    """POST a WEBHOOK step's JSON, signed with the organization's id as HMAC key material and
    the idempotency key in a header so the receiver can drop repeats. Returns the status, 0
    when no answer came or the address was refused (not public: `core.outbound`)."""
    import httpx

    from tend.core.outbound import UnsafeURL, public_target

    try:
        target = public_target(url)
    except UnsafeURL as exc:
        logger.warning("journey webhook %s refused: %s", url, exc)
        return 0
    body = json.dumps({"event": "journey.step", **payload}, separators=(",", ":")).encode()
    secret = f"{settings.SECRET_KEY}:{tenant.pk}".encode()
    signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
    try:
        with httpx.Client(timeout=10.0) as client:
            response = client.post(target.url, content=body, headers={
                "Content-Type": "application/json", "Idempotency-Key": idempotency_key,
                "X-Tend-Signature": f"sha256={signature}", **target.headers},
                extensions=target.extensions)
    except httpx.HTTPError as exc:
        logger.warning("journey webhook %s failed: %s", url, exc)
        return 0
    return response.status_code
