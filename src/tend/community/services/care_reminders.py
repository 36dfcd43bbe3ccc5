"""Care reminders for staff, plugged into marketing's reminder registries (registered from
`registration_care`):

- PRACTICE_CHECKIN — members whose practice is NONE or IRREGULAR (due when it was recorded),
  or whose practice status has not been updated for `days` (never recorded: counted from
  when they joined their unit). The occurrence is the last update, so recording a status
  starts afresh.
- LESSON_FOLLOWUP — the next lesson has been allowed for `days` and was not received. The
  occurrence is the last lesson received.

Recipient resolvers: `mentor` (the staff account of the person's active mentor) and
`unit_secretary` (the staff accounts of the secretaries and leaders of the person's unit —
the nearest unit up the tree that has any).

Candidates are set-based: one query over the contacts the rule selects (used as a
subquery); resolvers take a handful of queries per batch whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.community.models import (
    CareSummary,
    MentorLink,
    PracticeStatus,
    Regularity,
    UnitMembership,
    UnitRole,
)
from tend.core.models import Membership, Tenant
from tend.people.models import Contact, IdentityAlias

CHUNK = 2000
IRREGULAR = (Regularity.NONE, Regularity.IRREGULAR)


def _current(now: datetime) -> Q:
    return Q(until__isnull=True) | Q(until__gt=timezone.localdate(now))


def practice_checkin_candidates(tenant: Tenant, contacts: QuerySet[Contact],
                                params: dict[str, Any], now: datetime) -> Iterable[Any]:
    """Current unit members (and anyone with a recorded practice) needing a check-in."""
    from tend.marketing.services.reminders import Candidate

    days = int(params.get("days", 30))
    cutoff = now - timedelta(days=days)
    pool = contacts.values("pk")
    statuses = (PracticeStatus.objects.filter(tenant=tenant, contact_id__in=pool)
                .filter(Q(regularity__in=IRREGULAR) | Q(updated_at__lt=cutoff))
                .values_list("contact_id", "regularity", "updated_at").order_by())
    for contact_id, regularity, updated in statuses.iterator(chunk_size=CHUNK):
        key = f"practice:{int(updated.timestamp())}"
        if regularity in IRREGULAR:
            label = Regularity(regularity).label
            yield Candidate(contact_id, key, updated,
                            _("Practice: %(status)s") % {"status": label})
        else:
            yield Candidate(contact_id, key, updated + timedelta(days=days),
                            _("Practice not updated for %(days)d days")
                            % {"days": (now - updated).days})
    # Members without any recorded practice: from when they joined (the earliest current
    # membership), once that is older than the threshold.
    never = (UnitMembership.objects.filter(_current(now), tenant=tenant, contact_id__in=pool,
                                           since__lt=timezone.localdate(cutoff))
             .exclude(Exists(PracticeStatus.objects.filter(tenant=tenant,
                                                           contact_id=OuterRef("contact_id"))))
             .values_list("contact_id", "since").order_by("contact_id", "since"))
    seen: set[Any] = set()
    for contact_id, since in never.iterator(chunk_size=CHUNK):
        if contact_id in seen:
            continue
        seen.add(contact_id)
        basis = datetime(since.year, since.month, since.day, tzinfo=now.tzinfo)
        yield Candidate(contact_id, f"practice:none:{since.isoformat()}",
                        basis + timedelta(days=days),
                        _("No practice recorded since joining (%(date)s)")
                        % {"date": since.isoformat()})


def lesson_followup_candidates(tenant: Tenant, contacts: QuerySet[Contact],
                               params: dict[str, Any], now: datetime) -> Iterable[Any]:
    """People whose next lesson has been allowed for more than `days` days."""
    from tend.marketing.services.reminders import Candidate

    days = int(params.get("days", 30))
    rows = (CareSummary.objects.filter(tenant=tenant, contact_id__in=contacts.values("pk"),
                                       next_lesson_at__isnull=False,
                                       next_lesson_at__lte=now - timedelta(days=days))
            .values_list("contact_id", "next_lesson_at", "last_lesson_at").order_by())
    for contact_id, allowed, last in rows.iterator(chunk_size=CHUNK):
        if allowed is None:
            continue
        basis = last or allowed
        yield Candidate(contact_id, f"lesson:{int(basis.timestamp())}",
                        allowed + timedelta(days=days),
                        _("Next lesson allowed since %(date)s, not received")
                        % {"date": f"{allowed:%Y-%m-%d}"})


# --- recipients -------------------------------------------------------------------------------


def _staff_users(tenant: Tenant, contact_ids: Iterable[Any]) -> dict[Any, list[Any]]:
    """{contact id: [user ids]} of the staff accounts linked to those contacts (staff-account
    identities) that are active members of the organization."""
    by_contact: dict[Any, list[Any]] = defaultdict(list)
    users: set[Any] = set()
    for contact_id, value in IdentityAlias.objects.filter(
            tenant=tenant, type="AUTH_USER", contact_id__in=list(set(contact_ids))
    ).values_list("contact_id", "value"):
        try:
            user_id = UUID(str(value))
        except ValueError:
            continue
        by_contact[contact_id].append(user_id)
        users.add(user_id)
    now = timezone.now()
    active = set(Membership.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), tenant=tenant, is_active=True,
        user__is_active=True, user_id__in=users).values_list("user_id", flat=True))
    return {c: [u for u in ids if u in active] for c, ids in by_contact.items()}


def resolve_mentor(tenant: Tenant, contact_ids: list[Any]) -> dict[Any, list[Any]]:
    """The active mentors' staff accounts."""
    links = list(MentorLink.objects.filter(tenant=tenant, mentee_id__in=contact_ids,
                                           active=True).values_list("mentee_id", "mentor_id"))
    staff = _staff_users(tenant, [m for _c, m in links])
    out: dict[Any, list[Any]] = defaultdict(list)
    for mentee_id, mentor_id in links:
        for user_id in staff.get(mentor_id, ()):
            if user_id not in out[mentee_id]:
                out[mentee_id].append(user_id)
    return dict(out)


