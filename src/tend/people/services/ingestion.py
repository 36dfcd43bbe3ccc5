"""Ingesting activities from other systems: the batch pipeline shared by the API and the
signed webhook, and the ingestion log.

The batch runs in one transaction. Its items are checked one by one (a bad item is refused
with its field messages and nothing of it is written), then processed together
(`ingestion_batch`): events already recorded are found with one query, every identifier with
one more, and the new contacts, identities and activities go in with bulk inserts — a batch
costs about the same few dozen queries whatever its size and however many new people it
names. If a concurrent transaction wins a race for one of the batch's identities or events,
those writes roll back (a savepoint) and the items are processed one at a time, each in its
own savepoint, the way `contact_resolve` settles races.

Every item, good or bad, leaves an `IngestionLog` row — one per `(source, source_event_id)`
when the item has an event id, whose `attempts` grows with each redelivery. The batch's audit
entries are written last, so the audit chain's lock (held until commit) is taken at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import TendError, ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record_many
from tend.core.services.guards import check_perm
from tend.people.choices import IngestionStatus
from tend.people.models import Activity, Contact, IngestionLog, IngestionSource
from tend.people.services import bulkwrite
from tend.people.services.activities import MAX_TYPE, activity_record
from tend.people.services.ingestion_batch import BatchItem, batch_ingest
from tend.people.services.resolution import contact_resolve, identifiers_clean
from tend.people.signals import activity_recorded

MAX_BATCH = 1000
TEXT_LIMITS = {"category": 30, "channel": 30, "title": 300, "source": 100,
               "source_event_id": 200, "source_id": 200}
ITEM_FIELDS = frozenset({
    "identifiers", "contact_id", "contact", "type", "category", "channel", "title",
    "description", "metadata", "occurred_at", "source", "source_id", "source_event_id",
})
MAX_DESCRIPTION = 10_000
MAX_ERROR = 4000


class BadBody(TendError):
    """The request body is not what this endpoint reads."""

    status = 400
    code = "bad_request"


@dataclass
class ItemResult:
    """The outcome of one item: `status` is created, duplicate or error."""

    index: int
    status: str
    activity_id: UUID | None = None
    contact_id: UUID | None = None
    contact_created: bool = False
    conflicts: list[UUID] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "status": self.status,
            "activity_id": str(self.activity_id) if self.activity_id else None,
            "contact_id": str(self.contact_id) if self.contact_id else None,
            "contact_created": self.contact_created,
            "conflicts": [str(c) for c in self.conflicts],
            "errors": [{"field": name, "message": str(message)}
                       for name, messages in self.errors.items() for message in messages],
        }


_Item = BatchItem


def ingest_body_parse(raw: bytes) -> tuple[list[Any], bool]:
    """The items of a request body: `{"items": [...]}` (a batch, at most `MAX_BATCH`) or one
    activity object. Returns `(items, is_batch)`. Malformed JSON is `BadBody` (400); a batch
    that is empty or too large is `ValidationFailed` (422)."""
    try:
        body = json.loads(raw.decode("utf-8") if raw else "")
    except (UnicodeDecodeError, ValueError):
        raise BadBody(_("The body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ValidationFailed(fields={"body": [_("Send one activity object, or "
                                                  "{\"items\": [...]}.")]})
    if "items" not in body:
        return [body], False
    items = body["items"]
    if not isinstance(items, list) or not items:
        raise ValidationFailed(fields={"items": [_("Give a list of 1 to %(limit)d activities.")
                                                 % {"limit": MAX_BATCH}]})
    if len(items) > MAX_BATCH:
        raise ValidationFailed(fields={"items": [_("At most %(limit)d activities per batch; "
                                                   "split it.") % {"limit": MAX_BATCH}]})
    if set(body) - {"items"}:
        raise ValidationFailed(fields={str(k): [_("Unknown field.")]
                                       for k in sorted(set(body) - {"items"})})
    return items, True


def _text(raw: dict[str, Any], key: str, errors: dict[str, list[str]]) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[key] = [_("Enter text.")]
        return ""
    value = value.strip()
    limit = TEXT_LIMITS.get(key, MAX_DESCRIPTION)
    if len(value) > limit:
        errors[key] = [_("Use at most %(limit)d characters.") % {"limit": limit}]
    return value


def _occurred_at(value: Any, errors: dict[str, list[str]]) -> datetime:
    if value in (None, ""):
        return timezone.now()
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        errors["occurred_at"] = [_("Enter an ISO 8601 date and time, e.g. "
                                   "2026-03-01T09:30:00Z.")]
        return timezone.now()
    # A time without a zone is read as UTC: the API speaks UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _validate(raw: Any, default_source: str) -> _Item:
    """Check one item's shape; raises `ValidationFailed` with every field error at once."""
    if not isinstance(raw, dict):
        raise ValidationFailed(fields={"item": [_("Give each activity as an object.")]})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(raw) - ITEM_FIELDS):
        errors[str(key)] = [_("Unknown field.")]
    type = _text(raw, "type", errors).upper()
    if "type" not in errors and (not type or len(type) > MAX_TYPE):
        errors["type"] = [_("Give an activity type (at most %(limit)d characters).")
                          % {"limit": MAX_TYPE}]
    values: dict[str, Any] = {key: _text(raw, key, errors)
              for key in ("category", "channel", "title", "description", "source_id")}
    values["category"] = values["category"].upper()
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        errors["metadata"] = [_("Give an object.")]
    values["metadata"] = metadata or {}
    source = _text(raw, "source", errors) or default_source
    event_id = _text(raw, "source_event_id", errors) or None
    occurred_at = _occurred_at(raw.get("occurred_at"), errors)
    identifiers = raw.get("identifiers")
    contact_id: UUID | None = None
    if raw.get("contact_id") not in (None, ""):
        try:
            contact_id = UUID(str(raw["contact_id"]))
        except ValueError:
            errors["contact_id"] = [_("Not a contact id.")]
    if identifiers in (None, []) and contact_id is None and "contact_id" not in errors:
        errors["identifiers"] = [_("Give identifiers or a contact_id.")]
    elif identifiers not in (None, []) and raw.get("contact_id") not in (None, ""):
        errors["contact_id"] = [_("Give identifiers or a contact_id, not both.")]
    defaults = raw.get("contact")
    if defaults is not None and not isinstance(defaults, dict):
        errors["contact"] = [_("Give the new contact's fields as an object.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return _Item(type=type, source=source, source_event_id=event_id, occurred_at=occurred_at,
                 identifiers=identifiers or None, contact_id=contact_id,
                 defaults=defaults or {}, values=values)


def _process(tenant: Tenant, actor: Actor, index: int, item: _Item) -> ItemResult:
    """One item on its own (the path of items a batch could not take together)."""
    created_contact = False
    conflicts: list[UUID] = []
    contact: Contact
    if item.contact_id is not None:
        named = Contact.objects.filter(tenant=tenant, pk=item.contact_id).first()
        if named is None:
            raise ValidationFailed(fields={"contact_id": [_("No such contact.")]})
        contact = named
    else:
        resolved = contact_resolve(tenant=tenant, actor=actor, identifiers=item.identifiers,
                                   defaults=item.defaults, source=item.source)
        contact, created_contact = resolved.contact, resolved.created
        conflicts = [c.pk for c in resolved.conflicts]
    activity, created = activity_record(
        tenant=tenant, actor=actor, contact=contact, type=item.type, source=item.source,
        source_event_id=item.source_event_id, occurred_at=item.occurred_at, **item.values,
    )
    return ItemResult(index=index, status="created" if created else "duplicate",
                      activity_id=activity.pk, contact_id=activity.contact_id,
                      contact_created=created_contact, conflicts=conflicts)


def _ingest_together(tenant: Tenant, actor: Actor, together: list[tuple[int, _Item]],
                     results: list[ItemResult | None], known: dict[tuple[str, str], Known],
                     audit: list[Any], recorded: list[bulkwrite.Row]) -> list[int]:
    """Process `together` as one set (`batch_ingest`) in a savepoint, filling `results`,
    `known`, `audit` and `recorded`. Returns the indexes to process one at a time instead:
    all of them when a concurrent transaction won a race (the savepoint rolled back)."""
    if not together:
        return []
    try:
        with transaction.atomic():
            plan = batch_ingest(tenant=tenant, actor=actor, items=together)
    except DatabaseError:
        return [index for index, _item in together]
    for index, item in together:
        outcome = plan.outcomes[index]
        if outcome.activity is None:
            results[index] = ItemResult(index=index, status="error", errors=outcome.errors)
            continue
        results[index] = ItemResult(index=index, status="created",
                                    activity_id=outcome.activity.id,
                                    contact_id=outcome.contact_id,
                                    contact_created=outcome.contact_created,
                                    conflicts=outcome.conflicts)
        if item.source_event_id:
            known[(item.source, item.source_event_id)] = (outcome.activity.id,
                                                          outcome.contact_id)
    audit.extend(plan.audit)
    recorded.extend(plan.activities)
    return []


def _announce(tenant: Tenant, rows: list[bulkwrite.Row]) -> None:
    """`activity_recorded` for each activity a batch wrote (after commit). The activities
    are written from plain rows; instances are made only when someone listens."""
    if not activity_recorded.has_listeners(Activity):
        return
    for row in rows:
        activity = Activity(**row)
        activity._state.adding = False
        activity_recorded.send(sender=Activity, tenant=tenant, activity=activity)


Known = tuple[Any, Any]  # (activity id, contact id) of an event recorded before


def _known_events(tenant: Tenant, items: list[_Item | None]) -> dict[tuple[str, str], Known]:
    """Activities already recorded for the batch's event ids (one query)."""
    by_source: dict[str, set[str]] = {}
    for item in items:
        if item is not None and item.source_event_id:
            by_source.setdefault(item.source, set()).add(item.source_event_id)
    if not by_source:
        return {}
    # One IN list per source (a batch rarely has more than one): a flat OR of a thousand
    # pairs would be too deep an expression for SQLite.
    condition = Q()
    for source, event_ids in by_source.items():
        condition |= Q(source=source, source_event_id__in=sorted(event_ids))
    rows = Activity.objects.filter(condition, tenant=tenant).values_list(
        "source", "source_event_id", "id", "contact_id")
    return {(source, event_id or ""): (pk, contact_id)
            for source, event_id, pk, contact_id in rows}


def _error_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {m}" if name else str(m)
                     for name, messages in errors.items() for m in messages)[:MAX_ERROR]


