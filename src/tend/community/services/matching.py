"""Pod matching: the people waiting and the pods with room → a proposed assignment.

Rules, in order of weight:
- time zone: a person only goes to a pod whose UTC offset is within ±3 hours of theirs,
  and, when the pod has a target time-zone range (`target_utc_offset_min`/`_max`, minutes),
  only if their own offset is inside it (hard limits);
- goals: the same goals category as the pod's target (or its members' most common one);
- experience: the pod's target level, else the level the pod has fewest of (balance);
- meeting style: the same preferred style as the pod's members (MIXED fits any);
- strengths and needs: what the person needs that members are strong at, and the reverse.

People are taken in a fixed order (fewest compatible pods first, then contact id), and ties
between pods break on the pod's id, so the same input always gives the same proposal. A
person with no pod to go to opens a new pod (in their time zone, with their goals) that later
people may join; new pods left below `min_size` are reported.

`matching_propose` stores the proposal as a `MatchingRun` for review; `matching_adjust`
moves one person; `matching_confirm` creates the new pods and memberships and sends each new
member an intro card through the outbox.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.community.models import (
    MatchingRun,
    Pod,
    PodMembership,
    PodMembershipStatus,
    PodsProfile,
    PodStatus,
)
from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.guards import check_perm
from tend.core.zones import zone_named
from tend.people.models import Contact

MAX_OFFSET_MIN = 180
LEVELS = ("BEGINNER", "INTERMEDIATE", "ADVANCED")
CANDIDATES = 12  # pods scored per person, nearest offsets first


@dataclass
class Person:
    id: str
    name: str
    offset: int
    time_zone: str
    goal: str = ""
    level: str = ""
    style: str = ""
    strengths: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()


@dataclass
class Slot:
    """A pod with room (existing or new) and what its members add up to so far."""

    key: str
    offset: int
    time_zone: str
    room: int
    goal: str = ""
    level: str = ""
    new: bool = False
    name: str = ""
    lo: int | None = None  # the pod's target range of UTC offsets (minutes), when set
    hi: int | None = None
    levels: Counter[str] = field(default_factory=Counter)
    styles: Counter[str] = field(default_factory=Counter)
    goals: Counter[str] = field(default_factory=Counter)
    strengths: Counter[str] = field(default_factory=Counter)
    needs: Counter[str] = field(default_factory=Counter)
    members: list[str] = field(default_factory=list)

    def admits(self, p: Person) -> bool:
        """Whether `p`'s UTC offset is within ±3 hours and inside the target range."""
        return (abs(self.offset - p.offset) <= MAX_OFFSET_MIN
                and (self.lo is None or p.offset >= self.lo)
                and (self.hi is None or p.offset <= self.hi))

    def add(self, p: Person) -> None:
        self.room -= 1
        self.members.append(p.id)
        self.levels[p.level] += 1
        self.styles[p.style] += 1
        self.goals[p.goal] += 1
        self.strengths.update(p.strengths)
        self.needs.update(p.needs)


_offsets: dict[str, int | None] = {}


