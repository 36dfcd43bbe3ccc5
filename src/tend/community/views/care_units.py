"""Unit pages: the tree, one unit with its members (add a member, add a sub-unit)."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from tend.community.models import UnitRole
from tend.community.selectors.care_units import (
    unit_ancestors,
    unit_get,
    unit_list,
    unit_members,
)
from tend.community.services.care_units import unit_create, unit_membership_add
from tend.core.errors import NotFound, ValidationFailed
from tend.core.views.base import form_post, form_status, require_perm
from tend.people.selectors.contact_page import access_contact

MAX_MEMBERS = 500


@require_perm("units.view")
def units_tree(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]

    def create() -> HttpResponse:
        unit_create(tenant=tenant, actor=actor, name=request.POST.get("name", ""),
                    kind=request.POST.get("kind", ""))
        return redirect("community:care-units", org_slug=org_slug)

    done, errors = form_post(request, create)
    if done is not None:
        return done
    return render(request, "community/care_units.html", {
        "units": list(unit_list(tenant=tenant)), "errors": errors,
        "can_change": actor.has_perm("units.change")}, status=form_status(errors))


def _since(raw: str) -> date | None:
    """The membership's start day typed as YYYY-MM-DD; empty is None."""
    try:
        return date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        raise ValidationFailed(fields={"since": [_("Enter a date like 2026-03-01.")]}) from None


@require_perm("units.view")
def unit_detail(request: HttpRequest, org_slug: str, unit_id: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    unit = unit_get(tenant=tenant, unit_id=unit_id)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "subunit":
                unit_create(tenant=tenant, actor=actor, name=request.POST.get("name", ""),
                            kind=request.POST.get("kind", ""), parent=unit)
            else:
                try:
                    contact = access_contact(tenant=tenant,
                                             contact_id=request.POST.get("contact_id"),
                                             actor=actor)
                except NotFound:
                    raise ValidationFailed(fields={"contact_id": [
                        _("Choose a contact of this organization.")]}) from None
                unit_membership_add(
                    tenant=tenant, actor=actor, unit=unit, contact=contact,
                    role=request.POST.get("role", UnitRole.MEMBER),
                    since=_since(request.POST.get("since") or ""),
                    scope_staff=request.POST.get("scope_staff") == "on")
            return redirect("community:care-unit", org_slug=org_slug, unit_id=unit.pk)
        except ValidationFailed as exc:
            errors = exc.fields or {"since": [exc.message]}
    return render(request, "community/care_unit.html", {
        "unit": unit, "ancestors": unit_ancestors(tenant=tenant, unit=unit),
        "children": list(unit_list(tenant=tenant, root=unit).filter(parent=unit)),
        "members": list(unit_members(tenant=tenant, unit=unit, actor=actor)[:MAX_MEMBERS]),
        "roles": UnitRole.choices, "errors": errors,
        "can_change": actor.has_perm("units.change")}, status=form_status(errors))


urlpatterns = [
    path("o/<slug:org_slug>/community/units/", units_tree, name="care-units"),
    path("o/<slug:org_slug>/community/units/<str:unit_id>/", unit_detail, name="care-unit"),
]