def _event_id_of(raw: Any, item: _Item | None) -> str:
    """The event id to log an item under, even when the item was refused."""
    if item is not None:
        return item.source_event_id or ""
    value = raw.get("source_event_id") if isinstance(raw, dict) else None
    return value.strip()[:200] if isinstance(value, str) else ""


def _write_log(tenant: Tenant, actor: Actor, source: IngestionSource | None, source_name: str,
               raws: list[Any], items: list[_Item | None], results: list[ItemResult]) -> None:
    """One log row per item; an event seen before (same source and event id) bumps the
    existing row's `attempts` instead of adding one."""
    now = timezone.now()
    status_of = {"created": IngestionStatus.PROCESSED, "duplicate": IngestionStatus.DUPLICATE,
                 "error": IngestionStatus.FAILED}
    event_ids = {e for raw, item in zip(raws, items, strict=True)
                 if (e := _event_id_of(raw, item))}
    existing: dict[str, IngestionLog | bulkwrite.Row] = {}
    if event_ids:
        for earlier in IngestionLog.objects.filter(tenant=tenant, source_name=source_name,
                                                   source_event_id__in=event_ids):
            existing.setdefault(earlier.source_event_id, earlier)
    def state(log: IngestionLog) -> tuple[Any, ...]:
        return (log.status, log.error, log.contact_id, log.activity_id)

    new_logs: list[bulkwrite.Row] = []
    changed: dict[Any, IngestionLog] = {}
    before: dict[Any, tuple[tuple[Any, ...], int]] = {}
    for raw, item, result in zip(raws, items, results, strict=True):
        event_id = _event_id_of(raw, item)
        found = existing.get(event_id) if event_id else None
        log: IngestionLog | bulkwrite.Row
        if found is not None:
            log = found
            if isinstance(log, IngestionLog):  # a row of an earlier batch, not one made above
                changed.setdefault(log.pk, log)
                before.setdefault(log.pk, (state(log), log.attempts))
        else:
            user = actor.acting_user
            log = bulkwrite.new_row(
                IngestionLog, tenant_id=tenant.pk, source_id=source.pk if source else None,
                source_name=source_name, source_event_id=event_id, attempts=0,
                payload=raw if isinstance(raw, dict) else {"item": raw},
                created_by_id=user.pk if user is not None else None, created_at=now,
                updated_at=now)
            new_logs.append(log)
            if event_id:
                existing[event_id] = log
        log.attempts += 1
        # A duplicate delivery of an event that was processed keeps the row PROCESSED.
        status = status_of[result.status]
        if not (status == IngestionStatus.DUPLICATE and log.activity_id is not None):
            log.status = status
        log.error = _error_text(result.errors)
        log.contact_id = result.contact_id or log.contact_id
        log.activity_id = result.activity_id or log.activity_id
        log.processed_at = now
    bulkwrite.bulk_insert(IngestionLog, new_logs)
    # Redeliveries mostly change nothing but the attempt count: one UPDATE per increment
    # (bulk_update's CASE per row is slow to build); the few that changed otherwise get it.
    bumps: dict[int, list[Any]] = {}
    rewrites: list[IngestionLog] = []
    for pk, log in changed.items():
        old_state, old_attempts = before[pk]
        if state(log) == old_state:
            bumps.setdefault(log.attempts - old_attempts, []).append(pk)
        else:
            rewrites.append(log)
    for increment, ids in bumps.items():
        IngestionLog.objects.filter(tenant=tenant, pk__in=ids).update(
            attempts=F("attempts") + increment, processed_at=now)
    if rewrites:
        IngestionLog.objects.bulk_update(
            rewrites, ["attempts", "status", "error", "contact", "activity", "processed_at"],
            batch_size=500,
        )


