"""Privacy requests about one person: export everything we hold, erase it, and the
organization's retention rule that erases inactive people on its own.

What "everything" means comes from the privacy registries (`tend.people.privacy_registry`):
the people module registers its exporters and erasers there like every other module.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import Job, Tenant
from tend.core.services.audit import audit_record
from tend.people.choices import ConsentStatus, ContactStatus
from tend.people.models import (
    Activity,
    Consent,
    ConsentEvent,
    Contact,
    ContactTag,
    DuplicateCandidate,
    IdentityAlias,
    IngestionLog,
    Interaction,
    Note,
    Task,
)
from tend.people.privacy_registry import (
    privacy_erasers,
    privacy_exporters,
    register_privacy_eraser,
    register_privacy_exporter,
)
from tend.people.signals import contact_changed

EXPORT_JOB_KIND = "people.privacy_export"
ERASED_NAME = "Erased contact"
ERASED_TEXT = "[erased]"
ERASE_CONFIRMATION = "ERASE"
RETENTION_BATCH = 500
MAX_INACTIVE_MONTHS = 600


# --- export ------------------------------------------------------------------------------------


def _rows(queryset: QuerySet[Any], exclude: tuple[str, ...] = ("tenant",)) -> list[dict[str, Any]]:
    out = []
    for obj in queryset:
        data = model_to_dict(obj, exclude=list(exclude))
        data["id"] = str(obj.pk)
        for name in ("created_at", "updated_at"):
            data[name] = getattr(obj, name, None)
        out.append(data)
    return out


def _export_contact(tenant: Tenant, contact: Contact) -> Any:
    data = _rows(Contact.objects.filter(pk=contact.pk), exclude=("tenant", "avatar"))[0]
    data["avatar"] = contact.avatar.name if contact.avatar else ""
    data["tags"] = sorted(ContactTag.objects.filter(tenant=tenant, contact=contact)
                          .values_list("tag__name", flat=True))
    return data


def _export_company(tenant: Tenant, contact: Contact) -> Any:
    if contact.company_id is None:
        return None
    return {"id": str(contact.company_id), "name": contact.company.name if contact.company
            else ""}


def register_people_privacy() -> None:
    """The people module's own exporters and erasers."""
    def by_contact(model: Any) -> Any:
        return lambda tenant, contact: _rows(model.objects.filter(tenant=tenant,
                                                                  contact=contact))

    register_privacy_exporter("contact", _export_contact)
    register_privacy_exporter("company", _export_company)
    for name, model in (("aliases", IdentityAlias), ("consents", Consent),
                        ("consent_history", ConsentEvent), ("notes", Note),
                        ("interactions", Interaction), ("tasks", Task),
                        ("activities", Activity)):
        register_privacy_exporter(name, by_contact(model))
    register_privacy_eraser("people", _erase_people_rows)


def _check_export(actor: Actor) -> None:
    if not actor.has_perm("privacy.export"):
        raise PermissionDenied()


def _build_zip(tenant: Tenant, contact: Contact) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        names = []
        for name, exporter in privacy_exporters():
            data = exporter(tenant, contact)
            archive.writestr(f"{name}.json", json.dumps(data, cls=DjangoJSONEncoder, indent=2,
                                                        ensure_ascii=False, default=str))
            names.append(name)
        archive.writestr("manifest.json", json.dumps({
            "contact_id": str(contact.pk), "organization": tenant.slug,
            "exported_at": timezone.now().isoformat(), "files": [f"{n}.json" for n in names],
        }, indent=2))
    return buffer.getvalue()


def privacy_export_build(*, tenant: Tenant, actor: Actor, contact: Contact) -> bytes:
    """A zip with one JSON file per registered exporter (`contact.json`, `notes.json`, …) about
    `contact`, private notes included (they are about the person too). Needs
    `privacy.export`; audited (ids only)."""
    _check_export(actor)
    content = _build_zip(tenant, contact)
    audit_record(tenant=tenant, actor=actor, action="contact.privacy_exported",
                 entity_type="contact", entity_id=contact.pk)
    return content


def export_file_name(contact: Contact) -> str:
    return f"contact-{contact.pk}.zip"


def privacy_export_start(*, tenant: Tenant, actor: Actor, contact: Contact) -> Job:
    """Build the export in the background (for people with a long history); the job's result
    names the stored file. Needs `privacy.export`."""
    from tend.core.services.jobs import job_create

    _check_export(actor)
    return job_create(tenant=tenant, actor=actor, kind=EXPORT_JOB_KIND,
                      title=_("Personal data export"),
                      params={"contact_id": str(contact.pk)})


def clean_export_params(params: dict[str, Any]) -> dict[str, Any]:
    contact_id = str(params.get("contact_id") or "")
    if not _is_uuid(contact_id) or not Contact.objects.filter(pk=contact_id).exists():
        raise ValidationFailed(fields={"contact_id": [_("Not a contact of this organization.")]})
    return {"contact_id": contact_id}


