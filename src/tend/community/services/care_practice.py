"""Practice status: the current regularity and its history."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from tend.community.models import PracticeChange, PracticeStatus, Regularity
from tend.community.services.care_summary import care_summary_refresh
from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.models import Contact

SOURCES = ("staff", "bot", "import")


def practice_update(*, tenant: Tenant, actor: Actor, contact: Contact, regularity: str,
                    notes: str = "", source: str = "staff") -> PracticeStatus:
    """Set a person's practice regularity; every call adds a history row. Staff need
    `care.change`; the bot (`source="bot"`) acts as the system for the person themselves."""
    if source != "bot":
        check_perm(actor, "care.change")
    errors: dict[str, list[str]] = {}
    if regularity not in Regularity.values:
        errors["regularity"] = [_("Choose one of: %(choices)s.") % {
            "choices": ", ".join(Regularity.values)}]
    if len(notes or "") > 2000:
        errors["notes"] = [_("Enter at most 2000 characters.")]
    if source not in SOURCES:
        errors["source"] = [_("Unknown source.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        status, _created = PracticeStatus.objects.update_or_create(
            tenant=tenant, contact=contact,
            defaults={"regularity": regularity, "notes": notes or "",
                      "updated_by": actor.user})
        PracticeChange.objects.create(tenant=tenant, contact=contact, regularity=regularity,
                                      notes=notes or "", source=source, created_by=actor.user)
        audit_record(tenant=tenant, actor=actor, action="practice.updated",
                     entity_type="contact", entity_id=contact.pk,
                     changes={"regularity": regularity, "source": source})
        care_summary_refresh(tenant=tenant, contact_ids=[contact.pk])
    return status
