"""The organization's start page: real counts and a getting-started checklist."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from tend.core.selectors.dashboard import dashboard_counts
from tend.core.views.base import require_perm


@require_perm()
def dashboard(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Any current member may see the dashboard; links show only where they lead somewhere
    the member may go."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor = request.actor  # type: ignore[attr-defined]
    counts = dashboard_counts(tenant=tenant)
    steps = [
        {"id": "step-organization", "done": bool(tenant.enabled_modules),
         "text": _("Set your organization's time zone, language and modules"),
         "url_name": "core:organization-settings", "perm": "organization.change"},
        {"id": "step-invite", "done": counts.members > 1 or counts.pending_invitations > 0,
         "text": _("Invite your team"),
         "url_name": "core:members-list", "perm": "members.add"},
        {"id": "step-roles", "done": counts.custom_roles > 0,
         "text": _("Review roles and permissions"),
         "url_name": "core:roles-list", "perm": "roles.view"},
        {"id": "step-apikey", "done": counts.api_keys > 0,
         "text": _("Create an API key to connect other systems"),
         "url_name": "core:apikeys-list", "perm": "apikeys.manage"},
    ]
    steps = [s for s in steps if actor.has_perm(s["perm"])]
    return render(request, "core/dashboard.html", {
        "counts": counts,
        "steps": steps,
        "steps_done": sum(1 for s in steps if s["done"]),
    })


urlpatterns = [
    path("o/<slug:org_slug>/", dashboard, name="dashboard"),
]
