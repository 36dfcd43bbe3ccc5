"""Commitments, check-ins, streaks and goals.

A commitment is analyzed by the SMART analyzer when created. A day with at least one "done"
check-in counts toward the streak: done yesterday and today → +1; a gap starts again at 1.
The totals and streaks live on the person's `PodsProfile`, kept here in the same transaction.
`streaks_decay` (the periodic tick) sets the current streak to 0 for people whose last done
day is before yesterday in the organization's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.community.models import (
    Commitment,
    CommitmentCheckIn,
    CommitmentStatus,
    Goal,
    GoalStatus,
    PodsProfile,
)
from tend.community.services import smart
from tend.community.services.pods_core import profile_for, zone
from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.guards import check_perm
from tend.people.models import Contact


def local_today(tenant: Tenant, now: datetime | None = None) -> date:
    name = getattr(tenant, "time_zone", "") or "UTC"
    try:
        tz = zone(name)
    except ValidationFailed:
        tz = zone("UTC")
    return (now or timezone.now()).astimezone(tz).date()


def _refresh_counts(tenant: Tenant, profile: PodsProfile) -> None:
    counts = Commitment.objects.filter(tenant=tenant, contact_id=profile.contact_id).aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(status=CommitmentStatus.COMPLETED)),
        active=Count("pk", filter=Q(status=CommitmentStatus.ACTIVE)))
    profile.total_commitments = counts["total"]
    profile.completed_commitments = counts["done"]
    profile.active_commitments = counts["active"]


def commitment_create(*, tenant: Tenant, actor: Actor, contact: Contact, text: str,
                      category: str = "", difficulty: int = 3,
                      estimated_minutes: int | None = None, due_date: date | None = None,
                      goal: Goal | None = None, shared_with_pod: bool = False) -> Commitment:
    """Record a commitment; the SMART analyzer scores it. Needs `pods.change` (the bot acts
    as the system)."""
    check_perm(actor, "pods.change")
    clean = " ".join((text or "").split())
    errors: dict[str, list[str]] = {}
    if not clean or len(clean) > 1000:
        errors["text"] = [_("Write the commitment (at most 1000 characters).")]
    if not 1 <= int(difficulty or 0) <= 5:
        errors["difficulty"] = [_("Enter a difficulty from 1 to 5.")]
    if estimated_minutes is not None and not 1 <= estimated_minutes <= 24 * 60:
        errors["estimated_minutes"] = [_("Enter minutes from 1 to 1440.")]
    if goal is not None and goal.contact_id != contact.pk:
        errors["goal_id"] = [_("Choose one of this person's goals.")]
    if errors:
        raise ValidationFailed(fields=errors)
    result = smart.analyze(clean, goal=goal.title if goal else "")
    with transaction.atomic():
        commitment = Commitment.objects.create(
            tenant=tenant, contact=contact, text=clean, original_text=text or "",
            smart_score=result.score, smart_checks={"checks": result.checks,
                                                    "suggestion": result.suggestion},
            category=(category or "")[:40].lower(), difficulty=difficulty,
            estimated_minutes=estimated_minutes, due_date=due_date, goal=goal,
            shared_with_pod=shared_with_pod, created_by=actor.user)
        profile = profile_for(tenant=tenant, contact=contact)
        _refresh_counts(tenant, profile)
        profile.last_activity_at = timezone.now()
        profile.save()
    return commitment


def commitment_check_in(*, tenant: Tenant, actor: Actor, commitment: Commitment, done: bool,
                        note: str = "", day: date | None = None, complete: bool = False,
                        source: str = "staff") -> CommitmentCheckIn:
    """Record the day's report on a commitment (replacing that day's earlier one). A done
    day extends the person's streak. `complete=True` also closes the commitment as
    COMPLETED (or FAILED when not done)."""
    check_perm(actor, "pods.change")
    if len(note or "") > 2000:
        raise ValidationFailed(fields={"note": [_("At most 2000 characters.")]})
    day = day or local_today(tenant)
    with transaction.atomic():
        profile = PodsProfile.objects.select_for_update().filter(
            tenant=tenant, contact_id=commitment.contact_id).first() or profile_for(
            tenant=tenant, contact=commitment.contact)
        checkin, _created = CommitmentCheckIn.objects.update_or_create(
            tenant=tenant, commitment=commitment, day=day,
            defaults={"contact_id": commitment.contact_id, "done": done, "note": note or "",
                      "source": source[:20]})
        if done:
            _extend_streak(profile, day)
        if complete and commitment.status == CommitmentStatus.ACTIVE:
            commitment.status = CommitmentStatus.COMPLETED if done else CommitmentStatus.FAILED
            commitment.completed_at = timezone.now()
            commitment.save(update_fields=["status", "completed_at", "updated_at"])
        _refresh_counts(tenant, profile)
        profile.last_activity_at = timezone.now()
        profile.save()
    return checkin


def commitment_set_status(*, tenant: Tenant, actor: Actor, commitment: Commitment,
                          status: str) -> Commitment:
    check_perm(actor, "pods.change")
    if status not in CommitmentStatus.values:
        raise ValidationFailed(fields={"status": [_("Choose a status.")]})
    with transaction.atomic():
        commitment.status = status
        commitment.completed_at = timezone.now() if status in (
            CommitmentStatus.COMPLETED, CommitmentStatus.FAILED) else None
        commitment.save(update_fields=["status", "completed_at", "updated_at"])
        profile = profile_for(tenant=tenant, contact=commitment.contact)
        _refresh_counts(tenant, profile)
        profile.save()
    return commitment


def _extend_streak(profile: PodsProfile, day: date) -> None:
    last = profile.last_done_on
    if last is not None and day <= last:
        return  # the same day again, or a late report of an earlier day
    if last is not None and day - last == timedelta(days=1):
        profile.current_streak += 1
    else:
        profile.current_streak = 1
    profile.last_done_on = day
    profile.longest_streak = max(profile.longest_streak, profile.current_streak)


def streaks_decay(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Zero the current streak of everyone whose last done day is before yesterday."""
    yesterday = local_today(tenant, now) - timedelta(days=1)
    return PodsProfile.objects.filter(tenant=tenant, current_streak__gt=0,
                                      last_done_on__lt=yesterday).update(current_streak=0)


