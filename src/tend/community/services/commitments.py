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
from uuid import UUID

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
from tend.people.services.activities import activity_record

COMPLETED_TYPE = "COMMITMENT_COMPLETED"


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
                      category: str = "", difficulty: Any = 3,
                      estimated_minutes: Any = None, due_date: Any = None,
                      goal: Goal | None = None, shared_with_pod: bool = False) -> Commitment:
    """Record a commitment; the SMART analyzer scores it. Numbers and the date may come as
    form strings; every bad field is reported at once. Needs `pods.change` (the bot acts as
    the system)."""
    check_perm(actor, "pods.change")
    clean = " ".join((text or "").split())
    errors: dict[str, list[str]] = {}
    if not clean or len(clean) > 1000:
        errors["text"] = [_("Write the commitment (at most 1000 characters).")]
    difficulty = _int(3 if difficulty in (None, "") else difficulty, "difficulty", 1, 5,
                      _("Enter a difficulty from 1 to 5."), errors)
    estimated_minutes = _int(estimated_minutes, "estimated_minutes", 1, 24 * 60,
                             _("Enter minutes from 1 to 1440."), errors)
    due_date = _date(due_date, "due_date", errors)
    category = " ".join((category or "").split()).lower()
    if len(category) > 40:
        errors["category"] = [_("At most 40 characters.")]
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
            category=category, difficulty=difficulty,
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
            if done:
                _record_completed(tenant, actor, commitment)
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
        was = commitment.status
        commitment.status = status
        commitment.completed_at = timezone.now() if status in (
            CommitmentStatus.COMPLETED, CommitmentStatus.FAILED) else None
        commitment.save(update_fields=["status", "completed_at", "updated_at"])
        if status == CommitmentStatus.COMPLETED and was != status:
            _record_completed(tenant, actor, commitment)
        profile = profile_for(tenant=tenant, contact=commitment.contact)
        _refresh_counts(tenant, profile)
        profile.save()
    return commitment


def _record_completed(tenant: Tenant, actor: Actor, commitment: Commitment) -> None:
    """A COMMITMENT_COMPLETED activity on the person's timeline (once per commitment)."""
    activity_record(tenant=tenant, actor=actor, type=COMPLETED_TYPE,
                    contact=commitment.contact, category="COMMUNITY",
                    title=commitment.text[:300], related=commitment,
                    metadata={"smart_score": commitment.smart_score,
                              "category": commitment.category},
                    source="community.pods",
                    source_event_id=f"commitment-completed:{commitment.pk}")


