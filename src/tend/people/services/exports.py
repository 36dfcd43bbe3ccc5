"""Contact export: CSV, XLSX and vCard 3.0 of a filtered list or a selection.

Small sets stream straight to the browser; sets over `EXPORT_SYNC_LIMIT` contacts run as a
background job that writes a file to download. The columns are the ones the import's
auto-mapping recognizes as "Tend export", so an exported file imports back unchanged.
Spreadsheet cells that would start a formula are escaped (see `safe_cell`).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Job, Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.services.jobs import job_create, job_progress
from tend.people.choices import AliasType
from tend.people.importing.mapping import OWN_EXPORT
from tend.people.models import Contact, IdentityAlias
from tend.people.selectors.contacts import contact_list
from tend.people.services.imports import safe_cell

EXPORT_JOB_KIND = "people.export"
EXPORT_FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"),
                  "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           "xlsx"),
                  "vcf": ("text/vcard; charset=utf-8", "vcf")}
EXPORT_SYNC_LIMIT = 5_000
CHUNK = 2_000
MAX_SELECTION = 10_000
BASE_COLUMNS = list(OWN_EXPORT)


def _check_format(format: str) -> None:
    if format not in EXPORT_FORMATS:
        raise ValidationFailed(fields={"format": [_("Choose CSV, XLSX or vCard.")]})


def export_queryset(*, tenant: Tenant, actor: Actor, search: str = "",
                    filters: Mapping[str, Any] | None = None,
                    ids: list[Any] | None = None) -> QuerySet[Contact]:
    """The contacts to export: the contacts list's `search` and `filters`, narrowed to `ids`
    when a selection is given. Needs `contacts.export`; bad filters raise ValidationFailed."""
    check_perm(actor, "contacts.export")
    qs = contact_list(tenant=tenant, actor=actor, search=search, filters=filters or {},
                      sort="")
    if ids is not None:
        if len(ids) > MAX_SELECTION:
            raise ValidationFailed(fields={"ids": [
                _("Select at most %(count)d contacts.") % {"count": MAX_SELECTION}]})
        import uuid

        try:
            wanted = [uuid.UUID(str(i)) for i in ids]
        except ValueError:
            raise ValidationFailed(fields={"ids": [_("Give contact ids.")]}) from None
        qs = qs.filter(pk__in=wanted)
    return qs.prefetch_related(Prefetch(
        "aliases", queryset=IdentityAlias.objects.filter(tenant=tenant).order_by(
            "type", "-is_primary", "value")))


def export_columns(*, tenant: Tenant) -> tuple[list[str], list[str], list[str]]:
    """(all headers, custom field keys, external id systems) of the export."""
    keys = [d.key for d in custom_definitions(tenant=tenant, entity_type="contact")]
    systems = sorted(set(IdentityAlias.objects.filter(tenant=tenant, type=AliasType.EXTERNAL)
                         .values_list("system", flat=True).distinct()))
    headers = BASE_COLUMNS + [f"custom.{k}" for k in keys] + [f"external.{s}" for s in systems]
    return headers, keys, systems


def _row(contact: Contact, keys: list[str], systems: list[str]) -> list[str]:
    emails = [a.value for a in contact.aliases.all() if a.type == AliasType.EMAIL]
    phones = [a.value for a in contact.aliases.all() if a.type == AliasType.PHONE]
    externals = {a.system: a.value for a in contact.aliases.all()
                 if a.type == AliasType.EXTERNAL}
    email = contact.primary_email or (emails[0] if emails else "")
    phone = contact.primary_phone or (phones[0] if phones else "")
    custom = contact.custom or {}

    def custom_cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    return [
        str(contact.pk), contact.first_name, contact.last_name,
        contact.display_name if contact.display_name_custom else "",
        email, "; ".join(e for e in emails if e != email),
        phone, "; ".join(p for p in phones if p != phone),
        contact.company.name if contact.company is not None else "", contact.job_title,
        contact.lifecycle_stage,
        contact.date_of_birth.isoformat() if contact.date_of_birth else "",
        contact.gender, contact.address_line1, contact.address_line2, contact.city,
        contact.state, contact.postal_code, contact.country, contact.language,
        contact.time_zone, contact.source,
        ", ".join(link.tag.name for link in contact.tag_links.all()),
        *[custom_cell(custom.get(k)) for k in keys],
        *[externals.get(s, "") for s in systems],
    ]


def export_rows(*, tenant: Tenant, qs: QuerySet[Contact]) -> Iterator[list[str]]:
    """The header row, then one row per contact, read in chunks (memory stays flat)."""
    headers, keys, systems = export_columns(tenant=tenant)
    yield headers
    for contact in qs.iterator(chunk_size=CHUNK):
        yield _row(contact, keys, systems)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(rows: Iterator[list[str]]) -> Iterator[bytes]:
    """CSV bytes (UTF-8 with a BOM, so spreadsheets read it right), cells escaped."""
    writer = csv.writer(_Echo())
    yield "\ufeff".encode()
    for row in rows:
        yield writer.writerow([safe_cell(c) for c in row]).encode("utf-8")


def xlsx_write(rows: Iterator[list[str]], path: str) -> None:
    """An XLSX workbook of `rows` at `path` (openpyxl write-only mode: rows are not kept)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Contacts")[:31])
    for row in rows:
        sheet.append([safe_cell(c) for c in row])
    workbook.save(path)


