"""Set-based processing of an ingestion batch: every item's person resolved in memory, then
the batch's new contacts, identities, duplicate candidates and activities written with a few
bulk inserts and the known contacts' metrics with one `UPDATE`.

The plan replays `contact_resolve` item by item, in batch order, on what one lookup found
before the batch began plus what earlier items of the batch created or attached: so two items
about the same new person make one contact, an item naming an identity an earlier item gave
to a new contact finds that contact, and identifiers of several contacts still record
duplicate candidates and attach nothing. Each item's checks (permission to create contacts,
the new contact's fields) run before it changes the plan, so a refused item leaves no trace.

Nothing here handles races: a concurrent transaction that took one of the batch's identities
or events makes an insert fail, and the caller then rolls the whole batch's writes back (a
savepoint) and processes its items one by one, the way `contact_resolve` settles races.

Audit entries are returned, not written: the caller writes them last in its transaction (the
audit chain's lock is held from the first entry until commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any
from uuid import UUID

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import TendError, ValidationFailed
from tend.core.models import Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.customfields import custom_values_validate
from tend.core.services.guards import check_perm
from tend.people.choices import AliasType, DuplicateResolution, MatchType
from tend.people.models import Activity, Contact, DuplicateCandidate, IdentityAlias
from tend.people.services import bulkwrite
from tend.people.services.aliases import MAX_SOURCE
from tend.people.services.contacts import _clean as contact_fields_clean
from tend.people.services.contacts import computed_display_name
from tend.people.services.resolution import (
    REASSIGNED_TYPE,
    HeldAlias,
    Identifier,
    identifiers_holders,
    identities_release,
    reassignment_metadata,
)

Key = tuple[str, str, str]
AuditEntry = tuple[str, str, Any, dict[str, Any] | None]


@dataclass
class BatchItem:
    """A validated item, ready to record."""

    type: str
    source: str
    source_event_id: str | None
    occurred_at: datetime
    identifiers: list[Any] | None = None
    cleaned: list[Identifier] = field(default_factory=list)
    contact_id: UUID | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one item of the batch: recorded (`activity`) or refused (`errors`)."""

    activity: bulkwrite.Row | None = None
    contact_id: UUID | None = None
    contact_created: bool = False
    conflicts: list[UUID] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Person:
    """A contact as the batch sees it: one that exists, or one the batch creates (`row`)."""

    pk: Any
    created_at: datetime
    row: bulkwrite.Row | None = None
    # Kinds `(type, system)` it has a primary identity of; None until needed (existing ones).
    primaries: set[tuple[str, str]] | None = None
    # Copies of primary identities that change (`primary_email`, `primary_phone`).
    primary_fields: dict[str, str] = field(default_factory=dict)

    @property
    def new(self) -> bool:
        return self.row is not None

    @property
    def rank(self) -> tuple[datetime, str]:
        return (self.created_at, str(self.pk))


@dataclass
class _Metrics:
    """What the batch's activities add to an existing contact's activity metrics."""

    in_30d: int = 0
    in_90d: int = 0
    latest: datetime | None = None
    latest_type: str = ""


