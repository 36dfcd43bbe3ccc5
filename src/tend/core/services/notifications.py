"""Staff notifications: create one (bell + email), mark read.

Modules call `notification_create` inside the transaction that made the news (a conversation
assigned, a task falling due). The email copy is sent after commit with Django's `send_mail`
through the site's email backend — staff are users, not contacts, so it does not go through
the messaging outbox — and only if the user has an email address and has not switched email
notifications off (`user.settings["notify_email"] is False`, where such a setting exists).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from tend.core.models import Notification, Tenant, User
from tend.core.origins import public_origin

logger = logging.getLogger(__name__)

MAX_TITLE = 300


def _wants_email(user: User) -> bool:
    preference = getattr(user, "settings", None)
    if isinstance(preference, dict) and preference.get("notify_email") is False:
        return False
    return bool(user.email) and user.is_active


def _send_email(notification_id: Any, tenant: Tenant, user: User, subject: str, body: str,
                url: str) -> None:
    text = body
    if url:
        link = public_origin() + url
        text = f"{body}\n\n{link}" if body else link
    try:
        send_mail(f"[{tenant.name}] {subject}", text, None, [user.email])
    except Exception:  # a broken mail server must not break the work that notified
        logger.exception("notification email to %s failed", user.pk)
        return
    from tend.core.tenancy import tenant_scope

    with tenant_scope(tenant):
        Notification.objects.filter(tenant=tenant, pk=notification_id).update(
            emailed_at=timezone.now())


def notification_create(*, tenant: Tenant, user: User, kind: str, title: str, body: str = "",
                        url: str = "", dedupe_key: str | None = None,
                        email: bool = True) -> Notification | None:
    """Notify `user` (a member of `tenant`). With `dedupe_key`, a second call with the same
    key for the same user does nothing and returns None. The email copy (if `email` and the
    user takes email) leaves after commit. The unique (tenant, user, dedupe_key) constraint
    settles duplicates, so a repeat costs one refused insert and no extra read."""
    notification = Notification(tenant=tenant, user=user, kind=kind[:60],
                                title=str(title)[:MAX_TITLE], body=body, url=url[:500],
                                dedupe_key=dedupe_key or None)
    try:
        with transaction.atomic():
            notification.save()
    except IntegrityError:
        if not dedupe_key:
            raise
        return None
    if email and _wants_email(user):
        pk, subject = notification.pk, notification.title
        transaction.on_commit(lambda: _send_email(pk, tenant, user, subject, body, url))
    return notification


@dataclass(frozen=True)
class NotificationDraft:
    """One notification for `notifications_create_many` (the arguments of
    `notification_create` that differ per person)."""

    user: User
    kind: str
    title: str
    body: str = ""
    url: str = ""
    dedupe_key: str | None = None


def notifications_create_many(*, tenant: Tenant, drafts: Sequence[NotificationDraft],
                              email: bool = True) -> list[Notification]:
    """Notify many members of `tenant` at once: one INSERT for all of them (and one read of
    which rows went in). A draft whose `dedupe_key` its user already has is skipped, as with
    `notification_create`; the email copies leave after commit. Returns the notifications
    made."""
    rows = [Notification(tenant=tenant, user=d.user, kind=d.kind[:60],
                         title=str(d.title)[:MAX_TITLE], body=d.body, url=d.url[:500],
                         dedupe_key=d.dedupe_key or None) for d in drafts]
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    stored = set(Notification.objects.filter(tenant=tenant, pk__in=[r.pk for r in rows])
                 .values_list("pk", flat=True))
    made = [r for r in rows if r.pk in stored]
    if email:
        for row in made:
            if _wants_email(row.user):
                transaction.on_commit(functools.partial(
                    _send_email, row.pk, tenant, row.user, row.title, row.body, row.url))
    return made


def notifications_mark_read(*, tenant: Tenant, user: User,
                            ids: Iterable[Any] | None = None) -> int:
    """Mark `user`'s notifications read (`ids`: only those; None: all). Returns how many
    changed. Other users' notifications are never touched."""
    qs = Notification.objects.filter(tenant=tenant, user=user, read_at__isnull=True)
    if ids is not None:
        valid = []
        for value in ids:
            try:
                valid.append(UUID(str(value)))
            except ValueError:
                continue  # a malformed id names nothing
        qs = qs.filter(pk__in=valid)
    return qs.update(read_at=timezone.now())
