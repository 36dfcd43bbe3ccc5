"""Reading a staff member's notifications (call inside the tenant scope)."""

from __future__ import annotations

from django.db.models import QuerySet

from tend.core.models import Notification, Tenant, User


def notification_list(*, tenant: Tenant, user: User, unread: bool | None = None
                      ) -> QuerySet[Notification]:
    """`user`'s notifications in `tenant`, newest first; `unread=True`: only unread ones."""
    qs = Notification.objects.filter(tenant=tenant, user=user)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs.order_by("-created_at", "-id")


def notification_unread_count(*, tenant: Tenant, user: User) -> int:
    return Notification.objects.filter(tenant=tenant, user=user, read_at__isnull=True).count()
