"""What the channels part of messaging registers (called from `registration.register`): the
Telegram provider, the Channels page under Settings, the Telegram linking command and contact
panel, the profile bot flow, timeline renderers, the messaging merge participant and the demo
accounts."""

from __future__ import annotations


def register() -> None:
    from django.utils.translation import gettext_lazy as _

    from tend.core.demo import register_demo
    from tend.core.modules import NavEntry, register_nav_entry
    from tend.messaging.demo_channels import load_channels_demo
    from tend.messaging.flows import register_command, register_flow
    from tend.messaging.flows_profile import ProfileFlow
    from tend.messaging.providers import register_provider
    from tend.messaging.providers.telegram import TelegramProvider
    from tend.messaging.services import linking
    from tend.messaging.services.merge import merge_messaging_rows
    from tend.messaging.views.channels import telegram_panel_context
    from tend.people.merging import register_merge_participant
    from tend.people.panels import register_contact_panel
    from tend.people.timeline import TimelineRenderer, register_timeline_renderer

    register_provider(TelegramProvider())
    register_command(linking.telegram_start_command)
    register_flow(ProfileFlow())
    register_nav_entry("messaging", NavEntry(_("Channels"), "messaging:channels",
                                             "channels.view"))
    register_contact_panel("messaging.telegram", _("Telegram"),
                           "messaging/partials/contact_telegram.html",
                           context_func=telegram_panel_context, permission="contacts.view",
                           order=300)
    register_merge_participant("messaging.conversations", merge_messaging_rows)
    register_timeline_renderer(linking.LINKED_TYPE, TimelineRenderer(
        "message", _("Telegram account linked (bot %(title)s)")))
    register_timeline_renderer(linking.CONFLICT_TYPE, TimelineRenderer(
        "message", _("A Telegram link was opened by an account another contact holds "
                     "(%(title)s): merge them if they are one person")))
    register_timeline_renderer(linking.BLOCKED_TYPE, TimelineRenderer(
        "message", _("Blocked the Telegram bot %(title)s")))
    register_timeline_renderer(linking.UNBLOCKED_TYPE, TimelineRenderer(
        "message", _("Unblocked the Telegram bot %(title)s")))
    register_demo(load_channels_demo, order=400)
