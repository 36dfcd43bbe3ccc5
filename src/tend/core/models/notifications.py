"""Staff notifications: the bell in the top bar."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tend.core.models.base import TenantModel


class Notification(TenantModel):
    """Something a staff member should look at, shown under the bell until read.

    `kind` names what happened (`conversation.assigned`, `task.due`, …), `url` where to look
    (a path inside the organization). A non-null `dedupe_key` is unique per (tenant, user):
    a periodic job that finds the same due task twice notifies once. `emailed_at` records
    that the email copy was handed to the mail backend.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(_("kind"), max_length=60)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user", "dedupe_key"],
                                    condition=Q(dedupe_key__isnull=False),
                                    name="core_notification_dedupe"),
        ]
        indexes = [
            models.Index(fields=["tenant", "user", "-created_at"], name="core_notif_user"),
            models.Index(fields=["tenant", "user"], condition=Q(read_at__isnull=True),
                         name="core_notif_unread"),
        ]

    def __str__(self) -> str:
        return self.title
