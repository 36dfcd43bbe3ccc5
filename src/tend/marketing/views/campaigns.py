"""Marketing → Campaigns: the list, the wizard (audience with a live count → content per
channel with preview → schedule → review → launch), a campaign's report (numbers, activity
over time, clicks per link, runs) with pause, resume and cancel."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tend.core.errors import TendError
from tend.core.views.base import require_perm, tenant_and_actor
from tend.marketing.models import Campaign, CampaignKind, CampaignStatus, CampaignType, Segment
from tend.marketing.selectors.campaigns import (
    campaign_get,
    campaign_link_clicks,
    campaign_list,
    campaign_runs,
    campaign_series,
)
from tend.marketing.services import campaigns as svc
from tend.marketing.services.campaigns_fanout import audience_count
from tend.marketing.services.tracking import campaign_stats
from tend.marketing.views.automation_base import when
from tend.messaging.choices import ChannelKind, TemplateStatus
from tend.messaging.models import Template

STEPS = ("audience", "content", "schedule", "review")
CHART_W, CHART_H, PAD = 640, 180, 30
SERIES = (("SENT", "#2563eb"), ("DELIVERED", "#059669"), ("OPENED", "#d97706"),
          ("CLICKED", "#db2777"))


_ctx = tenant_and_actor


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    from django.urls import reverse

    return reverse(f"marketing:{name}", kwargs={"org_slug": request.tenant.slug,  # type: ignore[attr-defined]
                                                **kwargs})


@require_perm("campaigns.view")
def campaigns_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Every campaign with its status and numbers."""
    tenant, actor = _ctx(request)
    status = request.GET.get("status", "")
    status = status if status in CampaignStatus.values else ""
    return render(request, "marketing/campaigns_list.html", {
        "campaigns": list(campaign_list(tenant=tenant, status=status)[:200]),
        "status": status, "statuses": CampaignStatus.choices,
        "can_add": actor.has_perm("campaigns.add")})


# --- the wizard ----------------------------------------------------------------------------


def _ids(request: HttpRequest, name: str) -> list[str]:
    out = []
    for value in request.POST.getlist(name):
        try:
            out.append(str(UUID(value)))
        except ValueError:
            continue
    return out


def _audience_data(request: HttpRequest) -> dict[str, Any]:
    return {"name": request.POST.get("name", ""),
            "description": request.POST.get("description", ""),
            "kind": request.POST.get("kind") or CampaignKind.CAMPAIGN,
            "context_label": request.POST.get("context_label", ""),
            "segment_ids": _ids(request, "segment_ids"),
            "exclude_segment_ids": _ids(request, "exclude_segment_ids")}


def _channels_data(request: HttpRequest) -> list[dict[str, Any]]:
    channels = []
    for kind in ChannelKind.values:
        if not request.POST.get(f"{kind}-on"):
            continue
        spec: dict[str, Any] = {"channel": kind,
                                "consent_required": bool(request.POST.get(f"{kind}-consent"))}
        key = request.POST.get(f"{kind}-template", "").strip()
        if key:
            spec["template_key"] = key
        else:
            spec["subject"] = request.POST.get(f"{kind}-subject", "")
            spec["body"] = request.POST.get(f"{kind}-body", "")
        channels.append(spec)
    return channels


def _context_data(request: HttpRequest) -> dict[str, Any]:
    return {name: request.POST.get(f"item-{name}", "").strip() for name in svc.ITEM_FIELDS
            if request.POST.get(f"item-{name}", "").strip()}


def _schedule_data(request: HttpRequest) -> dict[str, Any]:
    post = request.POST

    def number(name: str) -> int | str | None:
        """The whole number typed, None when blank, or the text itself when it is not a
        number (the service then says so)."""
        raw = post.get(name, "").strip()
        try:
            return int(raw) if raw else None
        except ValueError:
            return raw

    data: dict[str, Any] = {
        "type": post.get("type") or CampaignType.ONE_TIME,
        "scheduled_at": when(post.get("scheduled_at", "")),
        "cron": post.get("cron", ""), "time_zone": post.get("time_zone", ""),
        "end_at": when(post.get("end_at", "")),
        "send_local_time": bool(post.get("send_local_time")),
        "throttle_per_minute": number("throttle_per_minute"),
        "trigger_activity_type": post.get("trigger_activity_type", ""),
        "conversion_activity_type": post.get("conversion_activity_type", ""),
        "conversion_days": 7 if (days := number("conversion_days")) is None else days,
    }
    for key in ("scheduled_at", "end_at"):
        if post.get(key, "").strip() and data[key] is None:
            data[key] = "bad"
    return data


