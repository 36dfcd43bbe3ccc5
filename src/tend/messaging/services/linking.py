"""Telegram account linking: a one-time `https://t.me/<bot>?start=<code>` link per contact.

Staff create a link for a contact (`telegram_link_create`); the person opens it and presses
Start; Telegram sends the bot `/start <code>`. Inbound processing has by then resolved the
sender by their Telegram id — to the contact already holding it, or to a new contact made just
now from the Telegram profile — and `telegram_start_command` (a registered bot command) does
the rest:

- the sender already is the link's contact: the TELEGRAM identity is marked verified;
- the sender is a contact made from Telegram alone (only Telegram identities, source
  "telegram", no messages on other accounts) — typically the one created by this very
  `/start`: it is merged into the link's contact (people's merge service; the conversation and
  its messages follow through the messaging merge participant), and the identity is verified;
- the sender is another established contact: nothing is moved (one Telegram account cannot be
  two people, and a forwarded link must not take over someone's identity); the bot says so
  and a TELEGRAM_LINK_CONFLICT activity on the link's contact tells staff, who can merge.

Used, expired and unknown codes get a plain answer from the bot; `/start` without a code gets
a welcome. Every answer is queued through `message_enqueue` as TRANSACTIONAL, in the contact's
language, with a dedupe key tied to the inbound message.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.messaging.choices import AccountStatus, ChannelKind, MessagePurpose
from tend.messaging.models import ChannelAccount, Conversation, Message, TelegramLink
from tend.people.choices import ActivityCategory, AliasType, ContactStatus
from tend.people.models import Contact, IdentityAlias
from tend.people.services.activities import activity_record

logger = logging.getLogger(__name__)

DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY_DAYS = 90
LINKED_TYPE = "TELEGRAM_LINKED"
CONFLICT_TYPE = "TELEGRAM_LINK_CONFLICT"
BLOCKED_TYPE = "TELEGRAM_BOT_BLOCKED"
UNBLOCKED_TYPE = "TELEGRAM_BOT_UNBLOCKED"
_START_RE = re.compile(r"^/start(?:@\w+)?(?:\s+(\S+))?\s*$", re.IGNORECASE)


def telegram_link_url(link: TelegramLink) -> str:
    """The address to give the person: `https://t.me/<bot username>?start=<code>`."""
    username = str(link.account.settings.get("username") or "")
    return f"https://t.me/{username}?start={link.code}"


def telegram_link_account(*, tenant: Tenant, account_id: Any = None) -> ChannelAccount:
    """The connected Telegram account a link goes through: `account_id`'s, else the default."""
    accounts = ChannelAccount.objects.filter(tenant=tenant, kind=ChannelKind.TELEGRAM,
                                             status=AccountStatus.ACTIVE)
    if account_id:
        account = accounts.filter(pk=account_id).first()
    else:
        account = accounts.order_by("-is_default", "created_at").first()
    if account is None or not account.settings.get("username"):
        raise ValidationFailed(fields={"account": [
            _("Connect a Telegram bot first (Messaging → Channels).")]})
    return account


def telegram_link_create(*, tenant: Tenant, actor: Actor, contact: Contact,
                         account: ChannelAccount | None = None,
                         expires_in: timedelta = DEFAULT_EXPIRY) -> TelegramLink:
    """Make a one-time link that attaches the Telegram account of whoever opens it to
    `contact`. Needs `contacts.change`. `account` defaults to the organization's default
    connected Telegram bot; `expires_in` is at most 90 days."""
    check_perm(actor, "contacts.change")
    if contact.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"contact": [_("Choose a contact of this organization.")]})
    if contact.status in (ContactStatus.MERGED, ContactStatus.DELETED) or contact.deleted_at:
        raise ValidationFailed(fields={"contact": [_("This contact was deleted or merged.")]})
    if not timedelta(minutes=5) <= expires_in <= timedelta(days=MAX_EXPIRY_DAYS):
        raise ValidationFailed(fields={"expires_in_days": [
            _("Choose between 1 and %(days)d days.") % {"days": MAX_EXPIRY_DAYS}]})
    if account is None:
        account = telegram_link_account(tenant=tenant)
    elif (account.tenant_id != tenant.pk or account.kind != ChannelKind.TELEGRAM
          or account.status != AccountStatus.ACTIVE or not account.settings.get("username")):
        raise ValidationFailed(fields={"account": [_("Choose a connected Telegram bot.")]})
    with transaction.atomic():
        link = TelegramLink.objects.create(
            tenant=tenant, account=account, contact=contact,
            code=secrets.token_urlsafe(24), expires_at=timezone.now() + expires_in,
            created_by=actor.acting_user, updated_by=actor.acting_user)
        audit_record(tenant=tenant, actor=actor, action="telegram_link.created",
                     entity_type="contact", entity_id=contact.pk,
                     changes={"link": str(link.pk), "account": str(account.pk)})
    return link


