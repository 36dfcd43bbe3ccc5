"""What the messaging module contributes to the registries: permissions, the module, and each
part's own registration (channels and providers, inbox, templates, outbox)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tend.core.modules import Module, register_module
from tend.core.permissions import PermissionArea, register_area


def register() -> None:
    register_area(PermissionArea("conversations", _("Conversations"), "messaging",
                                 ("view", "send", "change", "manage")))
    register_area(PermissionArea("channels", _("Channel accounts"), "messaging",
                                 ("view", "manage")))
    register_area(PermissionArea("templates", _("Message templates"), "messaging",
                                 ("view", "change", "manage")))
    register_area(PermissionArea("outbox", _("Outbox"), "messaging", ("view", "manage")))
    register_module(Module(
        key="messaging",
        label=_("Messaging"),
        description=_("Telegram, WhatsApp, email, SMS and in-app conversations, templates "
                      "and one reliable outbox."),
        order=20,
        nav=(),
    ))
    from tend.people.timeline import TimelineRenderer, register_timeline_renderer

    register_timeline_renderer("MESSAGE_RECEIVED", TimelineRenderer(
        "message", _("Message received on %(channel)s: %(title)s")))
    register_timeline_renderer("MESSAGE_SENT", TimelineRenderer(
        "message", _("Message sent on %(channel)s: %(title)s")))
    from tend.messaging import (
        registration_channels,
        registration_inbox,
        registration_outbox,
        registration_providers,
        registration_templates,
    )

    registration_channels.register()
    registration_providers.register()
    registration_inbox.register()
    registration_templates.register()
    registration_outbox.register()
