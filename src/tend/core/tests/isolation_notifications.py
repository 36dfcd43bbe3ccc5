"""Isolation entries for notifications: the victim's owner has one, titled with a canary."""

from tend.core.services.notifications import notification_create
from tend.core.tests.isolation import register, victim_builder


@victim_builder
def _notifications(v, c):
    v.notification = notification_create(tenant=v.tenant, user=v.owner, kind="test",
                                         title=c("notification title"), body=c("notification"),
                                         email=False)


# Each caller reads and marks only its own notifications.
register("GET", "/api/v1/notifications", targets_victim=False, query=lambda v: {"limit": 5})
register("GET", "/api/v1/notifications/unread", targets_victim=False)
register("POST", "/api/v1/notifications/read", targets_victim=False,
         body=lambda v: {"ids": [str(v.notification.pk)]})
