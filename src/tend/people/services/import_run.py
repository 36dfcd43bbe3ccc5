"""The run of a contact import: the file applied in batches (see `tend.people.services.imports`).

Each batch is one transaction that also advances `ContactImport.checkpoint`, so an import
killed midway leaves no half-applied batch and a new run resumes after the last committed one.
Within a batch the existing contacts are found with one query per kind of key (identities,
ids) and everything is written with bulk statements (`bulkwrite`: COPY on PostgreSQL).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, NotFound, ValidationFailed
from tend.core.models import Job, Tag, Tenant
from tend.core.services.audit import audit_record
from tend.core.services.jobs import job_progress
from tend.core.services.tags import tag_create
from tend.people.choices import ActivityCategory, ImportMode, ImportStatus
from tend.people.importing.ahead import read_ahead
from tend.people.importing.cells import safe_cell
from tend.people.importing.readers import Reader, open_reader
from tend.people.importing.rows import EMAIL, EXTERNAL, PHONE, ParsedRow, RowParser
from tend.people.lists import list_add
from tend.people.models import Activity, Company, Contact, ContactImport, ContactTag, IdentityAlias
from tend.people.services import bulkwrite
from tend.people.services.contacts import computed_display_name
from tend.people.signals import contacts_bulk_changed

BATCH_SIZE = 5000
ACTIVITY_TYPE = "CONTACT_IMPORTED"
COUNT_KEYS = ("created", "updated", "unchanged", "skipped", "merged", "errors")
CONTACT_ATTNAMES = [f.attname for f in Contact._meta.concrete_fields]


def open_import_file(imp: ContactImport) -> Reader:
    binary = imp.file.storage.open(str(imp.file.name), "rb")
    try:
        return open_reader(binary, format=imp.format, encoding=imp.encoding,
                           delimiter=imp.delimiter)
    except Exception:
        binary.close()
        raise




def _add_to_list(tenant: Tenant, actor: Actor, segment_id: str, contact_ids: list[str]) -> None:
    """Add a batch's contacts to the import's list (skipped if the list was deleted since)."""
    with contextlib.suppress(NotFound):
        list_add(tenant=tenant, actor=actor, list_id=segment_id, contact_ids=contact_ids,
                 source="IMPORT")




@dataclass
class _Target:
    """A contact a batch writes: new (created by this batch) or loaded from the database."""

    contact: bulkwrite.Row
    is_new: bool
    mode: str
    changed: set[str] = field(default_factory=set)
    has_primary: dict[str, bool] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    touched: bool = False


class ImportRun:
    """Applies one import's rows in batches; see the module docstring."""

    def __init__(self, *, tenant: Tenant, imp: ContactImport, job: Job | None = None,
                 batch_size: int = BATCH_SIZE,
                 after_batch: Callable[[int], None] | None = None) -> None:
        self.tenant, self.imp, self.job = tenant, imp, job
        self.batch_size = batch_size
        self.after_batch = after_batch
        self.parser = RowParser(tenant=tenant, headers=imp.headers, mapping=imp.mapping)
        self.marker = f"import:{imp.pk}"
        self.actor = Actor.system()
        self.user = imp.created_by
        self.user_id = imp.created_by_id
        self.tag_ids: dict[str, Any] = {t.name.lower(): t.pk for t in Tag.objects.filter(
            tenant=tenant)}
        self.option_tags = list(imp.tag_ids or [])
        self.counts = {k: int((imp.counts or {}).get(k, 0)) for k in COUNT_KEYS}

    # The error file: appended per batch before the batch commits; its committed length is
    # kept in options["error_bytes"], so a resumed run cuts off rows of an uncommitted batch.
    def _error_path(self) -> str:
        if not self.imp.error_file:
            name = default_storage.save(f"imports/errors/{self.tenant.pk}/{self.imp.pk}.csv",
                                        ContentFile(b""))
            self.imp.error_file.name = name
            ContactImport.objects.filter(pk=self.imp.pk).update(error_file=name)
        return default_storage.path(str(self.imp.error_file.name))

    def _write_errors(self, rows: list[ParsedRow]) -> int:
        path = self._error_path()
        offset = int((self.imp.options or {}).get("error_bytes", 0))
        with open(path, "r+b" if os.path.exists(path) else "w+b") as handle:
            handle.truncate(offset)
            handle.seek(offset)
            text = _TextSink()
            writer = csv.writer(text)
            if offset == 0:
                text.write("\ufeff")
                writer.writerow([safe_cell(h) for h in [_("row"), *self.imp.headers,
                                                        _("errors")]])
            for row in rows:
                writer.writerow([row.number, *[safe_cell(c) for c in row.cells],
                                 safe_cell("; ".join(row.errors))])
            handle.write(text.getvalue().encode("utf-8"))
            return handle.tell()

    def run(self) -> dict[str, int]:
        imp = self.imp
        if imp.total_rows is None:
            reader = open_import_file(imp)
            try:
                imp.total_rows = sum(1 for _ in reader.rows())
            finally:
                reader.close()
            ContactImport.objects.filter(pk=imp.pk).update(total_rows=imp.total_rows)
        if self.job is not None:
            job_progress(tenant=self.tenant, job=self.job, processed=imp.checkpoint,
                         total=imp.total_rows, counts=dict(self.counts))
        reader = open_import_file(imp)
        try:
            batches = read_ahead(self._parsed_batches(reader, imp.checkpoint))
            try:
                for batch_index, (parsed, end) in enumerate(batches, start=1):
                    self._apply_batch(parsed, end=end)
                    if self.job is not None:
                        job_progress(tenant=self.tenant, job=self.job, processed=end,
                                     counts=dict(self.counts))
                    if self.after_batch is not None:
                        self.after_batch(batch_index)
            finally:
                batches.close()
        finally:
            reader.close()
        return dict(self.counts)

    def _parsed_batches(self, reader: Reader, start: int) -> Iterator[tuple[list[ParsedRow],
                                                                          int]]:
        """The file's rows after row `start`, parsed, a batch at a time with its last row's
        number. Pure Python: runs in the read-ahead thread."""
        rows = itertools.islice(reader.rows(), start, None)
        number = start
        parse = self.parser.parse
        while chunk := list(itertools.islice(rows, self.batch_size)):
            parsed = [parse(number + offset, cells) for offset, cells in enumerate(chunk, 1)]
            number += len(chunk)
            yield parsed, number

    def _lookup(self, parsed: list[ParsedRow]) -> tuple[dict[tuple[str, str, str],
                                                               tuple[Any, str]], set[str]]:
        emails = {e for r in parsed for e in r.emails}
        phones = {p for r in parsed for p in r.phones}
        externals: dict[str, set[str]] = {}
        for row in parsed:
            for system, value in row.externals:
                externals.setdefault(system, set()).add(value)
        keys: list[tuple[str, str, set[str]]] = [(EMAIL, "", emails), (PHONE, "", phones)]
        keys += [(EXTERNAL, system, values) for system, values in externals.items()]
        found: dict[tuple[str, str, str], tuple[Any, str]] = {}
        if connection.vendor == "postgresql":
            # One array parameter per kind of key: thousands of `IN (%s, …)` parameters cost
            # more to build than the lookup itself.
            with connection.cursor() as cursor:
                for type, system, values in keys:
                    if not values:
                        continue
                    cursor.execute(
                        "SELECT value, contact_id, source FROM people_identityalias "
                        "WHERE tenant_id = %s AND type = %s AND system = %s AND value = ANY(%s)",
                        [self.tenant.pk, type, system, list(values)])
                    found.update({(type, system, v): (cid, src)
                                  for v, cid, src in cursor.fetchall()})
        else:
            query = Q(pk__in=[])
            for type, system, values in keys:
                if values:
                    query |= Q(type=type, system=system, value__in=values)
            found = {(t, s, v): (cid, src) for t, s, v, cid, src in IdentityAlias.objects.filter(
                query, tenant=self.tenant).values_list("type", "system", "value", "contact_id",
                                                       "source")}
        ids = {r.contact_id for r in parsed if r.contact_id}
        existing_ids = {str(pk) for pk in Contact.objects.filter(
            tenant=self.tenant, pk__in=ids, deleted_at__isnull=True).values_list("pk", flat=True)
        } if ids else set()
        return found, existing_ids

    def _apply_batch(self, parsed: list[ParsedRow], *, end: int) -> None:
        found, existing_ids = self._lookup(parsed)
        db_ids = {str(cid) for cid, _src in found.values()} | existing_ids
        # Plain rows, not model instances: a batch loads thousands and writes them back by COPY.
        loaded = {str(values["id"]): bulkwrite.Row(values) for values in Contact.objects.filter(
            tenant=self.tenant, pk__in=db_ids).values(*CONTACT_ATTNAMES)} if db_ids else {}
        targets: dict[str, _Target] = {}  # contact id → target
        pending_keys: dict[tuple[str, str, str], str] = {}  # keys claimed in this batch
        new_aliases: list[bulkwrite.Row] = []
        activities: list[bulkwrite.Row] = []
        batch_counts = dict.fromkeys(COUNT_KEYS, 0)
        error_rows: list[ParsedRow] = []
        self.new_companies: list[Company] = []
        companies = self._companies({r.company for r in parsed if r.company and not r.errors})
        for row in parsed:
            if not row.errors:
                self._place(row, found, existing_ids, loaded, targets, pending_keys, new_aliases,
                            batch_counts, companies)
            if row.errors:
                batch_counts["errors"] += 1
                error_rows.append(row)
        now = timezone.now()
        new_contacts = [t.contact for t in targets.values() if t.is_new]
        updated = [t for t in targets.values() if not t.is_new and t.changed]
        title = _("Imported from %(name)s") % {"name": self.imp.original_name[:200]}
        actor_label = str(_("Import"))
        import_id = str(self.imp.pk)
        # Two possible metadata documents: serialized once, not once per activity.
        metadata = {is_new: bulkwrite.RawJSON(json.dumps({"import_id": import_id,
                                                          "created": is_new}))
                    for is_new in (True, False)}
        category = str(ActivityCategory.SYSTEM.value)
        touched = ("last_activity_at", "last_activity_type", "activity_count_30d",
                   "activity_count_90d")
        for target in targets.values():
            if target.is_new or target.changed:
                contact = target.contact
                contact["last_activity_at"] = now
                contact["last_activity_type"] = ACTIVITY_TYPE
                contact["activity_count_30d"] += 1
                contact["activity_count_90d"] += 1
                target.changed.update(touched)
                activities.append(bulkwrite.new_row(
                    Activity, tenant_id=self.tenant.pk, contact_id=contact["id"],
                    type=ACTIVITY_TYPE, category=category, title=title,
                    metadata=metadata[target.is_new], source="import", source_id=import_id,
                    occurred_at=now, processed_at=now, actor_label=actor_label,
                    related_type="people.contactimport", related_id=import_id,
                    created_by_id=self.user_id,
                ))
        tag_links = self._tag_links(targets)
        for key in COUNT_KEYS:
            self.counts[key] += batch_counts[key]
        with transaction.atomic():
            offset = self._write_errors(error_rows) if error_rows else None
            objs: Iterable[Any] = itertools.chain(self.new_companies, new_contacts,
                                                  new_aliases, tag_links, activities)
            for obj in objs:
                obj.created_at = obj.updated_at = now
            bulkwrite.bulk_insert(Company, self.new_companies)
            bulkwrite.bulk_insert(Contact, new_contacts)
            if updated:
                fields = sorted(set().union(*(t.changed for t in updated)) | {"updated_at"})
                for target in updated:
                    target.contact["updated_at"] = now
                bulkwrite.bulk_update(Contact, [t.contact for t in updated], fields)
            bulkwrite.bulk_insert(IdentityAlias, new_aliases)
            bulkwrite.bulk_insert(ContactTag, tag_links, ignore_conflicts=True)
            bulkwrite.bulk_insert(Activity, activities)
            list_id = (self.imp.options or {}).get("segment_id")
            if list_id and targets:
                _add_to_list(self.tenant, self.actor, list_id, list(targets))
            options = dict(self.imp.options or {})
            if offset is not None:
                options["error_bytes"] = offset
            moved = ContactImport.objects.filter(
                tenant=self.tenant, pk=self.imp.pk, checkpoint=self.imp.checkpoint
            ).update(checkpoint=end, counts=dict(self.counts), options=options, updated_at=now)
            if not moved:
                raise Conflict(_("Another run of this import moved on; this one stops."))
        self.imp.checkpoint = end
        self.imp.counts = dict(self.counts)
        self.imp.options = options

    def _companies(self, names: set[str]) -> dict[str, Company]:
        if not names:
            return {}
        by_name = {c.name.lower(): c for c in Company.objects.filter(tenant=self.tenant,
                                                                     name__in=names)}
        missing = {n.lower(): n for n in sorted(names) if n.lower() not in by_name}
        for lower, name in missing.items():
            # Saved with the batch (see `new_companies`), so a failed batch leaves none behind.
            by_name[lower] = Company(tenant=self.tenant, name=name, created_by=self.user)
            self.new_companies.append(by_name[lower])
        return {n: by_name[n.lower()] for n in names}

    def _tag_links(self, targets: dict[str, _Target]) -> list[bulkwrite.Row]:
        names = {n for t in targets.values() for n in t.tags}
        for name in sorted(names):
            if name.lower() not in self.tag_ids:
                try:
                    tag = tag_create(tenant=self.tenant, actor=self.actor, name=name)
                    self.tag_ids[name.lower()] = tag.pk
                except ValidationFailed:
                    # Differs only in punctuation from an existing tag: use that one.
                    from django.utils.text import slugify

                    tag_match = Tag.objects.filter(
                        tenant=self.tenant, slug=slugify(name, allow_unicode=True)).first()
                    if tag_match is not None:
                        self.tag_ids[name.lower()] = tag_match.pk
        links: list[bulkwrite.Row] = []
        for target in targets.values():
            if not target.touched:
                continue
            tag_ids = {self.tag_ids[n.lower()] for n in target.tags if n.lower() in self.tag_ids}
            tag_ids |= set(self.option_tags)
            links += [bulkwrite.new_row(ContactTag, tenant_id=self.tenant.pk,
                                        contact_id=target.contact["id"], tag_id=tag_id,
                                        created_by_id=self.user_id)
                      for tag_id in sorted(tag_ids, key=str)]
        return links

    def _place(self, row: ParsedRow, found: dict[tuple[str, str, str], tuple[Any, str]],
               existing_ids: set[str], loaded: dict[str, bulkwrite.Row],
               targets: dict[str, _Target], pending_keys: dict[tuple[str, str, str], str],
               new_aliases: list[bulkwrite.Row], counts: dict[str, int],
               companies: dict[str, Company]) -> None:
        keys = row.identity_keys()
        matches: set[str] = set()
        duplicate = False
        for key in keys:
            if key in pending_keys:
                matches.add(pending_keys[key])
                duplicate = True
            elif key in found:
                contact_id, source = found[key]
                matches.add(str(contact_id))
                duplicate |= source == self.marker
        if row.contact_id:
            if row.contact_id not in existing_ids and row.contact_id not in targets:
                row.errors.append(_("id: there is no contact with this id."))
                return
            matches.add(row.contact_id)
        if len(matches) > 1:
            row.errors.append(_("The row's identities belong to different contacts."))
            return
        if matches:
            contact_id = matches.pop()
            target = targets.get(contact_id)
            if target is not None:
                duplicate = True
            elif contact_id not in loaded:  # the contact went away since the lookup
                row.errors.append(_("id: there is no contact with this id."))
                return
            if not duplicate and self.imp.mode == ImportMode.SKIP:
                counts["skipped"] += 1
                return
            if target is None:
                target = _Target(contact=loaded[contact_id], is_new=False, mode=self.imp.mode)
                targets[contact_id] = target
            mode: str = self.imp.mode
            if duplicate:
                counts["merged"] += 1
                mode = ImportMode.FILL_BLANKS
            before = set(target.changed)
            added = self._fill(target, row, mode, companies, pending_keys, found, new_aliases)
            target.touched = True
            if not duplicate:
                counts["updated" if (target.changed - before or added) else "unchanged"] += 1
            return
        missing = [key for key in self.parser.required_custom
                   if row.custom.get(key) in (None, "", [])]
        if missing:
            message = _("required for a new contact.")
            row.errors.extend(f"{key}: {message}" for key in missing)
            return
        contact = bulkwrite.new_row(Contact, tenant_id=self.tenant.pk, created_by_id=self.user_id,
                                    updated_by_id=self.user_id,
                                    source=(self.imp.options or {}).get("source") or "import")
        target = _Target(contact=contact, is_new=True, mode=ImportMode.UPDATE, touched=True)
        targets[str(contact["id"])] = target
        self._fill(target, row, ImportMode.UPDATE, companies, pending_keys, found, new_aliases)
        counts["created"] += 1

    def _fill(self, target: _Target, row: ParsedRow, mode: str, companies: dict[str, Company],
              pending_keys: dict[tuple[str, str, str], str],
              found: dict[tuple[str, str, str], tuple[Any, str]],
              new_aliases: list[bulkwrite.Row]) -> bool:
        contact = target.contact

        fill_blanks = mode == ImportMode.FILL_BLANKS
        for name, value in row.fields.items():
            if value is None or value == "":
                continue
            current = contact[name]
            if current == value or (fill_blanks and current is not None and current != ""):
                continue
            contact[name] = value
            target.changed.add(name)
        if "display_name" in row.fields and "display_name" in target.changed:
            contact["display_name_custom"] = True
            target.changed.add("display_name_custom")
        if row.company:
            company = companies[row.company]
            if contact["company_id"] != company.pk and (
                    mode != ImportMode.FILL_BLANKS or contact["company_id"] is None):
                contact["company_id"] = company.pk
                target.changed.add("company")
        if row.custom:
            merged = dict(contact["custom"] or {})
            for key, value in row.custom.items():
                if mode == ImportMode.FILL_BLANKS and merged.get(key) not in (None, "", []):
                    continue
                merged[key] = value
            if merged != contact["custom"]:
                contact["custom"] = merged
                target.changed.add("custom")
        if row.externals:
            external_ids = dict(contact["external_ids"] or {})
            for system, value in row.externals:
                if mode != ImportMode.FILL_BLANKS or system not in external_ids:
                    external_ids[system] = value
            if external_ids != contact["external_ids"]:
                contact["external_ids"] = external_ids
                target.changed.add("external_ids")
        added = False
        for identity in row.identity_keys():
            if identity in found or identity in pending_keys:
                continue
            type, system, value = identity
            primary = False
            if type == EMAIL and not contact["primary_email"]:
                contact["primary_email"], primary = value, True
                target.changed.add("primary_email")
            elif type == PHONE and not contact["primary_phone"]:
                contact["primary_phone"], primary = value, True
                target.changed.add("primary_phone")
            new_aliases.append(bulkwrite.new_row(
                IdentityAlias, tenant_id=self.tenant.pk, contact_id=contact["id"], type=type,
                system=system, value=value, is_primary=primary, source=self.marker,
                created_by_id=self.user_id))
            pending_keys[identity] = str(contact["id"])
            added = True
        if not contact["display_name_custom"]:
            name = computed_display_name(contact["first_name"], contact["last_name"])
            if name != contact["display_name"]:
                contact["display_name"] = name
                target.changed.add("display_name")
        target.tags.update(row.tags)
        if target.is_new:
            target.changed.clear()
        return added


