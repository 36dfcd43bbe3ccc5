"""Notes about contacts and companies: Markdown, pinned, optionally private to their author.

A note's body is stored as written and rendered with `tend.people.markdown.render_markdown`.
Adding a note records a NOTE_ADDED activity on the contact's timeline; the activity of a
private note carries no excerpt and is shown to its author only (see the timeline selector).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.text import clean_text
from tend.people.choices import ActivityCategory, NoteType
from tend.people.markdown import plain_excerpt
from tend.people.models import Activity, Company, Contact, Note
from tend.people.services._checks import check_contact_writable, clean_choice
from tend.people.services.activities import activity_record

BODY_MAX_LENGTH = 20_000
NOTE_RELATED_TYPE = "people.note"


def _check_author(actor: Actor, note: Note) -> None:
    """A private note belongs to its author alone: anyone else may not change it."""
    if note.is_private and note.author_id != getattr(actor.acting_user, "pk", None):
        raise PermissionDenied(_("This note is private to its author."))


def _activity_fields(note: Note) -> dict[str, Any]:
    if note.is_private:
        return {"description": "", "metadata": {"private": True, "note_type": note.type}}
    return {"description": plain_excerpt(note.body), "metadata": {"note_type": note.type}}


def note_create(*, tenant: Tenant, actor: Actor, body: str, contact: Contact | None = None,
                company: Company | None = None, type: str = NoteType.GENERAL,
                is_private: bool = False, is_pinned: bool = False) -> Note:
    """Write a note about `contact` or `company` (at least one), authored by the actor's user.

    Needs `notes.add`. The contact must be live (not merged or deleted). Records NOTE_ADDED on
    the contact's (or company's) timeline and an audit entry, in one transaction.
    """
    check_perm(actor, "notes.add")
    errors: dict[str, list[str]] = {}
    body = clean_text(body, "body", errors, required=True, limit=BODY_MAX_LENGTH)
    type = clean_choice(type or NoteType.GENERAL, "type", NoteType, errors)
    if contact is None and company is None:
        errors["contact"] = [_("A note is about a contact or a company.")]
    if errors:
        raise ValidationFailed(fields=errors)
    check_contact_writable(contact)
    with transaction.atomic():
        note = Note.objects.create(
            tenant=tenant, contact=contact, company=company, type=type, body=body,
            is_private=bool(is_private), is_pinned=bool(is_pinned), author=actor.acting_user,
            created_by=actor.acting_user, updated_by=actor.acting_user,
        )
        activity_record(
            tenant=tenant, actor=actor, type="NOTE_ADDED", contact=contact, company=company,
            category=ActivityCategory.SUPPORT if type in (NoteType.SUPPORT, NoteType.COMPLAINT)
            else ActivityCategory.ENGAGEMENT,
            title=str(NoteType(type).label), related=note, **_activity_fields(note),
        )
        audit_record(tenant=tenant, actor=actor, action="note.created", entity_type="note",
                     entity_id=note.pk, changes={
                         "contact_id": str(contact.pk) if contact else None,
                         "company_id": str(company.pk) if company else None,
                         "type": type, "private": note.is_private})
    return note


def note_update(*, tenant: Tenant, actor: Actor, note: Note, body: str | None = None,
                type: str | None = None, is_private: bool | None = None) -> Note:
    """Change a note's body, type or privacy (only the fields given). Needs `notes.change`;
    a private note only by its author, and only the author may make a note private."""
    check_perm(actor, "notes.change")
    _check_author(actor, note)
    errors: dict[str, list[str]] = {}
    changed: list[str] = []
    if body is not None:
        body = clean_text(body, "body", errors, required=True, limit=BODY_MAX_LENGTH)
        if body != note.body:
            note.body = body
            changed.append("body")
    if type is not None:
        type = clean_choice(type, "type", NoteType, errors)
        if type and type != note.type:
            note.type = type
            changed.append("type")
    if is_private is not None and bool(is_private) != note.is_private:
        if is_private and note.author_id != getattr(actor.acting_user, "pk", None):
            errors["is_private"] = [_("Only the author can make a note private.")]
        note.is_private = bool(is_private)
        changed.append("is_private")
    if errors:
        raise ValidationFailed(fields=errors)
    if not changed:
        return note
    check_contact_writable(note.contact)
    with transaction.atomic():
        note.updated_by = actor.acting_user
        note.save(update_fields=[*changed, "updated_by", "updated_at"])
        fields = _activity_fields(note)
        Activity.objects.filter(tenant=tenant, related_type=NOTE_RELATED_TYPE,
                                related_id=str(note.pk)).update(**fields)
        audit_record(tenant=tenant, actor=actor, action="note.updated", entity_type="note",
                     entity_id=note.pk, changes={"fields": changed})
    return note


def note_pin(*, tenant: Tenant, actor: Actor, note: Note, pinned: bool = True) -> Note:
    """Pin a note to the top of the contact's notes (or unpin it). Needs `notes.change`."""
    check_perm(actor, "notes.change")
    _check_author(actor, note)
    if note.is_pinned == bool(pinned):
        return note
    with transaction.atomic():
        note.is_pinned = bool(pinned)
        note.updated_by = actor.acting_user
        note.save(update_fields=["is_pinned", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor,
                     action="note.pinned" if pinned else "note.unpinned",
                     entity_type="note", entity_id=note.pk)
    return note


def note_delete(*, tenant: Tenant, actor: Actor, note: Note) -> None:
    """Delete a note and its NOTE_ADDED timeline entry. Needs `notes.delete`; a private note
    only by its author."""
    check_perm(actor, "notes.delete")
    _check_author(actor, note)
    with transaction.atomic():
        note_id = note.pk
        Activity.objects.filter(tenant=tenant, related_type=NOTE_RELATED_TYPE,
                                related_id=str(note_id)).delete()
        note.delete()
        audit_record(tenant=tenant, actor=actor, action="note.deleted", entity_type="note",
                     entity_id=note_id)
