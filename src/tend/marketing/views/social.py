"""Marketing → Social calendar: the month grid of planned, scheduled and published posts,
the composer, a post's page (per-account results and engagement), and connected accounts."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tend.core.errors import TendError
from tend.core.origins import public_origin
from tend.core.views.base import require_perm
from tend.core.zones import tenant_zone
from tend.marketing.models import SocialPlatform, SocialPostStatus
from tend.marketing.selectors.automation import (
    social_calendar,
    social_connection_get,
    social_connection_list,
    social_post_get,
)
from tend.marketing.services import social as svc
from tend.marketing.services.social_oauth import social_oauth_finish, social_oauth_start
from tend.marketing.social.oauth import oauth_platforms
from tend.marketing.views.automation_base import ctx, error_list, url, when


@require_perm("social.view")
def social_calendar_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = ctx(request)
    today = timezone.now().astimezone(tenant_zone(tenant)).date()
    try:
        year = int(request.GET.get("year", today.year))
        month = int(request.GET.get("month", today.month))
        first = date(year, month, 1)
        if not 2000 <= year <= 2100:  # the API's range; also keeps prev/next in range
            raise ValueError(year)
    except ValueError:
        first = today.replace(day=1)
    previous = (first.replace(day=1) - date.resolution).replace(day=1)
    following = (first.replace(day=28) + 4 * date.resolution).replace(day=1)
    return render(request, "marketing/social_calendar.html", {
        "weeks": social_calendar(tenant=tenant, year=first.year, month=first.month,
                                 zone=tenant.time_zone or "UTC"),
        "first": first, "previous": previous, "following": following, "today": today,
        "can_add": actor.has_perm("social.add"),
        "connections": list(social_connection_list(tenant=tenant))})


def _post_data(request: HttpRequest) -> dict[str, Any]:
    tenant, _actor = ctx(request)
    post = request.POST
    media = [{"url": u.strip(), "type": t} for u, t in
             zip(post.getlist("media_url"), post.getlist("media_type"), strict=False)
             if u.strip()]
    raw = post.get("scheduled_at", "").strip()
    at = when(raw, tenant_zone(tenant))
    return {"content": post.get("content", ""), "link": post.get("link", ""),
            "hashtags": post.get("hashtags", ""), "media": media,
            "connection_ids": post.getlist("connection_ids"),
            # an unreadable time goes to the service as text: a field error, never "now"
            "scheduled_at": raw if raw and at is None else at}


def _composer(request: HttpRequest, post: Any = None, errors: dict[str, list[str]] | None = None,
              status: int = 200) -> HttpResponse:
    tenant, actor = ctx(request)
    chosen = ({str(t.connection_id) for t in post.targets.all()} if post is not None
              else set())
    if errors:
        chosen = set(request.POST.getlist("connection_ids"))
    local = (post.scheduled_at.astimezone(tenant_zone(tenant)).strftime("%Y-%m-%dT%H:%M")
             if post is not None and post.scheduled_at else request.GET.get("at", ""))
    return render(request, "marketing/social_compose.html", {
        "post": post, "errors": errors or {}, "form": request.POST if errors else {},
        "connections": list(social_connection_list(tenant=tenant)), "chosen": chosen,
        "local_at": local, "can_send": actor.has_perm("social.send")}, status=status)


def _save(request: HttpRequest, post: Any) -> HttpResponse:
    tenant, actor = ctx(request)
    data = _post_data(request)
    try:
        if post is None:
            post = svc.social_post_create(tenant=tenant, actor=actor, data=data)
        else:
            svc.social_post_update(tenant=tenant, actor=actor, post=post, data=data)
        if request.POST.get("action") == "schedule":
            svc.social_post_schedule(tenant=tenant, actor=actor, post=post, at=None)
            messages.success(request, _("Post scheduled."))
        else:
            messages.success(request, _("Draft saved."))
    except TendError as exc:
        if post is not None and post.pk:
            post = social_post_get(tenant=tenant, post_id=post.pk)
        return _composer(request, post, error_list(exc), status=exc.status)
    return redirect(url(request, "social-post", post_id=post.pk))


@require_perm("social.add")
def social_compose(request: HttpRequest, org_slug: str) -> HttpResponse:
    if request.method != "POST":
        return _composer(request)
    return _save(request, None)


@require_perm("social.change")
def social_edit(request: HttpRequest, org_slug: str, post_id: UUID) -> HttpResponse:
    tenant, _actor = ctx(request)
    post = social_post_get(tenant=tenant, post_id=post_id)
    if post.status not in (SocialPostStatus.DRAFT, SocialPostStatus.SCHEDULED):
        return redirect(url(request, "social-post", post_id=post.pk))
    if request.method != "POST":
        return _composer(request, post)
    return _save(request, post)


@require_perm("social.view")
def social_post_page(request: HttpRequest, org_slug: str, post_id: UUID) -> HttpResponse:
    tenant, actor = ctx(request)
    post = social_post_get(tenant=tenant, post_id=post_id)
    return render(request, "marketing/social_post.html", {
        "post": post, "targets": list(post.targets.all()),
        "editable": post.status in (SocialPostStatus.DRAFT, SocialPostStatus.SCHEDULED)
        and actor.has_perm("social.change"),
        "can_send": actor.has_perm("social.send"),
        "can_delete": actor.has_perm("social.delete")
        and post.status != SocialPostStatus.PUBLISHING})


@require_perm("social.view")
@require_POST
def social_post_act(request: HttpRequest, org_slug: str, post_id: UUID,
                    action: str) -> HttpResponse:
    """schedule / unschedule / delete."""
    tenant, actor = ctx(request)
    post = social_post_get(tenant=tenant, post_id=post_id)
    try:
        if action == "schedule":
            svc.social_post_schedule(tenant=tenant, actor=actor, post=post, at=None)
            messages.success(request, _("Post scheduled."))
        elif action == "unschedule":
            svc.social_post_unschedule(tenant=tenant, actor=actor, post=post)
            messages.success(request, _("Back to draft."))
        elif action == "delete":
            svc.social_post_delete(tenant=tenant, actor=actor, post=post)
            messages.success(request, _("Post deleted."))
            return redirect(url(request, "social-calendar"))
    except TendError as exc:
        messages.error(request, " ".join(m for v in error_list(exc).values() for m in v))
    return redirect(url(request, "social-post", post_id=post.pk))


def _connections_page(request: HttpRequest, errors: dict[str, list[str]] | None = None,
                      status: int = 200) -> HttpResponse:
    tenant, actor = ctx(request)
    return render(request, "marketing/social_connections.html", {
        "connections": list(social_connection_list(tenant=tenant)),
        "platforms": SocialPlatform.choices, "errors": errors or {},
        "oauth_platforms": [(p, SocialPlatform(p).label) for p in oauth_platforms()],
        "form": request.POST if errors else {},
        "can_manage": actor.has_perm("social.manage")}, status=status)


@require_perm("social.view")
def social_connections(request: HttpRequest, org_slug: str) -> HttpResponse:
    if request.method != "POST":
        return _connections_page(request)
    tenant, actor = ctx(request)
    post = request.POST
    try:
        connection = svc.social_connection_create(
            tenant=tenant, actor=actor, platform=post.get("platform", ""),
            access_token=post.get("access_token", ""), account_id=post.get("account_id", ""),
            api_base=post.get("api_base", ""),
            settings={"author": post.get("author", "")} if post.get("author") else None)
    except TendError as exc:
        return _connections_page(request, error_list(exc), status=exc.status)
    messages.success(request, _("Connected %(account)s.") % {"account": str(connection)})
    return redirect(url(request, "social-connections"))


@require_perm("social.manage")
@require_POST
def social_connection_act(request: HttpRequest, org_slug: str, connection_id: UUID,
                          action: str) -> HttpResponse:
    """check / disconnect."""
    tenant, actor = ctx(request)
    connection = social_connection_get(tenant=tenant, connection_id=connection_id)
    if action == "check":
        svc.social_connection_check(tenant=tenant, actor=actor, connection=connection)
    elif action == "disconnect":
        svc.social_connection_disconnect(tenant=tenant, actor=actor, connection=connection)
    return redirect(url(request, "social-connections"))


def _oauth_redirect_uri(request: HttpRequest, platform: str) -> str:
    """The callback the platform sends the browser back to (the same at start and finish,
    as the platforms require); `TEND_PUBLIC_URL` when set, else this request's origin."""
    tenant, _actor = ctx(request)
    return public_origin(request) + reverse(
        "marketing:social-oauth-callback", kwargs={"org_slug": tenant.slug,
                                                   "platform": platform})


