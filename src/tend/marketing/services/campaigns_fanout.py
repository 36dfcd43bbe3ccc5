"""A campaign's fan-out: its audience, and one outbox `Message` per recipient and channel,
written with one `INSERT … SELECT` per channel.

This is the set-based twin of `tend.messaging.services.outbox.message_enqueue`: the rows it
writes are the rows `message_enqueue` would write (QUEUED, the channel's default account, the
campaign's dedupe key, `source="campaign"`, `metadata={"campaign", "run"}`), but for a whole
audience in one statement, with `ON CONFLICT DO NOTHING` on the per-organization unique
dedupe key — so running a run again, or after a crash halfway, queues only what is missing.
After commit it wakes the outbox worker, as `message_enqueue` does.

Bodies are rendered in SQL: a template is plain text with `{{ namespace.name }}` variables
(`tend.messaging.rendering`); contact variables become column expressions (with their
`default`), every other namespace (organization, the announcement context) is a constant.
Templates are resolved per contact language the way `template_resolve` does, as a `CASE` on
the contact's language. Links are rewritten to the click-tracking URL of the campaign (and
HTML email gets the open pixel).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from tend.core.models import Tenant
from tend.core.zones import zone_named
from tend.marketing.models import Campaign, SegmentMembership
from tend.messaging import rendering
from tend.messaging.choices import (
    ChannelKind,
    MessageDirection,
    MessagePurpose,
    MessageStatus,
    TemplateStatus,
)
from tend.messaging.models import Message, Template
from tend.people.choices import ContactStatus
from tend.people.models import Contact, IdentityAlias

CONSENT_FLAGS = {
    ChannelKind.EMAIL: "email_opt_in",
    ChannelKind.SMS: "sms_opt_in",
    ChannelKind.WHATSAPP: "whatsapp_opt_in",
    ChannelKind.TELEGRAM: "telegram_opt_in",
    ChannelKind.WEB: "web_opt_in",
}
# The identities a channel can reach a person at (the outbox picks the address at send time).
ADDRESS_TYPES: dict[str, tuple[str, ...]] = {
    ChannelKind.EMAIL: ("EMAIL",),
    ChannelKind.SMS: ("PHONE",),
    ChannelKind.WHATSAPP: ("WHATSAPP", "PHONE"),
    ChannelKind.TELEGRAM: ("TELEGRAM",),
}
SOURCE = "campaign"
_URL = re.compile(r"https?://[^\s<>\"'{}]+[^\s<>\"'{}.,;:!?)]")
_HTML = re.compile(r"</?(p|div|br|html|body|table|a|span|h[1-6])\b", re.I)


def dedupe_prefix(campaign_id: Any) -> str:
    """The start every dedupe key of the campaign's messages shares."""
    return f"campaign:{_hex(campaign_id)}:"


def dedupe_key(campaign_id: Any, run_key: str, contact_id: Any, channel: str) -> str:
    return f"{dedupe_prefix(campaign_id)}{run_key}:{_hex(contact_id)}:{channel}"


def _hex(value: Any) -> str:
    return str(value).replace("-", "").lower()


# --- the audience --------------------------------------------------------------------------


def audience_contacts(*, tenant: Tenant, segment_ids: Sequence[Any],
                      exclude_segment_ids: Sequence[Any] = (),
                      channel: str | None = None, consent_required: bool = True,
                      contact_ids: Sequence[Any] | None = None) -> QuerySet[Contact]:
    """The live contacts in any of `segment_ids` and none of `exclude_segment_ids`; with
    `channel`, only those reachable there (an address) and, when `consent_required`, with
    MARKETING consent on it. `contact_ids` narrows to those contacts (a triggered send)."""
    qs = (Contact.objects.filter(tenant=tenant, deleted_at__isnull=True,
                                 erased_at__isnull=True)
          .exclude(status=ContactStatus.MERGED))
    if contact_ids is not None:
        qs = qs.filter(pk__in=list(contact_ids))
    if segment_ids:
        qs = qs.filter(Exists(SegmentMembership.objects.filter(
            tenant=tenant, segment_id__in=list(segment_ids), contact_id=OuterRef("pk"))))
    elif contact_ids is None:
        return qs.none()
    if exclude_segment_ids:
        qs = qs.filter(~Exists(SegmentMembership.objects.filter(
            tenant=tenant, segment_id__in=list(exclude_segment_ids),
            contact_id=OuterRef("pk"))))
    if channel:
        flag = CONSENT_FLAGS.get(ChannelKind(channel)) if channel in ChannelKind.values else None
        if consent_required and flag:
            qs = qs.filter(**{flag: True})
        types = ADDRESS_TYPES.get(channel)
        if types:
            qs = qs.filter(Exists(IdentityAlias.objects.filter(
                tenant=tenant, contact_id=OuterRef("pk"), type__in=types)))
    return qs


