"""Notifications: the bell in the top bar (polled) and the list page with "mark read"."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tend.core.selectors.notifications import notification_list, notification_unread_count
from tend.core.services.notifications import notifications_mark_read
from tend.core.views.base import is_htmx, require_perm

MAX_ROWS = 100


def _user(request: HttpRequest):  # type: ignore[no-untyped-def]
    return request.actor.acting_user  # type: ignore[attr-defined]


@require_perm()
def notifications_bell(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    user = _user(request)
    count = notification_unread_count(tenant=tenant, user=user) if user else 0
    return render(request, "core/partials/notification_bell.html", {"unread_count": count})


@require_perm()
def notifications_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    user = _user(request)
    show = request.GET.get("show", "")
    rows = (list(notification_list(tenant=tenant, user=user,
                                   unread=True if show == "unread" else None)[:MAX_ROWS])
            if user else [])
    return render(request, "core/notifications.html", {
        "notifications": rows, "show": show,
        "unread_count": notification_unread_count(tenant=tenant, user=user) if user else 0,
    })


@require_POST
@require_perm()
def notifications_read(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Mark one (`id`) or all notifications read; then follow `next` (a local path) if given."""
    tenant = request.tenant  # type: ignore[attr-defined]
    user = _user(request)
    ids = request.POST.getlist("id") or None
    if user is not None:
        notifications_mark_read(tenant=tenant, user=user, ids=ids)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    if is_htmx(request):
        return notifications_bell(request, org_slug)
    return redirect("core:notifications", org_slug=org_slug)


urlpatterns = [
    path("o/<slug:org_slug>/notifications/", notifications_page, name="notifications"),
    path("o/<slug:org_slug>/notifications/bell/", notifications_bell, name="notifications-bell"),
    path("o/<slug:org_slug>/notifications/read/", notifications_read, name="notifications-read"),
]
