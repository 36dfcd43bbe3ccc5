"""Members and invitations: the table, the invite form and per-row actions.

Row actions answer htmx requests with the re-rendered row (422/409 with the error shown in
the row when the service refuses); without htmx they redirect back with a message, or show
the page again with the error and a 4xx status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.errors import TendError, ValidationFailed
from tend.core.models import Membership, Role
from tend.core.selectors.members import invitation_get, invitation_list, member_get, member_list
from tend.core.selectors.roles import role_get, role_list
from tend.core.services.guards import actor_is_owner, check_can_grant, is_owner_role
from tend.core.services.invitations import invitation_create, invitation_revoke
from tend.core.services.members import (
    member_change_role,
    member_disable,
    member_enable,
    member_remove,
    member_set_expiry,
)
from tend.core.views.base import apply_errors, is_htmx, require_perm
from tend.core.zones import tenant_zone, zone_named


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=gettext_lazy("Role"))

    def __init__(self, *args: Any, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = [(str(r.pk), r.display_name) for r in roles]
        # Least privilege first: suggest the viewer role when it may be granted.
        viewer = next((r for r in roles if r.is_builtin and r.key == "viewer"), None)
        if viewer is not None and not self.is_bound:
            self.initial.setdefault("role", str(viewer.pk))


@dataclass
class MemberRow:
    membership: Membership
    status: str  # active | disabled | expired
    is_self: bool
    manageable: bool
    expires_local: str  # value for the datetime-local input, in the organization's zone
    error: str = ""


def _grantable(actor: Actor, roles: list[Role]) -> list[Role]:
    allowed = []
    for role in roles:
        try:
            check_can_grant(actor, role)
        except TendError:
            continue
        allowed.append(role)
    return allowed


def _row(request: HttpRequest, membership: Membership, error: str = "") -> MemberRow:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    tenant = request.tenant  # type: ignore[attr-defined]
    now = timezone.now()
    if not membership.is_active:
        status = "disabled"
    elif membership.expires_at is not None and membership.expires_at <= now:
        status = "expired"
    else:
        status = "active"
    expires_local = ""
    if membership.expires_at is not None:
        local = membership.expires_at.astimezone(tenant_zone(tenant))
        expires_local = local.strftime("%Y-%m-%dT%H:%M")
    return MemberRow(
        membership=membership,
        status=status,
        is_self=membership.user_id == getattr(actor.user, "pk", None),
        manageable=not is_owner_role(membership.role) or actor_is_owner(actor),
        expires_local=expires_local,
        error=error,
    )


def _shared_context(request: HttpRequest) -> dict[str, Any]:
    """What the table rows need: roles to choose from and what the actor may do."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    roles = list(role_list(tenant=tenant))
    return {
        "roles": roles,
        "grantable_roles": _grantable(actor, roles),
        "can_add": actor.has_perm("members.add"),
        "can_change": actor.has_perm("members.change"),
        "can_delete": actor.has_perm("members.delete"),
        "time_zone": tenant.time_zone,
    }


def _page_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    tenant = request.tenant  # type: ignore[attr-defined]
    context = _shared_context(request)
    filters = {"q": request.GET.get("q", ""), "status": request.GET.get("status", "")}
    context.update(
        rows=[_row(request, m) for m in member_list(tenant=tenant, filters=filters)],
        invitations=list(invitation_list(tenant=tenant)),
        filters=filters,
    )
    if "invite_form" not in extra:
        extra["invite_form"] = InviteForm(roles=context["grantable_roles"])
    context.update(extra)
    return context


@require_perm("members.view")
def members_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    return render(request, "core/members.html", _page_context(request))


@require_POST
@require_perm("members.add")
def members_invite(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    grantable = _grantable(actor, list(role_list(tenant=tenant)))
    form = InviteForm(request.POST, roles=grantable)
    if form.is_valid():
        try:
            role = role_get(tenant=tenant, role_id=form.cleaned_data["role"])
            invitation, _token = invitation_create(
                tenant=tenant, actor=actor, email=form.cleaned_data["email"], role=role
            )
        except TendError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.")
                             % {"email": invitation.email})
            return redirect("core:members-list", org_slug=tenant.slug)
    return render(request, "core/members.html", _page_context(request, invite_form=form),
                  status=422)


def _row_response(request: HttpRequest, membership: Membership, *, message: str,
                  error: TendError | None = None) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    if is_htmx(request):
        text = ""
        if error is not None:
            text = " ".join(m for ms in error.fields.values() for m in ms) or error.message
        context = _shared_context(request)
        context["row"] = _row(request, membership, error=text)
        return render(request, "core/partials/member_row.html", context,
                      status=error.status if error else 200)
    if error is None:
        messages.success(request, message)
        return redirect("core:members-list", org_slug=tenant.slug)
    messages.error(request, " ".join(m for ms in error.fields.values() for m in ms)
                   or error.message)
    return render(request, "core/members.html", _page_context(request), status=error.status)


