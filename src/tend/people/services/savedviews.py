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

_UNSET: Any = object()


def _clean_name(tenant: Tenant, owner_id: Any, name: Any, errors: dict[str, list[str]],
                exclude: Any = None) -> str:
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 100:
        errors["name"] = [_("Use at most %(limit)d characters.") % {"limit": 100}]
    elif SavedView.objects.filter(tenant=tenant, owner_id=owner_id, entity_type="contact",
                                  name=name).exclude(pk=exclude).exists():
        errors["name"] = [_("You have a view with this name already.")]
    return name


def _clean_state(tenant: Tenant, actor: Actor, filters: Any, columns: Any, sort: Any,
                 errors: dict[str, list[str]]) -> dict[str, Any]:
    """Filters without empty values, checked (with the sort and columns) as the list checks
    them."""
    if not isinstance(filters, dict):
        errors["filters"] = [_("Give the filters as an object.")]
        filters = {}
    filters = {k: v for k, v in filters.items() if v not in ("", None) and k != "q"}
    for check in (lambda: contact_filter_condition(tenant=tenant, actor=actor, filters=filters),
                  lambda: contact_sort(sort if isinstance(sort, str) else "")):
        try:
            check()
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if not isinstance(sort, str):
        errors["sort"] = [_("Enter text.")]
    if not isinstance(columns, list | tuple):
        errors["columns"] = [_("Give a list of columns.")]
    else:
        bad = [str(c) for c in columns if c not in COLUMNS]
        if bad:
            errors["columns"] = [_("Unknown columns: %(names)s.") % {"names": ", ".join(bad)}]
    return filters


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
    name = _clean_name(tenant, actor.user.pk, name, errors)
    filters = _clean_state(tenant, actor, filters or {}, columns, sort, errors)
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


def _check_may_change(tenant: Tenant, actor: Actor, view: SavedView) -> None:
    """One's own view, or a shared one with `contacts.manage`."""
    if view.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"view": [_("Choose a view of this organization.")]})
    is_own = actor.user is not None and view.owner_id == actor.user.pk
    if not is_own:
        if not view.is_shared:
            raise PermissionDenied()
        check_perm(actor, "contacts.manage")


def savedview_update(*, tenant: Tenant, actor: Actor, view: SavedView, name: Any = _UNSET,
                     filters: Any = _UNSET, columns: Any = _UNSET, sort: Any = _UNSET,
                     search: Any = _UNSET, is_shared: Any = _UNSET) -> SavedView:
    """Change the fields given of a saved view: one's own, or a shared one with
    `contacts.manage`; sharing or unsharing needs `contacts.manage` too. Checked like
    `savedview_create`; the name stays unique per owner."""
    _check_may_change(tenant, actor, view)
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if name is not _UNSET:
        changes["name"] = _clean_name(tenant, view.owner_id, name, errors, exclude=view.pk)
    if is_shared is not _UNSET:
        if not isinstance(is_shared, bool):
            errors["is_shared"] = [_("Give true or false.")]
        elif is_shared != view.is_shared:
            check_perm(actor, "contacts.manage")
            changes["is_shared"] = is_shared
    if any(value is not _UNSET for value in (filters, columns, sort, search)):
        saved_search = (view.filters or {}).get("q", "")
        state = _clean_state(
            tenant, actor, (view.filters if filters is _UNSET else filters) or {},
            view.columns if columns is _UNSET else columns,
            view.sort if sort is _UNSET else sort, errors)
        new_search = saved_search if search is _UNSET else search
        if not isinstance(new_search, str):
            errors["search"] = [_("Enter text.")]
        elif new_search.strip():
            state["q"] = new_search.strip()[:200]
        changes["filters"] = state
        if columns is not _UNSET:
            changes["columns"] = list(columns) if isinstance(columns, list | tuple) else []
        if sort is not _UNSET:
            changes["sort"] = sort
    if errors:
        raise ValidationFailed(fields=errors)
    changed = [k for k, v in changes.items() if getattr(view, k) != v]
    if not changed:
        return view
    with transaction.atomic():
        for key in changed:
            setattr(view, key, changes[key])
        view.updated_by = actor.user
        view.save(update_fields=[*changed, "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="savedview.updated",
                     entity_type="savedview", entity_id=view.pk, changes={"fields": changed})
    return view


def savedview_delete(*, tenant: Tenant, actor: Actor, view: SavedView) -> None:
    """Delete a saved view: one's own, or a shared one with `contacts.manage`."""
    _check_may_change(tenant, actor, view)
    with transaction.atomic():
        view_id = view.pk
        view.delete()
        audit_record(tenant=tenant, actor=actor, action="savedview.deleted",
                     entity_type="savedview", entity_id=view_id)
