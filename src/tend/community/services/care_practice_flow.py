"""The "/practice" bot flow: a member reports their own practice regularity.

"/practice" (or "practice", "ممارستي") starts it; the bot lists the five regularities by
number; the member answers with a number (or the word); the status is saved with source
"bot" and a history row, and the bot confirms. Anything else is asked again; "stop" ends it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.community.models import Regularity
from tend.community.services.care_practice import practice_update
from tend.messaging.flows import Flow, FlowContext


class PracticeFlow(Flow):
    key = "community.practice"
    label = gettext_lazy("Practice check-in")
    triggers = ("/practice", "practice", "ممارستي", "/ممارستي")

    def _choices(self) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in Regularity.choices]

    def start(self, ctx: FlowContext) -> None:
        lines = [f"{n}. {label}" for n, (_value, label) in enumerate(self._choices(), 1)]
        ctx.reply(_("How regular is your practice now? Send a number:") + "\n"
                  + "\n".join(lines))
        ctx.goto("regularity")

    def on_regularity(self, ctx: FlowContext) -> None:
        choices = self._choices()
        answer = ctx.text.strip().lower()
        chosen = None
        if answer.isdecimal() and 1 <= int(answer) <= len(choices):
            chosen = choices[int(answer) - 1]
        else:
            for value, label in choices:
                if answer in (value.lower(), label.lower()):
                    chosen = (value, label)
        if chosen is None:
            ctx.reply(_("Please send a number from 1 to %(n)d.") % {"n": len(choices)})
            return
        practice_update(tenant=ctx.tenant, actor=ctx.actor, contact=ctx.contact,
                        regularity=chosen[0], source="bot")
        ctx.reply(_("Thank you! Your practice is recorded as: %(label)s.")
                  % {"label": chosen[1]})
        ctx.end("done")
