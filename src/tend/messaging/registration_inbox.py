"""What the inbox part of messaging registers (called from `registration.register`): the
Inbox page, the contact page's Conversations panel, the periodic jobs waking snoozed
conversations, notifying staff of due tasks and sweeping inbound events nobody drains, and
the demo conversations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

WAKE_SECONDS = 60
TASK_DUE_SECONDS = 60
INBOUND_SWEEP_SECONDS = 60


def wake_snoozed(due_at: datetime) -> int:
    """Reopen snoozed conversations whose time came, in every organization."""
    from django.utils import timezone

    from tend.messaging.choices import ConversationStatus
    from tend.messaging.models import Conversation

    return Conversation.objects.filter(
        status=ConversationStatus.SNOOZED, snoozed_until__lte=timezone.now(),
    ).update(status=ConversationStatus.OPEN, snoozed_until=None, updated_at=timezone.now())


def inbound_sweep(due_at: datetime) -> int:
    """Drain accounts whose inbound events wait with nobody draining them (after a crash)."""
    from tend.messaging.services.inbound_drain import inbound_sweep as sweep

    return sweep()


def notify_due_tasks(due_at: datetime) -> Any:
    from tend.messaging.staff_notifications import notify_due_tasks as run

    return run(due_at)


def register() -> None:
    from django.utils.translation import gettext_lazy as _

    from tend.core.demo import register_demo
    from tend.core.modules import NavEntry, register_nav_entry
    from tend.core.periodic import register_periodic
    from tend.messaging.demo_inbox import load_inbox_demo
    from tend.messaging.panels import conversations_panel_context
    from tend.people.panels import register_contact_panel

    register_nav_entry("messaging", NavEntry(_("Inbox"), "messaging:inbox",
                                             "conversations.view"))
    register_contact_panel("messaging.conversations", _("Conversations"),
                           "messaging/partials/contact_conversations.html",
                           context_func=conversations_panel_context,
                           permission="conversations.view", order=250)
    register_periodic("messaging.wake_snoozed", WAKE_SECONDS, wake_snoozed)
    register_periodic("messaging.notify_due_tasks", TASK_DUE_SECONDS, notify_due_tasks)
    register_periodic("messaging.inbound_sweep", INBOUND_SWEEP_SECONDS, inbound_sweep)
    register_demo(load_inbox_demo, order=410)
