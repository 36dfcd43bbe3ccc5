"""Messaging → Outbox: the outbox's figures and its dead letters (failed and dead-lettered
messages) with filters, retry and discard one by one or in bulk; Settings → Quiet hours."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tend.core.errors import ValidationFailed
from tend.core.views.base import require_perm, tenant_and_actor
from tend.messaging.choices import ChannelKind, MessageStatus
from tend.messaging.models import ChannelAccount
from tend.messaging.selectors.outbox import (
    access_outbound,
    dead_letter_error_codes,
    dead_letters,
    outbox_stats,
    visible_message_ids,
)
from tend.messaging.services.outbox import messages_discard, messages_retry, quiet_hours_set

PAGE_SIZE = 50


def _filters(request: HttpRequest) -> dict[str, Any]:
    get = request.GET
    raw = get.get("account") or ""
    try:
        account = UUID(raw) if raw else None
    except ValueError:
        account = None
    return {"status": get.get("status") or None, "channel": get.get("channel") or None,
            "account_id": account, "error_code": get.get("error_code") or None,
            "search": (get.get("q") or "").strip() or None}


@require_perm("outbox.view")
def outbox_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    filters = _filters(request)
    rows = dead_letters(tenant=tenant, actor=actor, **filters).order_by("-queued_at", "-id")
    try:
        page = max(1, int(request.GET.get("page") or 1))
    except ValueError:
        page = 1
    items = list(rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE + 1])
    context = {
        "stats": outbox_stats(tenant=tenant, actor=actor),
        "items": items[:PAGE_SIZE], "has_next": len(items) > PAGE_SIZE, "page": page,
        "filters": {k: ("" if v is None else str(v)) for k, v in filters.items()},
        "statuses": [(s.value, s.label) for s in (MessageStatus.FAILED, MessageStatus.DEAD)],
        "channels": ChannelKind.choices,
        "accounts": ChannelAccount.objects.filter(tenant=tenant).order_by("kind", "name"),
        "error_codes": dead_letter_error_codes(tenant=tenant),
        "can_manage": actor.has_perm("outbox.manage"),
        "query": request.GET.urlencode(),
    }
    return render(request, "messaging/outbox.html", context)


def _back(request: HttpRequest, org_slug: str) -> HttpResponse:
    url = reverse("messaging:outbox", kwargs={"org_slug": org_slug})
    query = request.POST.get("query", "")
    return redirect(f"{url}?{query}" if query else url)


def _report(request: HttpRequest, count: int, verb: str) -> None:
    if verb == "retry":
        text = _("%(count)d message(s) queued again.") % {"count": count}
    else:
        text = _("%(count)d message(s) discarded.") % {"count": count}
    messages.success(request, text)


@require_POST
@require_perm("outbox.manage")
def outbox_bulk(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    action = request.POST.get("action")
    ids = visible_message_ids(tenant=tenant, actor=actor, ids=request.POST.getlist("ids"))
    if action not in ("retry", "discard"):
        messages.error(request, _("Choose retry or discard."))
        return _back(request, org_slug)
    try:
        service = messages_retry if action == "retry" else messages_discard
        count = service(tenant=tenant, actor=actor, ids=ids)
    except ValidationFailed as exc:
        for errors in exc.fields.values():
            for error in errors:
                messages.error(request, error)
        return _back(request, org_slug)
    _report(request, count, action)
    return _back(request, org_slug)


@require_POST
@require_perm("outbox.manage")
def outbox_one(request: HttpRequest, org_slug: str, message_id: UUID,
               action: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    message = access_outbound(tenant=tenant, actor=actor, message_id=message_id)
    service = messages_retry if action == "retry" else messages_discard
    _report(request, service(tenant=tenant, actor=actor, ids=[message.pk]), action)
    return _back(request, org_slug)


@require_perm("outbox.view")
def quiet_hours_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    current = (tenant.settings or {}).get("quiet_hours") or {}
    values = {"start": current.get("start", ""), "end": current.get("end", "")}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not actor.has_perm("outbox.manage"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        values = {"start": request.POST.get("start", ""), "end": request.POST.get("end", "")}
        try:
            quiet_hours_set(tenant=tenant, actor=actor, **values)
        except ValidationFailed as exc:
            errors, status = exc.fields, 400
        else:
            messages.success(request, _("Quiet hours saved."))
            return redirect("messaging:quiet-hours", org_slug=org_slug)
    return render(request, "messaging/quiet_hours.html", {
        "values": values, "errors": errors, "time_zone": tenant.time_zone,
        "can_manage": actor.has_perm("outbox.manage")}, status=status)


_base = "o/<slug:org_slug>/messaging/outbox"
urlpatterns: list[Any] = [
    path(f"{_base}/", outbox_page, name="outbox"),
    path(f"{_base}/bulk/", outbox_bulk, name="outbox-bulk"),
    path(f"{_base}/<uuid:message_id>/retry/", outbox_one, {"action": "retry"},
         name="outbox-retry"),
    path(f"{_base}/<uuid:message_id>/discard/", outbox_one, {"action": "discard"},
         name="outbox-discard"),
    path("o/<slug:org_slug>/settings/quiet-hours/", quiet_hours_page, name="quiet-hours"),
]
