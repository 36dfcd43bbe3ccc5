"""Social posts: connecting platform accounts, composing and scheduling posts, publishing
them from the tick, and syncing their engagement.

Connecting: paste an access token (and, for a Facebook page or an Instagram account, its
id); the adapter asks the platform who the token belongs to before anything is stored, and
the token is kept encrypted.

Publishing is at most once per target: a worker claims due posts with `SKIP LOCKED` and a
lease, marks each target PUBLISHING before calling the platform and PUBLISHED (with the
platform's id and URL) after. A transient error puts the target back to PENDING and the post
is retried with backoff; a target found still PUBLISHING after a lease ran out (the worker
died mid-call) is marked FAILED with "outcome unknown" rather than posted twice — the
platforms offer no idempotency key.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.crypto import InvalidToken, decrypt, encrypt
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.text import clean_text
from tend.marketing.models import (
    SocialConnection,
    SocialConnectionStatus,
    SocialPlatform,
    SocialPost,
    SocialPostStatus,
    SocialPostTarget,
    SocialTargetStatus,
)
from tend.marketing.social.base import Conn, PostContent, SocialError, social_provider

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120
MAX_ATTEMPTS = 5
BATCH = 20
METRICS_WINDOW = timedelta(days=30)
MAX_HASHTAGS = 30
UNKNOWN_OUTCOME = "the worker stopped during the call; check the platform before retrying"


def _retry_delay(attempt: int) -> timedelta:
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempt - 1)))


def _conn(connection: SocialConnection) -> Conn:
    try:
        token = decrypt(connection.access_token_encrypted) if \
            connection.access_token_encrypted else ""
    except InvalidToken:
        token = ""
    return Conn(connection.account_id, token, dict(connection.settings or {}))


def _clean_api_base(value: Any) -> str:
    import httpx

    value = str(value or "").strip()
    if not value:
        return ""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ValidationFailed(fields={"api_base": [_("Enter an http or https URL.")]})
    return value.rstrip("/")


# --- connections ---------------------------------------------------------------------------


def social_connection_create(*, tenant: Tenant, actor: Actor, platform: str, access_token: str,
                             account_id: str = "", refresh_token: str = "",
                             api_base: str = "", settings: dict[str, Any] | None = None,
                             token_expires_at: datetime | None = None) -> SocialConnection:
    """Connect an account by token. The platform is asked whose token it is (a refused
    token is a field error, nothing is stored); connecting the same account again replaces
    its token. `account_id` is required for FACEBOOK (the page) and INSTAGRAM (the
    professional account). `token_expires_at`: when the platform said the token ends (a
    sign-in through the platform). Needs `social.manage`."""
    check_perm(actor, "social.manage")
    errors: dict[str, list[str]] = {}
    if platform not in SocialPlatform.values:
        errors["platform"] = [_("Choose a platform.")]
    token = str(access_token or "").strip()
    if not token or len(token) > 4000:
        errors["access_token"] = [_("Paste the access token.")]
    account_id = clean_text(account_id, "account_id", errors, limit=200)
    if platform in (SocialPlatform.FACEBOOK, SocialPlatform.INSTAGRAM) and not account_id:
        errors.setdefault("account_id", [_("Give the page or account id.")])
    extra = {k: str(v)[:200] for k, v in (settings or {}).items()
             if k in ("author", "username", "privacy_level")}
    if errors:
        raise ValidationFailed(fields=errors)
    base = _clean_api_base(api_base)
    if base:
        extra["api_base"] = base
    provider = social_provider(platform)
    try:
        account = provider.check(Conn(account_id, token, extra))
    except SocialError as exc:
        field = "access_token" if exc.auth else "account_id" if exc.permanent else "platform"
        raise ValidationFailed(fields={field: [_("The platform refused: %(error)s")
                                               % {"error": exc.message}]}) from None
    resolved_id = account_id or account.account_id
    if platform == SocialPlatform.FACEBOOK and account.account_id:
        resolved_id = account.account_id
    if not resolved_id:
        raise ValidationFailed(fields={"access_token": [
            _("The platform did not say which account this token is for.")]})
    if account.handle:
        extra.setdefault("username", account.handle)
    now = timezone.now()
    with transaction.atomic():
        connection, created = SocialConnection.objects.update_or_create(
            tenant=tenant, platform=platform, account_id=resolved_id[:200],
            defaults={"name": (account.name or resolved_id)[:200],
                      "access_token_encrypted": encrypt(token),
                      "refresh_token_encrypted": encrypt(refresh_token) if refresh_token
                      else "",
                      "scopes": account.scopes, "settings": extra,
                      "token_expires_at": token_expires_at,
                      "status": SocialConnectionStatus.ACTIVE, "last_error": "",
                      "last_checked_at": now, "updated_by": actor.acting_user},
            create_defaults={"name": (account.name or resolved_id)[:200],
                             "access_token_encrypted": encrypt(token),
                             "refresh_token_encrypted": encrypt(refresh_token)
                             if refresh_token else "",
                             "scopes": account.scopes, "settings": extra,
                             "token_expires_at": token_expires_at,
                             "last_checked_at": now, "created_by": actor.acting_user,
                             "updated_by": actor.acting_user})
        audit_record(tenant=tenant, actor=actor,
                     action="social_connection.created" if created
                     else "social_connection.reconnected",
                     entity_type="social_connection", entity_id=connection.pk,
                     changes={"platform": platform, "account": connection.name})
    return connection


def social_connection_check(*, tenant: Tenant, actor: Actor, connection: SocialConnection
                            ) -> SocialConnection:
    """Ask the platform whether the token still works; record the health. Needs
    `social.manage`."""
    check_perm(actor, "social.manage")
    try:
        social_provider(connection.platform).check(_conn(connection))
    except SocialError as exc:
        connection.status = SocialConnectionStatus.ERROR
        connection.last_error = exc.message[:1000]
    else:
        connection.status = SocialConnectionStatus.ACTIVE
        connection.last_error = ""
    connection.last_checked_at = timezone.now()
    connection.save(update_fields=["status", "last_error", "last_checked_at", "updated_at"])
    return connection


def social_connection_disconnect(*, tenant: Tenant, actor: Actor,
                                 connection: SocialConnection) -> SocialConnection:
    """Forget the tokens; posts already published keep their links. Needs `social.manage`."""
    check_perm(actor, "social.manage")
    with transaction.atomic():
        connection.status = SocialConnectionStatus.DISCONNECTED
        connection.access_token_encrypted = ""
        connection.refresh_token_encrypted = ""
        connection.save(update_fields=["status", "access_token_encrypted",
                                       "refresh_token_encrypted", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="social_connection.disconnected",
                     entity_type="social_connection", entity_id=connection.pk, changes={})
    return connection


def _mark_error(tenant: Tenant, connection_id: Any, message: str) -> None:
    SocialConnection.objects.filter(tenant=tenant, pk=connection_id).update(
        status=SocialConnectionStatus.ERROR, last_error=message[:1000],
        last_checked_at=timezone.now())


# --- posts ---------------------------------------------------------------------------------


def _clean_post(tenant: Tenant, data: dict[str, Any], post: SocialPost | None
                ) -> tuple[dict[str, Any], list[SocialConnection] | None]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "content" in data:
        out["content"] = str(data.get("content") or "").strip()
        if len(out["content"]) > 60_000:
            errors["content"] = [_("The text is too long.")]
    if "link" in data:
        link = str(data.get("link") or "").strip()
        if link and not link.startswith(("http://", "https://")):
            errors["link"] = [_("Enter an http or https URL.")]
        out["link"] = link[:500]
    if "hashtags" in data:
        tags = data.get("hashtags") or []
        if isinstance(tags, str):
            tags = tags.replace(",", " ").split()
        clean = []
        for tag in tags:
            tag = str(tag).strip().lstrip("#")
            if tag and tag not in clean:
                clean.append(tag[:100])
        if len(clean) > MAX_HASHTAGS:
            errors["hashtags"] = [_("Use at most 30 hashtags.")]
        out["hashtags"] = clean
    if "media" in data:
        media = []
        for i, item in enumerate(data.get("media") or []):
            url = str((item or {}).get("url") or "").strip() if isinstance(item, dict) else ""
            kind = str((item or {}).get("type") or "image") if isinstance(item, dict) else ""
            if not url.startswith(("http://", "https://")) or kind not in ("image", "video"):
                errors[f"media.{i}"] = [_("Give a public http(s) URL and type image or "
                                          "video.")]
            media.append({"url": url[:500], "type": kind})
        out["media"] = media
    if "scheduled_at" in data:
        at = data.get("scheduled_at")
        if at is not None and (not isinstance(at, datetime) or timezone.is_naive(at)):
            errors["scheduled_at"] = [_("Give a date and time with a time zone.")]
        out["scheduled_at"] = at
    connections = None
    if "connection_ids" in data:
        ids = [str(v) for v in (data.get("connection_ids") or [])]
        found = {str(c.pk): c for c in SocialConnection.objects.filter(tenant=tenant)
                 .filter(pk__in=_uuids(ids))}
        if len(found) != len(set(ids)):
            errors["connection_ids"] = [_("Unknown account.")]
        connections = list(found.values())
    if errors:
        raise ValidationFailed(fields=errors)
    return out, connections


def _uuids(values: list[str]) -> list[Any]:
    from uuid import UUID

    out = []
    for value in values:
        try:
            out.append(UUID(value))
        except ValueError:
            continue
    return out


def _check_publishable(post: SocialPost, connections: list[SocialConnection]) -> None:
    errors: dict[str, list[str]] = {}
    if not post.content and not post.link and not post.media:
        errors["content"] = [_("Write something to post.")]
    if not connections:
        errors["connection_ids"] = [_("Choose at least one account.")]
    for c in connections:
        provider = social_provider(c.platform)
        if c.status == SocialConnectionStatus.DISCONNECTED:
            errors.setdefault("connection_ids", []).append(
                _("%(account)s is disconnected.") % {"account": str(c)})
        if provider.needs_media and not post.media:
            errors.setdefault("media", []).append(
                _("%(platform)s needs an image or a video.")
                % {"platform": c.get_platform_display()})
        length = len(post.text) + (len(post.link) + 2 if post.link else 0)
        if length > provider.max_text:
            errors.setdefault("content", []).append(
                _("Too long for %(platform)s (%(limit)d characters).")
                % {"platform": c.get_platform_display(), "limit": provider.max_text})
    if errors:
        raise ValidationFailed(fields=errors)


def _set_targets(tenant: Tenant, post: SocialPost, connections: list[SocialConnection]) -> None:
    keep = {c.pk for c in connections}
    SocialPostTarget.objects.filter(tenant=tenant, post=post).exclude(
        connection_id__in=keep).delete()
    have = set(SocialPostTarget.objects.filter(tenant=tenant, post=post)
               .values_list("connection_id", flat=True))
    SocialPostTarget.objects.bulk_create([
        SocialPostTarget(tenant=tenant, post=post, connection=c) for c in connections
        if c.pk not in have])


def social_post_create(*, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> SocialPost:
    """A DRAFT post (content, link, hashtags, media, `connection_ids`, and `scheduled_at`
    as the planned time shown on the calendar; `social_post_schedule` commits to it).
    Needs `social.add`."""
    check_perm(actor, "social.add")
    clean, connections = _clean_post(tenant, {"connection_ids": [], **data}, None)
    with transaction.atomic():
        post = SocialPost.objects.create(tenant=tenant, created_by=actor.acting_user,
                                         updated_by=actor.acting_user, **clean)
        _set_targets(tenant, post, connections or [])
    return post


def social_post_update(*, tenant: Tenant, actor: Actor, post: SocialPost,
                       data: dict[str, Any]) -> SocialPost:
    """Change a DRAFT or SCHEDULED post (a scheduled one is checked again). Needs
    `social.change`."""
    check_perm(actor, "social.change")
    if post.status not in (SocialPostStatus.DRAFT, SocialPostStatus.SCHEDULED):
        raise ValidationFailed(fields={"status": [_("Only drafts and scheduled posts can "
                                                    "change.")]})
    clean, connections = _clean_post(tenant, data, post)
    with transaction.atomic():
        for key, value in clean.items():
            setattr(post, key, value)
        post.updated_by = actor.acting_user
        post.save()
        if connections is not None:
            _set_targets(tenant, post, connections)
        if post.status == SocialPostStatus.SCHEDULED:
            _check_publishable(post, _connections(tenant, post))
    return post


def _connections(tenant: Tenant, post: SocialPost) -> list[SocialConnection]:
    return [t.connection for t in SocialPostTarget.objects.filter(tenant=tenant, post=post)
            .select_related("connection")]


def social_post_schedule(*, tenant: Tenant, actor: Actor, post: SocialPost,
                         at: datetime | None) -> SocialPost:
    """Schedule a draft (or move a scheduled post) to `at` (default: its planned time, or
    now). Needs `social.send`."""
    check_perm(actor, "social.send")
    if post.status not in (SocialPostStatus.DRAFT, SocialPostStatus.SCHEDULED):
        raise ValidationFailed(fields={"status": [_("Only drafts and scheduled posts can be "
                                                    "scheduled.")]})
    now = timezone.now()
    if at is not None and timezone.is_naive(at):
        raise ValidationFailed(fields={"scheduled_at": [_("Give a time zone.")]})
    at = at or post.scheduled_at or now
    if at > now + timedelta(days=366):
        raise ValidationFailed(fields={"scheduled_at": [_("Schedule at most a year ahead.")]})
    _check_publishable(post, _connections(tenant, post))
    with transaction.atomic():
        post.status = SocialPostStatus.SCHEDULED
        post.scheduled_at = at
        post.next_attempt_at = at
        post.error = ""
        post.updated_by = actor.acting_user
        post.save(update_fields=["status", "scheduled_at", "next_attempt_at", "error",
                                 "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="social_post.scheduled",
                     entity_type="social_post", entity_id=post.pk,
                     changes={"scheduled_at": at.isoformat()})
    if at <= now:
        from tend.core.background import enqueue_on_commit
        from tend.marketing.tasks_automation import social_publish_task

        enqueue_on_commit(social_publish_task, str(tenant.pk))
    return post


def social_post_unschedule(*, tenant: Tenant, actor: Actor, post: SocialPost) -> SocialPost:
    """Back to DRAFT (only while not yet claimed). Needs `social.send`."""
    check_perm(actor, "social.send")
    changed = SocialPost.objects.filter(tenant=tenant, pk=post.pk,
                                        status=SocialPostStatus.SCHEDULED).update(
        status=SocialPostStatus.DRAFT, next_attempt_at=None)
    if not changed:
        raise ValidationFailed(fields={"status": [_("Only scheduled posts can go back to "
                                                    "draft.")]})
    post.refresh_from_db()
    return post


def social_post_delete(*, tenant: Tenant, actor: Actor, post: SocialPost) -> None:
    """Delete a post that is not being published (published ones stay on the platforms).
    Needs `social.delete`."""
    check_perm(actor, "social.delete")
    if post.status == SocialPostStatus.PUBLISHING:
        raise ValidationFailed(fields={"status": [_("The post is being published.")]})
    with transaction.atomic():
        pk = post.pk
        post.delete()
        audit_record(tenant=tenant, actor=actor, action="social_post.deleted",
                     entity_type="social_post", entity_id=pk, changes={})


# --- publishing ----------------------------------------------------------------------------


def _claim(now: datetime, tenant: Tenant | None, batch: int) -> list[tuple[Any, Any]]:
    qs = SocialPost.objects.filter(
        Q(status=SocialPostStatus.SCHEDULED, next_attempt_at__lte=now)
        | Q(status=SocialPostStatus.PUBLISHING, lease_until__lt=now))
    qs = qs.filter(tenant=tenant) if tenant is not None else qs.filter(tenant__is_active=True)
    with transaction.atomic():
        rows = list(qs.select_for_update(skip_locked=True, of=("self",))
                    .order_by("next_attempt_at").values_list("pk", "tenant_id")[:batch])
        if rows:
            SocialPost.objects.filter(pk__in=[pk for pk, _t in rows]).update(
                status=SocialPostStatus.PUBLISHING,
                lease_until=now + timedelta(seconds=LEASE_SECONDS))
    return rows


def social_post_publish(*, tenant: Tenant, post: SocialPost, now: datetime | None = None
                        ) -> SocialPost:
    """Publish a claimed post to its pending targets and settle its status. Targets left
    PUBLISHING by a dead worker fail as "outcome unknown" (never posted twice)."""
    now = now or timezone.now()
    targets = list(SocialPostTarget.objects.filter(tenant=tenant, post=post)
                   .select_related("connection"))
    content = PostContent(post.text, post.link, list(post.media or []))
    retry = False
    for target in targets:
        if target.status == SocialTargetStatus.PUBLISHING:
            target.status = SocialTargetStatus.FAILED
            target.error = UNKNOWN_OUTCOME
            target.save(update_fields=["status", "error", "updated_at"])
            continue
        if target.status != SocialTargetStatus.PENDING:
            continue
        connection = target.connection
        if connection.status == SocialConnectionStatus.DISCONNECTED:
            target.status = SocialTargetStatus.FAILED
            target.error = _("The account is disconnected.")
            target.save(update_fields=["status", "error", "updated_at"])
            continue
        # Committed before the call: if we die during it, the next claim sees PUBLISHING.
        SocialPostTarget.objects.filter(tenant=tenant, pk=target.pk).update(
            status=SocialTargetStatus.PUBLISHING)
        try:
            result = social_provider(connection.platform).publish(_conn(connection), content)
        except SocialError as exc:
            target.error = exc.message[:2000]
            if exc.auth:
                _mark_error(tenant, connection.pk, exc.message)
            if exc.permanent or post.attempts + 1 >= MAX_ATTEMPTS:
                target.status = SocialTargetStatus.FAILED
            else:
                target.status = SocialTargetStatus.PENDING
                retry = True
            target.save(update_fields=["status", "error", "updated_at"])
            continue
        except Exception as exc:  # an adapter bug: fail this target, keep the rest going
            logger.exception("social publish %s failed", target.pk)
            target.status = SocialTargetStatus.FAILED
            target.error = f"{type(exc).__name__}: {exc}"[:2000]
            target.save(update_fields=["status", "error", "updated_at"])
            continue
        target.status = SocialTargetStatus.PUBLISHED
        target.platform_post_id = result.post_id[:200]
        target.url = result.url[:500]
        target.error = ""
        target.published_at = timezone.now()
        target.save(update_fields=["status", "platform_post_id", "url", "error",
                                   "published_at", "updated_at"])
    post.attempts += 1
    post.lease_until = None
    statuses = [t.status for t in targets]
    if retry:
        post.status = SocialPostStatus.SCHEDULED
        post.next_attempt_at = now + _retry_delay(post.attempts)
    elif statuses and all(s == SocialTargetStatus.PUBLISHED for s in statuses):
        post.status = SocialPostStatus.PUBLISHED
        post.published_at = timezone.now()
        post.next_attempt_at = None
    else:
        post.status = SocialPostStatus.FAILED if any(
            s == SocialTargetStatus.FAILED for s in statuses) or not statuses \
            else SocialPostStatus.PUBLISHED
        post.published_at = post.published_at or (
            timezone.now() if SocialTargetStatus.PUBLISHED in statuses else None)
        post.next_attempt_at = None
    post.error = "; ".join(f"{t.connection}: {t.error}" for t in targets
                           if t.status == SocialTargetStatus.FAILED)[:2000]
    post.save(update_fields=["attempts", "lease_until", "status", "next_attempt_at",
                             "published_at", "error", "updated_at"])
    return post


def social_publish_due(*, tenant: Tenant | None = None, now: datetime | None = None,
                       batch: int = BATCH, max_batches: int = 10) -> int:
    """Publish due posts (one organization's, or all under `system_scope`). Safe from any
    number of workers at once. Returns how many posts were handled."""
    handled = 0
    tenants: dict[Any, Tenant] = {}
    for _round in range(max_batches):
        moment = now or timezone.now()
        if tenant is not None:
            with tenant_scope(tenant):
                rows = _claim(moment, tenant, batch)
        else:
            with system_scope():
                rows = _claim(moment, None, batch)
        for pk, tenant_id in rows:
            owner = tenant or tenants.get(tenant_id)
            if owner is None:
                with system_scope():
                    owner = tenants[tenant_id] = Tenant.objects.get(pk=tenant_id)
            with tenant_scope(owner):
                post = SocialPost.objects.get(tenant=owner, pk=pk)
                social_post_publish(tenant=owner, post=post, now=moment)
                handled += 1
        if len(rows) < batch:
            break
    return handled


def social_metrics_sync(*, tenant: Tenant, now: datetime | None = None, limit: int = 200
                        ) -> int:
    """Read likes, comments, shares and impressions of the organization's targets published
    in the last 30 days (the least recently synced first). Returns how many were updated."""
    now = now or timezone.now()
    targets = (SocialPostTarget.objects.filter(
        tenant=tenant, status=SocialTargetStatus.PUBLISHED,
        published_at__gte=now - METRICS_WINDOW,
        connection__status=SocialConnectionStatus.ACTIVE)
        .select_related("connection").order_by("metrics_synced_at", "published_at")[:limit])
    updated = 0
    posts = set()
    for target in targets:
        try:
            m = social_provider(target.connection.platform).metrics(
                _conn(target.connection), target.platform_post_id)
        except SocialError as exc:
            if exc.auth:
                _mark_error(tenant, target.connection_id, exc.message)
            continue
        SocialPostTarget.objects.filter(tenant=tenant, pk=target.pk).update(
            likes=m.likes, comments=m.comments, shares=m.shares, impressions=m.impressions,
            metrics_synced_at=now)
        posts.add(target.post_id)
        updated += 1
    SocialPost.objects.filter(tenant=tenant, pk__in=posts).update(metrics_synced_at=now)
    return updated