@require_perm("social.manage")
@require_POST
def social_oauth_begin(request: HttpRequest, org_slug: str, platform: str) -> HttpResponse:
    """Send the browser to the platform to sign in and grant access."""
    tenant, actor = ctx(request)
    try:
        target = social_oauth_start(tenant=tenant, actor=actor, platform=platform,
                                    redirect_uri=_oauth_redirect_uri(request, platform),
                                    pending=request.session)
    except TendError as exc:
        return _connections_page(request, error_list(exc), status=exc.status)
    return redirect(target)


@require_perm("social.manage")
def social_oauth_callback(request: HttpRequest, org_slug: str, platform: str) -> HttpResponse:
    """Where the platform sends the browser back: connect the account, or say why not."""
    tenant, actor = ctx(request)
    try:
        connection = social_oauth_finish(
            tenant=tenant, actor=actor, platform=platform, params=request.GET,
            redirect_uri=_oauth_redirect_uri(request, platform), pending=request.session)
    except TendError as exc:
        status = 400 if exc.status == 422 else exc.status
        return _connections_page(request, error_list(exc), status=status)
    messages.success(request, _("Connected %(account)s.") % {"account": str(connection)})
    return redirect(url(request, "social-connections"))


prefix = "o/<slug:org_slug>/marketing/social/"
urlpatterns = [
    path(prefix, social_calendar_page, name="social-calendar"),
    path(f"{prefix}new/", social_compose, name="social-compose"),
    path(f"{prefix}accounts/", social_connections, name="social-connections"),
    path(f"{prefix}accounts/sign-in/<str:platform>/", social_oauth_begin,
         name="social-oauth-start"),
    path(f"{prefix}accounts/sign-in/<str:platform>/callback/", social_oauth_callback,
         name="social-oauth-callback"),
    path(f"{prefix}accounts/<uuid:connection_id>/<str:action>/", social_connection_act,
         name="social-connection-act"),
    path(f"{prefix}<uuid:post_id>/", social_post_page, name="social-post"),
    path(f"{prefix}<uuid:post_id>/edit/", social_edit, name="social-edit"),
    path(f"{prefix}<uuid:post_id>/<str:action>/", social_post_act, name="social-post-act"),
]
