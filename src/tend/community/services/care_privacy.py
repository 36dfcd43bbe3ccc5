"""How the care part follows people through merges and privacy requests.

Merge (a merge participant, inside the merge's transaction and tenant scope): every care row
of the merged-away person moves to the survivor, never leaving two rows where one is allowed:

- unit memberships: a membership in a unit where the survivor already holds a current one
  with the same role folds into it (the earlier `since`, open-ended if either was, staff
  scope if either had it); the others move;
- traits: the survivor keeps one of each (the later expiry, none if either had none);
- mentor links on both sides: a link that would join the survivor to themselves ends; two
  active links between the same mentor and mentee become one (the earlier start, the later
  contact);
- initiations move (the same kind on the same day is kept once); initiations given and
  lessons taught by the merged-away person name the survivor;
- lesson progress: the same lesson received twice keeps the earlier receipt;
- practice: the history moves; the current status is the more recently updated one;
- the care summary is rebuilt for the survivor.

Export: memberships, traits, mentor links, initiations, lessons, practice status and
history, the care summary. Erase: free texts (initiation place and notes, practice notes)
go, traits go, active mentor links and current unit memberships end; rows that counts
depend on (lessons, practice history, initiations) stay.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q
from django.utils import timezone

from tend.community.models import (
    CareSummary,
    Initiation,
    LessonProgress,
    MentorLink,
    PracticeChange,
    PracticeStatus,
    UnitMembership,
    UserTrait,
)
from tend.community.selectors.care_units import current_q
from tend.community.services.care_summary import care_summary_refresh
from tend.core.models import Tenant
from tend.people.models import Contact


def _merge_units(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    mine = {(m.unit_id, m.role): m for m in UnitMembership.objects.filter(
        current_q(), tenant=tenant, contact=winner)}
    today = timezone.localdate()
    for row in UnitMembership.objects.filter(tenant=tenant, contact=loser):
        current = row.until is None or row.until > today
        kept = mine.get((row.unit_id, row.role)) if current else None
        if kept is None:
            row.contact = winner
            row.save(update_fields=["contact", "updated_at"])
            continue
        kept.since = min(kept.since, row.since)
        kept.until = None if kept.until is None or row.until is None else max(kept.until,
                                                                              row.until)
        kept.scope_staff = kept.scope_staff or row.scope_staff
        kept.save(update_fields=["since", "until", "scope_staff", "updated_at"])
        row.delete()


def _merge_traits(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    mine = {t.trait: t for t in UserTrait.objects.filter(tenant=tenant, contact=winner)}
    for row in UserTrait.objects.filter(tenant=tenant, contact=loser):
        kept = mine.get(row.trait)
        if kept is None:
            row.contact = winner
            row.save(update_fields=["contact", "updated_at"])
            continue
        if kept.expires_at is not None and (row.expires_at is None
                                            or row.expires_at > kept.expires_at):
            kept.expires_at = row.expires_at
            kept.save(update_fields=["expires_at", "updated_at"])
        row.delete()


def _merge_mentor_links(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    now = timezone.now()
    MentorLink.objects.filter(tenant=tenant, mentor=loser).update(mentor=winner, updated_at=now)
    MentorLink.objects.filter(tenant=tenant, mentee=loser).update(mentee=winner, updated_at=now)
    # A mentor merged with their own mentee: the link has no meaning any more.
    MentorLink.objects.filter(tenant=tenant, mentor=winner, mentee=winner, active=True).update(
        active=False, ended_at=now, updated_at=now)
    pairs: dict[tuple[Any, Any], list[MentorLink]] = defaultdict(list)
    for link in MentorLink.objects.filter(
            Q(mentor=winner) | Q(mentee=winner), tenant=tenant, active=True).order_by(
            "started_at", "id"):
        pairs[(link.mentor_id, link.mentee_id)].append(link)
    for links in pairs.values():
        if len(links) < 2:
            continue
        kept, others = links[0], links[1:]
        contacts = [x.last_contact_at for x in links if x.last_contact_at is not None]
        kept.last_contact_at = max(contacts) if contacts else None
        kept.save(update_fields=["last_contact_at", "updated_at"])
        MentorLink.objects.filter(pk__in=[x.pk for x in others]).delete()


def _merge_path(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    have = set(Initiation.objects.filter(tenant=tenant, contact=winner)
               .values_list("kind", "date"))
    for row in Initiation.objects.filter(tenant=tenant, contact=loser):
        if (row.kind, row.date) in have:
            row.delete()
            continue
        have.add((row.kind, row.date))
        row.contact = winner
        row.save(update_fields=["contact", "updated_at"])
    Initiation.objects.filter(tenant=tenant, acarya=loser).update(acarya=winner)
    LessonProgress.objects.filter(tenant=tenant, taught_by=loser).update(taught_by=winner)
    mine = {p.lesson_id: p for p in LessonProgress.objects.filter(tenant=tenant,
                                                                   contact=winner)}
    for progress in LessonProgress.objects.filter(tenant=tenant, contact=loser):
        kept = mine.get(progress.lesson_id)
        if kept is None:
            progress.contact = winner
            progress.save(update_fields=["contact", "updated_at"])
            continue
        if progress.received_at < kept.received_at:
            kept.received_at, kept.taught_by_id = progress.received_at, progress.taught_by_id
            kept.save(update_fields=["received_at", "taught_by", "updated_at"])
        progress.delete()


def _merge_practice(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    PracticeChange.objects.filter(tenant=tenant, contact=loser).update(contact=winner)
    theirs = PracticeStatus.objects.filter(tenant=tenant, contact=loser).first()
    if theirs is None:
        return
    mine = PracticeStatus.objects.filter(tenant=tenant, contact=winner).first()
    if mine is None:
        PracticeStatus.objects.filter(pk=theirs.pk).update(contact=winner)
        return
    if theirs.updated_at > mine.updated_at:
        PracticeStatus.objects.filter(pk=mine.pk).update(
            regularity=theirs.regularity, notes=theirs.notes, updated_at=theirs.updated_at)
    theirs.delete()


def merge_care_rows(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    """Move every care row of `loser` to `winner` (see the module's description)."""
    _merge_units(tenant, winner, loser)
    _merge_traits(tenant, winner, loser)
    _merge_mentor_links(tenant, winner, loser)
    _merge_path(tenant, winner, loser)
    _merge_practice(tenant, winner, loser)
    CareSummary.objects.filter(tenant=tenant, contact=loser).delete()
    mentees = MentorLink.objects.filter(tenant=tenant, mentor=winner).values_list(
        "mentee_id", flat=True)
    care_summary_refresh(tenant=tenant, contact_ids=[winner.pk, *mentees])


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def export_care(tenant: Tenant, contact: Contact) -> dict[str, Any]:
    """Everything the care part holds about the person."""
    status = PracticeStatus.objects.filter(tenant=tenant, contact=contact).first()
    summary = CareSummary.objects.filter(tenant=tenant, contact=contact).first()
    return {
        "units": [
            {"unit": m.unit.name, "unit_id": str(m.unit_id), "role": m.role,
             "since": _iso(m.since), "until": _iso(m.until), "scope_staff": m.scope_staff}
            for m in UnitMembership.objects.filter(tenant=tenant, contact=contact)
            .select_related("unit").order_by("since", "id")],
        "traits": [
            {"trait": t.trait, "granted_at": _iso(t.granted_at),
             "expires_at": _iso(t.expires_at)}
            for t in UserTrait.objects.filter(tenant=tenant, contact=contact).order_by("trait")],
        "mentors": [
            {"mentor": str(link.mentor), "mentor_id": str(link.mentor_id),
             "active": link.active, "started_at": _iso(link.started_at),
             "ended_at": _iso(link.ended_at), "last_contact_at": _iso(link.last_contact_at)}
            for link in MentorLink.objects.filter(tenant=tenant, mentee=contact)
            .select_related("mentor").order_by("started_at", "id")],
        "mentees": [
            {"mentee_id": str(link.mentee_id), "active": link.active,
             "started_at": _iso(link.started_at), "ended_at": _iso(link.ended_at)}
            for link in MentorLink.objects.filter(tenant=tenant, mentor=contact)
            .order_by("started_at", "id")],
        "initiations": [
            {"kind": i.kind, "date": _iso(i.date), "place": i.place, "notes": i.notes,
             "acarya_id": str(i.acarya_id) if i.acarya_id else None}
            for i in Initiation.objects.filter(tenant=tenant, contact=contact)
            .order_by("date", "id")],
        "lessons": [
            {"course": p.lesson.course.title, "order": p.lesson.order,
             "lesson": p.lesson.title, "received_at": _iso(p.received_at),
             "taught_by_id": str(p.taught_by_id) if p.taught_by_id else None}
            for p in LessonProgress.objects.filter(tenant=tenant, contact=contact)
            .select_related("lesson__course").order_by("received_at", "id")],
        "practice": None if status is None else {
            "regularity": status.regularity, "notes": status.notes,
            "updated_at": _iso(status.updated_at)},
        "practice_history": [
            {"regularity": c.regularity, "notes": c.notes, "source": c.source,
             "recorded_at": _iso(c.recorded_at)}
            for c in PracticeChange.objects.filter(tenant=tenant, contact=contact)
            .order_by("recorded_at", "id")],
        "summary": None if summary is None else {
            "regularity": summary.regularity, "lessons_received": summary.lessons_received,
            "last_lesson_at": _iso(summary.last_lesson_at),
            "next_lesson_at": _iso(summary.next_lesson_at),
            "mentor_contact_at": _iso(summary.mentor_contact_at)},
    }


def erase_care(tenant: Tenant, contact: Contact) -> None:
    """Scrub free texts, drop traits, end mentorships and unit memberships; rows that
    counts depend on stay."""
    now = timezone.now()
    Initiation.objects.filter(tenant=tenant, contact=contact).update(
        place="", notes="", updated_at=now)
    PracticeStatus.objects.filter(tenant=tenant, contact=contact).update(notes="",
                                                                         updated_at=now)
    PracticeChange.objects.filter(tenant=tenant, contact=contact).update(notes="")
    UserTrait.objects.filter(tenant=tenant, contact=contact).delete()
    links = MentorLink.objects.filter(Q(mentor=contact) | Q(mentee=contact), tenant=tenant,
                                      active=True)
    mentees = list(links.values_list("mentee_id", flat=True))
    links.update(active=False, ended_at=now, updated_at=now)
    UnitMembership.objects.filter(current_q(), tenant=tenant, contact=contact).update(
        until=timezone.localdate(now), scope_staff=False, updated_at=now)
    care_summary_refresh(tenant=tenant, contact_ids=[contact.pk, *mentees])


def register() -> None:
    from tend.people.merging import register_merge_participant
    from tend.people.privacy_registry import register_privacy_eraser, register_privacy_exporter

    register_merge_participant("community.care", merge_care_rows)
    register_privacy_exporter("care", export_care)
    register_privacy_eraser("care", erase_care)
