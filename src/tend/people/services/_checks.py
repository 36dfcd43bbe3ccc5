"""Small input checks shared by the contact-page services (notes, interactions, tasks,
consent)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from tend.core.errors import ValidationFailed
from tend.core.models import Membership, Tenant, User
from tend.core.services.customfields import custom_values_for_write
from tend.people.models import Contact


def check_contact_writable(contact: Contact | None, field: str = "contact") -> None:
    """Refuse writes about a contact that was merged away, deleted or erased."""
    if contact is None:
        return
    if not contact.is_live or contact.erased_at is not None:
        raise ValidationFailed(fields={field: [
            _("This contact was merged or deleted; it cannot change.")]})


def clean_custom(tenant: Tenant, entity_type: str, data: dict[str, Any], *, partial: bool,
                 current: dict[str, Any] | None, out: dict[str, Any],
                 errors: dict[str, list[str]]) -> None:
    """Put the `custom` column to write into `out` (a full write always; a partial one when
    `data` names it), its problems into `errors` as `custom.<key>` fields."""
    if "custom" not in data and partial:
        return
    try:
        out["custom"] = custom_values_for_write(
            tenant=tenant, entity_type=entity_type, values=data.get("custom"),
            current=current, partial=partial)
    except ValidationFailed as exc:
        errors.update(exc.fields)


def clean_choice(value: Any, field: str, choices: Any, errors: dict[str, list[str]]) -> str:
    """`value` if it is one of the TextChoices `choices`, else a field error."""
    allowed = [c.value for c in choices]
    if value not in allowed:
        errors[field] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)}]
        return ""
    return str(value)


def is_current_member(tenant: Tenant, user: User | None) -> bool:
    """True when `user` may sign in to `tenant` now (active, unexpired membership)."""
    if user is None or not user.is_active:
        return False
    from django.db.models import Q
    from django.utils import timezone

    return Membership.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
        tenant=tenant, user=user, is_active=True,
    ).exists()