def audience_count(*, tenant: Tenant, campaign: Campaign) -> dict[str, int]:
    """How many contacts the campaign reaches now: `{"total": …, <channel>: …}` — `total`
    counts the segments' members after exclusions, each channel those also reachable and
    consenting there."""
    segments, excluded = campaign.segment_ids or [], campaign.exclude_segment_ids or []
    counts = {"total": audience_contacts(tenant=tenant, segment_ids=segments,
                                         exclude_segment_ids=excluded).count()}
    for spec in campaign.channels or []:
        counts[spec["channel"]] = audience_contacts(
            tenant=tenant, segment_ids=segments, exclude_segment_ids=excluded,
            channel=spec["channel"], consent_required=spec.get("consent_required", True)).count()
    return counts


# --- rendering in SQL ----------------------------------------------------------------------


@dataclass
class Variant:
    """The text of one channel in one language (or the only one, for inline content)."""

    language: str  # "" for the fallback
    subject: str
    body: str
    template_id: Any = None
    version: int | None = None


@dataclass
class Sql:
    text: str = ""
    params: list[Any] = field(default_factory=list)


def _contact_hex_sql() -> str:
    if connection.vendor == "postgresql":
        return "replace(CAST(t.id AS text), '-', '')"
    return "t.id"


class Renderer:
    """Turns template text into a SQL expression over the audience row `t`."""

    def __init__(self, *, campaign: Campaign, constants: Mapping[str, Mapping[str, Any]],
                 channel: str, run_key: str, track_base: str) -> None:
        self.campaign = campaign
        self.constants = constants
        self.channel = channel
        self.track_base = track_base  # ".../t/<token>/" or "" (no tracking)
        self.run_key = run_key
        self.links: list[str] = list(campaign.links or [])

    def _literal(self, text: str, out: Sql, parts: list[str]) -> None:
        if text:
            parts.append("CAST(%s AS text)")
            out.params.append(text)

    def _track_prefix(self) -> str:
        return f"{self.track_base}{self.channel}/{self.run_key}/"

    def _text(self, text: str, out: Sql, parts: list[str]) -> None:
        if not self.track_base:
            self._literal(text, out, parts)
            return
        position = 0
        for match in _URL.finditer(text):
            self._literal(text[position:match.start()], out, parts)
            url = match.group(0)
            if url not in self.links:
                self.links.append(url)
            self._literal(self._track_prefix(), out, parts)
            parts.append(_contact_hex_sql())
            self._literal(f"/l/{self.links.index(url)}/", out, parts)
            position = match.end()
        self._literal(text[position:], out, parts)

    def expression(self, text: str, *, pixel: bool = False) -> Sql:
        out, position = Sql(), 0
        parts: list[str] = []
        for match in rendering._VARIABLE.finditer(text):
            self._text(text[position:match.start()], out, parts)
            position = match.end()
            found = rendering.parse(match.group(0))
            if not found:
                continue
            variable = found[0]
            namespace, name = variable.path.split(".", 1)
            default = variable.default
            if namespace == "contact" and name in rendering.CONTACT_FIELDS:
                column = connection.ops.quote_name(name)
                if default is None:
                    parts.append(f"COALESCE(t.{column}, '')")
                else:
                    parts.append(f"(CASE WHEN TRIM(COALESCE(t.{column}, '')) = '' "
                                 f"THEN CAST(%s AS text) ELSE t.{column} END)")
                    out.params.append(default)
            else:
                value = rendering.render(match.group(0), self.constants)
                self._literal(value, out, parts)
        self._text(text[position:], out, parts)
        if pixel and self.track_base and _HTML.search(text):
            self._literal(f'<img src="{self._track_prefix()}', out, parts)
            parts.append(_contact_hex_sql())
            self._literal('/o.gif" width="1" height="1" alt="">', out, parts)
        out.text = " || ".join(parts) if parts else "''"
        return out


def _case(variants: list[Variant], pick: Any) -> Sql:
    """`CASE` over the contact's language choosing `pick(variant) -> Sql`, the way
    `template_resolve` chooses: the exact language, then its base (`ar-AE` → `ar`), then the
    fallback variant."""
    fallback = next(v for v in variants if not v.language)
    specific = [v for v in variants if v.language]
    if not specific:
        return pick(fallback)
    out = Sql(text="CASE")
    for test in ("= %s", "LIKE %s"):
        for variant in specific:
            chosen = pick(variant)
            out.text += f" WHEN lower(COALESCE(t.language, '')) {test} THEN {chosen.text}"
            out.params.append(variant.language if test == "= %s" else f"{variant.language}-%")
            out.params += chosen.params
    chosen = pick(fallback)
    out.text += f" ELSE {chosen.text} END"
    out.params += chosen.params
    return out