class BatchPlan:
    """The writes of one batch, worked out in memory (see the module docstring)."""

    def __init__(self, *, tenant: Tenant, actor: Actor, items: Sequence[tuple[int, BatchItem]]
                 ) -> None:
        self.tenant = tenant
        self.actor = actor
        self.now = timezone.now()
        self.user = actor.acting_user
        self.label = actor.label[:200]
        self.items = items
        self.people: dict[Any, _Person] = {}
        self.holders: dict[Key, _Person] = {}
        self.dead: dict[Key, HeldAlias] = {}
        self.new_contacts: list[bulkwrite.Row] = []
        self.aliases: list[bulkwrite.Row] = []
        self.activities: list[bulkwrite.Row] = []
        self.candidates: dict[tuple[Any, Any], bulkwrite.Row] = {}
        self.released: list[HeldAlias] = []
        self.metrics: dict[Any, _Metrics] = {}
        self.audit: list[AuditEntry] = []
        self.outcomes: dict[int, Outcome] = {}
        self._definitions: list[Any] | None = None

    # --- reading what exists -----------------------------------------------------------------

    def _person(self, pk: Any, created_at: datetime) -> _Person:
        person = self.people.get(pk)
        if person is None:
            person = self.people[pk] = _Person(pk=pk, created_at=created_at)
        return person

    def load(self) -> None:
        """The batch's reads: identities (one query), named contacts (one), the primary
        identities of contacts that may gain some (one, when any may)."""
        found = identifiers_holders(tenant=self.tenant, identifiers=[
            i for _n, item in self.items for i in item.cleaned])
        for key, alias in found.items():
            if alias.holder_dead:
                self.dead[key] = alias
            else:
                self.holders[key] = self._person(alias.holder_id, alias.holder_created_at)
        named = {item.contact_id for _n, item in self.items if item.contact_id is not None}
        if named:
            for pk, created_at in Contact.objects.filter(
                    tenant=self.tenant, pk__in=named).values_list("pk", "created_at"):
                self._person(pk, created_at)
        # Contacts an item may attach identities to: those holding part of its identifiers.
        gaining: set[Any] = set()
        for _n, item in self.items:
            held = [self.holders[i.key] for i in item.cleaned if i.key in self.holders]
            if held and len(held) < len(item.cleaned):
                gaining.update(p.pk for p in held)
        if gaining:
            for person_id in gaining:
                self.people[person_id].primaries = set()
            for contact_id, type, system in IdentityAlias.objects.filter(
                    tenant=self.tenant, contact_id__in=gaining, is_primary=True,
            ).values_list("contact_id", "type", "system"):
                self.people[contact_id].primaries.add((type, system))  # type: ignore[union-attr]

    # --- planning ----------------------------------------------------------------------------

    def plan(self) -> None:
        for index, item in self.items:
            try:
                self.outcomes[index] = self._plan_item(item)
            except TendError as exc:
                self.outcomes[index] = Outcome(errors=exc.fields or {"": [exc.message]})

    def _plan_item(self, item: BatchItem) -> Outcome:
        if item.contact_id is not None:
            person = self.people.get(item.contact_id)
            if person is None:
                raise ValidationFailed(fields={"contact_id": [_("No such contact.")]})
            return self._record(person, item)
        matched: dict[Any, tuple[_Person, list[Identifier]]] = {}
        for identifier in item.cleaned:
            holder = self.holders.get(identifier.key)
            if holder is not None:
                matched.setdefault(holder.pk, (holder, []))[1].append(identifier)
        if not matched:
            person = self._create(item)
            outcome = self._record(person, item)
            outcome.contact_created = True
            return outcome
        ranked = sorted(matched.values(), key=lambda m: (-len(m[1]), m[0].rank))
        best = ranked[0][0]
        if len(ranked) > 1:
            self._conflicts(ranked)
            outcome = self._record(best, item)
            outcome.conflicts = [p.pk for p, _ids in ranked[1:]]
            return outcome
        missing = [i for i in item.cleaned if i.key not in self.holders]
        if missing:
            released = self._attach(best, missing, item.source)
            self.audit.append(("contact.identities_resolved", "contact", best.pk,
                               {"added": [i.label for i in missing]}))
            self._reassigned(best, released, item.source)
        return self._record(best, item)

    def _contact_values(self, item: BatchItem) -> dict[str, Any]:
        """The new contact's fields, checked as `contact_create` checks them (the custom
        fields' definitions read once per batch)."""
        data = dict(item.defaults)
        if item.source and not data.get("source"):
            data["source"] = item.source[:MAX_SOURCE]
        custom = data.pop("custom", None)
        errors: dict[str, list[str]] = {}
        try:
            values = contact_fields_clean(self.tenant, data, partial=True, current_custom=None)
        except ValidationFailed as exc:
            errors.update(exc.fields)
            values = {}
        if self._definitions is None:
            self._definitions = custom_definitions(tenant=self.tenant, entity_type="contact")
        try:
            values["custom"] = custom_values_validate(
                tenant=self.tenant, entity_type="contact", values=custom,
                definitions=self._definitions)
        except ValidationFailed as exc:
            errors.update(exc.fields)
        if errors:
            raise ValidationFailed(fields=errors)
        return values

    def _create(self, item: BatchItem) -> _Person:
        check_perm(self.actor, "contacts.add")
        values = self._contact_values(item)
        custom_name = bool(values.get("display_name"))
        if not custom_name:
            values["display_name"] = computed_display_name(values.get("first_name", ""),
                                                           values.get("last_name", ""))
        fields = sorted(k for k, v in values.items() if v not in ("", None, {}))
        for name in ("owner", "company"):
            if name in values:
                related = values.pop(name)
                values[f"{name}_id"] = related.pk if related is not None else None
        contact = bulkwrite.new_row(
            Contact, tenant_id=self.tenant.pk, display_name_custom=custom_name,
            created_by_id=self.user_id, updated_by_id=self.user_id, created_at=self.now,
            updated_at=self.now, **values)
        person = _Person(pk=contact.id, created_at=self.now, row=contact, primaries=set())
        self.people[contact.id] = person
        self.new_contacts.append(contact)
        released = self._give(person, item.cleaned, source="")
        self._apply_primary_fields(person)
        self.audit.append(("contact.created", "contact", contact.id, {
            "fields": fields, "aliases": len(item.cleaned), "tags": []}))
        # The title `str(contact)` gives.
        title = (contact.display_name or contact.primary_email or contact.primary_phone
                 or str(contact.id))
        self._activity(person, type="CONTACT_CREATED", category="SYSTEM", title=title,
                       source=values.get("source", ""))
        self._reassigned(person, released, item.source)
        return person

    def _give(self, person: _Person, identifiers: list[Identifier], source: str
              ) -> dict[Any, list[HeldAlias]]:
        """New identity rows for `person`; identities of deleted contacts are released.
        Returns the released ones by former contact id."""
        assert person.primaries is not None
        released: dict[Any, list[HeldAlias]] = {}
        for identifier in identifiers:
            kind = (identifier.type, identifier.system)
            primary = kind not in person.primaries
            person.primaries.add(kind)
            self.aliases.append(bulkwrite.new_row(
                IdentityAlias, tenant_id=self.tenant.pk, contact_id=person.pk,
                type=identifier.type, system=identifier.system, value=identifier.value,
                is_primary=primary, source=source[:MAX_SOURCE], created_by_id=self.user_id,
                updated_by_id=self.user_id, created_at=self.now, updated_at=self.now))
            if primary and not identifier.system and identifier.type in (AliasType.EMAIL,
                                                                         AliasType.PHONE):
                name = "primary_email" if identifier.type == AliasType.EMAIL else "primary_phone"
                person.primary_fields[name] = identifier.value
            self.holders[identifier.key] = person
            old = self.dead.pop(identifier.key, None)
            if old is not None:
                self.released.append(old)
                released.setdefault(old.contact_id, []).append(old)
        return released

    def _reassigned(self, person: _Person, released: dict[Any, list[HeldAlias]],
                    source: str) -> None:
        """As `reassignment_record`: an audit entry per former holder, an activity on the
        new holder's timeline."""
        for former_id, aliases in released.items():
            labels = sorted({Identifier(a.type, a.value, a.system).label for a in aliases})
            self.audit.append(("contact.identities_released", "contact", former_id,
                               {"identities": labels, "to": str(person.pk)}))
            self._activity(person, type=REASSIGNED_TYPE, category="SYSTEM",
                           title=", ".join(labels), source=source[:100],
                           metadata=reassignment_metadata(former_id, labels))

    @property
    def user_id(self) -> Any:
        return self.user.pk if self.user is not None else None

    def _apply_primary_fields(self, person: _Person) -> None:
        if person.row is not None:
            person.row.update(person.primary_fields)

    def _attach(self, person: _Person, identifiers: list[Identifier], source: str
                ) -> dict[Any, list[HeldAlias]]:
        if person.primaries is None:  # a contact named by id earlier, then matched
            person.primaries = set(IdentityAlias.objects.filter(
                tenant=self.tenant, contact_id=person.pk, is_primary=True,
            ).values_list("type", "system"))
        added = self._give(person, identifiers, source)
        self._apply_primary_fields(person)
        return added

    def _conflicts(self, ranked: list[tuple[_Person, list[Identifier]]]) -> None:
        for (first, first_ids), (second, second_ids) in combinations(ranked, 2):
            a, b = sorted([first.pk, second.pk])
            if (a, b) in self.candidates:
                continue
            self.candidates[(a, b)] = bulkwrite.new_row(
                DuplicateCandidate, tenant_id=self.tenant.pk, contact_a_id=a, contact_b_id=b,
                match_type=str(MatchType.IDENTIFIERS), score=100,
                matched_fields=sorted({i.label for i in (*first_ids, *second_ids)}),
                resolution=str(DuplicateResolution.PENDING), created_by_id=self.user_id,
                created_at=self.now, updated_at=self.now)

    def _record(self, person: _Person, item: BatchItem) -> Outcome:
        activity = self._activity(person, type=item.type, source=item.source,
                                  source_event_id=item.source_event_id,
                                  occurred_at=item.occurred_at, **item.values)
        return Outcome(activity=activity, contact_id=person.pk)

    def _activity(self, person: _Person, *, type: str, occurred_at: datetime | None = None,
                  title: str = "", **values: Any) -> bulkwrite.Row:
        occurred = occurred_at or self.now
        activity = bulkwrite.new_row(
            Activity, tenant_id=self.tenant.pk, contact_id=person.pk, type=type,
            title=title[:300], occurred_at=occurred, processed_at=self.now,
            actor_user_id=self.user_id, actor_label=self.label, created_by_id=self.user_id,
            created_at=self.now, updated_at=self.now, **values)
        self.activities.append(activity)
        # The contact's metrics, as `activity_record` moves them.
        in_30d = occurred >= self.now - timedelta(days=30)
        in_90d = occurred >= self.now - timedelta(days=90)
        if person.row is not None:
            contact = person.row
            contact.activity_count_30d += in_30d
            contact.activity_count_90d += in_90d
            if contact.last_activity_at is None or contact.last_activity_at < occurred:
                contact.last_activity_at, contact.last_activity_type = occurred, type
        else:
            metrics = self.metrics.setdefault(person.pk, _Metrics())
            metrics.in_30d += in_30d
            metrics.in_90d += in_90d
            if metrics.latest is None or metrics.latest < occurred:
                metrics.latest, metrics.latest_type = occurred, type
        return activity

    # --- writing -----------------------------------------------------------------------------

    def write(self) -> None:
        """Insert and update everything planned. Inside the caller's transaction (a
        savepoint: an integrity error means a concurrent writer won a race)."""
        if self.released:
            identities_release(tenant=self.tenant, actor=self.actor, aliases=self.released)
        bulkwrite.bulk_insert(Contact, self.new_contacts)
        bulkwrite.bulk_insert(IdentityAlias, self.aliases)
        bulkwrite.bulk_insert(DuplicateCandidate, list(self.candidates.values()),
                              ignore_conflicts=True)
        bulkwrite.bulk_insert(Activity, self.activities)
        _bump_metrics(self.tenant, self.metrics)
        for person in self.people.values():
            if not person.new and person.primary_fields:
                Contact.objects.filter(tenant=self.tenant, pk=person.pk).update(
                    updated_at=self.now, **person.primary_fields)


