"""How the pods part follows people through merges and privacy requests.

Merge (a merge participant, inside the merge's transaction): the loser's commitments (with
their check-ins), goals, pod memberships and meeting attendance move to the winner. Where
both were in the same pod the winner keeps one membership (the earlier join, ACTIVE if either
was, the pod's member count corrected under its row lock); where both answered for the same
meeting the winner's answer stays. Attended/missed counts are recounted from the attendance
rows, the two matching profiles become one (lists joined, streaks kept at their best), and
draft matching proposals name the winner.

Export: the profile, memberships, attendance, commitments with check-ins and goals.
Erase: texts the person wrote become "[erased]" (rows and counts stay), the profile's bio,
strengths and needs go, the person leaves their pods and drops out of matching proposals.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from tend.community.models import (
    Commitment,
    CommitmentCheckIn,
    Goal,
    MatchingRun,
    MeetingAttendance,
    Pod,
    PodMeeting,
    PodMembership,
    PodMembershipStatus,
    PodsProfile,
    PodStatus,
)
from tend.core.models import Tenant
from tend.people.models import Contact

ERASED_TEXT = "[erased]"


def _recount_membership(tenant: Tenant, membership: PodMembership) -> None:
    counts = MeetingAttendance.objects.filter(
        tenant=tenant, contact_id=membership.contact_id,
        meeting__pod_id=membership.pod_id).aggregate(
        yes=Count("pk", filter=Q(attended=True)), no=Count("pk", filter=Q(attended=False)))
    membership.meetings_attended, membership.meetings_missed = counts["yes"], counts["no"]


def _recount_meeting(tenant: Tenant, meeting_ids: set[Any]) -> None:
    for meeting_id in meeting_ids:
        counts = MeetingAttendance.objects.filter(tenant=tenant, meeting_id=meeting_id).aggregate(
            n=Count("pk"), yes=Count("pk", filter=Q(attended=True)))
        rate = round(100.0 * counts["yes"] / counts["n"], 1) if counts["n"] else None
        PodMeeting.objects.filter(tenant=tenant, pk=meeting_id).update(attendance_rate=rate)


def _merge_attendance(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    mine = {a.meeting_id: a for a in MeetingAttendance.objects.filter(tenant=tenant,
                                                                       contact=winner)}
    touched: set[Any] = set()
    for row in MeetingAttendance.objects.filter(tenant=tenant, contact=loser):
        kept = mine.get(row.meeting_id)
        if kept is None:
            continue
        if kept.rating is None and row.rating is not None:
            kept.rating = row.rating
            kept.save(update_fields=["rating", "updated_at"])
        row.delete()
        touched.add(row.meeting_id)
    MeetingAttendance.objects.filter(tenant=tenant, contact=loser).update(contact=winner)
    _recount_meeting(tenant, touched)


def _merge_memberships(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    theirs = list(PodMembership.objects.filter(tenant=tenant, contact=loser))
    if not theirs:
        return
    mine = {m.pod_id: m for m in PodMembership.objects.filter(tenant=tenant, contact=winner)}
    # Lock the shared pods in a stable order before touching their counts.
    shared = sorted({m.pod_id for m in theirs if m.pod_id in mine}, key=str)
    pods = {p.pk: p for p in Pod.objects.select_for_update().filter(
        tenant=tenant, pk__in=shared).order_by("pk")}
    active = PodMembershipStatus.ACTIVE
    for row in theirs:
        kept = mine.get(row.pod_id)
        if kept is None:
            row.contact = winner
            row.save(update_fields=["contact", "updated_at"])
            _recount_membership(tenant, row)
            row.save(update_fields=["meetings_attended", "meetings_missed", "updated_at"])
            continue
        both_active = kept.status == active and row.status == active
        if row.status == active and kept.status != active:
            kept.status, kept.left_at = active, None
        kept.joined_at = min(kept.joined_at, row.joined_at)
        kept.payment_active = kept.payment_active or row.payment_active
        if row.last_payment_at and (kept.last_payment_at is None
                                    or row.last_payment_at > kept.last_payment_at):
            kept.last_payment_at = row.last_payment_at
        scores = [s for s in (kept.contribution_score, row.contribution_score) if s is not None]
        kept.contribution_score = max(scores) if scores else None
        row.delete()
        _recount_membership(tenant, kept)
        kept.save()
        if both_active:
            pod = pods[row.pod_id]
            pod.member_count = max(0, pod.member_count - 1)
            if pod.status == PodStatus.FULL and pod.member_count < pod.capacity:
                pod.status = PodStatus.ACTIVE
            pod.save(update_fields=["member_count", "status", "updated_at"])
    for kept in mine.values():
        if kept.pod_id not in shared:
            _recount_membership(tenant, kept)
            kept.save(update_fields=["meetings_attended", "meetings_missed", "updated_at"])


def _merge_profiles(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    from tend.community.services.commitments import _refresh_counts

    theirs = PodsProfile.objects.select_for_update().filter(tenant=tenant,
                                                            contact=loser).first()
    mine = PodsProfile.objects.select_for_update().filter(tenant=tenant,
                                                          contact=winner).first()
    if theirs is None and mine is None:
        return
    if mine is None:
        assert theirs is not None
        theirs.contact = winner
        mine = theirs
    elif theirs is not None:
        for name in ("goals_category", "experience_level", "meeting_style", "bio"):
            if not getattr(mine, name):
                setattr(mine, name, getattr(theirs, name))
        for name in ("strengths", "help_needed"):
            joined = list(getattr(mine, name) or [])
            joined += [item for item in getattr(theirs, name) or [] if item not in joined]
            setattr(mine, name, joined[:20])
        mine.waiting = mine.waiting or theirs.waiting
        mine.longest_streak = max(mine.longest_streak, theirs.longest_streak)
        if theirs.last_done_on and (mine.last_done_on is None
                                    or theirs.last_done_on > mine.last_done_on):
            mine.last_done_on, mine.current_streak = theirs.last_done_on, theirs.current_streak
        elif theirs.last_done_on == mine.last_done_on:
            mine.current_streak = max(mine.current_streak, theirs.current_streak)
        if theirs.last_activity_at and (mine.last_activity_at is None
                                        or theirs.last_activity_at > mine.last_activity_at):
            mine.last_activity_at = theirs.last_activity_at
        theirs.delete()
    if PodMembership.objects.filter(tenant=tenant, contact=winner,
                                    status=PodMembershipStatus.ACTIVE).exists():
        mine.waiting = False
    _refresh_counts(tenant, mine)
    mine.save()


def _merge_runs(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    won, lost = str(winner.pk), str(loser.pk)
    for run in MatchingRun.objects.filter(tenant=tenant, status="DRAFT"):
        items = run.proposal.get("assignments", [])
        ids = {item.get("contact_id") for item in items}
        if lost not in ids:
            continue
        if won in ids:
            items = [item for item in items if item.get("contact_id") != lost]
        else:
            for item in items:
                if item.get("contact_id") == lost:
                    item["contact_id"], item["name"] = won, str(winner)
        run.proposal["assignments"] = items
        run.save(update_fields=["proposal", "updated_at"])


def merge_pods_rows(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    """Move everything the pods part holds about `loser` to `winner` (see the module)."""
    Commitment.objects.filter(tenant=tenant, contact=loser).update(contact=winner)
    CommitmentCheckIn.objects.filter(tenant=tenant, contact=loser).update(contact=winner)
    Goal.objects.filter(tenant=tenant, contact=loser).update(contact=winner)
    _merge_attendance(tenant, winner, loser)
    _merge_memberships(tenant, winner, loser)
    _merge_profiles(tenant, winner, loser)
    _merge_runs(tenant, winner, loser)


def export_pods(tenant: Tenant, contact: Contact) -> dict[str, Any]:
    """Everything the pods part holds about the person."""
    profile = PodsProfile.objects.filter(tenant=tenant, contact=contact).first()
    checkins: dict[Any, list[dict[str, Any]]] = {}
    for c in CommitmentCheckIn.objects.filter(tenant=tenant, contact=contact).order_by("day"):
        checkins.setdefault(c.commitment_id, []).append(
            {"day": c.day.isoformat(), "done": c.done, "note": c.note, "source": c.source})
    return {
        "profile": None if profile is None else {
            "goals_category": profile.goals_category,
            "experience_level": profile.experience_level,
            "meeting_style": profile.meeting_style, "strengths": profile.strengths,
            "help_needed": profile.help_needed, "bio": profile.bio,
            "waiting": profile.waiting, "total_commitments": profile.total_commitments,
            "completed_commitments": profile.completed_commitments,
            "current_streak": profile.current_streak,
            "longest_streak": profile.longest_streak},
        "memberships": [
            {"pod": m.pod.name, "pod_id": str(m.pod_id), "status": m.status,
             "joined_at": m.joined_at.isoformat(),
             "left_at": m.left_at.isoformat() if m.left_at else None,
             "meetings_attended": m.meetings_attended, "meetings_missed": m.meetings_missed,
             "payment_active": m.payment_active}
            for m in PodMembership.objects.filter(tenant=tenant, contact=contact)
            .select_related("pod").order_by("joined_at")],
        "attendance": [
            {"pod": a.meeting.pod.name, "meeting_at": a.meeting.scheduled_at.isoformat(),
             "attended": a.attended, "rating": a.rating, "source": a.source}
            for a in MeetingAttendance.objects.filter(tenant=tenant, contact=contact)
            .select_related("meeting__pod").order_by("meeting__scheduled_at")],
        "commitments": [
            {"id": str(c.pk), "text": c.text, "original_text": c.original_text,
             "smart_score": c.smart_score, "category": c.category,
             "difficulty": c.difficulty, "estimated_minutes": c.estimated_minutes,
             "status": c.status, "due_date": c.due_date.isoformat() if c.due_date else None,
             "created_at": c.created_at.isoformat(),
             "completed_at": c.completed_at.isoformat() if c.completed_at else None,
             "goal_id": str(c.goal_id) if c.goal_id else None,
             "shared_with_pod": c.shared_with_pod, "check_ins": checkins.get(c.pk, [])}
            for c in Commitment.objects.filter(tenant=tenant, contact=contact)
            .order_by("created_at")],
        "goals": [
            {"id": str(g.pk), "title": g.title, "description": g.description,
             "target_date": g.target_date.isoformat() if g.target_date else None,
             "category": g.category, "progress": g.progress, "status": g.status,
             "summaries": g.summaries}
            for g in Goal.objects.filter(tenant=tenant, contact=contact).order_by("created_at")],
    }


def erase_pods(tenant: Tenant, contact: Contact) -> None:
    """Scrub what the person wrote and said about themselves; leave their pods."""
    Commitment.objects.filter(tenant=tenant, contact=contact).update(
        text=ERASED_TEXT, original_text="", smart_checks={})
    CommitmentCheckIn.objects.filter(tenant=tenant, contact=contact).update(note="")
    Goal.objects.filter(tenant=tenant, contact=contact).update(
        title=ERASED_TEXT, description="", summaries=[])
    PodsProfile.objects.filter(tenant=tenant, contact=contact).update(
        bio="", strengths=[], help_needed=[], goals_category="", waiting=False)
    now = timezone.now()
    for membership in PodMembership.objects.filter(tenant=tenant, contact=contact,
                                                   status=PodMembershipStatus.ACTIVE):
        pod = Pod.objects.select_for_update().get(tenant=tenant, pk=membership.pod_id)
        membership.status, membership.left_at = PodMembershipStatus.LEFT, now
        membership.save(update_fields=["status", "left_at", "updated_at"])
        pod.member_count = max(0, pod.member_count - 1)
        if pod.status == PodStatus.FULL:
            pod.status = PodStatus.ACTIVE
        pod.save(update_fields=["member_count", "status", "updated_at"])
    cid = str(contact.pk)
    for run in MatchingRun.objects.filter(tenant=tenant):
        items = run.proposal.get("assignments", [])
        if not any(item.get("contact_id") == cid for item in items):
            continue
        if run.status == "DRAFT":
            run.proposal["assignments"] = [i for i in items if i.get("contact_id") != cid]
        else:
            for item in items:
                if item.get("contact_id") == cid:
                    item["name"] = ERASED_TEXT
        run.save(update_fields=["proposal", "updated_at"])
