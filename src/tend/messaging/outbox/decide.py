"""What the outbox decides at send time, before a message reaches its provider.

Everything here is settled when the message is about to go, not when it was queued: the
address (the contact may have linked Telegram since), consent (it may have been withdrawn),
quiet hours (the message may have waited) and WhatsApp's 24-hour window. Each check reads
for a whole claimed batch at once (one query per kind of fact), so the cost per message stays
flat however large the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext_lazy as _

from tend.messaging.choices import AccountStatus, ChannelKind, MessagePurpose
from tend.messaging.models import ChannelAccount, Conversation, Message
from tend.messaging.providers import Provider, RateLimits
from tend.people.models import Contact, IdentityAlias

# The contact flag that mirrors MARKETING consent on each channel (people keeps them).
CONSENT_FLAGS = {
    ChannelKind.EMAIL: "email_opt_in",
    ChannelKind.SMS: "sms_opt_in",
    ChannelKind.WHATSAPP: "whatsapp_opt_in",
    ChannelKind.TELEGRAM: "telegram_opt_in",
    ChannelKind.WEB: "web_opt_in",
}
# Where a provider declares no limits of its own.
KIND_DEFAULT_LIMITS = {
    ChannelKind.WHATSAPP: RateLimits(per_second=80.0),
    ChannelKind.TELEGRAM: RateLimits(per_second=30.0, per_chat_per_second=1.0),
}
WHATSAPP_WINDOW = timedelta(hours=24)

OUTSIDE_WINDOW_ERROR = _("WhatsApp accepts only a template message more than 24 hours after "
                         "the person last wrote. Send an approved template instead.")
NO_ACCOUNT_ERROR = _("No active channel account to send this message through.")


@dataclass
class Verdict:
    """What to do with one claimed message: send it, or settle it here.

    `outcome` is "send", "skip" (SKIPPED with `reason`), "fail" (FAILED with `code` and
    `error`) or "defer" (back to QUEUED until `until`, not counted as an attempt).
    """

    outcome: str
    reason: str = ""
    code: str = ""
    error: str = ""
    until: datetime | None = None
    to: str = ""
    template: dict[str, Any] | None = None


def rate_limits(account: ChannelAccount, provider: Provider | None) -> tuple[float | None,
                                                                               float | None]:
    """(per second, per chat per second) for `account`; None is unlimited.

    The account's overrides win; 0 or less switches a limit off. Otherwise the provider's
    defaults, else the channel's well-known ones (WhatsApp 80/s per number, Telegram 30/s
    per bot and 1/s per chat); email and SMS are unlimited unless configured.
    """
    declared = provider.rate_limits if provider is not None else RateLimits()
    fallback = KIND_DEFAULT_LIMITS.get(ChannelKind(account.kind), RateLimits())
    per_second = account.rate_per_second
    if per_second is None:
        per_second = declared.per_second if declared.per_second is not None \
            else fallback.per_second
    per_chat = account.rate_per_chat_per_second
    if per_chat is None:
        per_chat = declared.per_chat_per_second if declared.per_chat_per_second is not None \
            else fallback.per_chat_per_second
    return (per_second if per_second and per_second > 0 else None,
            per_chat if per_chat and per_chat > 0 else None)


def _zone(name: str, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def _clock(value: Any) -> time | None:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        return None


def quiet_hours(settings: dict[str, Any]) -> tuple[time, time] | None:
    """The organization's quiet hours as (start, end) clock times, or None."""
    value = (settings or {}).get("quiet_hours")
    if not isinstance(value, dict):
        return None
    start, end = _clock(value.get("start")), _clock(value.get("end"))
    if start is None or end is None or start == end:
        return None
    return start, end


def quiet_until(now: datetime, window: tuple[time, time], zone: ZoneInfo) -> datetime | None:
    """When the quiet hours around `now` end in `zone`, or None when it is not quiet.

    A window may wrap midnight (21:00 to 08:00)."""
    start, end = window
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        quiet = start <= clock < end
        end_day = local.date()
    else:
        quiet = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not quiet:
        return None
    return datetime.combine(end_day, end, tzinfo=zone)