def _bump_metrics(tenant: Tenant, metrics: dict[Any, _Metrics], chunk: int = 1000) -> None:
    """Add the batch's activities to existing contacts' metrics in one `UPDATE … FROM
    (VALUES …)` per `chunk` contacts (`last_activity_at` only moves forward)."""
    items = list(metrics.items())
    if not items:
        return
    q = connection.ops.quote_name
    table = q(Contact._meta.db_table)
    pk_field = Contact._meta.get_field("id")
    when_field = Contact._meta.get_field("last_activity_at")
    casts = (("::uuid", "::integer", "::integer", "::timestamptz", "::varchar")
             if connection.vendor == "postgresql" else ("", "", "", "", ""))
    row = "(" + ", ".join(f"%s{cast}" for cast in casts) + ")"
    later = (f"({table}.last_activity_at IS NULL OR {table}.last_activity_at < v.latest)")
    tenant_id = Contact._meta.get_field("tenant").get_db_prep_value(tenant.pk, connection)
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        params: list[Any] = []
        for contact_id, m in part:
            params += [pk_field.get_db_prep_value(contact_id, connection), m.in_30d, m.in_90d,
                       when_field.get_db_prep_value(m.latest, connection), m.latest_type]
        sql = (
            f"WITH v (id, in_30d, in_90d, latest, kind) AS (VALUES {', '.join([row] * len(part))}) "
            f"UPDATE {table} SET "
            f"activity_count_30d = {table}.activity_count_30d + v.in_30d, "
            f"activity_count_90d = {table}.activity_count_90d + v.in_90d, "
            f"last_activity_type = CASE WHEN {later} THEN v.kind "
            f"ELSE {table}.last_activity_type END, "
            f"last_activity_at = CASE WHEN {later} THEN v.latest "
            f"ELSE {table}.last_activity_at END "
            f"FROM v WHERE {table}.id = v.id AND {table}.tenant_id = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, tenant_id])


def batch_ingest(*, tenant: Tenant, actor: Actor, items: Sequence[tuple[int, BatchItem]]
                 ) -> BatchPlan:
    """Plan and write `items` (`(index, item)`, events not seen before and not repeated in
    the list); `plan.outcomes` holds each index's outcome and `plan.audit` the entries to
    write. Run inside a savepoint of the caller's transaction and `tenant_scope(tenant)`."""
    plan = BatchPlan(tenant=tenant, actor=actor, items=items)
    plan.load()
    plan.plan()
    plan.write()
    return plan
