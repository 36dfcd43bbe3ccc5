"""Roles and permissions: the list, and a matrix of areas by actions per role."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.errors import TendError
from tend.core.models import Role
from tend.core.permissions import all_permissions
from tend.core.selectors.roles import permission_matrix, role_get, role_list
from tend.core.services.roles import role_create, role_delete, role_update
from tend.core.views.base import apply_errors, require_perm


def _permission_choices() -> list[tuple[str, str]]:
    return [(p, p) for p in sorted(all_permissions())]


class RoleForm(forms.Form):
    key = forms.SlugField(
        label=gettext_lazy("Key"), max_length=50,
        help_text=gettext_lazy("A short identifier used by the API, such as team-lead. "
                               "It cannot be changed later."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=300,
                                  required=False)
    permissions = forms.MultipleChoiceField(label=gettext_lazy("Permissions"), required=False,
                                            choices=_permission_choices)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["key"]


def _matrix_context(actor: Actor, granted: frozenset[str] | set[str], *,
                    editable: bool) -> dict[str, Any]:
    actions, rows = permission_matrix(granted)
    return {
        "matrix_actions": actions,
        "matrix_rows": rows,
        "matrix_editable": editable,
        "actor_permissions": actor.permissions if not actor.is_system else all_permissions(),
    }


@require_perm("roles.view")
def roles_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return render(request, "core/roles.html", {
        "roles": list(role_list(tenant=request.tenant)),  # type: ignore[attr-defined]
        "can_add": actor.has_perm("roles.add"),
    })


@require_perm("roles.add")
def roles_add(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST":
        form = RoleForm(request.POST)
        if form.is_valid():
            try:
                role = role_create(tenant=tenant, actor=actor, **form.cleaned_data)
            except TendError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("The role %(name)s was created.")
                                 % {"name": role.name})
                return redirect("core:roles-detail", org_slug=tenant.slug, role_id=role.pk)
        status = 422
        granted = set(request.POST.getlist("permissions"))
    else:
        form = RoleForm()
        granted = set()
    return render(request, "core/role_form.html", {
        "form": form, "role": None, **_matrix_context(actor, granted, editable=True),
    }, status=status)


def _detail(request: HttpRequest, role: Role, *, form: RoleForm | None = None,
            granted: set[str] | None = None, status: int = 200) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    editable = not role.is_builtin and actor.has_perm("roles.change")
    if form is None:
        form = RoleForm(editing=True, initial={"name": role.display_name,
                                                "description": role.description})
        if not editable:
            for field in form.fields.values():
                field.disabled = True
    return render(request, "core/role_form.html", {
        "form": form, "role": role, "editable": editable,
        "can_delete": (not role.is_builtin and actor.has_perm("roles.delete")
                       and role.member_count == 0),  # type: ignore[attr-defined]
        **_matrix_context(actor, role.permission_set() if granted is None else granted,
                          editable=editable),
    }, status=status)


@require_perm("roles.view")
def roles_detail(request: HttpRequest, org_slug: str, role_id: UUID) -> HttpResponse:
    """A role's permissions; custom roles are edited here by members with `roles.change`."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    role = role_get(tenant=tenant, role_id=role_id)
    if request.method != "POST":
        return _detail(request, role)
    if role.is_builtin or not actor.has_perm("roles.change"):
        raise PermissionDenied
    form = RoleForm(request.POST, editing=True)
    if form.is_valid():
        try:
            role_update(tenant=tenant, actor=actor, role=role, **form.cleaned_data)
        except TendError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The role %(name)s was saved.") % {"name": role.name})
            return redirect("core:roles-detail", org_slug=tenant.slug, role_id=role.pk)
    return _detail(request, role, form=form, granted=set(request.POST.getlist("permissions")),
                   status=422)


@require_POST
@require_perm("roles.delete")
def roles_delete(request: HttpRequest, org_slug: str, role_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    role: Role = role_get(tenant=tenant, role_id=role_id)
    try:
        role_delete(tenant=tenant, actor=request.actor, role=role)  # type: ignore[attr-defined]
    except TendError as exc:
        messages.error(request, exc.message)
        return _detail(request, role, status=exc.status)
    messages.success(request, _("The role %(name)s was deleted.") % {"name": role.name})
    return redirect("core:roles-list", org_slug=tenant.slug)


urlpatterns = [
    path("o/<slug:org_slug>/settings/roles/", roles_list, name="roles-list"),
    path("o/<slug:org_slug>/settings/roles/new/", roles_add, name="roles-add"),
    path("o/<slug:org_slug>/settings/roles/<uuid:role_id>/", roles_detail, name="roles-detail"),
    path("o/<slug:org_slug>/settings/roles/<uuid:role_id>/delete/", roles_delete,
         name="roles-delete"),
]
