"""Keeping contacts' activity counts true as time passes.

`activity_record` adds to `activity_count_30d`/`activity_count_90d` as activities arrive, but
nothing subtracts when an activity leaves a window. The daily job recomputes both counts with
one set-based UPDATE per organization, touching only contacts whose counts may be wrong.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tend.core.models import Tenant
from tend.core.tenancy import tenant_scope
from tend.people.models import Activity, Contact


def _window_count(tenant: Tenant, since: datetime) -> Coalesce:
    counted = (
        Activity.objects.filter(tenant=tenant, contact=OuterRef("pk"), occurred_at__gte=since)
        .order_by().values("contact").annotate(n=Count("id")).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def activity_counts_refresh(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Recompute the 30- and 90-day activity counts of `tenant`'s contacts as of `now`;
    returns how many contacts were rewritten. Only contacts with a non-zero count or an
    activity in the last 90 days can be wrong, so only those are touched. Run inside
    `tenant_scope(tenant)`; idempotent."""
    now = now or timezone.now()
    since_30, since_90 = now - timedelta(days=30), now - timedelta(days=90)
    stale = Q(activity_count_30d__gt=0) | Q(activity_count_90d__gt=0) | Q(
        last_activity_at__gte=since_90)
    return Contact.objects.filter(stale, tenant=tenant).update(
        activity_count_30d=_window_count(tenant, since_30),
        activity_count_90d=_window_count(tenant, since_90),
    )


def refresh_all_activity_counts(due_at: datetime) -> None:
    """The daily periodic job: every active organization, each in its own scope."""
    for tenant in list(Tenant.objects.filter(is_active=True)):
        with tenant_scope(tenant):
            activity_counts_refresh(tenant=tenant)