def channel_variants(*, tenant: Tenant, spec: Mapping[str, Any]) -> list[Variant]:
    """The texts a channel of a campaign sends: its published template in each language
    (the fallback chosen as `template_resolve` would for a contact without a language), or
    the inline subject and body. Empty when the template has no published version."""
    key = spec.get("template_key") or ""
    if not key:
        return [Variant(language="", subject=spec.get("subject") or "",
                        body=spec.get("body") or "")]
    published = list(Template.objects.filter(tenant=tenant, key=key, channel=spec["channel"],
                                             status=TemplateStatus.PUBLISHED)
                     .order_by("created_at", "-version"))
    by_language: dict[str, Template] = {}
    for template in published:
        by_language.setdefault(template.language.lower(), template)
    if not by_language:
        return []
    fallback = published[0]
    default = (tenant.default_language or "").strip().lower()
    for code in (default, default.split("-")[0]):
        if code in by_language:
            fallback = by_language[code]
            break
    variants = [Variant(language=lang, subject=t.subject, body=t.body, template_id=t.pk,
                        version=t.version) for lang, t in by_language.items()]
    variants.append(Variant(language="", subject=fallback.subject, body=fallback.body,
                            template_id=fallback.pk, version=fallback.version))
    return variants


# --- timing --------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _local_instants(audience: QuerySet[Contact], at: datetime, campaign_zone: ZoneInfo,
                    now: datetime) -> dict[str, datetime]:
    """For each time zone among the audience: the instant the campaign's wall-clock time
    `at` (in `campaign_zone`) happens there — tomorrow's if it has passed today."""
    wall = at.astimezone(campaign_zone).replace(tzinfo=None)
    out: dict[str, datetime] = {}
    for name in audience.order_by().values_list("time_zone", flat=True).distinct():
        zone = _zone(name or "")
        if zone is None:
            continue
        instant = wall.replace(tzinfo=zone)
        if instant < now - timedelta(hours=1):
            instant += timedelta(days=1)
        out[name] = max(instant, now)
    return out


def _due_sql(*, campaign: Campaign, audience: QuerySet[Contact], at: datetime,
             now: datetime) -> Sql:
    """The `next_attempt_at` expression: the run's time (or each contact's local time), then
    spread by the throttle."""
    ops = connection.ops
    out = Sql()
    if campaign.send_local_time:
        zone = zone_named(campaign.time_zone)
        instants = _local_instants(audience, at, zone, now)
        if instants:
            out.text = "CASE t.time_zone"
            for name, instant in instants.items():
                out.text += " WHEN %s THEN %s"
                out.params += [name, ops.adapt_datetimefield_value(instant)]
            out.text += " ELSE %s END"
    if not out.text:
        out.text = "%s"
    out.params.append(ops.adapt_datetimefield_value(max(at, now)))
    per_minute = campaign.throttle_per_minute
    if not per_minute:
        if connection.vendor == "postgresql":
            out.text = f"CAST({out.text} AS timestamptz)"
        return out
    slot = f"((ROW_NUMBER() OVER (ORDER BY t.id) - 1) / {int(per_minute)})"
    if connection.vendor == "postgresql":
        out.text = f"(CAST({out.text} AS timestamptz) + {slot} * INTERVAL '1 minute')"
    else:
        out.text = f"strftime(%s, {out.text}, '+' || {slot} || ' minutes')"
        out.params.insert(0, "%Y-%m-%d %H:%M:%f")
    return out


# --- the insert ----------------------------------------------------------------------------


@dataclass
class ChannelResult:
    channel: str
    queued: int
    versions: dict[str, int]