def _wizard_context(request: HttpRequest, campaign: Campaign | None, step: str,
                    errors: dict[str, list[str]] | None = None,
                    message: str = "") -> dict[str, Any]:
    tenant, actor = _ctx(request)
    templates: dict[str, list[str]] = {}
    for key, channel in (Template.objects.filter(tenant=tenant, status=TemplateStatus.PUBLISHED)
                         .order_by("key").values_list("key", "channel").distinct()):
        templates.setdefault(channel, []).append(key)
    specs = {c["channel"]: c for c in (campaign.channels if campaign else [])}
    channel_rows = [{"kind": kind, "label": label, "spec": specs.get(kind),
                     "templates": templates.get(kind, [])}
                    for kind, label in ChannelKind.choices]
    context: dict[str, Any] = {
        "campaign": campaign, "step": step, "steps": STEPS, "errors": errors or {},
        "error_message": message,
        "segments": list(Segment.objects.filter(tenant=tenant, is_active=True)
                         .order_by("name")),
        "channel_rows": channel_rows, "types": CampaignType.choices[:3],
        "kinds": CampaignKind.choices[:2], "item_fields": svc.ITEM_FIELDS,
        "can_send": actor.has_perm("campaigns.send"),
    }
    if campaign is not None and step == "review":
        context["counts"] = audience_count(tenant=tenant, campaign=campaign)
    return context


def _wizard_page(request: HttpRequest, campaign: Campaign | None, step: str,
                 exc: TendError | None = None) -> HttpResponse:
    errors = {k: [str(m) for m in v] for k, v in exc.fields.items()} if exc else {}
    context = _wizard_context(request, campaign, step, errors,
                              exc.message if exc and not exc.fields else "")
    return render(request, "marketing/campaign_wizard.html", context,
                  status=exc.status if exc else 200)


@require_perm("campaigns.add")
def campaigns_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Step 1 for a new campaign: name and audience; saving creates the draft."""
    tenant, actor = _ctx(request)
    if request.method != "POST":
        return _wizard_page(request, None, "audience")
    try:
        campaign = svc.campaign_create(tenant=tenant, actor=actor, data=_audience_data(request))
    except TendError as exc:
        return _wizard_page(request, None, "audience", exc)
    return redirect(_url(request, "campaigns-wizard", campaign_id=campaign.pk, step="content"))


@require_perm("campaigns.change")
def campaigns_wizard(request: HttpRequest, org_slug: str, campaign_id: UUID,
                     step: str) -> HttpResponse:
    """Steps of an existing draft (or scheduled / paused) campaign."""
    tenant, actor = _ctx(request)
    campaign = campaign_get(tenant=tenant, campaign_id=campaign_id)
    if step not in STEPS:
        step = "audience"
    if campaign.status not in svc.EDITABLE_STATUSES:
        return redirect(_url(request, "campaigns-detail", campaign_id=campaign.pk))
    if request.method != "POST" or step == "review":
        return _wizard_page(request, campaign, step)
    data: dict[str, Any]
    if step == "audience":
        data = _audience_data(request)
    elif step == "content":
        data = {"channels": _channels_data(request), "context": _context_data(request)}
    else:
        data = _schedule_data(request)
    try:
        svc.campaign_update(tenant=tenant, actor=actor, campaign=campaign, data=data)
    except TendError as exc:
        campaign.refresh_from_db()
        return _wizard_page(request, campaign, step, exc)
    following = STEPS[STEPS.index(step) + 1]
    return redirect(_url(request, "campaigns-wizard", campaign_id=campaign.pk, step=following))


@require_perm("campaigns.view")
@require_POST
def campaigns_audience_count(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The live count of the audience step (an htmx partial)."""
    tenant, _actor = _ctx(request)
    probe = Campaign(tenant=tenant, segment_ids=_ids(request, "segment_ids"),
                     exclude_segment_ids=_ids(request, "exclude_segment_ids"), channels=[])
    counts = audience_count(tenant=tenant, campaign=probe)
    return render(request, "marketing/partials/campaign_count.html", {"counts": counts})


@require_perm("campaigns.view")
@require_POST
def campaigns_preview(request: HttpRequest, org_slug: str, channel: str) -> HttpResponse:
    """One channel's text as a contact with empty fields would get it (an htmx partial)."""
    tenant, actor = _ctx(request)
    spec = next((c for c in _channels_data(request) if c["channel"] == channel),
                {"channel": channel, "body": request.POST.get(f"{channel}-body", ""),
                 "subject": request.POST.get(f"{channel}-subject", "")})
    try:
        preview = svc.campaign_preview(tenant=tenant, actor=actor, channel=spec,
                                       context=_context_data(request))
        error = ""
    except TendError as exc:
        preview, error = None, "; ".join(m for v in exc.fields.values() for m in v) or exc.message
    return render(request, "marketing/partials/campaign_preview.html",
                  {"preview": preview, "error": error, "channel": channel})


# --- a campaign's page ---------------------------------------------------------------------