class _TextSink:
    """A write-only text buffer for csv.writer."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


def contact_import_run(*, tenant: Tenant, imp: ContactImport, job: Job | None = None,
                       batch_size: int = BATCH_SIZE,
                       after_batch: Callable[[int], None] | None = None) -> dict[str, int]:
    """Apply an import's rows from its checkpoint to the end; returns the counts.

    Run inside the tenant's scope (the import job does). Each batch of `batch_size` rows is one
    transaction that also advances the checkpoint; an exception (a crash) leaves the import at
    the last whole batch, and running again continues from there. Ends the import as
    SUCCEEDED with one audit entry holding the counts. `after_batch(n)` is called after each
    committed batch (tests use it to stop a run midway).
    """
    runner = ImportRun(tenant=tenant, imp=imp, job=job, batch_size=batch_size,
                       after_batch=after_batch)
    try:
        counts = runner.run()
    except Exception:
        ContactImport.objects.filter(tenant=tenant, pk=imp.pk).update(
            status=ImportStatus.FAILED, updated_at=timezone.now())
        imp.status = ImportStatus.FAILED
        _announce(tenant, runner.counts)  # the batches that committed did change contacts
        raise
    _announce(tenant, counts)
    with transaction.atomic():
        ContactImport.objects.filter(tenant=tenant, pk=imp.pk).update(
            status=ImportStatus.SUCCEEDED, updated_at=timezone.now())
        imp.status = ImportStatus.SUCCEEDED
        audit_record(tenant=tenant, actor=Actor.system(), action="contact_import.finished",
                     entity_type="contact_import", entity_id=imp.pk,
                     changes={**counts, "rows": imp.total_rows or 0})
    return counts


def _announce(tenant: Tenant, counts: dict[str, int]) -> None:
    """Tell other modules (after commit) that many contacts changed, once per run."""
    touched = counts.get("created", 0) + counts.get("updated", 0) + counts.get("merged", 0)
    if touched:
        transaction.on_commit(lambda: contacts_bulk_changed.send(
            sender=ContactImport, tenant=tenant, reason="import", count=touched))


def run_import_job(*, tenant: Tenant, job: Job) -> dict[str, Any]:
    """The `people.import` job kind: run the import named in the job's params."""
    imp = ContactImport.objects.filter(tenant=tenant, pk=job.params.get("import_id")).first()
    if imp is None:
        raise ValidationFailed(fields={"import_id": [_("This import no longer exists.")]})
    return contact_import_run(tenant=tenant, imp=imp, job=job)
