"""Contact imports: upload → mapping → preview → run (a background job) → report.

The run streams the file and applies it in batches of `BATCH_SIZE` rows. Each batch is one
transaction that also advances `ContactImport.checkpoint`, so an import killed midway leaves
no half-applied batch and a new run resumes after the last committed one. Within a batch the
existing contacts are found with one query per kind of key (identities, ids) and written with
bulk statements (`bulk_create` for new contacts, identities, tags and activities,
`bulk_update` for changed contacts).

Rows that cannot be imported are counted as errors and written, with their original cells and
an `errors` column, to the import's error CSV.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import available_timezones

import phonenumbers
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, NotFound, ValidationFailed
from tend.core.models import CustomFieldDefinition, Job, Tag, Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.audit import audit_record
from tend.core.services.customfields import custom_values_validate
from tend.core.services.guards import check_perm
from tend.core.services.jobs import job_create, job_progress
from tend.core.services.tags import tag_create
from tend.people.choices import (
    ActivityCategory,
    AliasType,
    Gender,
    ImportMode,
    ImportStatus,
    LifecycleStage,
)
from tend.people.identities import normalize_alias
from tend.people.importing.mapping import (
    CONTACT_FIELDS,
    CUSTOM_RE,
    EXTERNAL_RE,
    auto_map,
    is_valid_target,
)
from tend.people.importing.readers import SNIFF_BYTES, Reader, detect_format, open_reader
from tend.people.models import (
    Activity,
    Company,
    Contact,
    ContactImport,
    ContactTag,
    IdentityAlias,
)
from tend.people.services import bulkwrite
from tend.people.services.contacts import computed_display_name

BATCH_SIZE = 1000
PREVIEW_ROWS = 20
IMPORT_JOB_KIND = "people.import"
ACTIVITY_TYPE = "CONTACT_IMPORTED"
MULTI_SPLIT = re.compile(r"\s*(?:;|:::)\s*")
TAG_SPLIT = re.compile(r"\s*(?:,|;|:::)\s*")
SINGLE_TARGETS = set(CONTACT_FIELDS) | {"company", "id"}
IDENTITY_TARGETS = {"email", "phone", "id", "first_name", "last_name", "display_name"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d", "%d %B %Y",
                "%B %d, %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
GENDERS = {"f": Gender.FEMALE, "female": Gender.FEMALE, "woman": Gender.FEMALE,
           "m": Gender.MALE, "male": Gender.MALE, "man": Gender.MALE,
           "other": Gender.OTHER, "non-binary": Gender.OTHER, "nonbinary": Gender.OTHER,
           "undisclosed": Gender.UNDISCLOSED, "prefer not to say": Gender.UNDISCLOSED}
# HubSpot's and other tools' stage names, lower-cased without spaces.
LIFECYCLE_ALIASES = {
    "marketingqualifiedlead": LifecycleStage.LEAD, "salesqualifiedlead": LifecycleStage.LEAD,
    "mql": LifecycleStage.LEAD, "sql": LifecycleStage.LEAD,
    "opportunity": LifecycleStage.PROSPECT, "evangelist": LifecycleStage.ADVOCATE,
    "former customer": LifecycleStage.CHURNED, "formercustomer": LifecycleStage.CHURNED,
}
# Cells a spreadsheet would run as a formula (see `safe_cell`).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST = frozenset("=+-@\t\r")
# Plain strings (not the enum members) for the keys built for every row.
EMAIL, PHONE, EXTERNAL = str(AliasType.EMAIL.value), str(AliasType.PHONE.value), str(
    AliasType.EXTERNAL.value)
COUNT_KEYS = ("created", "updated", "unchanged", "skipped", "merged", "errors")


def max_upload_bytes() -> int:
    return int(getattr(settings, "TEND_IMPORT_MAX_BYTES", 200 * 1024 * 1024))


def safe_cell(value: Any) -> str:
    """A cell for a CSV/XLSX file people open in a spreadsheet: text starting like a formula
    (`= + - @`, tab, CR) gets a leading `'` so it is shown, not run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