def utc_offset_minutes(name: str, at: datetime) -> int | None:
    key = f"{name}@{at:%Y%m%d}"
    if key not in _offsets:
        try:
            delta = at.astimezone(ZoneInfo(name)).utcoffset() if name else None
        except (ZoneInfoNotFoundError, ValueError):
            delta = None
        _offsets[key] = int(delta.total_seconds() // 60) if delta is not None else None
    return _offsets[key]


def score(p: Person, s: Slot) -> tuple[int, list[str]]:
    """Points for putting `p` in `s`, with the reasons (plain English keys the UI
    translates)."""
    points, reasons = 0, []
    diff = abs(p.offset - s.offset)
    points += 3 - diff // 60
    reasons.append("same time zone" if diff == 0 else f"time zones {diff // 60}h apart")
    if s.lo is not None or s.hi is not None:
        reasons.append("within the pod's time-zone range")
    goal = s.goal or (s.goals.most_common(1)[0][0] if s.goals else "")
    if p.goal and goal == p.goal:
        points += 5
        reasons.append(f"goal: {p.goal}")
    if p.level:
        if s.level:
            if s.level == p.level:
                points += 3
                reasons.append(f"level: {p.level.lower()}")
        else:
            fewest = min(s.levels.get(level, 0) for level in LEVELS)
            if s.levels.get(p.level, 0) == fewest:
                points += 2
                reasons.append("balances experience")
    if p.style and s.styles:
        style = s.styles.most_common(1)[0][0]
        if p.style == style or "MIXED" in (p.style, style):
            points += 2
            reasons.append(f"meeting style: {p.style.lower()}")
    helps = sorted(item for item in p.needs if s.strengths.get(item))
    gives = sorted(item for item in p.strengths if s.needs.get(item))
    if helps:
        points += min(3, len(helps))
        reasons.append("members can help with " + ", ".join(helps[:3]))
    if gives:
        points += min(3, len(gives))
        reasons.append("can help others with " + ", ".join(gives[:3]))
    return points, reasons


def match(people: list[Person], slots: list[Slot], *, pod_size: int = 6,
          min_size: int = 3) -> dict[str, Any]:
    """The pure algorithm: assign each person to a slot. Returns the proposal document."""
    by_hour: dict[int, list[Slot]] = defaultdict(list)
    for s in sorted(slots, key=lambda s: s.key):
        by_hour[s.offset // 60].append(s)

    def nearby(p: Person) -> list[Slot]:
        hour = p.offset // 60
        found: list[Slot] = []
        for d in (0, -1, 1, -2, 2, -3, 3, -4, 4):
            for s in by_hour.get(hour + d, ()):
                if s.room > 0 and s.admits(p):
                    found.append(s)
                    if len(found) >= CANDIDATES * 4:
                        return found
        return found

    def goal_first(p: Person, found: list[Slot]) -> list[Slot]:
        same = [s for s in found if p.goal and (s.goal or next(iter(s.goals), "")) == p.goal]
        rest = [s for s in found if s not in same] if len(same) < CANDIDATES else []
        return (same + rest)[:CANDIDATES]

    assignments: list[dict[str, Any]] = []
    order = sorted(people, key=lambda p: (len(nearby(p)) > 0, p.offset, p.goal, p.id))
    new_count = 0
    for p in order:
        best: tuple[int, str] | None = None
        chosen, why = None, []
        for s in goal_first(p, nearby(p)):
            points, reasons = score(p, s)
            if best is None or (points, s.key) > best:
                best, chosen, why = (points, s.key), s, reasons
        if chosen is None or (best is not None and best[0] < 5 and p.goal and not any(
                s.goal == p.goal for s in nearby(p))):
            new_count += 1
            chosen = Slot(key=f"new-{new_count}", offset=p.offset, time_zone=p.time_zone,
                          room=pod_size, goal=p.goal, new=True,
                          name=f"{(p.goal or 'pod').title()} pod {new_count}")
            by_hour[p.offset // 60].append(chosen)
            points, why = score(p, chosen)
            why = ["new pod for this time zone and goal", *why]
            best = (points, chosen.key)
        chosen.add(p)
        assignments.append({"contact_id": p.id, "name": p.name, "pod": chosen.key,
                            "score": best[0] if best else 0, "reasons": why})
    new_pods: list[dict[str, Any]] = [
        {"key": s.key, "name": s.name, "time_zone": s.time_zone, "goal": s.goal,
         "size": len(s.members), "small": len(s.members) < min_size}
        for hour in sorted(by_hour) for s in by_hour[hour] if s.new]
    new_pods.sort(key=lambda n: int(str(n["key"]).split("-")[1]))
    assignments.sort(key=lambda a: str(a["contact_id"]))
    return {"assignments": assignments, "new_pods": new_pods}


# --- loading, storing, confirming ------------------------------------------------------------


def _people(tenant: Tenant, now: datetime) -> list[Person]:
    rows = (PodsProfile.objects.filter(tenant=tenant, waiting=True)
            .exclude(contact__pod_memberships__status=PodMembershipStatus.ACTIVE)
            .values_list("contact_id", "contact__display_name", "contact__time_zone",
                         "goals_category", "experience_level", "meeting_style", "strengths",
                         "help_needed"))
    people = []
    for cid, name, tz, goal, level, style, strengths, needs in rows:
        offset = utc_offset_minutes(tz or "", now)
        people.append(Person(id=str(cid), name=name or "", offset=offset or 0,
                             time_zone=tz if offset is not None else "UTC", goal=goal,
                             level=level, style=style, strengths=frozenset(strengths or ()),
                             needs=frozenset(needs or ())))
    return people


def _slots(tenant: Tenant, now: datetime) -> list[Slot]:
    slots = {}
    for pod in Pod.objects.filter(tenant=tenant, status=PodStatus.ACTIVE):
        if pod.member_count >= pod.capacity:
            continue
        slots[str(pod.pk)] = Slot(key=str(pod.pk), offset=utc_offset_minutes(
            pod.time_zone, now) or 0, time_zone=pod.time_zone,
            room=pod.capacity - pod.member_count, goal=pod.target_goals_category,
            level=pod.target_experience_level, name=pod.name,
            lo=pod.target_utc_offset_min, hi=pod.target_utc_offset_max)
    members = (PodMembership.objects.filter(tenant=tenant, pod_id__in=list(slots),
                                            status=PodMembershipStatus.ACTIVE)
               .values_list("pod_id", "contact__pods_profile__experience_level",
                            "contact__pods_profile__meeting_style",
                            "contact__pods_profile__goals_category",
                            "contact__pods_profile__strengths",
                            "contact__pods_profile__help_needed"))
    for pod_id, level, style, goal, strengths, needs in members:
        s = slots[str(pod_id)]
        s.levels[level or ""] += 1
        s.styles[style or ""] += 1
        s.goals[goal or ""] += 1
        s.strengths.update(strengths or ())
        s.needs.update(needs or ())
    return list(slots.values())


def matching_propose(*, tenant: Tenant, actor: Actor, pod_size: int = 6) -> MatchingRun:
    """Propose pods for everyone waiting; stored as a DRAFT run. Needs `pods.change`."""
    check_perm(actor, "pods.change")
    if not 3 <= pod_size <= 12:
        raise ValidationFailed(fields={"pod_size": [_("Enter a pod size from 3 to 12.")]})
    now = timezone.now()
    proposal = match(_people(tenant, now), _slots(tenant, now), pod_size=pod_size)
    names = dict(Pod.objects.filter(tenant=tenant).values_list("pk", "name"))
    for item in proposal["assignments"]:
        if not item["pod"].startswith("new-"):
            from uuid import UUID

            item["pod_name"] = names.get(UUID(item["pod"]), "")
    return MatchingRun.objects.create(tenant=tenant, proposal=proposal, created_by=actor.user)


def matching_adjust(*, tenant: Tenant, actor: Actor, run: MatchingRun, contact_id: str,
                    pod: str) -> MatchingRun:
    """Move one person of a DRAFT run to another pod (an existing pod's id or a new-pod key
    of the run; empty: leave them waiting)."""
    check_perm(actor, "pods.change")
    if run.status != "DRAFT":
        raise ValidationFailed(fields={"run": [_("This proposal is already confirmed.")]})
    keys = {n["key"] for n in run.proposal.get("new_pods", [])}
    if pod and pod not in keys and not Pod.objects.filter(
            tenant=tenant, pk=_uuid(pod, "pod")).exists():
        raise ValidationFailed(fields={"pod": [_("Choose a pod of this organization.")]})
    for item in run.proposal.get("assignments", []):
        if item["contact_id"] == contact_id:
            item["pod"], item["reasons"] = pod, ["moved by staff"]
            item["pod_name"] = "" if pod in keys or not pod else str(
                Pod.objects.get(tenant=tenant, pk=pod).name)
            break
    else:
        raise ValidationFailed(fields={"contact_id": [_("This person is not in the proposal.")]})
    run.save(update_fields=["proposal", "updated_at"])
    return run


def _uuid(value: str, field: str) -> Any:
    from uuid import UUID

    try:
        return UUID(str(value))
    except ValueError:
        raise ValidationFailed(fields={field: [_("Choose a pod of this organization.")]}
                               ) from None


def matching_confirm(*, tenant: Tenant, actor: Actor, run: MatchingRun) -> dict[str, int]:
    """Create the run's new pods (Monday 19:00 in their time zone), the memberships, and an
    intro card message to each new member naming the others. Once per run."""
    from tend.community.services.pods_core import pod_create, pod_join

    check_perm(actor, "pods.change")
    with transaction.atomic():
        run = MatchingRun.objects.select_for_update().get(tenant=tenant, pk=run.pk)
        if run.status != "DRAFT":
            raise ValidationFailed(fields={"run": [_("This proposal is already confirmed.")]})
        wanted = {a["pod"] for a in run.proposal.get("assignments", []) if a["pod"]}
        pods: dict[str, Pod] = {}
        for new in run.proposal.get("new_pods", []):
            if new["key"] in wanted:
                pods[new["key"]] = pod_create(tenant=tenant, actor=actor, data={
                    "name": new["name"], "time_zone": new["time_zone"], "day_of_week": 1,
                    "time": time(19, 0), "target_goals_category": new["goal"]})
        for pod in Pod.objects.filter(tenant=tenant, pk__in=[
                _uuid(k, "pod") for k in wanted if not k.startswith("new-")]):
            pods[str(pod.pk)] = pod
        contacts = {str(c.pk): c for c in Contact.objects.filter(tenant=tenant, pk__in=[
            a["contact_id"] for a in run.proposal.get("assignments", [])])}
        joined: dict[str, list[Contact]] = defaultdict(list)
        for item in run.proposal.get("assignments", []):
            contact, target = contacts.get(item["contact_id"]), pods.get(item["pod"])
            if contact is None or target is None:
                continue
            pod_join(tenant=tenant, actor=actor, pod=target, contact=contact)
            joined[str(target.pk)].append(contact)
        sent = 0
        by_id = {str(p.pk): p for p in pods.values()}
        for pod_id, people in joined.items():
            for contact in people:
                sent += intro_card_send(tenant=tenant, actor=actor, pod=by_id[pod_id],
                                        contact=contact, run=run)
        run.status, run.confirmed_at = "CONFIRMED", timezone.now()
        run.save(update_fields=["status", "confirmed_at", "updated_at"])
    return {"pods_created": sum(1 for k in pods if k.startswith("new-")),
            "memberships": sum(len(v) for v in joined.values()), "messages": sent}


def intro_card(*, tenant: Tenant, pod: Pod) -> str:
    """The intro card: each member's name, goals, strengths, what they want help with,
    current streak and bio."""
    from django.utils.formats import date_format

    from tend.community.services.pods_core import next_meeting_at

    when = timezone.localtime(next_meeting_at(pod), zone_named(pod.time_zone))
    lines = [_("Welcome to %(pod)s! Your pod meets %(when)s.") % {
        "pod": pod.name, "when": f"{date_format(when, 'l H:i')} ({pod.time_zone})"}]
    rows = (PodMembership.objects.filter(tenant=tenant, pod=pod,
                                         status=PodMembershipStatus.ACTIVE)
            .select_related("contact").order_by("joined_at", "id"))
    profiles = {p.contact_id: p for p in PodsProfile.objects.filter(
        tenant=tenant, contact_id__in=[m.contact_id for m in rows])}
    for m in rows:
        profile = profiles.get(m.contact_id)
        parts = [str(m.contact)]
        if profile is not None:
            if profile.goals_category:
                parts.append(_("goals: %(g)s") % {"g": profile.goals_category})
            if profile.strengths:
                parts.append(_("strong at: %(s)s") % {"s": ", ".join(profile.strengths)})
            if profile.help_needed:
                parts.append(_("wants help with: %(h)s") % {"h": ", ".join(profile.help_needed)})
            parts.append(_("streak: %(n)d") % {"n": profile.current_streak})
            if profile.bio:
                parts.append(profile.bio[:200])
        lines.append("• " + " — ".join(parts))
    if pod.meeting_link:
        lines.append(pod.meeting_link)
    return "\n".join(lines)


def contact_channel(contact: Contact) -> str | None:
    """The channel to reach a pod member on: Telegram when linked, else email."""
    from tend.people.models import IdentityAlias

    types = set(IdentityAlias.objects.filter(tenant_id=contact.tenant_id, contact=contact)
                .values_list("type", flat=True))
    if "TELEGRAM" in types:
        return "TELEGRAM"
    if "EMAIL" in types:
        return "EMAIL"
    return None


def intro_card_send(*, tenant: Tenant, actor: Actor, pod: Pod, contact: Contact,
                    run: MatchingRun | None = None) -> int:
    from tend.messaging.services.outbox import message_enqueue

    """Queue the intro card for `contact` (in their language) through the outbox: Telegram
    when linked, else email; nothing without either. Once per pod and person."""
    from django.utils import translation

    channel = contact_channel(contact)
    if channel is None:
        return 0
    language = (contact.language or tenant.default_language or "en").lower()
    with translation.override(language):
        body, subject = intro_card(tenant=tenant, pod=pod), _("Meet your pod")
    _message, created = message_enqueue(
        tenant=tenant, actor=actor, contact=contact, channel=channel, body=body,
        subject=subject, purpose="TRANSACTIONAL", source="community.pods",
        dedupe_key=f"pod-intro:{pod.pk}:{contact.pk}")
    return int(created)