def fan_out_channel(*, tenant: Tenant, campaign: Campaign, spec: Mapping[str, Any],
                    run_key: str, at: datetime, account_id: Any, actor_user_id: Any,
                    constants: Mapping[str, Mapping[str, Any]], track_base: str,
                    contact_ids: Sequence[Any] | None = None) -> ChannelResult:
    """Queue the messages of one channel of a run in one statement; returns how many rows
    were new. Updates `campaign.links` in memory with the tracked links it rewrote."""
    channel = spec["channel"]
    variants = channel_variants(tenant=tenant, spec=spec)
    if not variants:
        return ChannelResult(channel, 0, {})
    consent_required = bool(spec.get("consent_required", True))
    audience = audience_contacts(
        tenant=tenant, segment_ids=campaign.segment_ids or [],
        exclude_segment_ids=campaign.exclude_segment_ids or [], channel=channel,
        consent_required=consent_required, contact_ids=contact_ids)
    now = timezone.now()
    renderer = Renderer(campaign=campaign, constants=constants, channel=channel,
                        run_key=run_key, track_base=track_base)
    body = _case(variants, lambda v: renderer.expression(
        v.body, pixel=channel == ChannelKind.EMAIL))
    subject = _case(variants, lambda v: renderer.expression(v.subject))
    if any(v.template_id for v in variants):
        template = _case(variants, lambda v: Sql("%s", [_prep("template", v.template_id)]))
    else:
        template = Sql("NULL")
    due = _due_sql(campaign=campaign, audience=audience, at=at, now=now)
    contact_hex = _contact_hex_sql()
    expressions: dict[str, Sql] = {
        "id": Sql("gen_random_uuid()" if connection.vendor == "postgresql"
                  else "lower(hex(randomblob(16)))"),
        "contact": Sql("t.id"),
        "subject": subject,
        "body": body,
        "template": template,
        "next_attempt_at": due,
        "dedupe_key": Sql(f"CAST(%s AS text) || {contact_hex} || CAST(%s AS text)",
                          [f"{dedupe_prefix(campaign.pk)}{run_key}:", f":{channel}"]),
    }
    constants_by_field: dict[str, Any] = {
        "tenant": tenant.pk, "account": account_id, "channel": channel,
        "direction": MessageDirection.OUTBOUND,
        "purpose": MessagePurpose.MARKETING if consent_required
        else MessagePurpose.TRANSACTIONAL,
        "status": MessageStatus.QUEUED, "source": SOURCE,
        "metadata": {"campaign": str(campaign.pk), "run": run_key},
        "sender": actor_user_id, "created_by": actor_user_id, "updated_by": actor_user_id,
        "created_at": now, "updated_at": now, "queued_at": now,
    }
    columns, selects, params = [], [], []
    for model_field in Message._meta.concrete_fields:
        columns.append(connection.ops.quote_name(str(model_field.column)))
        if model_field.name in expressions:
            sql = expressions[model_field.name]
            selects.append(sql.text)
            params += sql.params
            continue
        if model_field.name in constants_by_field:
            value = constants_by_field[model_field.name]
        else:
            value = model_field.get_default()
        selects.append("%s")
        params.append(model_field.get_db_prep_save(value, connection))
    fields = ["id", "language", "time_zone", *rendering.CONTACT_FIELDS]
    inner, inner_params = (audience.order_by().values(*dict.fromkeys(fields)).query
                           .get_compiler(connection.alias).as_sql())
    statement = (f"INSERT INTO {Message._meta.db_table} ({', '.join(columns)}) "
                 f"SELECT {', '.join(selects)} FROM ({inner}) t WHERE 1 = 1 "
                 f"ON CONFLICT DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(statement, (*params, *inner_params))
        queued = max(cursor.rowcount, 0)
    campaign.links = renderer.links
    if queued:
        from tend.messaging.outbox import outbox_wake

        transaction.on_commit(outbox_wake)
    return ChannelResult(channel, queued, {v.language or "*": v.version for v in variants
                                           if v.version is not None})


def _prep(name: str, value: Any) -> Any:
    model_field: Any = Message._meta.get_field(name)
    return model_field.get_db_prep_save(value, connection)


def campaign_messages(*, tenant: Tenant, campaign_id: Any) -> QuerySet[Message]:
    """Every outbox message of a campaign (by its dedupe keys)."""
    return Message.objects.filter(tenant=tenant,
                                  dedupe_key__startswith=dedupe_prefix(campaign_id))


def messages_hold(*, tenant: Tenant, campaign_id: Any) -> int:
    """Hold the campaign's queued messages (HELD is never claimed) and those in flight should
    they have to be tried again (messaging's `messages_hold`); returns how many."""
    from tend.messaging.services.outbox import messages_hold as outbox_hold

    return outbox_hold(tenant=tenant, dedupe_prefix=dedupe_prefix(campaign_id))


def messages_release(*, tenant: Tenant, campaign_id: Any) -> int:
    """Put the campaign's held messages back in the queue; returns how many."""
    from tend.messaging.services.outbox import messages_release as outbox_release

    return outbox_release(tenant=tenant, dedupe_prefix=dedupe_prefix(campaign_id))


def messages_discard(*, tenant: Tenant, campaign_id: Any) -> int:
    """Discard the campaign's messages that have not gone (a cancelled campaign)."""
    return campaign_messages(tenant=tenant, campaign_id=campaign_id).filter(
        status__in=[MessageStatus.QUEUED, MessageStatus.HELD]).update(
        status=MessageStatus.DISCARDED, skip_reason="campaign_cancelled",
        updated_at=timezone.now())


def messages_pending(*, tenant: Tenant, campaign_id: Any) -> bool:
    """Whether any of the campaign's messages still waits to go."""
    return campaign_messages(tenant=tenant, campaign_id=campaign_id).filter(
        status__in=[MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.HELD]).exists()

