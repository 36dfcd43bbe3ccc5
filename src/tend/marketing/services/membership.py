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
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Job, Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.zones import tenant_zone
from tend.marketing.choices import MembershipSource, RefreshTrigger, SegmentType
from tend.marketing.models import Segment, SegmentCount, SegmentMembership, SegmentRefresh
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
    # With the organization too, the anti-join probes the (tenant, segment, contact) index.
    if connection.vendor == "postgresql":
        absent = (f"NOT EXISTS (SELECT 1 FROM {table} x WHERE x.tenant_id = %s "
                  f"AND x.segment_id = %s AND x.contact_id = t.member_id)")
    else:
        absent = (f"t.member_id NOT IN (SELECT x.contact_id FROM {table} x "
                  f"WHERE x.tenant_id = %s AND x.segment_id = %s)")
    statement = (
        f"INSERT INTO {table} (id, tenant_id, segment_id, contact_id, matched_at, source, "
        f"added_by_id, created_at, updated_at, created_by_id, updated_by_id) "
        f"SELECT {_new_id_sql()}, %s, %s, t.member_id, %s, %s, %s, %s, %s, %s, %s "
        f"FROM ({sql}) t WHERE {absent}"
        + (" RETURNING contact_id" if want_ids else "")
    )
    args = (tenant_id, segment_id, db_now, source, user_id, db_now, db_now, user_id, user_id,
            *params, tenant_id, segment_id)
    with connection.cursor() as cursor:
        cursor.execute(statement, args)
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
    today = timezone.localdate(timezone=tenant_zone(tenant))
    updated = SegmentCount.objects.filter(tenant=tenant, segment=segment, day=today).update(
        member_count=segment.member_count, updated_at=timezone.now())
    if not updated:
        SegmentCount.objects.create(tenant=tenant, segment=segment, day=today,
                                    member_count=segment.member_count)


def _change_count(segment: Segment, delta: int) -> None:
    if delta:
        Segment.objects.filter(pk=segment.pk).update(member_count=F("member_count") + delta)
        segment.member_count += delta


def record_transitions(*, tenant: Tenant, actor: Actor, segment: Segment,
                       entered: Sequence[UUID], left: Sequence[UUID]) -> None:
    """Write SEGMENT_ENTERED / SEGMENT_LEFT activities for the contacts that moved, set-based
    (contact metrics are left alone so that entering a segment never counts as the person
    being active). After commit: `activity_recorded` for each when the change is small, and
    `segment_membership_changed` always."""
    _record_moves(tenant=tenant, actor=actor, moves=[(segment, list(entered), list(left))])


# Up to this many activities are written with one plain INSERT (and their instances kept for
# the signals); more go through the people module's bulk writer (COPY on PostgreSQL).
_PLAIN_INSERT_MAX = 500


def _record_moves(*, tenant: Tenant, actor: Actor,
                  moves: Sequence[tuple[Segment, Sequence[UUID], Sequence[UUID]]]) -> None:
    """`record_transitions` for several segments at once: one write of all the activities."""
    moves = [(segment, entered, left) for segment, entered, left in moves if entered or left]
    if not moves:
        return
    now = timezone.now()
    label = actor.label[:200]
    user_id = actor.acting_user.pk if actor.acting_user else None
    rows: list[Any] = []
    signalled: list[Any] = []
    for segment, entered, left in moves:
        first = len(rows)
        metadata = {"segment_id": str(segment.pk), "segment": segment.name}
        rows += [
            bulkwrite.new_row(
                Activity, tenant_id=tenant.pk, contact_id=contact_id, type=kind,
                category="SYSTEM", title=segment.name[:300], metadata=metadata,
                source="segments", source_id=str(segment.pk), occurred_at=now,
                processed_at=now, actor_label=label, related_type="marketing.segment",
                related_id=str(segment.pk), created_at=now, updated_at=now,
                created_by_id=user_id)
            for kind, ids in ((ENTERED, entered), (LEFT, left)) for contact_id in ids]
        if len(rows) - first <= SIGNAL_EACH_MAX:
            signalled += rows[first:]
    if len(rows) <= _PLAIN_INSERT_MAX:
        instances = [Activity(**row) for row in rows]
        Activity.objects.bulk_create(instances)
        by_id = {a.pk: a for a in instances}
        activities = [by_id[row.id] for row in signalled]
        signalled_ids: list[Any] = []
    else:
        bulkwrite.bulk_insert(Activity, rows)
        activities = []
        signalled_ids = [row.id for row in signalled]
    changes = [(str(segment.pk), [str(i) for i in entered], [str(i) for i in left])
               for segment, entered, left in moves]

    def announce() -> None:
        from tend.people.signals import activity_recorded

        loaded = activities or (list(Activity.objects.filter(tenant=tenant, pk__in=signalled_ids))
                                if signalled_ids else [])
        for activity in loaded:
            activity_recorded.send(sender=Activity, tenant=tenant, activity=activity)
        for segment_id, entered_ids, left_ids in changes:
            segment_membership_changed.send(sender=Segment, tenant=tenant,
                                            segment_id=segment_id, entered=entered_ids,
                                            left=left_ids)

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
    if _has_dependents(tenant, segment):
        _enqueue_dependents(tenant, segment, contact_ids)