def goal_create(*, tenant: Tenant, actor: Actor, contact: Contact,
                data: dict[str, Any]) -> Goal:
    check_perm(actor, "pods.change")
    goal = Goal(tenant=tenant, contact=contact, created_by=actor.user)
    _clean_goal(goal, {"title": data.get("title", ""), **data})
    goal.save()
    return goal


def goal_update(*, tenant: Tenant, actor: Actor, goal: Goal, data: dict[str, Any]) -> Goal:
    check_perm(actor, "pods.change")
    _clean_goal(goal, data)
    goal.save()
    return goal


def _clean_goal(goal: Goal, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "title" in data and data["title"] is not None:
        title = " ".join(str(data["title"]).split())
        if not title or len(title) > 200:
            errors["title"] = [_("Enter a title of 1 to 200 characters.")]
        goal.title = title
    for name in ("description", "category"):
        if data.get(name) is not None:
            setattr(goal, name, str(data[name])[:40 if name == "category" else 5000])
    if data.get("target_date") is not None:
        goal.target_date = data["target_date"]
    if data.get("progress") is not None:
        if not isinstance(data["progress"], int) or not 0 <= data["progress"] <= 100:
            errors["progress"] = [_("Enter a percentage from 0 to 100.")]
        else:
            goal.progress = data["progress"]
    if data.get("status") is not None:
        if data["status"] not in GoalStatus.values:
            errors["status"] = [_("Choose a status.")]
        else:
            goal.status = data["status"]
    if data.get("summary"):
        goal.summaries = [*goal.summaries, {"at": timezone.now().isoformat(),
                                            "text": str(data["summary"])[:2000]}][-52:]
    if errors:
        raise ValidationFailed(fields=errors)
