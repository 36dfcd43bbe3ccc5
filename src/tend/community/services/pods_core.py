"""Pods: the matching profile, pods and their schedule, memberships (capacity held under a row
lock on the pod), meetings generated from the schedule, attendance (staff form, bot, CSV) and
each pod's health figures."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Avg, Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.community.models import (
    Commitment,
    CommitmentStatus,
    ExperienceLevel,
    MeetingAttendance,
    MeetingStatus,
    MeetingStyle,
    Pod,
    PodMeeting,
    PodMembership,
    PodMembershipStatus,
    PodsProfile,
    PodStatus,
)
from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.models import Contact
from tend.people.services.activities import activity_record

MAX_LIST = 20
MAX_ITEM = 60
MIN_OFFSET, MAX_OFFSET = -12 * 60, 14 * 60  # the UTC offsets time zones use, in minutes
JOINED_TYPE = "POD_JOINED"
LEFT_TYPE = "POD_LEFT"


def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(fields={field: [_("Choose a time zone like Europe/Berlin.")]}
                               ) from None


def _tags(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or len(value) > MAX_LIST:
        raise ValidationFailed(fields={field: [_("Give at most 20 short items.")]})
    items = []
    for item in value:
        item = " ".join(str(item).split()).lower()
        if len(item) > MAX_ITEM:
            raise ValidationFailed(fields={field: [_("Give at most 20 short items.")]})
        if item and item not in items:
            items.append(item)
    return items


def profile_for(*, tenant: Tenant, contact: Contact) -> PodsProfile:
    """The person's pods profile, created empty on first use."""
    profile, _created = PodsProfile.objects.get_or_create(tenant=tenant, contact=contact)
    return profile