def _enqueue_dependents(tenant: Tenant, segment: Segment, contact_ids: list[UUID]) -> None:
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


def _apply_difference(segment: Segment, target: QuerySet[Any], *, now: Any,
                      want_ids: bool) -> tuple[int, int, list[UUID], list[UUID]]:
    """Make the segment's members exactly `target` (the rule's matches), running the rule's
    query once: (added, removed, entered ids, left ids); the ids only when `want_ids`.

    PostgreSQL: one statement — a full join of the matches with the current members gives the
    difference, and data-modifying CTEs delete the leavers and insert the enterers.
    SQLite: the matches go into a temporary table, then the two anti-joins read it."""
    sql, params = _sql_of(target)
    table = SegmentMembership._meta.db_table
    db_now = connection.ops.adapt_datetimefield_value(now)
    tenant_id = _db(SegmentMembership, "tenant", segment.tenant_id)
    segment_id = _db(SegmentMembership, "segment", segment.pk)
    columns = ("id, tenant_id, segment_id, contact_id, matched_at, source, added_by_id, "
               "created_at, updated_at, created_by_id, updated_by_id")
    values = (f"{_new_id_sql()}, %s, %s, {{id}}, %s, '{MembershipSource.RULE}', NULL, %s, %s, "
              f"NULL, NULL")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            result = (
                "SELECT false, contact_id FROM gone UNION ALL SELECT true, contact_id FROM added"
                if want_ids else "SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM gone)")
            cursor.execute(
                f"WITH t AS ({sql}), "
                f"cur AS (SELECT x.contact_id FROM {table} x WHERE x.tenant_id = %s "
                f"AND x.segment_id = %s), "
                f"d AS (SELECT t.member_id AS enter, cur.contact_id AS leave FROM t "
                f"FULL JOIN cur ON cur.contact_id = t.member_id "
                f"WHERE t.member_id IS NULL OR cur.contact_id IS NULL), "
                f"gone AS (DELETE FROM {table} m USING d WHERE m.tenant_id = %s "
                f"AND m.segment_id = %s AND m.contact_id = d.leave RETURNING m.contact_id), "
                f"added AS (INSERT INTO {table} ({columns}) SELECT "
                f"{values.format(id='d.enter')} FROM d WHERE d.enter IS NOT NULL "
                f"RETURNING contact_id) {result}",
                (*params, tenant_id, segment_id, tenant_id, segment_id, tenant_id, segment_id,
                 db_now, db_now, db_now))
            rows = cursor.fetchall()
            if not want_ids:
                return int(rows[0][0]), int(rows[0][1]), [], []
            entered = [_uuid(r[1]) for r in rows if r[0]]
            left = [_uuid(r[1]) for r in rows if not r[0]]
            return len(entered), len(left), entered, left
        stage = "tend_segment_target"
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (id char(32) PRIMARY KEY)")
        cursor.execute(f"DELETE FROM {stage}")
        cursor.execute(f"INSERT INTO {stage} (id) SELECT member_id FROM ({sql})", params)
        returning = " RETURNING contact_id" if want_ids else ""
        cursor.execute(
            f"DELETE FROM {table} WHERE tenant_id = %s AND segment_id = %s "
            f"AND contact_id NOT IN (SELECT id FROM {stage}){returning}",
            (tenant_id, segment_id))
        left = _returning(cursor) if want_ids else []
        removed = len(left) if want_ids else cursor.rowcount
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {values.format(id='t.id')} "
            f"FROM {stage} t WHERE t.id NOT IN (SELECT x.contact_id FROM {table} x "
            f"WHERE x.tenant_id = %s AND x.segment_id = %s){returning}",
            (tenant_id, segment_id, db_now, db_now, db_now, tenant_id, segment_id))
        entered = _returning(cursor) if want_ids else []
        added = len(entered) if want_ids else cursor.rowcount
        cursor.execute(f"DELETE FROM {stage}")
        return added, removed, entered, left


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def segment_refresh(*, tenant: Tenant, actor: Actor, segment: Segment,
                    trigger: str = RefreshTrigger.MANUAL, job: Job | None = None
                    ) -> SegmentRefresh:
    """Recompute a dynamic segment's members from its rule, in set operations, and record the
    refresh. Entered/left activities are written except on the very first fill. Needs
    `segments.change` (the system actor runs scheduled ones)."""
    if segment.type != SegmentType.DYNAMIC:
        check_perm(actor, "segments.change")
        raise ValidationFailed(fields={"segment": [_("Only dynamic segments are refreshed.")]})
    return segments_refresh(tenant=tenant, actor=actor, segments=[segment], trigger=trigger,
                            job=job)[0]


