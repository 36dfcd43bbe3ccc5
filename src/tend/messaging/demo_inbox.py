"""Demo conversations for the inbox: a few people writing on the website chat (and the
Telegram bot, when the demo has one), in English and Arabic, with staff replies; one
conversation assigned, one resolved. Made through the same services as real traffic."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tend.core.demo import DemoContext
from tend.messaging.choices import ChannelKind
from tend.messaging.models import ChannelAccount, Conversation
from tend.messaging.providers import ParsedMessage, Sender, provider_for
from tend.messaging.services.accounts import account_create
from tend.messaging.services.conversations import (
    conversation_assign,
    conversation_reply,
    conversation_resolve,
)
from tend.messaging.services.inbound import inbound_append
from tend.people.models import Contact

# (language, inbound messages, staff reply or "")
SCRIPTS = [
    ("en", ["Hi! Is the beginners' course still open for May?",
            "And can I bring a friend to the first lesson?"],
     "Hello! Yes, a few places are left, and friends are welcome at the first lesson."),
    ("ar", ["السلام عليكم، متى يبدأ لقاء الجمعة القادم؟"],
     "وعليكم السلام، يبدأ اللقاء الساعة السابعة مساءً. أهلًا بك!"),
    ("en", ["I paid for the retreat yesterday but got no confirmation email."], ""),
    ("ar", ["شكرًا على الدرس اليوم، كان مفيدًا جدًا"], "شكرًا لك! نراك الأسبوع القادم."),
    ("en", ["Can I change my session to Thursday evening?"], ""),
]


def _accounts(ctx: DemoContext) -> list[ChannelAccount]:
    accounts = list(ChannelAccount.objects.filter(
        tenant=ctx.tenant, kind__in=[ChannelKind.WEB, ChannelKind.TELEGRAM]).order_by("kind"))
    if not any(a.kind == ChannelKind.WEB for a in accounts):
        try:
            provider_for(ChannelKind.WEB)
        except KeyError:
            return accounts
        accounts.append(account_create(tenant=ctx.tenant, actor=ctx.actor, kind=ChannelKind.WEB,
                                       name="Website chat", values={}))
    # The in-app account first: replies there are delivered without any provider.
    return sorted(accounts, key=lambda a: a.kind != ChannelKind.WEB)


def load_inbox_demo(ctx: DemoContext) -> None:
    accounts = _accounts(ctx)
    if not accounts or Conversation.objects.filter(tenant=ctx.tenant).exists():
        return
    web = accounts[0]
    people = {lang: list(Contact.objects.filter(tenant=ctx.tenant, deleted_at__isnull=True,
                                                language=lang)
                         .exclude(first_name="").order_by("created_at")[:5])
              for lang in ("en", "ar")}
    fallback = list(Contact.objects.filter(tenant=ctx.tenant, deleted_at__isnull=True)
                    .order_by("created_at")[:10])
    now = timezone.now()
    made: list[Conversation] = []
    used = {"en": 0, "ar": 0}
    for i, (language, inbound, reply) in enumerate(SCRIPTS):
        pool = people.get(language) or fallback
        if not pool:
            return
        contact = pool[used[language] % len(pool)]
        used[language] += 1
        # Replies on the in-app account; one unanswered Telegram message when there is a bot.
        account = accounts[1] if (len(accounts) > 1 and not reply and i == 4) else web
        message = None
        for j, text in enumerate(inbound):
            message = inbound_append(tenant=ctx.tenant, account=account, contact=contact,
                                     parsed=ParsedMessage(
                                         provider_message_id=f"demo-{i}-{j}",
                                         sender=Sender(identifiers=[]),
                                         chat_id=str(contact.pk), text=text,
                                         sent_at=now - timedelta(hours=30 - i * 5, minutes=-j)))
        assert message is not None and message.conversation is not None
        conversation = message.conversation
        if reply and account.kind == ChannelKind.WEB:
            conversation_reply(tenant=ctx.tenant, actor=ctx.actor, conversation=conversation,
                               body=reply, dedupe_key=f"demo-inbox-reply-{i}")
        made.append(conversation)
    agent = ctx.staff.get("agent") or ctx.owner
    conversation_assign(tenant=ctx.tenant, actor=ctx.actor, conversation=made[2], assignee=agent)
    if made[3].pk != made[2].pk:
        conversation_resolve(tenant=ctx.tenant, actor=ctx.actor, conversation=made[3])
    ctx.notes.append("Messaging → Inbox: five demo conversations in English and Arabic; "
                     "open a contact's Conversations panel for their chat page link.")
