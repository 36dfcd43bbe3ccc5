"""What marketing's campaigns register (called from `registration.register`): the permission
area, the pages, the `item` template variables of announcements and promotions, the tick,
the receivers that feed campaign statistics and triggered campaigns, and the demo."""

from __future__ import annotations

# How often the tick looks for due campaigns.
CAMPAIGNS_TICK_SECONDS = 30


def register() -> None:
    from django.utils.translation import gettext_lazy as _

    from tend.core.demo import register_demo
    from tend.core.modules import NavEntry, register_nav_entry
    from tend.core.periodic import register_periodic
    from tend.core.permissions import PermissionArea, register_area
    from tend.marketing.demo_campaigns import load_campaigns_demo
    from tend.marketing.services.campaigns import ITEM_FIELDS
    from tend.marketing.tasks_campaigns import (
        campaigns_due_tick,
        on_activity_recorded,
        on_message_status_changed,
    )
    from tend.messaging.rendering import register_template_variables
    from tend.messaging.signals import message_status_changed
    from tend.people.signals import activity_recorded

    register_area(PermissionArea("campaigns", _("Campaigns"), "marketing",
                                 ("view", "add", "change", "send")))
    register_nav_entry("marketing", NavEntry(_("Campaigns"), "marketing:campaigns-list",
                                             "campaigns.view"))
    register_nav_entry("marketing", NavEntry(_("Event promotion"), "marketing:promotions",
                                             "campaigns.view"))
    register_template_variables("item", ITEM_FIELDS)
    register_periodic("marketing.campaigns_due", CAMPAIGNS_TICK_SECONDS, campaigns_due_tick)
    activity_recorded.connect(on_activity_recorded, dispatch_uid="marketing.campaigns.activity")
    message_status_changed.connect(on_message_status_changed,
                                   dispatch_uid="marketing.campaigns.status")
    register_demo(load_campaigns_demo, order=500)