def _int(value: Any, field: str, low: int, high: int, message: str,
         errors: dict[str, list[str]]) -> int | None:
    """`value` as a whole number in [low, high]; None for empty; else an error on `field`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        errors[field] = [message]
        return None
    if not low <= number <= high:
        errors[field] = [message]
        return None
    return number


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = [_("Enter a date like 2026-03-31.")]
        return None


def commitment_update(*, tenant: Tenant, actor: Actor, commitment: Commitment,
                      data: dict[str, Any]) -> Commitment:
    """Edit a commitment: `text` (analyzed again; `original_text` keeps the first wording),
    category, difficulty (1 to 5), estimated_minutes (1 to 1440, empty clears), due_date,
    goal_id (one of the person's goals, empty clears), shared_with_pod and status. Every bad
    field is reported at once. Needs `pods.change`."""
    check_perm(actor, "pods.change")
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if data.get("text") is not None:
        clean = " ".join(str(data["text"]).split())
        if not clean or len(clean) > 1000:
            errors["text"] = [_("Write the commitment (at most 1000 characters).")]
        elif clean != commitment.text:
            changes["text"] = clean
    if data.get("category") is not None:
        category = " ".join(str(data["category"]).split()).lower()
        if len(category) > 40:
            errors["category"] = [_("At most 40 characters.")]
        changes["category"] = category
    if data.get("difficulty") is not None:
        difficulty = _int(data["difficulty"], "difficulty", 1, 5,
                          _("Enter a difficulty from 1 to 5."), errors)
        if difficulty is None and "difficulty" not in errors:
            errors["difficulty"] = [_("Enter a difficulty from 1 to 5.")]
        changes["difficulty"] = difficulty
    if "estimated_minutes" in data:
        changes["estimated_minutes"] = _int(data["estimated_minutes"], "estimated_minutes", 1,
                                            24 * 60, _("Enter minutes from 1 to 1440."), errors)
    if "due_date" in data:
        changes["due_date"] = _date(data["due_date"], "due_date", errors)
    if "goal_id" in data:
        goal = None
        if data["goal_id"] not in (None, ""):
            try:
                goal = Goal.objects.filter(tenant=tenant, contact_id=commitment.contact_id,
                                           pk=UUID(str(data["goal_id"]))).first()
            except ValueError:
                goal = None
            if goal is None:
                errors["goal_id"] = [_("Choose one of this person's goals.")]
        changes["goal"] = goal
    if data.get("shared_with_pod") is not None:
        changes["shared_with_pod"] = bool(data["shared_with_pod"])
    status = data.get("status")
    if status not in (None, "") and status not in CommitmentStatus.values:
        errors["status"] = [_("Choose a status.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        commitment = Commitment.objects.select_for_update(of=("self",)).select_related(
            "goal", "contact").get(tenant=tenant, pk=commitment.pk)
        for name, value in changes.items():
            setattr(commitment, name, value)
        if "text" in changes or "goal" in changes:
            result = smart.analyze(commitment.text,
                                   goal=commitment.goal.title if commitment.goal else "")
            commitment.smart_score = result.score
            commitment.smart_checks = {"checks": result.checks,
                                       "suggestion": result.suggestion}
        commitment.updated_by = actor.acting_user
        commitment.save()
        if status and status != commitment.status:
            commitment = commitment_set_status(tenant=tenant, actor=actor,
                                               commitment=commitment, status=status)
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
    """A goal for `contact` (title required). Needs `pods.change`."""
    check_perm(actor, "pods.change")
    goal = Goal(tenant=tenant, contact=contact, created_by=actor.user)
    _clean_goal(goal, {**data, "title": data.get("title") or ""})
    goal.save()
    return goal


def goal_update(*, tenant: Tenant, actor: Actor, goal: Goal, data: dict[str, Any]) -> Goal:
    """Edit a goal: title, description, target_date, category, progress (0 to 100), status,
    and `summary` (appended to the goal's summaries, newest 52 kept). Every bad field is
    reported at once. Needs `pods.change`."""
    check_perm(actor, "pods.change")
    _clean_goal(goal, data)
    goal.updated_by = actor.acting_user
    goal.save()
    return goal


def _clean_goal(goal: Goal, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "title" in data and data["title"] is not None:
        title = " ".join(str(data["title"]).split())
        if not title or len(title) > 200:
            errors["title"] = [_("Enter a title of 1 to 200 characters.")]
        goal.title = title
    if data.get("description") is not None:
        if len(str(data["description"])) > 5000:
            errors["description"] = [_("At most 5000 characters.")]
        goal.description = str(data["description"])
    if data.get("category") is not None:
        category = " ".join(str(data["category"]).split()).lower()
        if len(category) > 40:
            errors["category"] = [_("At most 40 characters.")]
        goal.category = category
    if "target_date" in data:
        goal.target_date = _date(data["target_date"], "target_date", errors)
    if data.get("progress") is not None:
        progress = _int(data["progress"], "progress", 0, 100,
                        _("Enter a percentage from 0 to 100."), errors)
        if progress is not None:
            goal.progress = progress
        elif "progress" not in errors and str(data["progress"]).strip():
            errors["progress"] = [_("Enter a percentage from 0 to 100.")]
    if data.get("status") not in (None, ""):
        if data["status"] not in GoalStatus.values:
            errors["status"] = [_("Choose a status.")]
        else:
            goal.status = data["status"]
    summary = str(data.get("summary") or "").strip()
    if len(summary) > 2000:
        errors["summary"] = [_("At most 2000 characters.")]
    elif summary:
        goal.summaries = [*goal.summaries, {"at": timezone.now().isoformat(),
                                            "text": summary}][-52:]
    if errors:
        raise ValidationFailed(fields=errors)