def _fresh(request: HttpRequest, membership: Membership) -> Membership:
    return member_get(tenant=request.tenant, membership_id=membership.pk)  # type: ignore[attr-defined]


def _parse_expiry(value: str, time_zone: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(fields={"expires_at": [_("Enter a date and time.")]}) from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=zone_named(time_zone))


@require_POST
@require_perm("members.change")
def member_role(request: HttpRequest, org_slug: str, membership_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = member_get(tenant=tenant, membership_id=membership_id)
    try:
        role = role_get(tenant=tenant, role_id=request.POST.get("role", ""))
    except TendError:
        error = ValidationFailed(fields={"role": [_("Choose a role of this organization.")]})
        return _row_response(request, membership, message="", error=error)
    try:
        membership = member_change_role(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                        membership=membership, role=role)
    except TendError as exc:
        return _row_response(request, _fresh(request, membership), message="", error=exc)
    return _row_response(request, membership, message=_("%(name)s is now %(role)s.") % {
        "name": membership.user, "role": role.display_name})


@require_POST
@require_perm("members.change")
def member_expiry(request: HttpRequest, org_slug: str, membership_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = member_get(tenant=tenant, membership_id=membership_id)
    try:
        expires_at = _parse_expiry(request.POST.get("expires_at", ""), tenant.time_zone)
        membership = member_set_expiry(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                       membership=membership, expires_at=expires_at)
    except TendError as exc:
        return _row_response(request, _fresh(request, membership), message="", error=exc)
    text = (_("The membership of %(name)s now has an end date.") if expires_at else
            _("The membership of %(name)s no longer ends."))
    return _row_response(request, membership, message=text % {"name": membership.user})


def _toggle(request: HttpRequest, membership_id: UUID, *, enable: bool) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = member_get(tenant=tenant, membership_id=membership_id)
    service = member_enable if enable else member_disable
    try:
        membership = service(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                             membership=membership)
    except TendError as exc:
        return _row_response(request, _fresh(request, membership), message="", error=exc)
    text = _("%(name)s can use the organization again.") if enable else _(
        "%(name)s was disabled and can no longer use the organization.")
    return _row_response(request, membership, message=text % {"name": membership.user})


@require_POST
@require_perm("members.change")
def member_disable_view(request: HttpRequest, org_slug: str, membership_id: UUID) -> HttpResponse:
    return _toggle(request, membership_id, enable=False)


@require_POST
@require_perm("members.change")
def member_enable_view(request: HttpRequest, org_slug: str, membership_id: UUID) -> HttpResponse:
    return _toggle(request, membership_id, enable=True)


@require_POST
@require_perm("members.delete")
def member_remove_view(request: HttpRequest, org_slug: str, membership_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = member_get(tenant=tenant, membership_id=membership_id)
    name = str(membership.user)
    try:
        member_remove(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                      membership=membership)
    except TendError as exc:
        return _row_response(request, _fresh(request, membership), message="", error=exc)
    if membership.user_id == request.user.pk:  # left the organization
        messages.success(request, _("You left %(org)s.") % {"org": tenant.name})
        if is_htmx(request):
            response = HttpResponse("")
            response["HX-Redirect"] = "/"
            return response
        return redirect("home")
    if is_htmx(request):
        return HttpResponse("")  # the row is swapped for nothing
    messages.success(request, _("%(name)s was removed.") % {"name": name})
    return redirect("core:members-list", org_slug=tenant.slug)


@require_POST
@require_perm("members.delete")
def invitation_revoke_view(request: HttpRequest, org_slug: str,
                           invitation_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    invitation = invitation_get(tenant=tenant, invitation_id=invitation_id)
    try:
        invitation_revoke(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                          invitation=invitation)
    except TendError as exc:
        if is_htmx(request):
            return HttpResponse(exc.message, status=exc.status)
        messages.error(request, exc.message)
        return render(request, "core/members.html", _page_context(request), status=exc.status)
    if is_htmx(request):
        return HttpResponse("")
    messages.success(request, _("The invitation to %(email)s was revoked.")
                     % {"email": invitation.email})
    return redirect("core:members-list", org_slug=tenant.slug)


_member = "o/<slug:org_slug>/settings/members/<uuid:membership_id>"
urlpatterns = [
    path("o/<slug:org_slug>/settings/members/", members_list, name="members-list"),
    path("o/<slug:org_slug>/settings/members/invite/", members_invite, name="members-invite"),
    path(f"{_member}/role/", member_role, name="members-role"),
    path(f"{_member}/expiry/", member_expiry, name="members-expiry"),
    path(f"{_member}/disable/", member_disable_view, name="members-disable"),
    path(f"{_member}/enable/", member_enable_view, name="members-enable"),
    path(f"{_member}/remove/", member_remove_view, name="members-remove"),
    path("o/<slug:org_slug>/settings/invitations/<uuid:invitation_id>/revoke/",
         invitation_revoke_view, name="invitations-revoke"),
]