def _vcard_escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,")
            .replace(";", "\\;"))


def vcard_stream(qs: QuerySet[Contact]) -> Iterator[bytes]:
    """vCard 3.0, one card per contact."""
    for contact in qs.iterator(chunk_size=CHUNK):
        e = _vcard_escape
        lines = ["BEGIN:VCARD", "VERSION:3.0",
                 f"N:{e(contact.last_name)};{e(contact.first_name)};;;",
                 f"FN:{e(contact.display_name or str(contact))}"]
        for alias in contact.aliases.all():
            if alias.type == AliasType.EMAIL:
                lines.append(f"EMAIL;TYPE=INTERNET{';TYPE=PREF' if alias.is_primary else ''}:"
                             f"{e(alias.value)}")
            elif alias.type == AliasType.PHONE:
                lines.append(f"TEL{';TYPE=PREF' if alias.is_primary else ''}:{e(alias.value)}")
        if contact.company is not None:
            lines.append(f"ORG:{e(contact.company.name)}")
        if contact.job_title:
            lines.append(f"TITLE:{e(contact.job_title)}")
        if any((contact.address_line1, contact.city, contact.state, contact.postal_code,
                contact.country)):
            lines.append(f"ADR:;;{e(contact.address_line1)};{e(contact.city)};"
                         f"{e(contact.state)};{e(contact.postal_code)};{e(contact.country)}")
        if contact.date_of_birth:
            lines.append(f"BDAY:{contact.date_of_birth.isoformat()}")
        tags = [link.tag.name for link in contact.tag_links.all()]
        if tags:
            lines.append("CATEGORIES:" + ",".join(e(t) for t in tags))
        lines.append(f"UID:{contact.pk}")
        lines.append("END:VCARD")
        yield ("\r\n".join(lines) + "\r\n").encode("utf-8")


def export_audit(*, tenant: Tenant, actor: Actor, format: str, count: int) -> None:
    """One audit entry per export (how many, which format; no personal data)."""
    audit_record(tenant=tenant, actor=actor, action="contacts.exported",
                 entity_type="contact", entity_id="", changes={"format": format,
                                                                "count": count})


def contact_export_start(*, tenant: Tenant, actor: Actor, format: str, search: str = "",
                         filters: Mapping[str, Any] | None = None,
                         ids: list[Any] | None = None) -> Job:
    """Queue an export as a background job that writes a file (see `run_export_job`).

    Needs `contacts.export`; checks the format and the filters before queueing.
    """
    _check_format(format)
    qs = export_queryset(tenant=tenant, actor=actor, search=search, filters=filters, ids=ids)
    with transaction.atomic():
        job = job_create(tenant=tenant, actor=actor, kind=EXPORT_JOB_KIND,
                         title=_("Contact export (%(format)s)") % {"format": format.upper()},
                         params={"format": format, "search": search,
                                 "filters": dict(filters or {}),
                                 "ids": [str(i) for i in ids] if ids is not None else None,
                                 "user_id": str(actor.user.pk) if actor.user else None,
                                 "permissions": sorted(actor.permissions)},
                         total=qs.count())
    return job


def contact_export_file(*, tenant: Tenant, actor: Actor, format: str,
                        qs: QuerySet[Contact], name: str) -> tuple[str, int]:
    """Write the export of `qs` to storage under `name`; returns (stored name, count)."""
    _check_format(format)
    count = qs.count()
    handle, path = tempfile.mkstemp(suffix=f".{format}")
    os.close(handle)
    try:
        if format == "xlsx":
            xlsx_write(export_rows(tenant=tenant, qs=qs), path)
        else:
            chunks = (csv_stream(export_rows(tenant=tenant, qs=qs)) if format == "csv"
                      else vcard_stream(qs))
            with open(path, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        with open(path, "rb") as source:
            stored = default_storage.save(name, File(source))
    finally:
        os.unlink(path)
    export_audit(tenant=tenant, actor=actor, format=format, count=count)
    return stored, count


def run_export_job(*, tenant: Tenant, job: Job) -> dict[str, Any]:
    """The `people.export` job kind: write the file and return its storage name."""
    from tend.core.models import User

    params = job.params
    user = User.objects.filter(pk=params.get("user_id")).first() if params.get(
        "user_id") else None
    actor = Actor(kind="user" if user else "system", user=user,
                  permissions=frozenset(params.get("permissions") or []))
    qs = export_queryset(tenant=tenant, actor=actor, search=params.get("search") or "",
                         filters=params.get("filters") or {}, ids=params.get("ids"))
    job_progress(tenant=tenant, job=job, processed=0)
    format = params["format"]
    stored, count = contact_export_file(
        tenant=tenant, actor=actor, format=format, qs=qs,
        name=f"exports/{tenant.pk}/{job.pk}.{EXPORT_FORMATS[format][1]}")
    job_progress(tenant=tenant, job=job, processed=count, counts={"exported": count})
    return {"file": stored, "format": format, "count": count}
