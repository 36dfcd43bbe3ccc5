"""Segment membership: adding and removing people by hand, full refreshes of dynamic segments
in set operations, re-evaluating one contact after a change, and the entered/left activities.

Refreshes never loop over contacts in Python: the difference between the rule's matches and
the stored members is applied with `INSERT … SELECT … WHERE NOT EXISTS` and
`DELETE … WHERE NOT EXISTS` (`NOT IN` on SQLite, which plans it as one temporary index),
`RETURNING` the contact ids that moved so their activities can be written.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Job, Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.marketing.choices import MembershipSource, RefreshTrigger, SegmentType
from tend.marketing.models import Segment, SegmentCount, SegmentMembership, SegmentRefresh
from tend.marketing.ruleset import matching_contacts
from tend.marketing.signals import segment_membership_changed
from tend.people.choices import ContactStatus
from tend.people.models import Activity, Contact
from tend.people.services import bulkwrite

ENTERED = "SEGMENT_ENTERED"
LEFT = "SEGMENT_LEFT"
# Changes up to this size also send `activity_recorded` for each activity written (journeys
# and reminders react per activity); bigger ones only send `segment_membership_changed`.
SIGNAL_EACH_MAX = 100
ADD_MAX = 10_000
# A refresh moving this many rows updates the membership table's planner statistics.
ANALYZE_AFTER = 20_000
_CHUNK = 5_000


# --- low-level set operations ----------------------------------------------------------------


def _sql_of(qs: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = (qs.order_by().values(member_id=F("pk")).query
                   .get_compiler(connection.alias).as_sql())
    return sql, tuple(params)


def _db(field_owner: type[Any], name: str, value: Any) -> Any:
    return field_owner._meta.get_field(name).get_db_prep_value(value, connection)


def _new_id_sql() -> str:
    if connection.vendor == "postgresql":
        return "gen_random_uuid()"
    return "lower(hex(randomblob(16)))"


def _returning(cursor: Any) -> list[UUID]:
    values = [row[0] for row in cursor.fetchall()]
    return [v if isinstance(v, UUID) else UUID(str(v)) for v in values]


def _insert_matches(segment: Segment, target: QuerySet[Any], *, now: Any, source: str,
                    added_by: Any, want_ids: bool) -> tuple[int, list[UUID]]:
    """Insert a membership for every contact in `target` that is not a member yet."""
    sql, params = _sql_of(target)
    table = SegmentMembership._meta.db_table
    db_now = connection.ops.adapt_datetimefield_value(now)
    tenant_id = _db(SegmentMembership, "tenant", segment.tenant_id)
    segment_id = _db(SegmentMembership, "segment", segment.pk)
    user_id = _db(SegmentMembership, "added_by", added_by.pk) if added_by else None
    if connection.vendor == "postgresql":
        absent = (f"NOT EXISTS (SELECT 1 FROM {table} x WHERE x.segment_id = %s "
                  f"AND x.contact_id = t.member_id)")
    else:
        absent = f"t.member_id NOT IN (SELECT x.contact_id FROM {table} x WHERE x.segment_id = %s)"
    statement = (
        f"INSERT INTO {table} (id, tenant_id, segment_id, contact_id, matched_at, source, "
        f"added_by_id, created_at, updated_at, created_by_id, updated_by_id) "
        f"SELECT {_new_id_sql()}, %s, %s, t.member_id, %s, %s, %s, %s, %s, %s, %s "
        f"FROM ({sql}) t WHERE {absent}"
        + (" RETURNING contact_id" if want_ids else "")
    )
    args = (tenant_id, segment_id, db_now, source, user_id, db_now, db_now, user_id, user_id,
            *params, segment_id)
    with connection.cursor() as cursor:
        cursor.execute(statement, args)
        if want_ids:
            ids = _returning(cursor)
            return len(ids), ids
        return cursor.rowcount, []


def _delete_unmatched(segment: Segment, target: QuerySet[Any], *,
                      want_ids: bool) -> tuple[int, list[UUID]]:
    """Delete the memberships of contacts no longer in `target`."""
    sql, params = _sql_of(target)
    table = SegmentMembership._meta.db_table
    segment_id = _db(SegmentMembership, "segment", segment.pk)
    if connection.vendor == "postgresql":
        gone = f"NOT EXISTS (SELECT 1 FROM ({sql}) t WHERE t.member_id = {table}.contact_id)"
    else:
        gone = f"{table}.contact_id NOT IN ({sql})"
    statement = (f"DELETE FROM {table} WHERE {table}.segment_id = %s AND {gone}"
                 + (" RETURNING contact_id" if want_ids else ""))
    with connection.cursor() as cursor:
        cursor.execute(statement, (segment_id, *params))
        if want_ids:
            ids = _returning(cursor)
            return len(ids), ids
        return cursor.rowcount, []


def _live_contacts(tenant: Tenant) -> QuerySet[Contact]:
    return (Contact.objects.filter(tenant=tenant, deleted_at__isnull=True,
                                   erased_at__isnull=True)
            .exclude(status=ContactStatus.MERGED))


# --- history, counts and activities ----------------------------------------------------------


def _count_today(tenant: Tenant, segment: Segment) -> None:
    """Keep today's point of the growth chart at the segment's current count."""
    today = timezone.localdate(timezone=_zone(tenant))
    updated = SegmentCount.objects.filter(tenant=tenant, segment=segment, day=today).update(
        member_count=segment.member_count, updated_at=timezone.now())
    if not updated:
        SegmentCount.objects.create(tenant=tenant, segment=segment, day=today,
                                    member_count=segment.member_count)


def _zone(tenant: Tenant) -> Any:
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(tenant.time_zone or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _change_count(segment: Segment, delta: int) -> None:
    if delta:
        Segment.objects.filter(pk=segment.pk).update(member_count=F("member_count") + delta)
        segment.member_count += delta


def record_transitions(*, tenant: Tenant, actor: Actor, segment: Segment,
                       entered: Sequence[UUID], left: Sequence[UUID]) -> None:
    """Write SEGMENT_ENTERED / SEGMENT_LEFT activities for the contacts that moved, set-based
    (the people module's bulk writer; contact metrics are left alone so that entering a
    segment never counts as the person being active). After commit: `activity_recorded` for
    each when the change is small, and `segment_membership_changed` always."""
    if not entered and not left:
        return
    now = timezone.now()
    label = actor.label[:200]
    user_id = actor.acting_user.pk if actor.acting_user else None
    rows = [
        bulkwrite.new_row(
            Activity, tenant_id=tenant.pk, contact_id=contact_id, type=kind,
            category="SYSTEM", title=segment.name[:300],
            metadata={"segment_id": str(segment.pk), "segment": segment.name},
            source="segments", source_id=str(segment.pk), occurred_at=now, processed_at=now,
            actor_label=label, related_type="marketing.segment", related_id=str(segment.pk),
            created_at=now, updated_at=now, created_by_id=user_id)
        for kind, ids in ((ENTERED, entered), (LEFT, left)) for contact_id in ids
    ]
    bulkwrite.bulk_insert(Activity, rows)
    activity_ids = [row.id for row in rows] if len(rows) <= SIGNAL_EACH_MAX else []
    entered_ids, left_ids = [str(i) for i in entered], [str(i) for i in left]
    segment_id = str(segment.pk)

    def announce() -> None:
        from tend.people.signals import activity_recorded

        if activity_ids:
            for activity in Activity.objects.filter(tenant=tenant, pk__in=activity_ids):
                activity_recorded.send(sender=Activity, tenant=tenant, activity=activity)
        segment_membership_changed.send(sender=Segment, tenant=tenant, segment_id=segment_id,
                                        entered=entered_ids, left=left_ids)

    transaction.on_commit(announce)


# --- static members --------------------------------------------------------------------------


def _check_static(tenant: Tenant, segment: Segment) -> None:
    if segment.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"segment": [_("Choose a segment of this organization.")]})
    if segment.type == SegmentType.DYNAMIC:
        raise ValidationFailed(fields={"segment": [
            _("People join a dynamic segment through its rules, not by hand.")]})


def _uuids(values: Iterable[Any]) -> list[UUID]:
    out: list[UUID] = []
    for value in values:
        try:
            out.append(value if isinstance(value, UUID) else UUID(str(value)))
        except ValueError:
            raise ValidationFailed(fields={"contact_ids": [_("Give contact ids.")]}) from None
    return list(dict.fromkeys(out))


def segment_add_members(*, tenant: Tenant, actor: Actor, segment: Segment,
                        contact_ids: Iterable[Any],
                        source: str = MembershipSource.MANUAL) -> int:
    """Add live contacts (ids of this organization; others are skipped) to a static or
    import segment; returns how many were not members before. Needs `segments.change`.
    Writes SEGMENT_ENTERED for each. Used by the segment page, the API, the contacts list's
    bulk action and imports (after each batch)."""
    check_perm(actor, "segments.change")
    _check_static(tenant, segment)
    ids = _uuids(contact_ids)
    if not ids:
        return 0
    now = timezone.now()
    added_ids: list[UUID] = []
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        for start in range(0, len(ids), _CHUNK):
            target = _live_contacts(tenant).filter(pk__in=ids[start:start + _CHUNK])
            _count, moved = _insert_matches(segment, target, now=now, source=source,
                                            added_by=actor.acting_user, want_ids=True)
            added_ids += moved
        if added_ids:
            _change_count(segment, len(added_ids))
            _count_today(tenant, segment)
            record_transitions(tenant=tenant, actor=actor, segment=segment,
                               entered=added_ids, left=[])
            audit_record(tenant=tenant, actor=actor, action="segment.members_added",
                         entity_type="segment", entity_id=segment.pk,
                         changes={"count": len(added_ids), "source": source})
            _after_members_changed(tenant, segment, added_ids)
    return len(added_ids)


def segment_remove_members(*, tenant: Tenant, actor: Actor, segment: Segment,
                           contact_ids: Iterable[Any]) -> int:
    """Remove contacts from a static or import segment; returns how many were members.
    Needs `segments.change`. Writes SEGMENT_LEFT for each."""
    check_perm(actor, "segments.change")
    _check_static(tenant, segment)
    ids = _uuids(contact_ids)
    if not ids:
        return 0
    removed: list[UUID] = []
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            rows = SegmentMembership.objects.filter(tenant=tenant, segment=segment,
                                                    contact_id__in=chunk)
            found = list(rows.values_list("contact_id", flat=True))
            rows.delete()
            removed += found
        if removed:
            _change_count(segment, -len(removed))
            _count_today(tenant, segment)
            record_transitions(tenant=tenant, actor=actor, segment=segment, entered=[],
                               left=removed)
            audit_record(tenant=tenant, actor=actor, action="segment.members_removed",
                         entity_type="segment", entity_id=segment.pk,
                         changes={"count": len(removed)})
            _after_members_changed(tenant, segment, removed)
    return len(removed)


def _after_members_changed(tenant: Tenant, segment: Segment, contact_ids: list[UUID]) -> None:
    """Segments whose rules name `segment` re-evaluate the contacts that moved (after
    commit, in the background)."""
    if not _has_dependents(tenant, segment):
        return
    from tend.marketing.tasks import enqueue_reevaluation

    for contact_id in contact_ids[:SIGNAL_EACH_MAX]:
        enqueue_reevaluation(tenant, contact_id, [f"segment:{segment.pk}"])
    if len(contact_ids) > SIGNAL_EACH_MAX:
        from tend.marketing.tasks import enqueue_dependents_refresh

        enqueue_dependents_refresh(tenant, segment.pk)


def _has_dependents(tenant: Tenant, segment: Segment) -> bool:
    key = str(segment.pk)
    return any(key in (refs or []) for refs in Segment.objects.filter(
        tenant=tenant, type=SegmentType.DYNAMIC, is_active=True).values_list(
        "segment_refs", flat=True))


# --- refreshing dynamic segments -------------------------------------------------------------


def segment_refresh(*, tenant: Tenant, actor: Actor, segment: Segment,
                    trigger: str = RefreshTrigger.MANUAL, job: Job | None = None
                    ) -> SegmentRefresh:
    """Recompute a dynamic segment's members from its rule, in set operations, and record the
    refresh. Entered/left activities are written except on the very first fill. Needs
    `segments.change` (the system actor runs scheduled ones)."""
    check_perm(actor, "segments.change")
    if segment.type != SegmentType.DYNAMIC:
        raise ValidationFailed(fields={"segment": [_("Only dynamic segments are refreshed.")]})
    started = timezone.now()
    clock = time.perf_counter()
    first = segment.last_refreshed_at is None
    with transaction.atomic():
        locked = Segment.objects.select_for_update().get(pk=segment.pk, tenant=tenant)
        segment.member_count = locked.member_count
        target = matching_contacts(tenant=tenant, rule=segment.rule)
        removed, left = _delete_unmatched(segment, target, want_ids=not first)
        added, entered = _insert_matches(segment, target, now=started,
                                         source=MembershipSource.RULE, added_by=None,
                                         want_ids=not first)
        # Scheduled refreshes apply the difference to the count; the others (first fill,
        # asked for, new rules) count afresh, which also heals any drift.
        if first or trigger != RefreshTrigger.SCHEDULE:
            segment.member_count = SegmentMembership.objects.filter(
                tenant=tenant, segment=segment).count()
        else:
            segment.member_count = max(0, segment.member_count + added - removed)
        if connection.vendor == "postgresql" and added + removed >= ANALYZE_AFTER:
            # Fresh statistics keep the next difference an anti-join rather than a loop.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {SegmentMembership._meta.db_table}")
        now = timezone.now()
        segment.last_refreshed_at = now
        from tend.marketing.services.segments import next_refresh

        segment.next_refresh_at = next_refresh(segment.refresh_frequency, now)
        Segment.objects.filter(pk=segment.pk).update(
            member_count=segment.member_count, last_refreshed_at=now,
            next_refresh_at=segment.next_refresh_at)
        _count_today(tenant, segment)
        if not first:
            record_transitions(tenant=tenant, actor=actor, segment=segment, entered=entered,
                               left=left)
        refresh = SegmentRefresh.objects.create(
            tenant=tenant, segment=segment, trigger=trigger, started_at=started,
            finished_at=now, added=added, removed=removed, member_count=segment.member_count,
            duration_ms=int((time.perf_counter() - clock) * 1000), job=job,
            created_by=actor.acting_user)
        if entered or left:
            _after_members_changed(tenant, segment, [*entered, *left])
    return refresh


def dynamic_segments_in_order(segments: Iterable[Segment]) -> list[Segment]:
    """`segments` ordered so that every segment comes after the ones its rule refers to."""
    by_id = {str(s.pk): s for s in segments}
    ordered: list[Segment] = []
    placed: set[str] = set()

    def visit(key: str, trail: frozenset[str]) -> None:
        if key in placed or key not in by_id or key in trail:
            return
        for ref in by_id[key].segment_refs or []:
            visit(ref, trail | {key})
        placed.add(key)
        ordered.append(by_id[key])

    for key in sorted(by_id, key=lambda k: by_id[k].name):
        visit(key, frozenset())
    return ordered


def segments_refresh_all(*, tenant: Tenant, actor: Actor,
                         trigger: str = RefreshTrigger.MANUAL) -> list[SegmentRefresh]:
    """Refresh every active dynamic segment, referenced segments first."""
    segments = Segment.objects.filter(tenant=tenant, type=SegmentType.DYNAMIC, is_active=True)
    return [segment_refresh(tenant=tenant, actor=actor, segment=s, trigger=trigger)
            for s in dynamic_segments_in_order(segments)]


# --- one contact -----------------------------------------------------------------------------


def _depends(dependencies: Iterable[str], kinds: set[str] | None) -> bool:
    if kinds is None:
        return True
    for dep in dependencies:
        if dep in kinds:
            return True
        if dep.startswith("custom:") and "custom:*" in kinds:
            return True
        if dep == "activity:*" and any(k.startswith("activity:") and k not in (
                f"activity:{ENTERED}", f"activity:{LEFT}") for k in kinds):
            return True
    return False


def segments_reevaluate_contact(*, tenant: Tenant, contact_id: Any,
                                kinds: Iterable[str] | None = None) -> dict[str, str]:
    """Re-evaluate one contact against the active dynamic segments whose rules depend on
    `kinds` of change (None: every one), in reference order, so that a segment-in-segment
    rule sees the membership just updated. Uses the rule language's Python back end with one
    set of facts for all segments. Applies the difference and writes the activities;
    returns `{segment_id: "entered" | "left"}`. Runs as the system."""
    from tend.marketing.ruleset import ContactEvaluator

    wanted = set(kinds) if kinds is not None else None
    segments = dynamic_segments_in_order(Segment.objects.filter(
        tenant=tenant, type=SegmentType.DYNAMIC, is_active=True).exclude(
        last_refreshed_at=None))
    # Nothing to do unless a segment reads this change, or reads a segment that does.
    if not any(_depends(s.dependencies or [], wanted) for s in segments):
        return {}
    contact_uuid = contact_id if isinstance(contact_id, UUID) else UUID(str(contact_id))
    evaluator = ContactEvaluator(tenant=tenant, contact_id=contact_uuid)
    member_of = evaluator.segments()
    actor = Actor.system()
    moves: dict[str, str] = {}
    for segment in segments:
        key = str(segment.pk)
        if not _depends(segment.dependencies or [], wanted):
            continue
        matches = evaluator.matches(segment.rule)
        if matches == (key in member_of):
            continue
        with transaction.atomic():
            if matches:
                created = SegmentMembership.objects.get_or_create(
                    tenant=tenant, segment=segment, contact_id=contact_uuid,
                    defaults={"matched_at": timezone.now(), "source": MembershipSource.RULE})[1]
                delta = 1 if created else 0
            else:
                delta = -SegmentMembership.objects.filter(
                    tenant=tenant, segment=segment, contact_id=contact_uuid).delete()[0]
            if delta:
                _change_count(segment, delta)
                _count_today(tenant, segment)
                record_transitions(tenant=tenant, actor=actor, segment=segment,
                                   entered=[contact_uuid] if delta > 0 else [],
                                   left=[contact_uuid] if delta < 0 else [])
        if matches:
            member_of.add(key)
        else:
            member_of.discard(key)
        if delta:
            moves[key] = "entered" if delta > 0 else "left"
            if wanted is not None:
                wanted.add(f"segment:{key}")
    return moves


def list_add_members(*, tenant: Tenant, actor: Actor, list_id: Any, contact_ids: list[Any],
                     source: str) -> tuple[str, int]:
    """People's list registry: add contacts to the static list `list_id` (NotFound if there
    is none); returns its name and how many were added."""
    from tend.marketing.selectors.segments import segment_get

    segment = segment_get(tenant=tenant, segment_id=list_id)
    return segment.name, segment_add_members(tenant=tenant, actor=actor, segment=segment,
                                             contact_ids=contact_ids, source=source)
