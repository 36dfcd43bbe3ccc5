"""Traits, mentor links (and their `last_contact_at`) and initiations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.community.models import Initiation, MentorLink, UserTrait
from tend.community.services.care_summary import care_summary_refresh
from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.models import Contact, IdentityAlias

TRAIT_MAX = 50
BUILTIN_INITIATION_KINDS = ("INITIATION", "NAMA_MANTRA")


def _same_tenant(tenant: Tenant, field: str, *contacts: Contact | None) -> None:
    if any(c is not None and c.tenant_id != tenant.pk for c in contacts):
        raise ValidationFailed(fields={field: [_("Choose a contact of this organization.")]})


def trait_grant(*, tenant: Tenant, actor: Actor, contact: Contact, trait: str,
                expires_at: datetime | None = None) -> UserTrait:
    """Give `contact` a trait (again: renews it with the new expiry). Needs `care.change`."""
    check_perm(actor, "care.change")
    trait = (trait or "").strip().lower()
    if not trait or len(trait) > TRAIT_MAX or not all(ch.isalnum() or ch in "-_" for ch in trait):
        raise ValidationFailed(fields={"trait": [
            _("Enter a trait of 1 to 50 letters, digits, - or _.")]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(fields={"expires_at": [_("Choose a time in the future.")]})
    _same_tenant(tenant, "contact_id", contact)
    with transaction.atomic():
        held, _created = UserTrait.objects.update_or_create(
            tenant=tenant, contact=contact, trait=trait,
            defaults={"granted_by": actor.user, "granted_at": timezone.now(),
                      "expires_at": expires_at})
        audit_record(tenant=tenant, actor=actor, action="trait.granted", entity_type="contact",
                     entity_id=contact.pk, changes={"trait": trait})
    return held


def trait_revoke(*, tenant: Tenant, actor: Actor, trait: UserTrait) -> None:
    check_perm(actor, "care.change")
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="trait.revoked", entity_type="contact",
                     entity_id=trait.contact_id, changes={"trait": trait.trait})
        trait.delete()


def mentor_link_create(*, tenant: Tenant, actor: Actor, mentor: Contact, mentee: Contact,
                       started_at: datetime | None = None) -> MentorLink:
    """Make `mentor` look after `mentee` (an active link between them is returned as is).
    Needs `care.change`."""
    check_perm(actor, "care.change")
    _same_tenant(tenant, "mentor_id", mentor)
    _same_tenant(tenant, "mentee_id", mentee)
    if mentor.pk == mentee.pk:
        raise ValidationFailed(fields={"mentee_id": [_("A person cannot mentor themselves.")]})
    with transaction.atomic():
        link = MentorLink.objects.filter(tenant=tenant, mentor=mentor, mentee=mentee,
                                         active=True).first()
        if link is None:
            link = MentorLink.objects.create(
                tenant=tenant, mentor=mentor, mentee=mentee, created_by=actor.user,
                started_at=started_at or timezone.now())
            audit_record(tenant=tenant, actor=actor, action="mentor.linked",
                         entity_type="contact", entity_id=mentee.pk,
                         changes={"mentor": str(mentor.pk)})
            care_summary_refresh(tenant=tenant, contact_ids=[mentee.pk])
    return link


def mentor_link_end(*, tenant: Tenant, actor: Actor, link: MentorLink) -> MentorLink:
    """End a mentorship (kept as history). Needs `care.change`."""
    check_perm(actor, "care.change")
    with transaction.atomic():
        if link.active:
            link.active, link.ended_at = False, timezone.now()
            link.save(update_fields=["active", "ended_at", "updated_at"])
            audit_record(tenant=tenant, actor=actor, action="mentor.unlinked",
                         entity_type="contact", entity_id=link.mentee_id,
                         changes={"mentor": str(link.mentor_id)})
            care_summary_refresh(tenant=tenant, contact_ids=[link.mentee_id])
    return link


def mentor_contact_record(*, tenant: Tenant, mentor_id: Any, mentee_id: Any,
                          at: datetime) -> int:
    """Move `last_contact_at` of the active links between two people (either direction) to
    `at` when later; returns the number of links moved. Called from the interaction and
    message signals."""
    if mentor_id is None or mentee_id is None or mentor_id == mentee_id:
        return 0
    pair = (Q(mentor_id=mentor_id, mentee_id=mentee_id)
            | Q(mentor_id=mentee_id, mentee_id=mentor_id))
    moved = MentorLink.objects.filter(pair, tenant=tenant, active=True).filter(
        Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=at)).update(last_contact_at=at)
    if moved:
        care_summary_refresh(tenant=tenant, contact_ids=[mentor_id, mentee_id])
    return moved


def staff_contact_id(*, tenant: Tenant, user_id: Any) -> Any:
    """The contact a staff account is linked to (a staff-account identity), or None."""
    if user_id is None:
        return None
    return (IdentityAlias.objects.filter(tenant=tenant, type="AUTH_USER", value=str(user_id))
            .values_list("contact_id", flat=True).first())


def on_interaction_logged(sender: Any, tenant: Tenant, interaction: Any, actor: Any = None,
                          **kwargs: Any) -> None:
    """An interaction by a staff member whose own contact mentors the person counts as a
    mentor contact."""
    mentor_id = staff_contact_id(tenant=tenant, user_id=interaction.staff_id)
    mentor_contact_record(tenant=tenant, mentor_id=mentor_id, mentee_id=interaction.contact_id,
                          at=interaction.occurred_at)


def _message_contact(tenant: Tenant, message: Any, conversation: Any = None) -> tuple[Any, Any]:
    """(person, mentor-side contact) of a message: the conversation's contact and, for an
    outbound message, the sending staff member's own contact."""
    conversation = conversation or getattr(message, "conversation", None)
    contact_id = getattr(conversation, "contact_id", None) or getattr(message, "contact_id",
                                                                      None)
    sender_id = getattr(message, "sender_id", None)
    return contact_id, staff_contact_id(tenant=tenant, user_id=sender_id)