# A batch of refreshes commits once its transaction has run this long, so that other writers
# (one contact's re-evaluation) never wait for a whole batch of big segments.
BATCH_SECONDS = 0.5


def segments_refresh(*, tenant: Tenant, actor: Actor, segments: Iterable[Segment],
                     trigger: str = RefreshTrigger.MANUAL, job: Job | None = None
                     ) -> list[SegmentRefresh]:
    """Refresh dynamic segments together, referenced segments first. The rules compile with
    one read of the field registry; each segment's difference is one statement (its rule's
    query runs once); the bookkeeping — counts, growth-chart points, refresh records,
    entered/left activities — is written in a few set-based statements per transaction. A
    transaction takes segments until it has run `BATCH_SECONDS` (small segments share one,
    a big one commits on its own). Returns the refresh records in refresh order. Needs
    `segments.change`."""
    check_perm(actor, "segments.change")
    ordered = dynamic_segments_in_order(
        [s for s in segments if s.type == SegmentType.DYNAMIC])
    if not ordered:
        return []
    from tend.marketing.ruleset import stored_rules_contacts

    started = timezone.now()
    targets = stored_rules_contacts(tenant=tenant, rules={s.pk: s.rule for s in ordered},
                                    now=started)
    batch = _Batch(tenant=tenant, actor=actor, trigger=trigger, job=job, started=started,
                   refreshed={str(s.pk) for s in ordered})
    queue = list(ordered)
    while queue:
        with transaction.atomic():
            saved = _refresh_settings()
            clock = time.perf_counter()
            while queue and (not batch.pending or time.perf_counter() - clock < BATCH_SECONDS):
                segment = queue.pop(0)
                current = Segment.objects.select_for_update().filter(
                    tenant=tenant, pk=segment.pk).first()
                if current is None or current.type != SegmentType.DYNAMIC:
                    continue
                target = targets[segment.pk]
                if current.rule != segment.rule:  # changed since the batch began
                    target = stored_rules_contacts(tenant=tenant, rules={0: current.rule},
                                                   now=started)[0]
                batch.refresh(segment, current, target)
            batch.flush()
            _restore_settings(saved)
    return batch.refreshes


class _Batch:
    """The refreshes of one `segments_refresh` call and the bookkeeping not yet written."""

    def __init__(self, *, tenant: Tenant, actor: Actor, trigger: str, job: Job | None,
                 started: Any, refreshed: set[str]) -> None:
        self.tenant, self.actor, self.trigger, self.job = tenant, actor, trigger, job
        self.started = started
        self.refreshed = refreshed
        self.refreshes: list[SegmentRefresh] = []
        self.pending: list[tuple[Segment, Segment, SegmentRefresh]] = []
        self.moves: list[tuple[Segment, list[UUID], list[UUID]]] = []
        self.zone = tenant_zone(tenant)

    def refresh(self, segment: Segment, current: Segment, target: QuerySet[Any]) -> None:
        from tend.marketing.services.segments import next_refresh

        clock = time.perf_counter()
        segment.rule = current.rule
        first = current.last_refreshed_at is None
        added, removed, entered, left = _apply_difference(
            segment, target, now=self.started, want_ids=not first)
        # Scheduled and bulk refreshes apply the difference to the count; the others (first
        # fill, asked for, new rules) count afresh, which also heals any drift.
        if first or self.trigger in (RefreshTrigger.MANUAL, RefreshTrigger.RULE_CHANGED,
                                     RefreshTrigger.CREATED):
            segment.member_count = SegmentMembership.objects.filter(
                tenant=self.tenant, segment=segment).count()
        else:
            segment.member_count = max(0, current.member_count + added - removed)
        if connection.vendor == "postgresql" and added + removed >= ANALYZE_AFTER:
            # Fresh statistics keep the next difference an anti-join rather than a loop.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {SegmentMembership._meta.db_table}")
        now = timezone.now()
        segment.last_refreshed_at = now
        segment.next_refresh_at = next_refresh(segment.refresh_frequency, now)
        record = SegmentRefresh(
            tenant=self.tenant, segment=segment, trigger=self.trigger,
            started_at=self.started, finished_at=now, added=added, removed=removed,
            member_count=segment.member_count,
            duration_ms=int((time.perf_counter() - clock) * 1000), job=self.job,
            created_by=self.actor.acting_user, created_at=now, updated_at=now)
        self.pending.append((segment, current, record))
        if entered or left:
            self.moves.append((segment, entered, left))

    def flush(self) -> None:
        """Write the bookkeeping of the refreshes done in this transaction."""
        if not self.pending:
            return
        done = [segment for segment, _current, _record in self.pending]
        Segment.objects.bulk_update(done, ["member_count", "last_refreshed_at",
                                           "next_refresh_at"])
        # Today's chart point already holds the count when nothing moved since a refresh
        # earlier today (every other change of members writes it too).
        today = timezone.localdate(self.started, timezone=self.zone)
        _counts_today(self.tenant, [
            segment for segment, current, _record in self.pending
            if segment.member_count != current.member_count or current.last_refreshed_at is None
            or timezone.localdate(current.last_refreshed_at, timezone=self.zone) != today])
        records = [record for _segment, _current, record in self.pending]
        SegmentRefresh.objects.bulk_create(records)
        self.refreshes += records
        _record_moves(tenant=self.tenant, actor=self.actor, moves=self.moves)
        _after_moves(self.tenant, self.moves, refreshed=self.refreshed)
        self.pending, self.moves = [], []