def activities_ingest(*, tenant: Tenant, actor: Actor, items: list[Any],
                      source: IngestionSource | None = None,
                      default_source: str = "api", log_failed: bool = True
                      ) -> list[ItemResult]:
    """Record each of `items` (raw dicts as received) as an activity; returns one result per
    item, in order. Needs `activities.add` (the system actor of a webhook holds every
    permission).

    Each item names its contact by `identifiers` (resolved or created with `contact_resolve`,
    `contact` giving the new contact's fields) or by `contact_id`. Items with a
    `source_event_id` already recorded for their `source` are duplicates, not errors. A bad
    item is reported with its field messages and leaves nothing behind but its log row
    (not even that with `log_failed=False`, for callers that refuse the whole request).
    Run inside `tenant_scope(tenant)`.
    """
    check_perm(actor, "activities.add")
    if len(items) > MAX_BATCH:
        raise ValidationFailed(fields={"items": [_("At most %(limit)d activities per batch.")
                                                 % {"limit": MAX_BATCH}]})
    source_name = source.name if source is not None else default_source
    default = (source.name if source is not None else default_source)[:100]
    validated: list[_Item | None] = []
    results: list[ItemResult | None] = []
    for index, raw in enumerate(items):
        try:
            checked = _validate(raw, default)
            if checked.identifiers is not None:
                checked.cleaned = identifiers_clean(tenant=tenant,
                                                    identifiers=checked.identifiers)
            validated.append(checked)
            results.append(None)
        except ValidationFailed as exc:
            validated.append(None)
            results.append(ItemResult(index=index, status="error", errors=exc.fields))
    with transaction.atomic():
        known = _known_events(tenant, validated)
        together: list[tuple[int, _Item]] = []
        repeated: list[int] = []  # the same event as an earlier item of this batch
        claimed: set[tuple[str, str]] = set()
        for index, item in enumerate(validated):
            if item is None:
                continue
            event = (item.source, item.source_event_id or "")
            seen = known.get(event)
            if seen is not None:
                results[index] = ItemResult(index=index, status="duplicate",
                                            activity_id=seen[0], contact_id=seen[1])
            elif item.source_event_id and event in claimed:
                repeated.append(index)
            else:
                claimed.add(event)
                together.append((index, item))
        audit: list[Any] = []
        recorded: list[bulkwrite.Row] = []
        alone = _ingest_together(tenant, actor, together, results, known, audit, recorded)
        for index in sorted(alone + repeated):
            item = validated[index]
            assert item is not None
            seen = known.get((item.source, item.source_event_id or ""))
            if seen is not None:
                results[index] = ItemResult(index=index, status="duplicate",
                                            activity_id=seen[0], contact_id=seen[1])
                continue
            try:
                with transaction.atomic():
                    result = _process(tenant, actor, index, item)
            except TendError as exc:
                fields = exc.fields or {"": [exc.message]}
                results[index] = ItemResult(index=index, status="error", errors=fields)
                continue
            results[index] = result
            if item.source_event_id and result.activity_id:
                known[(item.source, item.source_event_id)] = (result.activity_id,
                                                              result.contact_id)
        final = [r for r in results if r is not None]
        logged = [n for n, r in enumerate(final) if log_failed or r.status != "error"]
        _write_log(tenant, actor, source, source_name, [items[n] for n in logged],
                   [validated[n] for n in logged], [final[n] for n in logged])
        if source is not None:
            IngestionSource.objects.filter(tenant=tenant, pk=source.pk).update(
                last_received_at=timezone.now())
        # Last: the audit chain stays locked from here until the batch commits.
        audit_record_many(tenant=tenant, actor=actor, entries=audit)
        if recorded:
            transaction.on_commit(lambda: _announce(tenant, recorded))
    return final
