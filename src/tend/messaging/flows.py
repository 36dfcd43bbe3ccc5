"""Bot flows: small state machines that talk with a contact inside a conversation.

A flow is a class with a key, keyword triggers and one handler per state; modules register an
instance from their `ready()`:

    class FeedbackFlow(Flow):
        key = "feedback"
        triggers = ("feedback", "/feedback")

        def start(self, ctx):
            ctx.reply(_("How was your visit, from 1 to 5?"))
            ctx.goto("score")

        def on_score(self, ctx):
            if ctx.text not in "12345":
                ctx.reply(_("Send a number from 1 to 5."))   # stays in "score"
                return
            ctx.data["score"] = int(ctx.text)
            ctx.reply(_("Thank you!"))
            ctx.end("done")

    register_flow(FeedbackFlow())

`flow_handle` is called by inbound processing for every inbound message, inside its
transaction. It gives the message to the registered commands first (Telegram's `/start
<code>`), then: "stop" or "/stop" ends a running flow; a running flow's handler for the
conversation's state gets the message; otherwise a message that is exactly a trigger keyword
starts that flow. The conversation keeps `flow`, `state` and `state_data` between messages
(its row is locked while a message is handled, so two messages never race on the state). A
staff reply ends the flow through `flow_end`. Replies go through `message_enqueue` as
CONVERSATION messages with a dedupe key tied to the inbound message, and are written in the
contact's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.models import Tenant

logger = logging.getLogger(__name__)

STOP_WORDS = frozenset({"stop", "/stop", "cancel", "/cancel", "توقف", "إلغاء"})

# Handlers tried in order before any flow: `handler(tenant=, conversation=, message=) -> bool`.
_commands: list[Callable[..., bool]] = []
_flows: dict[str, Flow] = {}


def register_command(handler: Callable[..., bool]) -> None:
    """Add a handler tried on every inbound message before flows (first True wins).
    Registering the same handler again has no effect."""
    if handler not in _commands:
        _commands.append(handler)


@dataclass
class FlowContext:
    """What a flow handler works with: the message, the state data, and how to answer."""

    tenant: Tenant
    conversation: Any
    message: Any
    flow: Flow
    data: dict[str, Any]
    state: str = ""
    ended: str = ""
    replies: list[str] = field(default_factory=list)

    @property
    def contact(self) -> Any:
        return self.conversation.contact

    @property
    def text(self) -> str:
        return (self.message.body or "").strip()

    @property
    def actor(self) -> Actor:
        return Actor.system()

    def reply(self, text: str) -> None:
        """Queue `text` to the contact (sent after the inbound transaction commits)."""
        self.replies.append(str(text))

    def goto(self, state: str) -> None:
        if state not in self.flow.states():
            raise ValueError(f"flow {self.flow.key!r} has no state {state!r}")
        self.state = state

    def end(self, reason: str = "done") -> None:
        self.ended = reason or "done"


class Flow:
    """Base class of bot flows. Subclasses set `key` (unique), `triggers` (whole messages,
    compared case-insensitively) and optionally `channels` (channel kinds; empty: all), then
    implement `start(ctx)` and `on_<state>(ctx)` for each state they use."""

    key: str = ""
    label: Any = ""
    triggers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def states(self) -> list[str]:
        return [name.removeprefix("on_") for name in dir(self)
                if name.startswith("on_") and callable(getattr(self, name))]

    def start(self, ctx: FlowContext) -> None:
        raise NotImplementedError

    def handler(self, state: str) -> Callable[[FlowContext], None] | None:
        handler = getattr(self, f"on_{state}", None)
        return handler if callable(handler) else None

    def matches(self, text: str, channel: str) -> bool:
        if self.channels and channel not in self.channels:
            return False
        return text.strip().lower() in {t.lower() for t in self.triggers}


def register_flow(flow: Flow) -> None:
    """Add (or replace, by key) a flow."""
    if not flow.key:
        raise ValueError("a flow needs a key")
    _flows[flow.key] = flow


def unregister_flow(key: str) -> None:
    _flows.pop(key, None)


def flows() -> list[Flow]:
    return list(_flows.values())


def get_flow(key: str) -> Flow | None:
    return _flows.get(key)


def _language(tenant: Tenant, contact: Any) -> str:
    return (getattr(contact, "language", "") or tenant.default_language or "en").lower()


def _send_replies(tenant: Tenant, conversation: Any, message: Any, replies: list[str],
                  flow_key: str) -> None:
    from tend.messaging.services.outbox import message_enqueue

    for number, text in enumerate(replies):
        message_enqueue(tenant=tenant, actor=Actor.system(), contact=conversation.contact,
                        channel=conversation.account.kind, body=text,
                        account=conversation.account, conversation=conversation,
                        to_address=conversation.external_chat_id,
                        dedupe_key=f"flow:{message.pk}:{number}", source=f"flow:{flow_key}")


def _save(conversation: Any, flow: str, state: str, data: dict[str, Any]) -> None:
    conversation.flow, conversation.state, conversation.state_data = flow, state, data
    conversation.save(update_fields=["flow", "state", "state_data", "updated_at"])


def flow_end(*, conversation: Any, reason: str = "", tenant: Tenant | None = None) -> bool:
    """End the flow running in `conversation` (a staff reply, "stop", the flow finishing).
    Returns whether one was running. The flow's `on_end(conversation, reason)` runs if it has
    one."""
    if not conversation.flow:
        return False
    flow = _flows.get(conversation.flow)
    key = conversation.flow
    _save(conversation, "", "", {})
    if flow is not None and callable(getattr(flow, "on_end", None)):
        flow.on_end(conversation, reason)  # type: ignore[attr-defined]
    logger.info("flow %s ended in conversation %s: %s", key, conversation.pk, reason or "-")
    return True


def flow_start(*, tenant: Tenant, conversation: Any, message: Any, flow: Flow) -> None:
    """Start `flow` in `conversation` (replacing any running one) with `message`."""
    if conversation.flow:
        flow_end(conversation=conversation, reason="replaced", tenant=tenant)
    _run(tenant, conversation, message, flow, None)


def _run(tenant: Tenant, conversation: Any, message: Any, flow: Flow,
         handler: Callable[[FlowContext], None] | None) -> None:
    ctx = FlowContext(tenant=tenant, conversation=conversation, message=message, flow=flow,
                      data=dict(conversation.state_data or {}) if handler else {},
                      state=conversation.state if handler else "")
    with translation.override(_language(tenant, conversation.contact)):
        if handler is None:
            flow.start(ctx)
        else:
            handler(ctx)
        if ctx.ended:
            flow_end(conversation=conversation, reason=ctx.ended, tenant=tenant)
        elif not ctx.state:
            raise ValueError(f"flow {flow.key!r} neither chose a state nor ended")
        else:
            _save(conversation, flow.key, ctx.state, ctx.data)
        _send_replies(tenant, conversation, message, ctx.replies, flow.key)


@transaction.atomic
def flow_handle(*, tenant: Tenant, conversation: Any, message: Any) -> bool:
    """Give an inbound message to the commands, then to the conversation's flow, then to the
    flow triggers. Returns whether something consumed it. Runs in one transaction (its own when
    the caller has none): the conversation row stays locked while its flow state is read and
    written, and a reply is queued with the state it answers."""
    if any(handler(tenant=tenant, conversation=conversation, message=message)
           for handler in _commands):
        return True
    from tend.messaging.models import Conversation

    # Lock the conversation: its flow state is read and written below.
    conversation = (Conversation.objects.select_for_update().select_related("contact", "account")
                    .get(tenant=tenant, pk=conversation.pk))
    text = (message.body or "").strip()
    lowered = text.lower()
    if conversation.flow:
        flow = _flows.get(conversation.flow)
        handler = flow.handler(conversation.state) if flow is not None else None
        if flow is None or handler is None:
            logger.warning("conversation %s was in unknown flow/state %s/%s; cleared",
                           conversation.pk, conversation.flow, conversation.state)
            flow_end(conversation=conversation, reason="unknown", tenant=tenant)
        elif lowered in STOP_WORDS:
            flow_end(conversation=conversation, reason="stop", tenant=tenant)
            with translation.override(_language(tenant, conversation.contact)):
                _send_replies(tenant, conversation, message,
                              [_("Stopped. Write to us any time.")], flow.key)
            return True
        else:
            _run(tenant, conversation, message, flow, handler)
            return True
    for flow in _flows.values():
        if flow.matches(text, conversation.account.kind):
            flow_start(tenant=tenant, conversation=conversation, message=message, flow=flow)
            return True
    return False
