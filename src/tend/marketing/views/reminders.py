"""Marketing → Reminders: my reminders (or everyone's) with done / snooze / dismiss, and for
managers the reminder rules and the digest hour."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tend.core.errors import TendError
from tend.core.views.base import require_perm
from tend.core.zones import tenant_zone
from tend.marketing.models import ReminderStatus
from tend.marketing.selectors.automation import (
    reminder_get,
    reminder_list,
    reminder_rule_get,
    reminder_rule_list,
)
from tend.marketing.services import reminders as svc
from tend.marketing.views.automation_base import ctx, error_list, url, when

SNOOZES = (("1h", timedelta(hours=1)), ("1d", timedelta(days=1)), ("1w", timedelta(weeks=1)))


def _page(request: HttpRequest, errors: dict[str, list[str]] | None = None,
          status: int = 200) -> HttpResponse:
    tenant, actor = ctx(request)
    can_manage = actor.has_perm("reminders.manage")
    scope = "all" if request.GET.get("scope") == "all" and can_manage else "mine"
    state = request.GET.get("status", "OPEN")
    state = state if state in ReminderStatus.values or state == "ANY" else "OPEN"
    kind = request.GET.get("type", "")
    reminders = reminder_list(tenant=tenant, actor=actor, scope=scope,
                              status="" if state == "ANY" else state,
                              type=kind if svc.reminder_type(kind) else "")
    return render(request, "marketing/reminders_list.html", {
        "reminders": list(reminders[:200]), "scope": scope, "status": state,
        "kind": kind, "statuses": ReminderStatus.choices, "types": svc.reminder_types(),
        "resolvers": svc.recipient_resolvers(), "can_manage": can_manage,
        "rules": list(reminder_rule_list(tenant=tenant)) if can_manage else [],
        "digest_hour": svc.digest_hour(tenant), "errors": errors or {},
        "form": request.POST if errors else {}}, status=status)


@require_perm("reminders.view")
def reminders_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _page(request)


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page the form was on (`next`) when it is on this site; else the list."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(url(request, "reminders-list"))


@require_perm("reminders.view")
@require_POST
def reminders_act(request: HttpRequest, org_slug: str, reminder_id: UUID,
                  action: str) -> HttpResponse:
    """done / dismiss / snooze (`for`: 1h, 1d, 1w, or `until`)."""
    tenant, actor = ctx(request)
    reminder = reminder_get(tenant=tenant, actor=actor, reminder_id=reminder_id)
    try:
        if action == "done":
            svc.reminder_done(tenant=tenant, actor=actor, reminder=reminder)
            messages.success(request, _("Marked done."))
        elif action == "dismiss":
            svc.reminder_dismiss(tenant=tenant, actor=actor, reminder=reminder)
            messages.success(request, _("Dismissed."))
        elif action == "snooze":
            delta = dict(SNOOZES).get(request.POST.get("for", ""))
            until = (timezone.now() + delta if delta else
                     when(request.POST.get("until"), tenant_zone(tenant)))
            svc.reminder_snooze(tenant=tenant, actor=actor, reminder=reminder,
                                until=until)  # type: ignore[arg-type]
            messages.success(request, _("Snoozed."))
    except TendError as exc:
        messages.error(request, " ".join(m for v in error_list(exc).values() for m in v))
    return _back(request)


def _rule_data(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    kind = svc.reminder_type(post.get("type", ""))
    params = {name: post.get(f"param-{name}", "") for name in (kind.params if kind else {})}
    return {"name": post.get("name", ""), "type": post.get("type", ""),
            "params": {k: v for k, v in params.items() if v != ""},
            "recipients": post.getlist("recipients") or ["owner"],
            "is_active": bool(post.get("is_active"))}


@require_perm("reminders.manage")
@require_POST
def reminder_rules_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = ctx(request)
    try:
        rule = svc.reminder_rule_create(tenant=tenant, actor=actor, data=_rule_data(request))
    except TendError as exc:
        return _page(request, error_list(exc), status=exc.status)
    created, _closed = svc.reminder_rule_run(tenant=tenant, rule=rule)
    messages.success(request, _("Rule saved; %(count)d reminders created.") % {"count": created})
    return redirect(url(request, "reminders-list") + "?scope=all")


@require_perm("reminders.manage")
@require_POST
def reminder_rules_act(request: HttpRequest, org_slug: str, rule_id: UUID,
                       action: str) -> HttpResponse:
    """run / toggle / delete."""
    tenant, actor = ctx(request)
    rule = reminder_rule_get(tenant=tenant, rule_id=rule_id)
    if action == "run":
        created, closed = svc.reminder_rule_run(tenant=tenant, rule=rule)
        messages.success(request, _("%(created)d reminders created, %(closed)d closed.")
                         % {"created": created, "closed": closed})
    elif action == "toggle":
        svc.reminder_rule_update(tenant=tenant, actor=actor, rule=rule,
                                 data={"is_active": not rule.is_active})
    elif action == "delete":
        svc.reminder_rule_delete(tenant=tenant, actor=actor, rule=rule)
        messages.success(request, _("Rule deleted."))
    return redirect(url(request, "reminders-list") + "?scope=all")


@require_perm("reminders.manage")
@require_POST
def reminders_settings(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = ctx(request)
    try:
        svc.reminders_settings_update(tenant=tenant, actor=actor,
                                      digest_hour=request.POST.get("digest_hour", ""))  # type: ignore[arg-type]
    except TendError as exc:
        return _page(request, error_list(exc), status=exc.status)
    messages.success(request, _("Digest hour saved."))
    return redirect(url(request, "reminders-list"))


prefix = "o/<slug:org_slug>/marketing/reminders/"
urlpatterns = [
    path(prefix, reminders_list, name="reminders-list"),
    path(f"{prefix}settings/", reminders_settings, name="reminders-settings"),
    path(f"{prefix}rules/", reminder_rules_create, name="reminder-rules-create"),
    path(f"{prefix}rules/<uuid:rule_id>/<str:action>/", reminder_rules_act,
         name="reminder-rules-act"),
    path(f"{prefix}<uuid:reminder_id>/<str:action>/", reminders_act, name="reminders-act"),
]