class BatchFacts:
    """The facts a batch of messages needs, loaded in a few queries."""

    def __init__(self, messages: list[Message], accounts: dict[Any, ChannelAccount],
                 providers: dict[str, Provider | None], tenants: dict[Any, Any]) -> None:
        self.accounts = accounts
        self.providers = providers
        self.tenants = tenants
        need_address = [m for m in messages if not m.to_address]
        marketing = [m for m in messages if m.purpose == MessagePurpose.MARKETING]
        self.addresses: dict[tuple[Any, str], str] = {}
        if need_address:
            types = {t for m in need_address if (p := providers.get(m.channel)) is not None
                     for t in p.address_types}
            rows = (IdentityAlias.objects
                    .filter(contact_id__in={m.contact_id for m in need_address}, type__in=types)
                    .order_by("-is_primary", "-verified_at", "created_at")
                    .values_list("contact_id", "type", "value"))
            for contact_id, type_, value in rows:
                self.addresses.setdefault((contact_id, type_), value)
        self.contacts: dict[Any, dict[str, Any]] = {}
        if marketing:
            fields = ["id", "time_zone", *CONSENT_FLAGS.values()]
            for row in Contact.objects.filter(
                    pk__in={m.contact_id for m in marketing}).values(*fields):
                self.contacts[row["id"]] = row
        self.last_inbound: dict[tuple[Any, Any], datetime | None] = {}
        whatsapp = [m for m in messages if m.channel == ChannelKind.WHATSAPP]
        if whatsapp:
            for account_id, contact_id, at in Conversation.objects.filter(
                    account_id__in={m.account_id for m in whatsapp},
                    contact_id__in={m.contact_id for m in whatsapp}).values_list(
                    "account_id", "contact_id", "last_inbound_at"):
                self.last_inbound[(account_id, contact_id)] = at

    def decide(self, message: Message, now: datetime) -> Verdict:
        account = self.accounts.get(message.account_id)
        if account is None or account.status == AccountStatus.DISABLED:
            return Verdict("fail", code="no_account", error=str(NO_ACCOUNT_ERROR))
        provider = self.providers.get(account.kind)
        if provider is None:
            return Verdict("fail", code="no_provider",
                           error=f"No provider is installed for {account.kind}.")
        to = message.to_address
        if not to:
            for type_ in provider.address_types:
                to = self.addresses.get((message.contact_id, type_), "")
                if to:
                    break
        if not to and getattr(provider, "requires_address", True):
            return Verdict("skip", reason="no_address")
        if message.purpose == MessagePurpose.MARKETING:
            contact = self.contacts.get(message.contact_id, {})
            flag = CONSENT_FLAGS.get(ChannelKind(message.channel))
            if flag is not None and not contact.get(flag):
                return Verdict("skip", reason="no_consent", to=to)
            tenant = self.tenants.get(message.tenant_id)
            window = quiet_hours(tenant.settings if tenant is not None else {})
            if window is not None:
                zone = _zone(contact.get("time_zone") or "",
                             tenant.time_zone if tenant is not None else "UTC")
                until = quiet_until(now, window, zone)
                if until is not None:
                    return Verdict("defer", reason="quiet_hours", until=until, to=to)
        template: dict[str, Any] | None = None
        if message.channel == ChannelKind.WHATSAPP:
            last = self.last_inbound.get((message.account_id, message.contact_id))
            inside = last is not None and now - last < WHATSAPP_WINDOW
            if not inside:
                tpl = message.template
                if tpl is None or not tpl.provider_template_name:
                    return Verdict("fail", code="outside_window", error=str(OUTSIDE_WINDOW_ERROR),
                                   to=to)
                template = {"name": tpl.provider_template_name, "language": tpl.language,
                            "variables": message.template_variables or {},
                            "order": list(tpl.variables or [])}
        return Verdict("send", to=to, template=template)
