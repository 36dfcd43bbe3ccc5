"""Saved contact list views: a name for a set of filters, columns and a sort."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.models import SavedView
from tend.people.selectors.contacts import COLUMNS, contact_filter_condition, contact_sort


def savedview_create(*, tenant: Tenant, actor: Actor, name: str, filters: dict[str, Any],
                     columns: list[str], sort: str = "", is_shared: bool = False,
                     search: str = "") -> SavedView:
    """Save a contacts list view for the acting member. Needs `contacts.view`; sharing it with
    the organization needs `contacts.manage`. Filters, columns and sort are checked as the
    list checks them; the name is unique per member."""
    check_perm(actor, "contacts.view")
    if actor.user is None:
        raise PermissionDenied(_("Only members can save views."))
    if is_shared:
        check_perm(actor, "contacts.manage")
    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split()) if isinstance(name, str) else ""
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 100:
        errors["name"] = [_("Use at most %(limit)d characters.") % {"limit": 100}]
    elif SavedView.objects.filter(tenant=tenant, owner=actor.user, entity_type="contact",
                                  name=name).exists():
        errors["name"] = [_("You have a view with this name already.")]
    filters = {k: v for k, v in (filters or {}).items() if v not in ("", None)}
    try:
        contact_filter_condition(tenant=tenant, actor=actor, filters=filters)
        contact_sort(sort)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    bad = [c for c in columns if c not in COLUMNS]
    if bad:
        errors["columns"] = [_("Unknown columns: %(names)s.") % {"names": ", ".join(bad)}]
    if errors:
        raise ValidationFailed(fields=errors)
    if search:
        filters["q"] = search[:200]
    with transaction.atomic():
        view = SavedView.objects.create(
            tenant=tenant, name=name, entity_type="contact", owner=actor.user,
            is_shared=is_shared, filters=filters, columns=list(columns), sort=sort,
            created_by=actor.user, updated_by=actor.user)
        audit_record(tenant=tenant, actor=actor, action="savedview.created",
                     entity_type="savedview", entity_id=view.pk,
                     changes={"shared": is_shared})
    return view


def savedview_delete(*, tenant: Tenant, actor: Actor, view: SavedView) -> None:
    """Delete a saved view: one's own, or a shared one with `contacts.manage`."""
    if view.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"view": [_("Choose a view of this organization.")]})
    is_own = actor.user is not None and view.owner_id == actor.user.pk
    if not is_own:
        if not view.is_shared:
            raise PermissionDenied()
        check_perm(actor, "contacts.manage")
    with transaction.atomic():
        view_id = view.pk
        view.delete()
        audit_record(tenant=tenant, actor=actor, action="savedview.deleted",
                     entity_type="savedview", entity_id=view_id)