def _is_uuid(value: str) -> bool:
    from uuid import UUID

    try:
        UUID(value)
    except ValueError:
        return False
    return True


def run_export_job(*, tenant: Tenant, job: Job) -> dict[str, Any]:
    """The `people.privacy_export` job kind's work: build the zip and store it. Permission was
    checked when the job was started (`privacy_export_start`)."""
    from tend.core.services.jobs import job_progress

    contact = Contact.objects.get(tenant=tenant, pk=job.params["contact_id"])
    job_progress(tenant=tenant, job=job, processed=0, total=1)
    content = _build_zip(tenant, contact)
    path = default_storage.save(f"privacy-exports/{tenant.pk}/{job.pk}.zip",
                                ContentFile(content))
    audit_record(tenant=tenant, actor=Actor.system(), action="contact.privacy_exported",
                 entity_type="contact", entity_id=contact.pk, changes={"job_id": str(job.pk)})
    job_progress(tenant=tenant, job=job, processed=1)
    return {"file": path, "contact_id": str(contact.pk), "size": len(content)}


def privacy_export_file(*, tenant: Tenant, actor: Actor, job: Job) -> tuple[bytes, str]:
    """The stored zip of a finished export job and its download name. Needs `privacy.export`."""
    _check_export(actor)
    if job.kind != EXPORT_JOB_KIND:
        raise ValidationFailed(fields={"job_id": [_("Not a personal data export.")]})
    path = (job.result or {}).get("file")
    if not path or not default_storage.exists(path):
        raise Conflict(_("The export is not ready yet."))
    with default_storage.open(path, "rb") as handle:
        content = handle.read()
    return content, f"contact-{job.params.get('contact_id', 'export')}.zip"


# --- erase -------------------------------------------------------------------------------------


def _scrub_mapping(value: Any) -> Any:
    """Keep the keys (so reports know what was there), drop every value."""
    if isinstance(value, dict):
        return {key: _scrub_mapping(item) for key, item in value.items()}
    if isinstance(value, list):
        return []
    return None


def _erase_people_rows(tenant: Tenant, contact: Contact) -> None:
    IdentityAlias.objects.filter(tenant=tenant, contact=contact).delete()
    Note.objects.filter(tenant=tenant, contact=contact).update(body=ERASED_TEXT)
    Interaction.objects.filter(tenant=tenant, contact=contact).update(
        summary=ERASED_TEXT, outcome="", flags=[])
    Task.objects.filter(tenant=tenant, contact=contact).update(description="")
    for activity in Activity.objects.filter(tenant=tenant, contact=contact).only("metadata"):
        Activity.objects.filter(pk=activity.pk).update(
            title=ERASED_TEXT, description="", actor_label="",
            metadata=_scrub_mapping(activity.metadata or {}))
    Consent.objects.filter(tenant=tenant, contact=contact).update(ip=None)
    ConsentEvent.objects.filter(tenant=tenant, contact=contact).update(ip=None)
    IngestionLog.objects.filter(tenant=tenant, contact=contact).update(payload={}, error="")
    DuplicateCandidate.objects.filter(tenant=tenant).filter(
        Q(contact_a=contact) | Q(contact_b=contact)).delete()


def _erase(tenant: Tenant, actor: Actor, contact: Contact, reason: str) -> None:
    now = timezone.now()
    for _name, eraser in privacy_erasers():
        eraser(tenant, contact)
    if contact.avatar:
        contact.avatar.delete(save=False)
    Contact.objects.filter(pk=contact.pk).update(
        first_name="", last_name="", display_name=ERASED_NAME, display_name_custom=True,
        date_of_birth=None, gender="", avatar="", address_line1="", address_line2="", city="",
        state="", postal_code="", country="", language="", time_zone="", job_title="",
        custom={}, external_ids={}, primary_email="", primary_phone="",
        email_opt_in=False, sms_opt_in=False, whatsapp_opt_in=False, telegram_opt_in=False,
        web_opt_in=False, status=ContactStatus.DELETED, deleted_at=Coalesce("deleted_at", now),
        erased_at=now, updated_at=now, updated_by=actor.acting_user,
    )
    contact.refresh_from_db()
    audit_record(tenant=tenant, actor=actor, action="contact.erased", entity_type="contact",
                 entity_id=contact.pk, changes={"reason": reason})
    transaction.on_commit(lambda: contact_changed.send(
        sender=Contact, tenant=tenant, contact_id=contact.pk, change="erased", fields=[]))