# -- the bot side ------------------------------------------------------------------------


def _reply(tenant: Tenant, conversation: Conversation, contact: Contact, text: str,
           key: str) -> None:
    from tend.messaging.services.outbox import message_enqueue

    message_enqueue(tenant=tenant, actor=Actor.system(), contact=contact,
                    channel=ChannelKind.TELEGRAM, body=text,
                    purpose=MessagePurpose.TRANSACTIONAL, account=conversation.account,
                    conversation=conversation, to_address=conversation.external_chat_id,
                    dedupe_key=key[:200], source="telegram-link")


def language_of(tenant: Tenant, contact: Contact) -> str:
    return (contact.language or tenant.default_language or "en").lower()


def _is_telegram_stub(tenant: Tenant, contact: Contact, account: ChannelAccount) -> bool:
    """Whether `contact` is only a Telegram profile: made from Telegram, holding nothing but
    Telegram identities and no messages on other accounts."""
    if contact.source != "telegram" or contact.status != ContactStatus.ACTIVE:
        return False
    if IdentityAlias.objects.filter(tenant=tenant, contact=contact).exclude(
            type=AliasType.TELEGRAM).exists():
        return False
    return not Message.objects.filter(tenant=tenant, contact=contact).exclude(
        account=account).exists()


def _live(contact: Contact) -> bool:
    return (contact.status not in (ContactStatus.MERGED, ContactStatus.DELETED)
            and contact.deleted_at is None and contact.erased_at is None)


def telegram_start_command(*, tenant: Tenant, conversation: Conversation,
                           message: Message) -> bool:
    """The `/start [code]` bot command (registered with `flows.register_command`)."""
    account = conversation.account
    if account.kind != ChannelKind.TELEGRAM:
        return False
    match = _START_RE.match((message.body or "").strip())
    if match is None:
        return False
    code = match.group(1) or ""
    sender = message.contact
    key = f"tg-start:{message.pk}"
    if not code:
        with translation.override(language_of(tenant, sender)):
            _reply(tenant, conversation, sender,
                   _("Welcome to %(org)s! Write to us here any time; send “profile” to "
                     "update your details.") % {"org": tenant.name}, key)
        return True
    telegram_id = (message.to_address or "").strip()
    link = (TelegramLink.objects.select_for_update().select_related("contact")
            .filter(tenant=tenant, account=account, code=code).first())
    now = timezone.now()
    if link is None or not telegram_id.isdigit():
        text = gettext_lazy("This link is not valid. Ask us for a new one.")
    elif link.used_at is not None:
        if link.telegram_user_id == telegram_id:
            text = gettext_lazy("Your Telegram account is already linked. Thank you!")
        else:
            text = gettext_lazy("This link was already used. Ask us for a new one.")
    elif link.expires_at <= now:
        text = gettext_lazy("This link has expired. Ask us for a new one.")
    elif not _live(link.contact):
        text = gettext_lazy("This link is not valid. Ask us for a new one.")
    else:
        target = _link(tenant, account, conversation, sender, link, telegram_id)
        if target is None:
            text = gettext_lazy("This Telegram account is already linked to another profile "
                                "with us. We will look into it and get back to you.")
        else:
            from tend.messaging.services.inbound import conversation_for

            conversation = conversation_for(tenant=tenant, account=account, contact=target,
                                            chat_id=telegram_id)
            with translation.override(language_of(tenant, target)):
                _reply(tenant, conversation, target,
                       _("Thank you, %(name)s! Your Telegram account is now linked to your "
                         "profile at %(org)s.") % {"name": target.first_name or target,
                                                   "org": tenant.name}, key)
            return True
    with translation.override(language_of(tenant, sender)):
        _reply(tenant, conversation, sender, str(text), key)
    return True


