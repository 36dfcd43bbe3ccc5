"""Marketing → Webhooks: subscriptions (the secret shown once), a subscription's delivery
log with "send test event" and redeliver, switching on/off and deleting."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tend.core.errors import TendError
from tend.core.views.base import require_perm
from tend.marketing.models import DeliveryStatus
from tend.marketing.selectors.automation import (
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_subscription_get,
    webhook_subscription_list,
)
from tend.marketing.services import webhooks_out as svc
from tend.marketing.views.automation_base import ctx, error_list, url


def _list_page(request: HttpRequest, errors: dict[str, list[str]] | None = None,
               status: int = 200, secret: str = "") -> HttpResponse:
    tenant, actor = ctx(request)
    return render(request, "marketing/webhooks_list.html", {
        "subscriptions": list(webhook_subscription_list(tenant=tenant)),
        "events": svc.webhook_events(), "errors": errors or {},
        "form": request.POST if errors else {}, "secret": secret,
        "can_manage": actor.has_perm("webhooks.manage")}, status=status)


@require_perm("webhooks.view")
def webhooks_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    if request.method != "POST":
        return _list_page(request)
    tenant, actor = ctx(request)
    try:
        sub, secret = svc.webhook_subscription_create(tenant=tenant, actor=actor, data={
            "name": request.POST.get("name", ""), "url": request.POST.get("url", ""),
            "event_types": request.POST.getlist("event_types")})
    except TendError as exc:
        return _list_page(request, error_list(exc), status=exc.status)
    return _detail_page(request, sub.pk, secret=secret)


def _detail_page(request: HttpRequest, subscription_id: UUID, secret: str = "") -> HttpResponse:
    tenant, actor = ctx(request)
    sub = webhook_subscription_get(tenant=tenant, subscription_id=subscription_id)
    state = request.GET.get("status", "")
    state = state if state in DeliveryStatus.values else ""
    return render(request, "marketing/webhook_detail.html", {
        "sub": sub, "secret": secret, "status": state, "statuses": DeliveryStatus.choices,
        "deliveries": list(webhook_delivery_list(tenant=tenant, subscription=sub,
                                                 status=state)[:100]),
        "can_manage": actor.has_perm("webhooks.manage")})


@require_perm("webhooks.view")
def webhooks_detail(request: HttpRequest, org_slug: str, subscription_id: UUID) -> HttpResponse:
    return _detail_page(request, subscription_id)


@require_perm("webhooks.manage")
@require_POST
def webhooks_act(request: HttpRequest, org_slug: str, subscription_id: UUID,
                 action: str) -> HttpResponse:
    """test / toggle / rotate / delete."""
    tenant, actor = ctx(request)
    sub = webhook_subscription_get(tenant=tenant, subscription_id=subscription_id)
    if action == "test":
        delivery = svc.webhook_send_test(tenant=tenant, actor=actor, subscription=sub)
        if delivery.status == DeliveryStatus.SUCCEEDED:
            messages.success(request, _("Test event delivered (HTTP %(code)s).")
                             % {"code": delivery.response_code})
        else:
            messages.error(request, _("Test event failed: %(error)s")
                           % {"error": delivery.error})
    elif action == "toggle":
        svc.webhook_subscription_update(tenant=tenant, actor=actor, subscription=sub,
                                        data={"is_active": not sub.is_active})
    elif action == "rotate":
        sub, secret = svc.webhook_subscription_rotate_secret(tenant=tenant, actor=actor,
                                                             subscription=sub)
        return _detail_page(request, sub.pk, secret=secret)
    elif action == "delete":
        svc.webhook_subscription_delete(tenant=tenant, actor=actor, subscription=sub)
        messages.success(request, _("Webhook deleted."))
        return redirect(url(request, "webhooks-list"))
    return redirect(url(request, "webhooks-detail", subscription_id=sub.pk))


@require_perm("webhooks.manage")
@require_POST
def webhooks_redeliver(request: HttpRequest, org_slug: str, delivery_id: UUID) -> HttpResponse:
    tenant, actor = ctx(request)
    delivery = webhook_delivery_get(tenant=tenant, delivery_id=delivery_id)
    try:
        delivery = svc.webhook_redeliver(tenant=tenant, actor=actor, delivery=delivery)
    except TendError as exc:
        messages.error(request, " ".join(m for v in error_list(exc).values() for m in v))
    else:
        messages.info(request, _("Redelivered: %(status)s.")
                      % {"status": delivery.get_status_display()})
    return redirect(url(request, "webhooks-detail", subscription_id=delivery.subscription_id))


prefix = "o/<slug:org_slug>/marketing/webhooks/"
urlpatterns = [
    path(prefix, webhooks_list, name="webhooks-list"),
    path(f"{prefix}<uuid:subscription_id>/", webhooks_detail, name="webhooks-detail"),
    path(f"{prefix}<uuid:subscription_id>/<str:action>/", webhooks_act, name="webhooks-act"),
    path(f"{prefix}deliveries/<uuid:delivery_id>/redeliver/", webhooks_redeliver,
         name="webhooks-redeliver"),
]