def on_message_received(sender: Any, tenant: Tenant, message: Any, conversation: Any = None,
                        **kwargs: Any) -> None:
    """A message from a mentee in a conversation a mentor staff member is assigned to."""
    contact_id = getattr(message, "contact_id", None) or getattr(conversation, "contact_id", None)
    mentor_id = staff_contact_id(tenant=tenant,
                                 user_id=getattr(conversation, "assignee_id", None))
    at = getattr(message, "created_at", None) or timezone.now()
    mentor_contact_record(tenant=tenant, mentor_id=mentor_id, mentee_id=contact_id, at=at)


def on_message_status_changed(sender: Any, tenant: Tenant, message: Any, status: str,
                              previous: Any = None, **kwargs: Any) -> None:
    """A message a mentor staff member sent to their mentee reached SENT."""
    if status != "SENT":
        return
    contact_id, mentor_id = _message_contact(tenant, message)
    at = getattr(message, "sent_at", None) or timezone.now()
    mentor_contact_record(tenant=tenant, mentor_id=mentor_id, mentee_id=contact_id, at=at)


def initiation_record(*, tenant: Tenant, actor: Actor, contact: Contact, kind: str,
                      date: date, acarya: Contact | None = None, place: str = "",
                      notes: str = "") -> Initiation:
    """Record an initiation (INITIATION, NAMA_MANTRA or an organization's own kind, upper
    case). Needs `care.change`."""
    check_perm(actor, "care.change")
    kind = (kind or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if not kind or len(kind) > 40 or not all(ch.isalnum() or ch == "_" for ch in kind):
        errors["kind"] = [_("Enter a kind of 1 to 40 letters, digits or _.")]
    if date > timezone.localdate():
        errors["date"] = [_("Choose a day that is not in the future.")]
    if len(place) > 200:
        errors["place"] = [_("Enter at most 200 characters.")]
    if errors:
        raise ValidationFailed(fields=errors)
    _same_tenant(tenant, "acarya_id", acarya)
    with transaction.atomic():
        initiation = Initiation.objects.create(
            tenant=tenant, contact=contact, kind=kind, acarya=acarya, date=date, place=place,
            notes=notes, created_by=actor.user)
        audit_record(tenant=tenant, actor=actor, action="initiation.recorded",
                     entity_type="contact", entity_id=contact.pk, changes={"kind": kind})
    return initiation