def _link(tenant: Tenant, account: ChannelAccount, conversation: Conversation,
          sender: Contact, link: TelegramLink, telegram_id: str) -> Contact | None:
    """Attach `telegram_id` to the link's contact; None when another established contact
    holds it (then a conflict activity is recorded and nothing moves)."""
    from tend.people.services.aliases import alias_add, alias_verify
    from tend.people.services.merge import contact_merge

    actor = Actor.system()
    target = link.contact
    alias = IdentityAlias.objects.filter(tenant=tenant, type=AliasType.TELEGRAM, system="",
                                         value=telegram_id).select_related("contact").first()
    merged = False
    if alias is not None and alias.contact_id != target.pk:
        holder = alias.contact
        if not _is_telegram_stub(tenant, holder, account):
            activity_record(tenant=tenant, actor=actor, type=CONFLICT_TYPE, contact=target,
                            category=ActivityCategory.SYSTEM, channel=ChannelKind.TELEGRAM,
                            title=str(holder),
                            metadata={"account": account.name, "telegram_id": telegram_id,
                                      "holder": str(holder.pk)})
            return None
        target = contact_merge(tenant=tenant, actor=actor, winner=target, loser=holder)
        merged = True
        alias = IdentityAlias.objects.get(pk=alias.pk)
    if alias is None:
        alias = alias_add(tenant=tenant, actor=actor, contact=target, type=AliasType.TELEGRAM,
                          value=telegram_id, verified=True, source="telegram-link")
    else:
        alias = alias_verify(tenant=tenant, actor=actor, contact=target, alias=alias)
    link.used_at = timezone.now()
    link.telegram_user_id = telegram_id
    link.save(update_fields=["used_at", "telegram_user_id", "updated_at"])
    activity_record(tenant=tenant, actor=actor, type=LINKED_TYPE, contact=target,
                    category=ActivityCategory.COMMUNICATION, channel=ChannelKind.TELEGRAM,
                    title=account.settings.get("username") or account.name,
                    metadata={"account": account.name, "telegram_id": telegram_id,
                              "merged": merged},
                    source=f"messaging:{account.pk}", source_event_id=f"tglink:{link.pk}",
                    related=link)
    audit_record(tenant=tenant, actor=actor, action="telegram_link.used",
                 entity_type="contact", entity_id=target.pk,
                 changes={"link": str(link.pk), "merged": merged})
    return target


def telegram_member_changed(*, account: ChannelAccount, update: dict[str, Any]) -> None:
    """A `my_chat_member` update: the person blocked ("kicked") or unblocked the bot in a
    private chat. Blocking revokes the contact's Telegram marketing consent (messages would
    fail anyway) and both are recorded on the timeline; unblocking grants nothing."""
    from tend.people.services.consent import consent_set

    tenant = account.tenant
    chat = update.get("chat") or {}
    user = update.get("from") or {}
    status = str((update.get("new_chat_member") or {}).get("status") or "")
    if chat.get("type") != "private" or not user.get("id") or status not in ("kicked",
                                                                             "member"):
        return
    alias = (IdentityAlias.objects.filter(tenant=tenant, type=AliasType.TELEGRAM, system="",
                                          value=str(user["id"]))
             .select_related("contact").first())
    if alias is None or not _live(alias.contact):
        return
    actor = Actor.system()
    blocked = status == "kicked"
    activity_record(tenant=tenant, actor=actor, type=BLOCKED_TYPE if blocked else UNBLOCKED_TYPE,
                    contact=alias.contact, category=ActivityCategory.COMMUNICATION,
                    channel=ChannelKind.TELEGRAM,
                    title=account.settings.get("username") or account.name,
                    metadata={"account": account.name},
                    source=f"messaging:{account.pk}",
                    source_event_id=f"tgmember:{user['id']}:{update.get('date')}:{status}")
    if blocked:
        consent_set(tenant=tenant, actor=actor, contact=alias.contact, channel="TELEGRAM",
                    status="REVOKED", source="telegram: bot blocked")
