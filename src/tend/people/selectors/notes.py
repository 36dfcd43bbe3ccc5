"""Reading notes. Private notes exist only for their author: everyone else gets NotFound."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import NotFound
from tend.core.models import Tenant
from tend.people.models import Contact, Note

NOTE_ORDERING = ("-is_pinned", "-created_at", "-id")


def _visible(tenant: Tenant, actor: Actor) -> QuerySet[Note]:
    user = actor.acting_user
    private_ok = Q(author=user) if user is not None else Q(pk__in=[])
    return Note.objects.filter(Q(is_private=False) | private_ok, tenant=tenant)


def note_list(*, tenant: Tenant, actor: Actor, contact: Contact) -> QuerySet[Note]:
    """The contact's notes `actor` may read, pinned first, then newest first."""
    return (_visible(tenant, actor).filter(contact=contact).select_related("author")
            .order_by(*NOTE_ORDERING))


def note_get(*, tenant: Tenant, actor: Actor, note_id: UUID | str | Any) -> Note:
    """One note `actor` may read, or NotFound."""
    try:
        return (_visible(tenant, actor).select_related("author", "contact")
                .get(pk=note_id))
    except (Note.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such note.")) from None
