"""What marketing's automation registers (called from `registration.register`): the
permission areas and pages of reminders, social posts and webhooks, the reminder types and
recipient resolvers, the social adapters, the webhook events and the receivers that emit
them, the periodic jobs and the demo."""

from __future__ import annotations

import os

# Ticks (seconds). Webhook retries and scheduled posts want minutes at most; reminders and
# digests are daily things checked often enough to go out near the hour.
WEBHOOKS_TICK_SECONDS = float(os.environ.get("TEND_WEBHOOKS_TICK_SECONDS", "10"))
SOCIAL_TICK_SECONDS = 30
SOCIAL_METRICS_TICK_SECONDS = 3600
REMINDERS_TICK_SECONDS = 900
DIGEST_TICK_SECONDS = 300


def register() -> None:
    from django.utils.translation import gettext_lazy as _

    from tend.core.demo import register_demo
    from tend.core.modules import NavEntry, register_nav_entry
    from tend.core.periodic import register_periodic
    from tend.core.permissions import PermissionArea, register_area
    from tend.marketing import tasks_automation as tasks
    from tend.marketing.demo_automation import load_automation_demo
    from tend.marketing.services.reminders import register_builtin
    from tend.marketing.services.webhooks_out import register_webhook_event
    from tend.marketing.social import providers
    from tend.messaging.signals import message_status_changed
    from tend.people.signals import activity_recorded

    register_area(PermissionArea(
        "reminders", _("Reminders"), "marketing", ("view", "manage"),
        help=_("“view”: one's own reminders; “manage”: everyone's, and the rules.")))
    register_area(PermissionArea(
        "social", _("Social posts"), "marketing", ("view", "add", "change", "delete", "send",
                                                   "manage"),
        help=_("“send” schedules and publishes; “manage” connects accounts.")))
    register_area(PermissionArea("webhooks", _("Webhooks"), "marketing", ("view", "manage"),
                                 admin_only=True))
    register_nav_entry("marketing", NavEntry(_("Reminders"), "marketing:reminders-list",
                                             "reminders.view"))
    register_nav_entry("marketing", NavEntry(_("Social calendar"), "marketing:social-calendar",
                                             "social.view"))
    register_nav_entry("marketing", NavEntry(_("Webhooks"), "marketing:webhooks-list",
                                             "webhooks.view"))

    register_builtin()
    providers.register()
    for key, label in (
            ("contact.created", _("Contact created")),
            ("contact.updated", _("Contact updated")),
            ("contact.merged", _("Contacts merged")),
            ("activity.recorded", _("Activity recorded")),
            ("message.status", _("Message status changed")),
            ("campaign.finished", _("Campaign finished")),
            ("journey.completed", _("Journey completed by a contact"))):
        register_webhook_event(key, label)
    activity_recorded.connect(tasks.on_activity_recorded,
                              dispatch_uid="marketing.webhooks.activity")
    message_status_changed.connect(tasks.on_message_status_changed,
                                   dispatch_uid="marketing.webhooks.message")

    register_periodic("marketing.webhooks_deliver", WEBHOOKS_TICK_SECONDS, tasks.webhooks_tick)
    register_periodic("marketing.social_publish", SOCIAL_TICK_SECONDS, tasks.social_publish_tick)
    register_periodic("marketing.social_metrics", SOCIAL_METRICS_TICK_SECONDS,
                      tasks.social_metrics_tick)
    register_periodic("marketing.reminders_run", REMINDERS_TICK_SECONDS, tasks.reminders_tick)
    register_periodic("marketing.reminders_digest", DIGEST_TICK_SECONDS,
                      tasks.reminders_digest_tick)
    register_demo(load_automation_demo, order=520)