def contact_erase(*, tenant: Tenant, actor: Actor, contact: Contact,
                  confirmation: str) -> Contact:
    """Erase a person: anonymize the contact, delete its identities, scrub note, interaction
    and activity texts, and run every module's registered eraser; rows (and so counts) stay.

    Preconditions: the actor holds `privacy.manage`; `confirmation` is the word "ERASE";
    the contact is not erased already. Afterwards the contact is DELETED with `erased_at`.
    Audited with the contact id only. One transaction.
    """
    if not actor.has_perm("privacy.manage"):
        raise PermissionDenied()
    if (confirmation or "").strip() != ERASE_CONFIRMATION:
        raise ValidationFailed(fields={"confirmation": [
            _("Type ERASE to confirm.")]})
    if contact.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"contact": [_("Not a contact of this organization.")]})
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(tenant=tenant, pk=contact.pk)
        if contact.erased_at is not None:
            raise Conflict(_("This contact was erased already."))
        _erase(tenant, actor, contact, "request")
    return contact


# --- retention ---------------------------------------------------------------------------------


def retention_settings(tenant: Tenant) -> dict[str, Any]:
    """The organization's retention rule: `{"enabled": bool, "inactive_months": int}`."""
    raw = (tenant.settings or {}).get("retention") or {}
    months = raw.get("inactive_months")
    return {"enabled": bool(raw.get("enabled", False)),
            "inactive_months": months if isinstance(months, int) and months > 0 else 24}


def retention_settings_update(*, tenant: Tenant, actor: Actor, enabled: Any,
                              inactive_months: Any) -> dict[str, Any]:
    """Set the retention rule. Needs `privacy.manage`. `inactive_months` is 1 to 600."""
    from tend.core.models import Tenant as TenantModel

    if not actor.has_perm("privacy.manage"):
        raise PermissionDenied()
    errors: dict[str, list[str]] = {}
    if not isinstance(enabled, bool):
        errors["enabled"] = [_("Give true or false.")]
    months = None
    if isinstance(inactive_months, bool):
        months = None
    elif isinstance(inactive_months, int):
        months = inactive_months
    elif isinstance(inactive_months, str) and inactive_months.strip().isdigit():
        months = int(inactive_months.strip())
    if months is None or not 1 <= months <= MAX_INACTIVE_MONTHS:
        errors["inactive_months"] = [_("Enter a number of months from 1 to %(max)d.")
                                     % {"max": MAX_INACTIVE_MONTHS}]
    if errors:
        raise ValidationFailed(fields=errors)
    rule = {"enabled": enabled, "inactive_months": months}
    with transaction.atomic():
        current = TenantModel.objects.select_for_update().get(pk=tenant.pk)
        previous = retention_settings(current)
        current.settings = {**(current.settings or {}), "retention": rule}
        TenantModel.objects.filter(pk=tenant.pk).update(settings=current.settings)
        tenant.settings = current.settings
        audit_record(tenant=tenant, actor=actor, action="privacy.retention_changed",
                     entity_type="organization", entity_id=tenant.pk,
                     changes={"retention": [previous, rule]})
    return retention_settings(tenant)


def _months_ago(now: datetime, months: int) -> datetime:
    return now - timedelta(days=round(months * 30.44))


def retention_candidates(*, tenant: Tenant, months: int,
                         now: datetime | None = None) -> QuerySet[Contact]:
    """Contacts (not merged, not erased) whose last activity — or creation, without any — is
    older than `months`, holding no GRANTED consent."""
    cutoff = _months_ago(now or timezone.now(), months)
    granted = Consent.objects.filter(tenant=tenant, contact=OuterRef("pk"),
                                     status=ConsentStatus.GRANTED)
    return (Contact.objects.filter(tenant=tenant, erased_at__isnull=True)
            .exclude(status=ContactStatus.MERGED)
            .annotate(last_seen=Coalesce("last_activity_at", "created_at"))
            .filter(last_seen__lt=cutoff)
            .exclude(Exists(granted)))


def retention_dry_run(*, tenant: Tenant, months: int | None = None,
                      now: datetime | None = None) -> int:
    """How many contacts the rule would erase now (with `months`, or the saved rule's)."""
    months = months or retention_settings(tenant)["inactive_months"]
    return retention_candidates(tenant=tenant, months=months, now=now).count()


def retention_apply(*, tenant: Tenant, now: datetime | None = None,
                    limit: int = RETENTION_BATCH) -> int:
    """Erase up to `limit` contacts the organization's enabled rule selects; returns how many.
    Each contact is erased in its own transaction, audited as a retention erase."""
    rule = retention_settings(tenant)
    if not rule["enabled"]:
        return 0
    actor = Actor.system()
    ids = list(retention_candidates(tenant=tenant, months=rule["inactive_months"], now=now)
               .values_list("pk", flat=True)[:limit])
    erased = 0
    for contact_id in ids:
        with transaction.atomic():
            contact = Contact.objects.select_for_update().filter(
                tenant=tenant, pk=contact_id, erased_at__isnull=True).first()
            if contact is None:
                continue
            _erase(tenant, actor, contact, "retention")
            erased += 1
    return erased