def _chart(series: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not series:
        return None
    top = max(max(p[t] for t, _c in SERIES) for p in series) or 1
    span = max(len(series) - 1, 1)
    inner_w, inner_h = CHART_W - 2 * PAD, CHART_H - 2 * PAD
    lines = []
    for kind, colour in SERIES:
        points = []
        for index, point in enumerate(series):
            x = PAD + inner_w * index / span if len(series) > 1 else CHART_W / 2
            y = PAD + inner_h * (1 - point[kind] / top)
            points.append(f"{round(x, 1)},{round(y, 1)}")
        lines.append({"kind": kind, "colour": colour, "points": " ".join(points),
                      "total": sum(p[kind] for p in series)})
    return {"width": CHART_W, "height": CHART_H, "top": top, "lines": lines,
            "first": series[0]["at"], "last": series[-1]["at"]}


@require_perm("campaigns.view")
def campaigns_detail(request: HttpRequest, org_slug: str, campaign_id: UUID) -> HttpResponse:
    """The campaign's report: numbers, chart over time, clicks per link, runs, actions."""
    tenant, actor = _ctx(request)
    campaign = campaign_get(tenant=tenant, campaign_id=campaign_id)
    bucket = "hour" if request.GET.get("bucket") == "hour" else "day"
    series = campaign_series(tenant=tenant, campaign=campaign, bucket=bucket)
    return render(request, "marketing/campaign_detail.html", {
        "campaign": campaign, "stats": campaign_stats(tenant=tenant, campaign=campaign),
        "chart": _chart(series), "series": series, "bucket": bucket,
        "links": campaign_link_clicks(tenant=tenant, campaign=campaign),
        "runs": list(campaign_runs(tenant=tenant, campaign=campaign)[:20]),
        "can_send": actor.has_perm("campaigns.send"),
        "can_change": actor.has_perm("campaigns.change")
        and campaign.status in svc.EDITABLE_STATUSES,
        "can_pause": svc.can_transition(campaign.status, CampaignStatus.PAUSED),
        "can_resume": campaign.status == CampaignStatus.PAUSED,
        "can_cancel": svc.can_transition(campaign.status, CampaignStatus.CANCELLED),
        "can_launch": campaign.status == CampaignStatus.DRAFT,
    })


def _action(request: HttpRequest, campaign_id: UUID, func: Any, done: str) -> HttpResponse:
    tenant, actor = _ctx(request)
    campaign = campaign_get(tenant=tenant, campaign_id=campaign_id)
    try:
        func(tenant=tenant, actor=actor, campaign=campaign)
    except TendError as exc:
        problems = [m for v in exc.fields.values() for m in v] or [exc.message]
        messages.error(request, " ".join(str(p) for p in problems))
        if campaign.status == CampaignStatus.DRAFT:
            return redirect(_url(request, "campaigns-wizard", campaign_id=campaign.pk,
                                 step="review"))
    else:
        messages.success(request, done)
    return redirect(_url(request, "campaigns-detail", campaign_id=campaign.pk))


@require_perm("campaigns.send")
@require_POST
def campaigns_launch(request: HttpRequest, org_slug: str, campaign_id: UUID) -> HttpResponse:
    return _action(request, campaign_id, svc.campaign_launch, _("Campaign launched."))


@require_perm("campaigns.send")
@require_POST
def campaigns_pause(request: HttpRequest, org_slug: str, campaign_id: UUID) -> HttpResponse:
    return _action(request, campaign_id, svc.campaign_pause, _("Campaign paused."))


@require_perm("campaigns.send")
@require_POST
def campaigns_resume(request: HttpRequest, org_slug: str, campaign_id: UUID) -> HttpResponse:
    return _action(request, campaign_id, svc.campaign_resume, _("Campaign resumed."))


@require_perm("campaigns.send")
@require_POST
def campaigns_cancel(request: HttpRequest, org_slug: str, campaign_id: UUID) -> HttpResponse:
    return _action(request, campaign_id, svc.campaign_cancel, _("Campaign cancelled."))


prefix = "o/<slug:org_slug>/marketing/campaigns/"
urlpatterns = [
    path(prefix, campaigns_list, name="campaigns-list"),
    path(f"{prefix}new/", campaigns_create, name="campaigns-create"),
    path(f"{prefix}audience-count/", campaigns_audience_count, name="campaigns-count"),
    path(f"{prefix}preview/<str:channel>/", campaigns_preview, name="campaigns-preview"),
    path(f"{prefix}<uuid:campaign_id>/", campaigns_detail, name="campaigns-detail"),
    path(f"{prefix}<uuid:campaign_id>/wizard/<str:step>/", campaigns_wizard,
         name="campaigns-wizard"),
    path(f"{prefix}<uuid:campaign_id>/launch/", campaigns_launch, name="campaigns-launch"),
    path(f"{prefix}<uuid:campaign_id>/pause/", campaigns_pause, name="campaigns-pause"),
    path(f"{prefix}<uuid:campaign_id>/resume/", campaigns_resume, name="campaigns-resume"),
    path(f"{prefix}<uuid:campaign_id>/cancel/", campaigns_cancel, name="campaigns-cancel"),
]
