"""The Progress Method's KPIs: pod attendance this week, weekly active share (people who used
the bot or checked in), commitment fulfillment and the average streak, new people this week;
and the same figures week by week for the charts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from tend.community.models import (
    Commitment,
    CommitmentCheckIn,
    CommitmentStatus,
    PodMeeting,
    PodsProfile,
)
from tend.core.models import Tenant


def _rate(part: int | None, whole: int | None) -> float | None:
    return round(100.0 * (part or 0) / whole, 1) if whole else None


def pods_kpis(*, tenant: Tenant, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    week_ago = now - timedelta(days=7)
    meetings = PodMeeting.objects.filter(tenant=tenant, scheduled_at__gt=week_ago,
                                         scheduled_at__lte=now,
                                         attendance_rate__isnull=False).aggregate(
        rate=Avg("attendance_rate"), n=Count("pk"))
    people = PodsProfile.objects.filter(tenant=tenant).aggregate(
        n=Count("pk"), active=Count("pk", filter=Q(last_activity_at__gt=week_ago)),
        new=Count("pk", filter=Q(created_at__gt=week_ago)),
        total=Sum("total_commitments"), done=Sum("completed_commitments"),
        streak=Avg("current_streak"))
    return {
        "attendance_rate": round(meetings["rate"], 1) if meetings["rate"] is not None else None,
        "meetings_this_week": meetings["n"],
        "weekly_active_pct": _rate(people["active"], people["n"]),
        "fulfillment_rate": _rate(people["done"], people["total"]),
        "average_streak": round(people["streak"], 1) if people["streak"] is not None else None,
        "new_people": people["new"],
        "people": people["n"],
    }


def pods_kpi_series(*, tenant: Tenant, weeks: int = 8,
                    now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per week (oldest first): attendance rate, active people (with a check-in),
    commitments completed and new people. Four queries, whatever the number of
    weeks."""
    now = now or timezone.now()
    start = now - timedelta(days=7 * weeks)
    rows: list[dict[str, Any]] = [
        {"week": (start + timedelta(days=7 * (i + 1))).date(), "attendance": 0.0, "active": 0,
         "completed": 0, "new": 0} for i in range(weeks)]

    def index(at: datetime) -> int | None:
        i = int((at - start).total_seconds() // (7 * 86400))
        return i if 0 <= i < weeks else None

    rates: dict[int, list[float]] = {}
    for at, rate in PodMeeting.objects.filter(tenant=tenant, scheduled_at__gt=start,
                                              scheduled_at__lte=now,
                                              attendance_rate__isnull=False
                                              ).values_list("scheduled_at", "attendance_rate"):
        i = index(at)
        if i is not None and rate is not None:
            rates.setdefault(i, []).append(rate)
    for i, values in rates.items():
        rows[i]["attendance"] = round(sum(values) / len(values), 1)
    active: dict[int, set[Any]] = {}
    for at, contact in CommitmentCheckIn.objects.filter(
            tenant=tenant, created_at__gt=start).values_list("created_at", "contact_id"):
        i = index(at)
        if i is not None:
            active.setdefault(i, set()).add(contact)
    for i, ids in active.items():
        rows[i]["active"] = len(ids)
    for done_at in Commitment.objects.filter(
            tenant=tenant, status=CommitmentStatus.COMPLETED,
            completed_at__gt=start).values_list("completed_at", flat=True):
        i = index(done_at) if done_at is not None else None
        if i is not None:
            rows[i]["completed"] += 1
    for at in PodsProfile.objects.filter(tenant=tenant, created_at__gt=start).values_list(
            "created_at", flat=True):
        i = index(at)
        if i is not None:
            rows[i]["new"] += 1
    return rows