def profile_update(*, tenant: Tenant, actor: Actor, contact: Contact,
                   data: dict[str, Any]) -> PodsProfile:
    """Set matching fields: goals_category, experience_level, meeting_style, strengths,
    help_needed (lists or comma-separated), bio, waiting. Needs `pods.change`."""
    check_perm(actor, "pods.change")
    errors: dict[str, list[str]] = {}
    if data.get("experience_level") not in (None, "", *ExperienceLevel.values):
        errors["experience_level"] = [_("Choose an experience level.")]
    if data.get("meeting_style") not in (None, "", *MeetingStyle.values):
        errors["meeting_style"] = [_("Choose a meeting style.")]
    if len(str(data.get("goals_category") or "")) > 40:
        errors["goals_category"] = [_("At most 40 characters.")]
    if len(str(data.get("bio") or "")) > 2000:
        errors["bio"] = [_("At most 2000 characters.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        profile = profile_for(tenant=tenant, contact=contact)
        for name in ("goals_category", "experience_level", "meeting_style", "bio"):
            if data.get(name) is not None:
                value = str(data[name]).strip()
                setattr(profile, name, value.lower() if name == "goals_category" else value)
        for name in ("strengths", "help_needed"):
            if name in data and data[name] is not None:
                setattr(profile, name, _tags(data[name], name))
        if data.get("waiting") is not None:
            profile.waiting = bool(data["waiting"])
        profile.save()
    return profile


# --- pods and their schedule -------------------------------------------------------------------


def next_meeting_at(pod: Pod, after: datetime | None = None) -> datetime:
    """The first meeting start strictly after `after` (now), in UTC: the pod's weekday and
    wall-clock time in its own time zone, so the UTC instant moves with daylight saving."""
    tz = zone(pod.time_zone)
    after = after or timezone.now()
    local = after.astimezone(tz)
    days = (pod.day_of_week - local.isoweekday()) % 7
    for extra in (0, 7, 14):
        day = local.date() + timedelta(days=days + extra)
        start = _local_instant(day, pod.time, tz)
        if start > after:
            return start
    raise AssertionError("unreachable")


def _local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at wall time `at` in `tz`, as UTC. A time skipped by a DST jump moves forward by
    the gap (02:30 on a spring-forward night is 03:30): with fold=0, zoneinfo reads a skipped
    time with the offset before the jump. A repeated time (autumn) is its first occurrence."""
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


def _clean_pod(data: dict[str, Any], pod: Pod) -> None:
    errors: dict[str, list[str]] = {}
    if "name" in data:
        name = " ".join(str(data["name"] or "").split())
        if not name or len(name) > 200:
            errors["name"] = [_("Enter a name of 1 to 200 characters.")]
        pod.name = name
    for name in ("description", "meeting_link", "target_goals_category",
                 "target_experience_level"):
        if data.get(name) is not None:
            setattr(pod, name, str(data[name]).strip())
    if pod.target_experience_level not in ("", *ExperienceLevel.values):
        errors["target_experience_level"] = [_("Choose an experience level.")]
    if data.get("day_of_week") is not None:
        try:
            pod.day_of_week = int(data["day_of_week"])
        except (TypeError, ValueError):
            pod.day_of_week = 0
        if not 1 <= pod.day_of_week <= 7:
            errors["day_of_week"] = [_("Choose a day from 1 (Monday) to 7 (Sunday).")]
    if data.get("time") is not None:
        value = data["time"]
        try:
            pod.time = value if isinstance(value, time) else time.fromisoformat(str(value))
        except ValueError:
            errors["time"] = [_("Enter a time like 18:30.")]
    if data.get("time_zone") is not None:
        try:
            zone(str(data["time_zone"]))
            pod.time_zone = str(data["time_zone"])
        except ValidationFailed as exc:
            errors.update(exc.fields)
    for name, low, high in (("duration_minutes", 15, 480), ("capacity", 2, 50)):
        if data.get(name) is not None:
            try:
                number = int(data[name])
            except (TypeError, ValueError):
                number = -1
            if not low <= number <= high:
                errors[name] = [_("Enter a number from %(low)d to %(high)d.")
                                % {"low": low, "high": high}]
            else:
                setattr(pod, name, number)
    for name in ("target_utc_offset_min", "target_utc_offset_max"):
        if name in data:
            value = data[name]
            if value is None or (isinstance(value, str) and not value.strip()):
                setattr(pod, name, None)
                continue
            try:
                if isinstance(value, bool):
                    raise ValueError
                minutes = int(str(value).strip()) if isinstance(value, str) else int(value)
            except (TypeError, ValueError):
                minutes = 10_000
            if not MIN_OFFSET <= minutes <= MAX_OFFSET:
                errors[name] = [_("Enter a UTC offset in minutes from -720 to 840.")]
            else:
                setattr(pod, name, minutes)
    start, end = pod.target_utc_offset_min, pod.target_utc_offset_max
    if start is not None and end is not None and start > end and not (
            {"target_utc_offset_min", "target_utc_offset_max"} & set(errors)):
        errors["target_utc_offset_max"] = [_("The range must end at or after its start.")]
    if data.get("status") is not None:
        if data["status"] not in PodStatus.values:
            errors["status"] = [_("Choose a status.")]
        else:
            pod.status = data["status"]
    if getattr(pod, "time", None) is None:
        errors.setdefault("time", [_("Enter a time like 18:30.")])
    if errors:
        raise ValidationFailed(fields=errors)


def pod_create(*, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> Pod:
    """Create a pod from `data` (name, day_of_week, time, time_zone, duration_minutes,
    capacity, meeting_link, description, targets). Needs `pods.change`."""
    check_perm(actor, "pods.change")
    pod = Pod(tenant=tenant, created_by=actor.user)
    data = {"name": data.get("name", ""), **data}
    _clean_pod(data, pod)
    with transaction.atomic():
        pod.save()
        audit_record(tenant=tenant, actor=actor, action="pod.created", entity_type="pod",
                     entity_id=pod.pk)
    return pod


def pod_update(*, tenant: Tenant, actor: Actor, pod: Pod, data: dict[str, Any]) -> Pod:
    check_perm(actor, "pods.change")
    with transaction.atomic():
        pod = Pod.objects.select_for_update().get(tenant=tenant, pk=pod.pk)
        _clean_pod(data, pod)
        if pod.status in (PodStatus.ACTIVE, PodStatus.FULL):
            pod.status = PodStatus.FULL if pod.member_count >= pod.capacity else PodStatus.ACTIVE
        pod.save()
        audit_record(tenant=tenant, actor=actor, action="pod.updated", entity_type="pod",
                     entity_id=pod.pk, changes={k: str(v) for k, v in data.items()})
    return pod


# --- memberships -----------------------------------------------------------------------------


def pod_join(*, tenant: Tenant, actor: Actor, pod: Pod, contact: Contact,
             payment_active: bool = False) -> PodMembership:
    """Put `contact` in `pod`. The pod row is locked first, so two joins at once never pass
    its capacity; a full, paused or disbanded pod refuses. Joining clears the person's
    `waiting` flag. Needs `pods.change`."""
    check_perm(actor, "pods.change")
    with transaction.atomic():
        pod = Pod.objects.select_for_update().get(tenant=tenant, pk=pod.pk)
        membership = PodMembership.objects.filter(tenant=tenant, pod=pod,
                                                  contact=contact).first()
        if membership is not None and membership.status == PodMembershipStatus.ACTIVE:
            return membership
        if pod.status in (PodStatus.PAUSED, PodStatus.DISBANDED):
            raise ValidationFailed(fields={"pod_id": [_("This pod is not taking members.")]})
        if pod.member_count >= pod.capacity:
            raise ValidationFailed(fields={"pod_id": [_("This pod is full.")]})
        now = timezone.now()
        if membership is None:
            membership = PodMembership(tenant=tenant, pod=pod, contact=contact,
                                       created_by=actor.user)
        membership.status = PodMembershipStatus.ACTIVE
        membership.joined_at, membership.left_at = now, None
        membership.payment_active = payment_active or membership.payment_active
        membership.save()
        pod.member_count += 1
        if pod.member_count >= pod.capacity:
            pod.status = PodStatus.FULL
        pod.save(update_fields=["member_count", "status", "updated_at"])
        PodsProfile.objects.filter(tenant=tenant, contact=contact).update(waiting=False)
        audit_record(tenant=tenant, actor=actor, action="pod.member_joined", entity_type="pod",
                     entity_id=pod.pk, changes={"contact": str(contact.pk)})
        activity_record(tenant=tenant, actor=actor, type=JOINED_TYPE, contact=contact,
                        category="COMMUNITY", title=pod.name, related=pod,
                        metadata={"pod_id": str(pod.pk)}, occurred_at=now)
    return membership


def pod_leave(*, tenant: Tenant, actor: Actor, membership: PodMembership) -> PodMembership:
    """End a membership (status LEFT); the pod gets the place back. Needs `pods.change`."""
    check_perm(actor, "pods.change")
    with transaction.atomic():
        pod = Pod.objects.select_for_update().get(tenant=tenant, pk=membership.pod_id)
        membership = PodMembership.objects.select_for_update().get(tenant=tenant,
                                                                   pk=membership.pk)
        if membership.status == PodMembershipStatus.LEFT:
            return membership
        membership.status, membership.left_at = PodMembershipStatus.LEFT, timezone.now()
        membership.save(update_fields=["status", "left_at", "updated_at"])
        pod.member_count = max(0, pod.member_count - 1)
        if pod.status == PodStatus.FULL:
            pod.status = PodStatus.ACTIVE
        pod.save(update_fields=["member_count", "status", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="pod.member_left", entity_type="pod",
                     entity_id=pod.pk, changes={"contact": str(membership.contact_id)})
        activity_record(tenant=tenant, actor=actor, type=LEFT_TYPE, contact=membership.contact,
                        category="COMMUNITY", title=pod.name, related=pod,
                        metadata={"pod_id": str(pod.pk)}, occurred_at=membership.left_at)
    return membership


def membership_update(*, tenant: Tenant, actor: Actor, membership: PodMembership,
                      data: dict[str, Any]) -> PodMembership:
    """Edit a membership: `status` ACTIVE or PAUSED (a paused member keeps the place; leaving
    is `pod_leave`), `payment_active`, `last_payment_at` (a datetime or a date, empty
    clears). Every bad field is reported at once. Needs `pods.change`."""
    check_perm(actor, "pods.change")
    errors: dict[str, list[str]] = {}
    status = data.get("status")
    if status not in (None, "") and status not in (PodMembershipStatus.ACTIVE,
                                                   PodMembershipStatus.PAUSED):
        errors["status"] = [_("Choose active or paused (removing someone is leaving).")]
    elif status and membership.status == PodMembershipStatus.LEFT:
        errors["status"] = [_("This person left the pod; add them again instead.")]
    paid_at: Any = membership.last_payment_at
    if "last_payment_at" in data:
        value = data["last_payment_at"]
        if value in (None, ""):
            paid_at = None
        elif isinstance(value, datetime):
            paid_at = value
        else:
            try:
                text = str(value).strip()
                paid_at = (datetime.fromisoformat(text) if "T" in text or " " in text
                           else datetime.combine(date.fromisoformat(text), time(12)))
            except ValueError:
                errors["last_payment_at"] = [_("Enter a date like 2026-03-31.")]
        if paid_at is not None and not errors.get("last_payment_at"):
            if timezone.is_naive(paid_at):
                paid_at = timezone.make_aware(paid_at, UTC)
            if paid_at > timezone.now() + timedelta(days=1):
                errors["last_payment_at"] = [_("The payment date cannot be in the future.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        membership = PodMembership.objects.select_for_update().get(tenant=tenant,
                                                                   pk=membership.pk)
        if status:
            membership.status = status
        if data.get("payment_active") is not None:
            membership.payment_active = bool(data["payment_active"])
        membership.last_payment_at = paid_at
        membership.updated_by = actor.acting_user
        membership.save()
        audit_record(tenant=tenant, actor=actor, action="pod.member_updated",
                     entity_type="pod", entity_id=membership.pod_id,
                     changes={"contact": str(membership.contact_id),
                              "fields": sorted(k for k in data if k in (
                                  "status", "payment_active", "last_payment_at"))})
    return membership


# --- meetings and attendance ----------------------------------------------------------------


def meetings_generate(*, tenant: Tenant, pod: Pod, weeks: int = 4,
                      after: datetime | None = None) -> list[PodMeeting]:
    """Create the pod's meetings for the next `weeks` weeks from its schedule (existing ones
    are kept: unique per pod and start). Returns the meetings in that window."""
    out = []
    start = after or timezone.now()
    for _week in range(max(0, min(weeks, 52))):
        start = next_meeting_at(pod, start)
        meeting, _created = PodMeeting.objects.get_or_create(
            tenant=tenant, pod=pod, scheduled_at=start,
            defaults={"duration_minutes": pod.duration_minutes})
        out.append(meeting)
    return out


MAX_ACTION_ITEMS = 50
MAX_ACTION_ITEM = 500


def _action_items(value: Any, errors: dict[str, list[str]]) -> list[str]:
    """Action items as a list of strings, or text with one item per line; blanks dropped,
    the wording kept as written."""
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        errors["action_items"] = [_("Give the action items as a list.")]
        return []
    items = [" ".join(str(item).split()) for item in value]
    items = [item for item in items if item]
    if len(items) > MAX_ACTION_ITEMS or any(len(item) > MAX_ACTION_ITEM for item in items):
        errors["action_items"] = [_("At most 50 action items of 500 characters each.")]
    return items


def meeting_update(*, tenant: Tenant, actor: Actor, meeting: PodMeeting,
                   data: dict[str, Any]) -> PodMeeting:
    """Notes, agenda, action items (a list of strings, or one per line), energy level (1 to
    10; empty clears it), status. Every bad field is reported at once. Needs `pods.change`."""
    check_perm(actor, "pods.change")
    errors: dict[str, list[str]] = {}
    if "energy_level" in data:
        value = data["energy_level"]
        if value is None or (isinstance(value, str) and not value.strip()):
            meeting.energy_level = None
        else:
            try:
                energy = int(str(value).strip()) if isinstance(value, str) else int(value)
            except (TypeError, ValueError):
                energy = 0
            if isinstance(value, bool) or not 1 <= energy <= 10:
                errors["energy_level"] = [_("Enter a number from 1 to 10.")]
            else:
                meeting.energy_level = energy
    if data.get("status") not in (None, ""):
        if data["status"] not in MeetingStatus.values:
            errors["status"] = [_("Choose a status.")]
        else:
            meeting.status = data["status"]
    for name in ("notes", "agenda"):
        if data.get(name) is not None:
            if len(str(data[name])) > 20000:
                errors[name] = [_("At most 20000 characters.")]
            setattr(meeting, name, str(data[name]))
    if data.get("action_items") is not None:
        meeting.action_items = _action_items(data["action_items"], errors)
    if errors:
        raise ValidationFailed(fields=errors)
    meeting.updated_by = actor.acting_user
    meeting.save()
    audit_record(tenant=tenant, actor=actor, action="pod.meeting_updated",
                 entity_type="pod_meeting", entity_id=meeting.pk,
                 changes={"fields": sorted(k for k in data if k in (
                     "notes", "agenda", "action_items", "energy_level", "status"))})
    return meeting


def _attendance_write(tenant: Tenant, meeting: PodMeeting, contact: Contact, attended: bool,
                      rating: int | None, source: str) -> MeetingAttendance:
    """Save one answer and keep the membership's attended/missed counts (inside a
    transaction; the meeting's rate is left to `_meeting_rate_update`)."""
    membership = (PodMembership.objects.select_for_update()
                  .filter(tenant=tenant, pod_id=meeting.pod_id, contact=contact).first())
    if membership is None:
        raise ValidationFailed(fields={"contact_id": [_("This person is not in the pod.")]})
    row = MeetingAttendance.objects.filter(tenant=tenant, meeting=meeting,
                                           contact=contact).first()
    if row is not None and row.attended != attended:
        field = "meetings_attended" if row.attended else "meetings_missed"
        setattr(membership, field, max(0, getattr(membership, field) - 1))
    if row is None or row.attended != attended:
        field = "meetings_attended" if attended else "meetings_missed"
        setattr(membership, field, getattr(membership, field) + 1)
    membership.save(update_fields=["meetings_attended", "meetings_missed", "updated_at"])
    if row is None:
        row = MeetingAttendance(tenant=tenant, meeting=meeting, contact=contact,
                                attended=attended)
    row.attended, row.rating, row.source = attended, rating, source[:20]
    row.save()
    return row


def _meeting_rate_update(tenant: Tenant, meeting: PodMeeting) -> None:
    """The meeting's attendance rate from its rows; a scheduled meeting becomes COMPLETED."""
    counts = MeetingAttendance.objects.filter(tenant=tenant, meeting=meeting).aggregate(
        n=Count("pk"), yes=Count("pk", filter=Q(attended=True)))
    meeting.attendance_rate = (round(100.0 * counts["yes"] / counts["n"], 1) if counts["n"]
                               else None)
    if meeting.status == MeetingStatus.SCHEDULED:
        meeting.status = MeetingStatus.COMPLETED
    meeting.save(update_fields=["attendance_rate", "status", "updated_at"])


def attendance_record(*, tenant: Tenant, actor: Actor, meeting: PodMeeting, contact: Contact,
                      attended: bool, rating: int | None = None,
                      source: str = "staff") -> MeetingAttendance:
    """Record whether a pod member was at a meeting (again: the answer is replaced). Keeps the
    membership's attended/missed counts, the meeting's attendance rate and marks the meeting
    COMPLETED. Needs `pods.change` (the bot acts as the system)."""
    check_perm(actor, "pods.change")
    if rating is not None and not 1 <= int(rating) <= 5:
        raise ValidationFailed(fields={"rating": [_("Enter a rating from 1 to 5.")]})
    with transaction.atomic():
        row = _attendance_write(tenant, meeting, contact, attended, rating, source)
        _meeting_rate_update(tenant, meeting)
    return row


MAX_IMPORT_ROWS = 5000


def attendance_import(*, tenant: Tenant, actor: Actor, pod: Pod,
                      content: str) -> dict[str, Any]:
    """Import attendance from CSV with columns `date` (the meeting's local date in the pod's
    time zone, YYYY-MM-DD), `contact_id` or `email`, `attended` (yes/no/1/0) and optional
    `rating`, at most `MAX_IMPORT_ROWS` rows (more: a `file` error, nothing recorded). Rows
    that name no meeting or no member, or a bad rating, are reported, not fatal; the rows
    are recorded in one transaction and each meeting's rate is computed once at the end."""
    check_perm(actor, "pods.change")
    reader = csv.DictReader(io.StringIO(content))
    if not reader.fieldnames or "date" not in reader.fieldnames or "attended" not in \
            reader.fieldnames:
        raise ValidationFailed(fields={"file": [_("The CSV needs the columns date and "
                                                  "attended, and contact_id or email.")]})
    rows = list(itertools.islice(reader, MAX_IMPORT_ROWS + 1))
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationFailed(fields={"file": [
            _("At most %(count)d rows at a time: split the file.") % {
                "count": MAX_IMPORT_ROWS}]})
    tz = zone(pod.time_zone)
    meetings = {m.scheduled_at.astimezone(tz).date(): m
                for m in PodMeeting.objects.filter(tenant=tenant, pod=pod)}
    members = {str(m.contact_id): m.contact for m in PodMembership.objects.filter(
        tenant=tenant, pod=pod).select_related("contact")}
    by_email = {(c.primary_email or "").lower(): c for c in members.values() if c.primary_email}
    done, problems = 0, []
    touched: dict[Any, PodMeeting] = {}
    with transaction.atomic():
        for line, row in enumerate(rows, start=2):
            try:
                meeting = meetings.get(date.fromisoformat((row.get("date") or "").strip()))
            except ValueError:
                meeting = None
            contact = members.get((row.get("contact_id") or "").strip()) or by_email.get(
                (row.get("email") or "").strip().lower())
            if meeting is None or contact is None:
                problems.append({"line": line,
                                 "error": _("No meeting that day or no such member.")})
                continue
            attended = (row.get("attended") or "").strip().lower() in (
                "yes", "y", "1", "true", "x")
            raw_rating = (row.get("rating") or "").strip()
            try:
                rating = int(raw_rating) if raw_rating else None
            except ValueError:
                rating = 0
            if rating is not None and not 1 <= rating <= 5:
                problems.append({"line": line, "error": _("Bad rating.")})
                continue
            try:
                _attendance_write(tenant, meeting, contact, attended, rating, "import")
            except ValidationFailed:  # left the pod since the file was read
                problems.append({"line": line,
                                 "error": _("No meeting that day or no such member.")})
                continue
            touched[meeting.pk] = meeting
            done += 1
        for meeting in touched.values():
            _meeting_rate_update(tenant, meeting)
    return {"recorded": done, "problems": problems[:100]}


def pod_refresh_health(*, tenant: Tenant, pod: Pod) -> Pod:
    """Recompute attendance rate (share of recorded attendances that were present),
    completion rate (completed share of the current members' finished commitments) and
    satisfaction (average rating) from the rows, and each active member's contribution
    score (0 to 100: 60 for the share of meetings attended, 40 for the share of finished
    commitments kept; with only one of the two known, that one counts fully). Called by
    the tick for every active pod and after attendance is recorded on the pages."""
    att = MeetingAttendance.objects.filter(tenant=tenant, meeting__pod=pod).aggregate(
        n=Count("pk"), yes=Count("pk", filter=Q(attended=True)), rating=Avg("rating"))
    members = PodMembership.objects.filter(tenant=tenant, pod=pod,
                                           status=PodMembershipStatus.ACTIVE).values("contact")
    com = Commitment.objects.filter(tenant=tenant, contact__in=members, status__in=(
        CommitmentStatus.COMPLETED, CommitmentStatus.FAILED)).aggregate(
        n=Count("pk"), yes=Count("pk", filter=Q(status=CommitmentStatus.COMPLETED)))
    pod.attendance_rate = round(100.0 * att["yes"] / att["n"], 1) if att["n"] else None
    pod.completion_rate = round(100.0 * com["yes"] / com["n"], 1) if com["n"] else None
    pod.satisfaction = round(att["rating"], 2) if att["rating"] is not None else None
    Pod.objects.filter(tenant=tenant, pk=pod.pk).update(
        attendance_rate=pod.attendance_rate, completion_rate=pod.completion_rate,
        satisfaction=pod.satisfaction, updated_at=F("updated_at"))
    kept = {row["contact_id"]: row for row in Commitment.objects.filter(
        tenant=tenant, contact__in=members, status__in=(
            CommitmentStatus.COMPLETED, CommitmentStatus.FAILED))
        .values("contact_id").annotate(
            n=Count("pk"), yes=Count("pk", filter=Q(status=CommitmentStatus.COMPLETED)))}
    for membership in PodMembership.objects.filter(tenant=tenant, pod=pod,
                                                   status=PodMembershipStatus.ACTIVE):
        parts = []
        seen = membership.meetings_attended + membership.meetings_missed
        if seen:
            parts.append((60, membership.meetings_attended / seen))
        finished = kept.get(membership.contact_id)
        if finished and finished["n"]:
            parts.append((40, finished["yes"] / finished["n"]))
        weight = sum(w for w, _share in parts)
        score = round(100.0 * sum(w * share for w, share in parts) / weight, 1) if parts \
            else None
        if score != membership.contribution_score:
            PodMembership.objects.filter(pk=membership.pk).update(contribution_score=score)
    return pod