# --- upload, mapping, preview, start ---------------------------------------------------------


def contact_import_create(*, tenant: Tenant, actor: Actor, file: UploadedFile) -> ContactImport:
    """Store an uploaded contacts file and read its header row.

    Needs `contacts.add`. Refuses (ValidationFailed on `file`) files over the size limit
    (`TEND_IMPORT_MAX_BYTES`, 200 MB by default), empty ones and files that are not CSV, XLSX or
    vCard (detected from the content first, then the extension). The columns are auto-mapped:
    known exports (HubSpot, Mailchimp, Google Contacts, ours) by their presets, others by
    fuzzy-matching the headers.
    """
    check_perm(actor, "contacts.add")
    name = os.path.basename(file.name or "contacts.csv")[:255]
    if file.size is not None and file.size > max_upload_bytes():
        raise ValidationFailed(fields={"file": [
            _("The file is larger than %(size)d MB.") % {"size": max_upload_bytes() // 2**20}]})
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    format = detect_format(name, head)
    reader = open_reader(file, format=format)
    try:
        headers = reader.headers
        # Reading the first row proves the body parses too (a broken zip, a bad vCard).
        next(reader.rows(), None)
    finally:
        reader.release()
    file.seek(0)
    definitions = custom_definitions(tenant=tenant, entity_type="contact", active_only=True)
    preset, mapping = auto_map(headers, definitions)
    with transaction.atomic():
        imp = ContactImport(
            tenant=tenant, original_name=name, format=format, encoding=reader.encoding,
            delimiter=reader.delimiter, detected_preset=preset, headers=headers,
            mapping=mapping, created_by=actor.acting_user, updated_by=actor.acting_user,
        )
        imp.file.save(f"{tenant.pk}/{imp.pk}.{format}", file, save=False)
        imp.save()
        audit_record(tenant=tenant, actor=actor, action="contact_import.created",
                     entity_type="contact_import", entity_id=imp.pk,
                     changes={"format": format, "preset": preset, "columns": len(headers)})
    return imp


def _clean_mapping(imp: ContactImport, mapping: Any,
                   definitions: list[CustomFieldDefinition]) -> dict[str, str]:
    if not isinstance(mapping, dict):
        raise ValidationFailed(fields={"mapping": [_("Give the mapping as column: target.")]})
    custom_keys = {d.key for d in definitions}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column, target in mapping.items():
        target = (target or "").strip() if isinstance(target, str) else target
        if column not in imp.headers:
            errors[f"mapping.{column}"] = [_("The file has no such column.")]
            continue
        if not target:
            continue
        if not isinstance(target, str) or not is_valid_target(target, custom_keys):
            errors[f"mapping.{column}"] = [_("Choose a field to import this column into.")]
            continue
        if target in SINGLE_TARGETS and target in seen:
            errors[f"mapping.{column}"] = [
                _("Column “%(other)s” already goes into this field.") % {"other": seen[target]}]
            continue
        seen[target] = column
        cleaned[column] = target
    if not errors and not (set(cleaned.values()) & IDENTITY_TARGETS
                           or any(EXTERNAL_RE.match(t) for t in cleaned.values())):
        errors["mapping"] = [_("Map at least a name, an email, a phone or an id column.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return cleaned


def contact_import_configure(*, tenant: Tenant, actor: Actor, imp: ContactImport,
                             mapping: dict[str, str] | None = None, mode: str | None = None,
                             tag_ids: Iterable[Any] | None = None,
                             segment_id: str | None = None) -> ContactImport:
    """Set the column mapping and/or the options (mode for existing contacts, tags to apply,
    a static list to add every imported contact to: `segment_id`, "" for none).

    Needs `contacts.add`. Only before the import runs (status UPLOADED or MAPPED; otherwise
    Conflict). Targets are checked (see `tend.people.importing.mapping`); one-column fields
    may be given once; tags must be this organization's.
    """
    check_perm(actor, "contacts.add")
    if imp.status not in (ImportStatus.UPLOADED, ImportStatus.MAPPED):
        raise Conflict(_("This import has already started."))
    changes: dict[str, Any] = {}
    if mapping is not None:
        definitions = custom_definitions(tenant=tenant, entity_type="contact")
        imp.mapping = _clean_mapping(imp, mapping, definitions)
        changes["columns"] = len(imp.mapping)
    if mode is not None:
        if mode not in ImportMode.values:
            raise ValidationFailed(fields={"mode": [_("Choose how to treat existing contacts.")]})
        imp.mode = mode
        changes["mode"] = mode
    if tag_ids is not None:
        wanted = [str(t) for t in tag_ids]
        valid = [t for t in wanted if _is_uuid(t)]
        found = {str(pk) for pk in Tag.objects.filter(tenant=tenant, pk__in=valid)
                 .values_list("pk", flat=True)}
        if len(found) != len(set(wanted)):
            raise ValidationFailed(fields={"tag_ids": [_("Choose tags of this organization.")]})
        imp.tag_ids = sorted(found)
        changes["tags"] = len(found)
    if segment_id is not None:
        imp.options = {**(imp.options or {}), "segment_id": _import_list(tenant, segment_id)}
        changes["list"] = bool(imp.options["segment_id"])
    if mapping is None and not imp.mapping:
        raise ValidationFailed(fields={"mapping": [_("Map the columns first.")]})
    _clean_mapping(imp, imp.mapping, custom_definitions(tenant=tenant, entity_type="contact"))
    imp.status = ImportStatus.MAPPED
    imp.updated_by = actor.acting_user
    with transaction.atomic():
        imp.save(update_fields=["mapping", "mode", "tag_ids", "options", "status",
                                "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="contact_import.configured",
                     entity_type="contact_import", entity_id=imp.pk, changes=changes)
    return imp


def _import_list(tenant: Tenant, segment_id: str) -> str:
    """The id of a static list of `tenant` (marketing's segments), or "" for none."""
    if not segment_id:
        return ""
    from tend.marketing.selectors.segments import static_segment_choices

    if segment_id not in {pk for pk, _name in static_segment_choices(tenant=tenant)}:
        raise ValidationFailed(fields={"segment_id": [_("Choose a list of this organization.")]})
    return segment_id


def _add_to_list(tenant: Tenant, actor: Actor, segment_id: str, contact_ids: list[str]) -> None:
    """Add a batch's contacts to the import's list (skipped if the list was deleted since)."""
    from tend.marketing.selectors.segments import segment_get
    from tend.marketing.services.membership import segment_add_members

    try:
        segment = segment_get(tenant=tenant, segment_id=segment_id)
    except NotFound:
        return
    segment_add_members(tenant=tenant, actor=actor, segment=segment, contact_ids=contact_ids,
                        source="IMPORT")


_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63})$")
# Domains email_validator refuses (special-use names): left to it.
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def fast_email(value: str) -> str | None:
    """The normalized form of a plain ASCII address (what `normalize_email` gives for it), or
    None when the address needs the full check (non-ASCII, quoted, odd domains, too long).
    Most addresses in a file are plain, and the full check is the slowest step of a row."""
    if len(value) > 254:
        return None
    match = _PLAIN_EMAIL.match(value)
    if match is None or match.group(1).lower() in _SPECIAL_TLDS:
        return None
    local = value.partition("@")[0]
    if len(local) > 64:
        return None
    return value.lower()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass
class ParsedRow:
    """One file row read into contact terms (already normalized and validated)."""

    number: int
    cells: list[str]
    fields: dict[str, Any] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    externals: list[tuple[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    company: str = ""
    custom: dict[str, Any] = field(default_factory=dict)
    contact_id: str = ""
    errors: list[str] = field(default_factory=list)

    def identity_keys(self) -> list[tuple[str, str, str]]:
        return ([(EMAIL, "", e) for e in self.emails] + [(PHONE, "", p) for p in self.phones]
                + [(EXTERNAL, s, v) for s, v in self.externals])


_country_names: dict[str, str] = {}


def _country_code(value: str) -> str | None:
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    if not _country_names:
        from phonenumbers.geocoder import _region_display_name

        for region in phonenumbers.SUPPORTED_REGIONS:
            name = _region_display_name(region, "en")
            if name:
                _country_names[name.lower()] = region
        _country_names.update({"usa": "US", "united states of america": "US", "uk": "GB",
                               "england": "GB", "great britain": "GB", "uae": "AE"})
    return _country_names.get(text.lower())


def _parse_date(value: str) -> date | None:
    text = value.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


_time_zones: set[str] = set()


class RowParser:
    """Reads rows of one import: cells → `ParsedRow`, collecting per-row errors."""

    def __init__(self, *, tenant: Tenant, headers: list[str], mapping: dict[str, str]) -> None:
        self.region = tenant.region or "US"
        self.tenant = tenant
        self.columns = [(i, mapping[h]) for i, h in enumerate(headers) if mapping.get(h)]
        self.definitions = custom_definitions(tenant=tenant, entity_type="contact")
        self.max_lengths = {name: getattr(Contact._meta.get_field(name), "max_length", None)
                            for name in CONTACT_FIELDS if name != "date_of_birth"}

    def parse(self, number: int, cells: list[str]) -> ParsedRow:
        row = ParsedRow(number=number, cells=cells)
        custom_raw: dict[str, Any] = {}
        for index, target in self.columns:
            value = (cells[index] if index < len(cells) else "").strip()
            if not value:
                continue
            if value[0] == "'" and value[1:2] and value[1] in FORMULA_FIRST:
                value = value[1:]  # escaped by a spreadsheet export (ours too): take it back
            if target == "email":
                for part in MULTI_SPLIT.split(value):
                    self._identity(row, EMAIL, part, row.emails)
            elif target == "phone":
                for part in MULTI_SPLIT.split(value):
                    self._identity(row, PHONE, part, row.phones)
            elif target == "tags":
                for name in TAG_SPLIT.split(value):
                    name = name.strip().strip('"').strip()
                    if name and name != "* myContacts" and name not in row.tags:
                        row.tags.append(name[:100])
            elif target == "company":
                row.company = value[:200]
            elif target == "id":
                row.contact_id = value
            elif match := EXTERNAL_RE.match(target):
                row.externals.append((match.group(1), value[:254]))
            elif match := CUSTOM_RE.match(target):
                custom_raw[match.group(1)] = value
            else:
                self._field(row, target, value)
        if custom_raw:
            try:
                cleaned = custom_values_validate(tenant=self.tenant, entity_type="contact",
                                                 values=custom_raw, partial=True,
                                                 definitions=self.definitions)
                row.custom = {k: v for k, v in cleaned.items() if v is not None}
            except ValidationFailed as exc:
                for name, messages in exc.fields.items():
                    row.errors.extend(f"{name}: {m}" for m in messages)
        if row.contact_id:
            try:
                row.contact_id = str(uuid.UUID(row.contact_id))
            except ValueError:
                row.errors.append(_("id: not a Tend contact id."))
        named = any(row.fields.get(f) for f in ("first_name", "last_name", "display_name"))
        if not row.errors and not (row.identity_keys() or row.contact_id or named):
            row.errors.append(_("The row has no name, email, phone or id."))
        return row

    def _identity(self, row: ParsedRow, type: str, value: str, into: list[str]) -> None:
        if not value:
            return
        try:
            normalized = (fast_email(value) if type == EMAIL else None) or (
                normalize_alias(type, value, region=self.region))
        except ValidationFailed:
            label = _("email") if type == EMAIL else _("phone")
            row.errors.append(_("%(field)s: “%(value)s” is not valid.")
                              % {"field": label, "value": value[:100]})
            return
        if normalized not in into:
            into.append(normalized)

    def _field(self, row: ParsedRow, target: str, value: str) -> None:
        error = None
        if target == "date_of_birth":
            parsed = _parse_date(value)
            if parsed is None:
                if value.startswith("--"):
                    return  # a birthday without a year (vCard, Google): nothing to store
                error = _("not a date (use YYYY-MM-DD).")
            row.fields[target] = parsed
        elif target == "gender":
            gender = GENDERS.get(value.lower()) or (value.upper() if value.upper()
                                                     in Gender.values else None)
            if gender is None:
                error = _("unknown gender.")
            row.fields[target] = gender
        elif target == "lifecycle_stage":
            key = value.strip().lower().replace(" ", "").replace("_", "")
            stage = LIFECYCLE_ALIASES.get(key) or next(
                (s for s in LifecycleStage.values if s.lower() == key), None)
            if stage is None:
                if key == "other":
                    return
                error = _("unknown lifecycle stage.")
            row.fields[target] = stage
        elif target == "country":
            code = _country_code(value)
            if code is None:
                error = _("unknown country (use a two-letter code).")
            row.fields[target] = code
        elif target == "time_zone":
            if not _time_zones:
                _time_zones.update(available_timezones())
            if value not in _time_zones:
                error = _("unknown time zone.")
            row.fields[target] = value
        else:
            limit = self.max_lengths.get(target) or 200
            if len(value) > limit:
                error = _("at most %(limit)d characters.") % {"limit": limit}
            row.fields[target] = value
        if error:
            row.errors.append(f"{CONTACT_FIELDS[target]}: {error}")
            row.fields.pop(target, None)


def _open(imp: ContactImport) -> Reader:
    binary = imp.file.storage.open(str(imp.file.name), "rb")
    try:
        return open_reader(binary, format=imp.format, encoding=imp.encoding,
                           delimiter=imp.delimiter)
    except Exception:
        binary.close()
        raise


def contact_import_preview(*, tenant: Tenant, imp: ContactImport,
                           rows: int = PREVIEW_ROWS) -> list[ParsedRow]:
    """The first `rows` rows read with the current mapping, each with its errors.
    Reads only; run inside the tenant's scope."""
    parser = RowParser(tenant=tenant, headers=imp.headers, mapping=imp.mapping or {})
    reader = _open(imp)
    try:
        return [parser.parse(n, cells)
                for n, cells in enumerate(itertools.islice(reader.rows(), rows), start=1)]
    finally:
        reader.close()


def contact_import_start(*, tenant: Tenant, actor: Actor, imp: ContactImport) -> Job:
    """Queue the run of a mapped import as a background job; returns the job.

    Needs `contacts.add`. A MAPPED import starts from the top; a FAILED one (an error stopped
    it), or a RUNNING one whose job has ended (its worker died), resumes after its checkpoint.
    Anything else is a Conflict.
    """
    check_perm(actor, "contacts.add")
    with transaction.atomic():
        locked = (ContactImport.objects.select_for_update(of=("self",))
                  .select_related("job").get(tenant=tenant, pk=imp.pk))
        # A RUNNING import whose job ended (its worker died and the job was failed as stale,
        # or someone cancelled it) stopped midway: it may resume like a FAILED one.
        stopped = (locked.status == ImportStatus.RUNNING and locked.job is not None
                   and locked.job.is_finished)
        if locked.status not in (ImportStatus.MAPPED, ImportStatus.FAILED) and not stopped:
            raise Conflict(_("This import cannot be started now."))
        job = job_create(tenant=tenant, actor=actor, kind=IMPORT_JOB_KIND,
                         title=_("Import of %(name)s") % {"name": imp.original_name[:150]},
                         params={"import_id": str(imp.pk)}, total=imp.total_rows)
        imp.job = job
        imp.status = ImportStatus.RUNNING
        imp.save(update_fields=["job", "status", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="contact_import.started",
                     entity_type="contact_import", entity_id=imp.pk,
                     changes={"job": str(job.pk), "from_row": imp.checkpoint})
    return job


# --- the run ------------------------------------------------------------------------------------


@dataclass
class _Target:
    """A contact a batch writes: new (created by this batch) or loaded from the database."""

    contact: Contact
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
            reader = _open(imp)
            try:
                imp.total_rows = sum(1 for _ in reader.rows())
            finally:
                reader.close()
            ContactImport.objects.filter(pk=imp.pk).update(total_rows=imp.total_rows)
        if self.job is not None:
            job_progress(tenant=self.tenant, job=self.job, processed=imp.checkpoint,
                         total=imp.total_rows, counts=dict(self.counts))
        reader = _open(imp)
        try:
            rows = itertools.islice(reader.rows(), imp.checkpoint, None)
            number = imp.checkpoint
            batch_index = 0
            while True:
                chunk = list(itertools.islice(rows, self.batch_size))
                if not chunk:
                    break
                parsed = []
                for cells in chunk:
                    number += 1
                    parsed.append(self.parser.parse(number, cells))
                self._apply_batch(parsed, end=number)
                batch_index += 1
                if self.job is not None:
                    job_progress(tenant=self.tenant, job=self.job, processed=number,
                                 counts=dict(self.counts))
                if self.after_batch is not None:
                    self.after_batch(batch_index)
        finally:
            reader.close()
        return dict(self.counts)

    def _lookup(self, parsed: list[ParsedRow]) -> tuple[dict[tuple[str, str, str],
                                                               tuple[Any, str]], set[str]]:
        emails = {e for r in parsed for e in r.emails}
        phones = {p for r in parsed for p in r.phones}
        externals: dict[str, set[str]] = {}
        for row in parsed:
            for system, value in row.externals:
                externals.setdefault(system, set()).add(value)
        query = Q(pk__in=[])
        if emails:
            query |= Q(type=AliasType.EMAIL, system="", value__in=emails)
        if phones:
            query |= Q(type=AliasType.PHONE, system="", value__in=phones)
        for system, values in externals.items():
            query |= Q(type=AliasType.EXTERNAL, system=system, value__in=values)
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
        loaded = {str(c.pk): c for c in Contact.objects.filter(tenant=self.tenant, pk__in=db_ids)}
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
        for target in targets.values():
            if target.is_new or target.changed:
                contact = target.contact
                contact.last_activity_at = now
                contact.last_activity_type = ACTIVITY_TYPE
                contact.activity_count_30d += 1
                contact.activity_count_90d += 1
                target.changed |= {"last_activity_at", "last_activity_type",
                                   "activity_count_30d", "activity_count_90d"}
                activities.append(bulkwrite.new_row(
                    Activity, tenant_id=self.tenant.pk, contact_id=contact.pk,
                    type=ACTIVITY_TYPE, category=str(ActivityCategory.SYSTEM.value),
                    title=title, metadata={"import_id": str(self.imp.pk),
                                           "created": target.is_new}, source="import",
                    source_id=str(self.imp.pk), occurred_at=now, processed_at=now,
                    actor_label=actor_label, related_type="people.contactimport",
                    related_id=str(self.imp.pk), created_by_id=self.user_id,
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
                    target.contact.updated_at = now
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
                                        contact_id=target.contact.pk, tag_id=tag_id,
                                        created_by_id=self.user_id)
                      for tag_id in sorted(tag_ids, key=str)]
        return links

    def _place(self, row: ParsedRow, found: dict[tuple[str, str, str], tuple[Any, str]],
               existing_ids: set[str], loaded: dict[str, Contact],
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
        contact = Contact(tenant=self.tenant, created_by=self.user, updated_by=self.user,
                          source=(self.imp.options or {}).get("source") or "import")
        target = _Target(contact=contact, is_new=True, mode=ImportMode.UPDATE, touched=True)
        targets[str(contact.pk)] = target
        self._fill(target, row, ImportMode.UPDATE, companies, pending_keys, found, new_aliases)
        counts["created"] += 1

    def _fill(self, target: _Target, row: ParsedRow, mode: str, companies: dict[str, Company],
              pending_keys: dict[tuple[str, str, str], str],
              found: dict[tuple[str, str, str], tuple[Any, str]],
              new_aliases: list[bulkwrite.Row]) -> bool:
        contact = target.contact

        def put(name: str, value: Any) -> None:
            current = getattr(contact, name)
            if value in (None, "") or current == value:
                return
            if mode == ImportMode.FILL_BLANKS and current not in (None, ""):
                return
            setattr(contact, name, value)
            target.changed.add(name)

        for name, value in row.fields.items():
            put(name, value)
        if "display_name" in row.fields and "display_name" in target.changed:
            contact.display_name_custom = True
            target.changed.add("display_name_custom")
        if row.company:
            company = companies[row.company]
            if contact.company_id != company.pk and (
                    mode != ImportMode.FILL_BLANKS or contact.company_id is None):
                contact.company = company
                target.changed.add("company")
        if row.custom:
            merged = dict(contact.custom or {})
            for key, value in row.custom.items():
                if mode == ImportMode.FILL_BLANKS and merged.get(key) not in (None, "", []):
                    continue
                merged[key] = value
            if merged != contact.custom:
                contact.custom = merged
                target.changed.add("custom")
        if row.externals:
            external_ids = dict(contact.external_ids or {})
            for system, value in row.externals:
                if mode != ImportMode.FILL_BLANKS or system not in external_ids:
                    external_ids[system] = value
            if external_ids != contact.external_ids:
                contact.external_ids = external_ids
                target.changed.add("external_ids")
        added = False
        for identity in row.identity_keys():
            if identity in found or identity in pending_keys:
                continue
            type, system, value = identity
            primary = False
            if type == EMAIL and not contact.primary_email:
                contact.primary_email, primary = value, True
                target.changed.add("primary_email")
            elif type == PHONE and not contact.primary_phone:
                contact.primary_phone, primary = value, True
                target.changed.add("primary_phone")
            new_aliases.append(bulkwrite.new_row(
                IdentityAlias, tenant_id=self.tenant.pk, contact_id=contact.pk, type=type,
                system=system, value=value, is_primary=primary, source=self.marker,
                created_by_id=self.user_id))
            pending_keys[identity] = str(contact.pk)
            added = True
        if not contact.display_name_custom:
            name = computed_display_name(contact.first_name, contact.last_name)
            if name != contact.display_name:
                contact.display_name = name
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
        raise
    with transaction.atomic():
        ContactImport.objects.filter(tenant=tenant, pk=imp.pk).update(
            status=ImportStatus.SUCCEEDED, updated_at=timezone.now())
        imp.status = ImportStatus.SUCCEEDED
        audit_record(tenant=tenant, actor=Actor.system(), action="contact_import.finished",
                     entity_type="contact_import", entity_id=imp.pk,
                     changes={**counts, "rows": imp.total_rows or 0})
    return counts


def run_import_job(*, tenant: Tenant, job: Job) -> dict[str, Any]:
    """The `people.import` job kind: run the import named in the job's params."""
    imp = ContactImport.objects.filter(tenant=tenant, pk=job.params.get("import_id")).first()
    if imp is None:
        raise ValidationFailed(fields={"import_id": [_("This import no longer exists.")]})
    return contact_import_run(tenant=tenant, imp=imp, job=job)


def error_rows_csv(imp: ContactImport) -> Iterator[bytes]:
    """The error file's bytes, streamed (empty when there were no errors)."""
    if not imp.error_file:
        return iter(())
    limit = int((imp.options or {}).get("error_bytes", 0))

    def chunks() -> Iterator[bytes]:
        left = limit
        with default_storage.open(str(imp.error_file.name), "rb") as handle:
            while left > 0:
                data = handle.read(min(64 * 1024, left))
                if not data:
                    break
                left -= len(data)
                yield data

    return chunks()


def open_upload(binary: IO[bytes], name: str) -> UploadedFile:
    """Wrap a binary file as an upload (for commands, tests and the benchmark)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, binary.read())