def _path_ids(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def resolve_unit_secretary(tenant: Tenant, contact_ids: list[Any]) -> dict[Any, list[Any]]:
    """The staff accounts of the secretaries and leaders of each person's unit; a unit
    without any hands over to the nearest unit above it that has some."""
    now = timezone.now()
    placed = list(UnitMembership.objects.filter(_current(now), tenant=tenant,
                                                contact_id__in=contact_ids)
                  .values_list("contact_id", "unit__path"))
    unit_hexes = {part for _c, path in placed for part in _path_ids(path)}
    officers: dict[str, list[Any]] = defaultdict(list)  # unit id (hex) → officer contacts
    rows = UnitMembership.objects.filter(
        _current(now), tenant=tenant, role__in=[UnitRole.SECRETARY, UnitRole.LEADER],
        unit_id__in=[UUID(h) for h in unit_hexes]).values_list("unit_id", "contact_id")
    for unit_id, officer_id in rows:
        officers[unit_id.hex].append(officer_id)
    staff = _staff_users(tenant, [c for ids in officers.values() for c in ids])
    out: dict[Any, list[Any]] = defaultdict(list)
    for contact_id, path in placed:
        for unit_hex in reversed(_path_ids(path)):
            users = [u for officer in officers.get(unit_hex, ()) if officer != contact_id
                     for u in staff.get(officer, ())]
            if users:
                for user_id in users:
                    if user_id not in out[contact_id]:
                        out[contact_id].append(user_id)
                break
    return dict(out)


def register() -> None:
    from django.utils.translation import gettext_lazy

    from tend.marketing.services.reminders import (
        register_reminder_recipient,
        register_reminder_type,
    )

    register_reminder_type(
        "PRACTICE_CHECKIN", gettext_lazy("Practice check-in"), practice_checkin_candidates,
        description=gettext_lazy("Practice is absent or irregular, or has not been updated "
                                 "for longer than the threshold."),
        params={"days": (30, gettext_lazy("Days without a practice update"))})
    register_reminder_type(
        "LESSON_FOLLOWUP", gettext_lazy("Lesson follow-up"), lesson_followup_candidates,
        description=gettext_lazy("The next lesson has been allowed for longer than the "
                                 "threshold and was not received."),
        params={"days": (30, gettext_lazy("Days since the next lesson was allowed"))})
    register_reminder_recipient("mentor", gettext_lazy("Mentor"), resolve_mentor)
    register_reminder_recipient("unit_secretary", gettext_lazy("Unit secretaries and leaders"),
                                resolve_unit_secretary)