# PostgreSQL settings for the transactions of a refresh (and what they were, to restore):
# no JIT compilation — a rule over a whole organization is planned as costly, and compiling
# it took longer (up to 360 ms at 100k contacts) than running it; and memory enough for the
# full join of a million matches with a million members to hash without spilling to disk.
REFRESH_SETTINGS = {"jit": "off", "work_mem": "64MB"}


def _refresh_settings() -> dict[str, str] | None:
    """Apply `REFRESH_SETTINGS` for the rest of the transaction; returns the settings to
    restore (None on other databases)."""
    if connection.vendor != "postgresql":
        return None
    names = list(REFRESH_SETTINGS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(
            "current_setting(%s), set_config(%s, %s, true)" for _ in names),
            [v for name in names for v in (name, name, REFRESH_SETTINGS[name])])
        row = cursor.fetchone()
    return {name: str(row[2 * i]) for i, name in enumerate(names)}


def _restore_settings(previous: dict[str, str] | None) -> None:
    if not previous:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join("set_config(%s, %s, true)" for _ in previous),
                       [v for item in previous.items() for v in item])


def _counts_today(tenant: Tenant, segments: Sequence[Segment]) -> None:
    """Today's point of the growth chart at each segment's current count (one upsert)."""
    if not segments:
        return
    today = timezone.localdate(timezone=tenant_zone(tenant))
    now = timezone.now()
    SegmentCount.objects.bulk_create(
        [SegmentCount(tenant=tenant, segment=s, day=today, member_count=s.member_count,
                      created_at=now, updated_at=now) for s in segments],
        update_conflicts=True, unique_fields=["tenant", "segment", "day"],
        update_fields=["member_count", "updated_at"])


