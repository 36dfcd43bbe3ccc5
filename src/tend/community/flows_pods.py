"""The Progress Method's two bots, as bot flows and commands.

Commitment bot:
- "/commit <text>" records a commitment at once; "/commit" alone (or "commit", "التزام")
  starts a flow that asks for the text;
- "/done" checks in today's work on the newest active commitment (the streak grows);
  "/done all" also closes it as completed;
- "/streak" answers with the current and longest streak and the totals.

Pod bot: after a meeting the tick asks "were you there?"; a reply "yes"/"no" (also "نعم",
"لا") from a member of a pod whose meeting ended in the last 48 hours, with no answer recorded
yet, records the attendance.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.messaging.flows import Flow, FlowContext, register_command, register_flow

YES = frozenset({"yes", "y", "yes!", "نعم", "ايوه", "أيوه"})
NO = frozenset({"no", "n", "لا"})


def _reply(tenant: Tenant, conversation: Any, message: Any, text: str) -> None:
    from tend.messaging.services.outbox import message_enqueue

    message_enqueue(tenant=tenant, actor=Actor.system(), contact=conversation.contact,
                    channel=conversation.account.kind, body=text,
                    account=conversation.account, conversation=conversation,
                    to_address=conversation.external_chat_id,
                    dedupe_key=f"pods-bot:{message.pk}", source="community.pods.bot")


def _language(tenant: Tenant, contact: Any) -> str:
    return (getattr(contact, "language", "") or tenant.default_language or "en").lower()


def _commit(tenant: Tenant, contact: Any, text: str) -> str:
    from tend.community.services.commitments import commitment_create

    commitment = commitment_create(tenant=tenant, actor=Actor.system(), contact=contact,
                                   text=text)
    answer = _("Committed: “%(text)s” (SMART score %(score)d/10).") % {
        "text": commitment.text, "score": commitment.smart_score}
    suggestion = commitment.smart_checks.get("suggestion")
    if suggestion:
        answer += " " + _("To make it stronger: %(tip)s") % {"tip": suggestion}
    return answer


def _done(tenant: Tenant, contact: Any, close: bool) -> str:
    from tend.community.models import Commitment, CommitmentStatus, PodsProfile
    from tend.community.services.commitments import commitment_check_in

    commitment = Commitment.objects.filter(tenant=tenant, contact=contact,
                                           status=CommitmentStatus.ACTIVE).first()
    if commitment is None:
        return _("You have no open commitment. Send /commit and what you will do.")
    commitment_check_in(tenant=tenant, actor=Actor.system(), commitment=commitment, done=True,
                        complete=close, source="bot")
    profile = PodsProfile.objects.get(tenant=tenant, contact=contact)
    return _("Well done! Streak: %(n)d days.") % {"n": profile.current_streak}


def _streak(tenant: Tenant, contact: Any) -> str:
    from tend.community.models import PodsProfile

    profile = PodsProfile.objects.filter(tenant=tenant, contact=contact).first()
    if profile is None:
        return _("No streak yet. Send /commit and what you will do today.")
    return _("Current streak: %(cur)d days; longest: %(long)d. Commitments kept: %(done)d of "
             "%(total)d.") % {"cur": profile.current_streak, "long": profile.longest_streak,
                              "done": profile.completed_commitments,
                              "total": profile.total_commitments}


def _attendance(tenant: Tenant, contact: Any, attended: bool) -> str | None:
    from tend.community.models import MeetingAttendance, PodMeeting, PodMembership
    from tend.community.services.pods_core import attendance_record

    now = timezone.now()
    pods = PodMembership.objects.filter(tenant=tenant, contact=contact,
                                        status="ACTIVE").values("pod")
    answered = MeetingAttendance.objects.filter(tenant=tenant, contact=contact).values("meeting")
    meeting = (PodMeeting.objects.filter(tenant=tenant, pod__in=pods,
                                         scheduled_at__lte=now,
                                         scheduled_at__gte=now - timedelta(hours=48))
               .exclude(pk__in=answered).exclude(status="CANCELLED")
               .order_by("-scheduled_at").first())
    if meeting is None:
        return None
    attendance_record(tenant=tenant, actor=Actor.system(), meeting=meeting, contact=contact,
                      attended=attended, source="bot")
    return _("Thanks — marked as there.") if attended else _(
        "Thanks — we missed you. See you next time!")


def pods_command(*, tenant: Tenant, conversation: Any, message: Any) -> bool:
    """The commands above; False for anything else (so flows and the inbox get it)."""
    if getattr(conversation, "flow", ""):
        return False
    text = " ".join((message.body or "").split())
    lowered = text.lower()
    contact = conversation.contact
    answer: str | None = None
    with translation.override(_language(tenant, contact)):
        if lowered.startswith("/commit ") and len(text) > 8:
            answer = _commit(tenant, contact, text[8:])
        elif lowered in ("/done", "/done all"):
            answer = _done(tenant, contact, close=lowered == "/done all")
        elif lowered == "/streak":
            answer = _streak(tenant, contact)
        elif lowered in YES or lowered in NO:
            answer = _attendance(tenant, contact, lowered in YES)
        if answer is None:
            return False
        _reply(tenant, conversation, message, answer)
    return True


class CommitFlow(Flow):
    key = "commit"
    label = gettext_lazy("Commitment")
    triggers = ("/commit", "commit", "التزام")

    def start(self, ctx: FlowContext) -> None:
        ctx.reply(_("What will you do? Make it specific, with a number and a time — e.g. "
                    "“write 500 words before 9am today”."))
        ctx.goto("text")

    def on_text(self, ctx: FlowContext) -> None:
        from tend.core.errors import ValidationFailed

        try:
            ctx.reply(_commit(ctx.tenant, ctx.contact, ctx.text))
        except ValidationFailed:
            ctx.reply(_("Please write the commitment in at most 1000 characters."))
            return
        ctx.end("done")


def register() -> None:
    register_command(pods_command)
    register_flow(CommitFlow())
