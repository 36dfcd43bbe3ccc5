"""The pods settings page: when the weekly check-in goes out."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from tend.community.services.pods_settings import pods_settings, pods_settings_update
from tend.community.views.pods_core import DAYS
from tend.core.views.base import form_post, form_status, posted_whole_numbers, require_perm


@require_perm("pods.change")
def pods_settings_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]

    def save() -> HttpResponse:
        pods_settings_update(tenant=tenant, actor=actor, data=posted_whole_numbers(
            request, ("weekly_day", "weekly_hour")))
        return redirect("community:pods", org_slug=org_slug)

    done, errors = form_post(request, save)
    if done is not None:
        return done
    return render(request, "community/pods_settings.html", {
        "settings": pods_settings(tenant), "errors": errors, "days": DAYS,
        "hours": list(range(24))}, status=form_status(errors))


urlpatterns = [
    # Before pods_core's `pods/<pod_id>/`.
    path("o/<slug:org_slug>/community/pods/settings/", pods_settings_view,
         name="pods-settings"),
]