def _after_moves(tenant: Tenant, moves: Sequence[tuple[Segment, list[UUID], list[UUID]]], *,
                 refreshed: set[str]) -> None:
    """Segments whose rules name a segment whose members moved re-evaluate those contacts
    (after commit, in the background) — unless they were refreshed in the same batch, after
    the segments they name."""
    if not moves:
        return
    dependents: dict[str, set[str]] = {}
    for pk, refs in Segment.objects.filter(tenant=tenant, type=SegmentType.DYNAMIC,
                                           is_active=True).values_list("pk", "segment_refs"):
        for ref in refs or []:
            dependents.setdefault(ref, set()).add(str(pk))
    for segment, entered, left in moves:
        if dependents.get(str(segment.pk), set()) - refreshed:
            _enqueue_dependents(tenant, segment, [*entered, *left])


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
    """Refresh every active dynamic segment together, referenced segments first."""
    return segments_refresh(tenant=tenant, actor=actor, trigger=trigger, segments=list(
        Segment.objects.filter(tenant=tenant, type=SegmentType.DYNAMIC, is_active=True)))


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
    rule sees the membership just decided. Uses the rule language's Python back end with one
    set of facts for all segments (one query for the contact's memberships), then applies
    every change in one transaction: one delete, one insert, one count update, one
    growth-chart upsert, one write of the activities. Returns `{segment_id: "entered" |
    "left"}`. Runs as the system."""
    from tend.marketing.ruleset import ContactEvaluator

    wanted = set(kinds) if kinds is not None else None
    segments = dynamic_segments_in_order(Segment.objects.filter(
        tenant=tenant, type=SegmentType.DYNAMIC, is_active=True).exclude(
        last_refreshed_at=None))
    # Nothing to do unless a segment reads this change, or reads a segment that does.
    if not any(_depends(s.dependencies or [], wanted) for s in segments):
        return {}
    contact_uuid = _uuid(contact_id)
    evaluator = ContactEvaluator(tenant=tenant, contact_id=contact_uuid)
    member_of = evaluator.segments()
    decided: dict[str, bool] = {}
    for segment in segments:
        key = str(segment.pk)
        if not _depends(segment.dependencies or [], wanted):
            continue
        matches = evaluator.matches(segment.rule)
        if matches == (key in member_of):
            continue
        decided[key] = matches
        if matches:
            member_of.add(key)
        else:
            member_of.discard(key)
        if wanted is not None:
            wanted.add(f"segment:{key}")
    if not decided:
        return {}
    by_id = {str(s.pk): s for s in segments}
    with transaction.atomic():
        entered_keys, left_keys = _move_contact(tenant, contact_uuid, decided)
        changed = [by_id[k] for k in (*entered_keys, *left_keys)]
        deltas = dict.fromkeys(entered_keys, 1) | dict.fromkeys(left_keys, -1)
        if changed:
            Segment.objects.filter(pk__in=[s.pk for s in changed]).update(
                member_count=F("member_count") + Case(
                    *[When(pk=s.pk, then=Value(deltas[str(s.pk)])) for s in changed],
                    default=Value(0)))
            counts = dict(Segment.objects.filter(pk__in=[s.pk for s in changed]).values_list(
                "pk", "member_count"))
            for segment in changed:
                segment.member_count = counts.get(segment.pk, segment.member_count)
            _counts_today(tenant, changed)
            _record_moves(tenant=tenant, actor=Actor.system(), moves=[
                (by_id[k], [contact_uuid] if k in entered_keys else [],
                 [contact_uuid] if k in left_keys else []) for k in (*entered_keys,
                                                                     *left_keys)])
    return {**dict.fromkeys(entered_keys, "entered"), **dict.fromkeys(left_keys, "left")}


def _move_contact(tenant: Tenant, contact_id: UUID, decided: dict[str, bool]
                  ) -> tuple[list[str], list[str]]:
    """Insert and delete one contact's memberships; the segment ids that really changed
    (a concurrent refresh may have made the same change already)."""
    table = SegmentMembership._meta.db_table
    tenant_db = _db(SegmentMembership, "tenant", tenant.pk)
    contact_db = _db(SegmentMembership, "contact", contact_id)
    enter = [_db(SegmentMembership, "segment", k) for k, m in decided.items() if m]
    leave = [_db(SegmentMembership, "segment", k) for k, m in decided.items() if not m]
    entered: list[str] = []
    left: list[str] = []
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        if leave:
            marks = ", ".join(["%s"] * len(leave))
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s AND contact_id = %s "
                           f"AND segment_id IN ({marks}) RETURNING segment_id",
                           (tenant_db, contact_db, *leave))
            left = [str(_uuid(row[0])) for row in cursor.fetchall()]
        if enter:
            rows = ", ".join([f"({_new_id_sql()}, %s, %s, %s, %s, "
                              f"'{MembershipSource.RULE}', %s, %s)"] * len(enter))
            params: list[Any] = []
            for segment_db in enter:
                params += [tenant_db, segment_db, contact_db, now, now, now]
            cursor.execute(f"INSERT INTO {table} (id, tenant_id, segment_id, contact_id, "
                           f"matched_at, source, created_at, updated_at) VALUES {rows} "
                           f"ON CONFLICT DO NOTHING RETURNING segment_id", params)
            entered = [str(_uuid(row[0])) for row in cursor.fetchall()]
    order = list(decided)
    return sorted(entered, key=order.index), sorted(left, key=order.index)


def list_add_members(*, tenant: Tenant, actor: Actor, list_id: Any, contact_ids: list[Any],
                     source: str) -> tuple[str, int]:
    """People's list registry: add contacts to the static list `list_id` (NotFound if there
    is none); returns its name and how many were added."""
    from tend.marketing.selectors.segments import segment_get

    segment = segment_get(tenant=tenant, segment_id=list_id)
    return segment.name, segment_add_members(tenant=tenant, actor=actor, segment=segment,
                                             contact_ids=contact_ids, source=source)
