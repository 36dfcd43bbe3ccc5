"""Settings → API keys: the list, a form to create one (its secret shown once), revoking."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.errors import NotFound, TendError
from tend.core.models import Tenant
from tend.core.permissions import all_permissions
from tend.core.selectors.apikeys import access_apikey, apikey_list, apikey_status
from tend.core.selectors.roles import permission_matrix
from tend.core.services.apikeys import apikey_create, apikey_revoke
from tend.core.views.base import apply_errors, is_htmx, require_perm
from tend.core.zones import tenant_zone


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"), max_length=100,
        help_text=gettext_lazy("Say what uses the key, such as “Website sign-up form”."),
    )
    expires_on = forms.DateField(
        label=gettext_lazy("Expires on"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("The key stops working at the end of this day (in the "
                               "organization's time zone). Leave empty for no expiry."),
    )
    permissions = forms.MultipleChoiceField(
        label=gettext_lazy("Permissions"), required=False,
        choices=lambda: [(p, p) for p in sorted(all_permissions())],
    )

    def expires_at(self, tenant: Tenant) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tenant_zone(tenant))


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined, no-any-return]


def _form_page(request: HttpRequest, form: ApiKeyForm, granted: set[str], *,
               status: int = 200) -> HttpResponse:
    actions, rows = permission_matrix(granted)
    return render(request, "core/apikey_form.html", {
        "form": form,
        "matrix_actions": actions,
        "matrix_rows": rows,
        "actor_permissions": _actor(request).permissions,
    }, status=status)


@require_perm("apikeys.view")
def apikeys_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    actor = _actor(request)
    status = request.GET.get("status") or None
    if status not in (None, "active", "revoked", "expired"):
        status = None
    keys = list(apikey_list(tenant=request.tenant, actor=actor,  # type: ignore[attr-defined]
                            status=status))
    for key in keys:
        key.status = apikey_status(key)  # type: ignore[attr-defined]
    return render(request, "core/apikeys.html", {
        "keys": keys,
        "status_filter": status or "",
        "can_manage": actor.has_perm("apikeys.manage"),
    })


@require_perm("apikeys.manage")
def apikeys_add(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The create form; after a successful POST, the page that shows the secret once."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    actor = _actor(request)
    if request.method != "POST":
        return _form_page(request, ApiKeyForm(), set())
    form = ApiKeyForm(request.POST)
    granted = set(request.POST.getlist("permissions"))
    if form.is_valid():
        try:
            api_key, secret = apikey_create(
                tenant=tenant, actor=actor, name=form.cleaned_data["name"],
                permissions=form.cleaned_data["permissions"],
                expires_at=form.expires_at(tenant),
            )
        except TendError as exc:
            apply_errors(form, exc, field_map={"expires_at": "expires_on"})
        else:
            response = render(request, "core/apikey_created.html", {
                "api_key": api_key, "secret": secret,
            }, status=201 if is_htmx(request) else 200)
            # The secret must not linger in any cache.
            response["Cache-Control"] = "no-store"
            return response
    return _form_page(request, form, granted, status=422)


@require_POST
@require_perm("apikeys.manage")
def apikeys_revoke(request: HttpRequest, org_slug: str, key_id: UUID) -> HttpResponse:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    actor = _actor(request)
    try:
        api_key = access_apikey(tenant=tenant, actor=actor, key_id=key_id)
    except NotFound:
        raise Http404 from None
    try:
        apikey_revoke(tenant=tenant, actor=actor, api_key=api_key)
    except TendError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The key %(name)s was revoked. It stops working at once.")
                         % {"name": api_key.name})
    if is_htmx(request):
        api_key.status = apikey_status(api_key)  # type: ignore[attr-defined]
        context: dict[str, Any] = {"key": api_key, "can_manage": True}
        return render(request, "core/partials/apikey_row.html", context)
    return redirect("core:apikeys-list", org_slug=tenant.slug)


urlpatterns = [
    path("o/<slug:org_slug>/settings/api-keys/", apikeys_list, name="apikeys-list"),
    path("o/<slug:org_slug>/settings/api-keys/new/", apikeys_add, name="apikeys-add"),
    path("o/<slug:org_slug>/settings/api-keys/<uuid:key_id>/revoke/", apikeys_revoke,
         name="apikeys-revoke"),
]
