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

import itertools
import os
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, ValidationFailed
from tend.core.models import CustomFieldDefinition, Job, Tag, Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.services.jobs import job_create
from tend.people.choices import ImportMode, ImportStatus
from tend.people.importing.cells import FORMULA_START, safe_cell
from tend.people.importing.mapping import CONTACT_FIELDS, EXTERNAL_RE, auto_map, is_valid_target
from tend.people.importing.readers import SNIFF_BYTES, detect_format, open_reader
from tend.people.importing.rows import ParsedRow, RowParser, _is_uuid, fast_email
from tend.people.lists import list_choices
from tend.people.models import ContactImport
from tend.people.services.import_run import (
    ACTIVITY_TYPE,
    BATCH_SIZE,
    COUNT_KEYS,
    ImportRun,
    contact_import_run,
    open_import_file,
    run_import_job,
)

__all__ = [
    "ACTIVITY_TYPE", "BATCH_SIZE", "COUNT_KEYS", "FORMULA_START", "IMPORT_JOB_KIND",
    "PREVIEW_ROWS", "ImportRun", "ParsedRow", "RowParser", "contact_import_configure",
    "contact_import_create", "contact_import_preview", "contact_import_run",
    "contact_import_start", "error_rows_csv", "fast_email", "max_upload_bytes", "open_upload",
    "run_import_job", "safe_cell",
]

PREVIEW_ROWS = 20
IMPORT_JOB_KIND = "people.import"
SINGLE_TARGETS = set(CONTACT_FIELDS) | {"company", "id"}
IDENTITY_TARGETS = {"email", "phone", "id", "first_name", "last_name", "display_name"}


def max_upload_bytes() -> int:
    return int(getattr(settings, "TEND_IMPORT_MAX_BYTES", 200 * 1024 * 1024))


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
    """The id of a list of `tenant` (see `tend.people.lists`), or "" for none."""
    if not segment_id:
        return ""
    if segment_id not in {pk for pk, _name in list_choices(tenant=tenant)}:
        raise ValidationFailed(fields={"segment_id": [_("Choose a list of this organization.")]})
    return segment_id


def contact_import_preview(*, tenant: Tenant, imp: ContactImport,
                           rows: int = PREVIEW_ROWS) -> list[ParsedRow]:
    """The first `rows` rows read with the current mapping, each with its errors.
    Reads only; run inside the tenant's scope."""
    parser = RowParser(tenant=tenant, headers=imp.headers, mapping=imp.mapping or {})
    reader = open_import_file(imp)
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
