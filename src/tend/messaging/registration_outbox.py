"""What the outbox part of messaging registers (called from `registration.register`)."""

from __future__ import annotations


def _run_outbox(stop):  # type: ignore[no-untyped-def]
    from tend.messaging.outbox.worker import run_outbox_loop

    run_outbox_loop(stop)


def _drain_outbox() -> int:
    from tend.messaging.outbox.worker import drain_outbox

    return drain_outbox()


def register() -> None:
    from django.utils.translation import gettext_lazy as _

    from tend.core.checks import declare_global_model
    from tend.core.modules import NavEntry, register_nav_entry
    from tend.core.worker import register_worker_loop

    declare_global_model("messaging.outboxratebucket",
                         "rate limiter state per channel account, shared by every worker")
    register_worker_loop("messaging.outbox", _run_outbox, once=_drain_outbox)
    register_nav_entry("messaging", NavEntry(_("Outbox"), "messaging:outbox", "outbox.view"))
    register_nav_entry("settings", NavEntry(_("Quiet hours"), "messaging:quiet-hours",
                                            "outbox.view"))
