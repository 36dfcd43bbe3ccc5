"""Campaigns: create and change them, move them along their statuses, and run them.

Statuses: DRAFT → SCHEDULED → ACTIVE → PAUSED → COMPLETED | CANCELLED, along
`ALLOWED_TRANSITIONS` only (`campaign_transition` is the one place that changes a status).
`campaign_launch` schedules a campaign (a one-time campaign at its send time, a recurring one
at its next cron time) or, for a triggered one, makes it ACTIVE. The tick
(`campaigns_due_tick`) runs due campaigns; a run (`campaign_run`) fans out to the outbox in one
statement per channel (`campaigns_fanout`). Pausing holds the campaign's queued messages
(status HELD, which no worker claims) and resuming releases the same rows, so nothing is sent
twice; cancelling discards what has not gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeGuard
from uuid import UUID
from zoneinfo import ZoneInfo

from croniter import croniter
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.zones import zone_named
from tend.marketing.models import (
    Campaign,
    CampaignKind,
    CampaignRun,
    CampaignStatus,
    CampaignType,
    RunStatus,
    Segment,
)
from tend.marketing.services import campaigns_fanout as fanout
from tend.messaging.choices import ChannelKind, TemplateStatus
from tend.messaging.models import Template

logger = logging.getLogger(__name__)

S = CampaignStatus
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SCHEDULED, S.ACTIVE, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.DRAFT, S.ACTIVE, S.PAUSED, S.CANCELLED}),
    S.ACTIVE: frozenset({S.PAUSED, S.COMPLETED, S.CANCELLED}),
    S.PAUSED: frozenset({S.SCHEDULED, S.ACTIVE, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}
EDITABLE_STATUSES = (S.DRAFT, S.SCHEDULED, S.PAUSED)
MAX_CHANNEL_BODY = 10_000
# What an announcement's context may hold; templates read them as `{{ item.<name> }}`.
ITEM_FIELDS = ("title", "starts_at", "date", "time", "place", "url", "description", "host",
               "price")
FIELDS = ("name", "description", "type", "kind", "segment_ids", "exclude_segment_ids",
          "channels", "context", "context_label", "scheduled_at", "cron", "time_zone", "end_at",
          "send_local_time", "throttle_per_minute", "trigger_activity_type", "trigger_rule",
          "conversion_activity_type", "conversion_days")


def can_transition(current: str, target: str) -> bool:
    return target in ALLOWED_TRANSITIONS.get(current, frozenset())


def campaign_transition(*, campaign: Campaign, to: str, now: datetime | None = None) -> None:
    """Move `campaign` to status `to` (saved), or raise `Conflict` when the move is not
    allowed. Stamps launched/paused/completed/cancelled times. The caller holds the row."""
    if not can_transition(campaign.status, to):
        raise Conflict(_("A %(current)s campaign cannot become %(target)s.") % {
            "current": CampaignStatus(campaign.status).label,
            "target": CampaignStatus(to).label})
    now = now or timezone.now()
    campaign.status = to
    fields = ["status", "updated_at"]
    stamp = {S.ACTIVE: "launched_at", S.PAUSED: "paused_at", S.COMPLETED: "completed_at",
             S.CANCELLED: "cancelled_at"}.get(S(to))
    if stamp and not (stamp == "launched_at" and campaign.launched_at):
        setattr(campaign, stamp, now)
        fields.append(stamp)
    if to in (S.COMPLETED, S.CANCELLED, S.DRAFT):
        campaign.next_run_at = None
        fields.append("next_run_at")
    campaign.save(update_fields=fields)
    if to == S.COMPLETED:
        _emit_finished(campaign)


def _emit_finished(campaign: Campaign) -> None:
    """`campaign.finished`, queued with the status change (in its transaction, so the
    event is queued exactly when the campaign completes); a webhook problem never stops
    the campaign."""
    from tend.marketing.services.webhooks_out import is_listened, webhook_emit

    tenant = campaign.tenant
    if not is_listened(tenant, "campaign.finished"):
        return
    try:
        with transaction.atomic():
            webhook_emit(tenant=tenant, key="campaign.finished", payload={"campaign": {
                "id": campaign.pk, "name": campaign.name, "type": campaign.type,
                "kind": campaign.kind, "launched_at": campaign.launched_at,
                "completed_at": campaign.completed_at, "target_count": campaign.target_count,
                "sent_count": campaign.sent_count,
                "delivered_count": campaign.delivered_count}})
    except Exception:
        logger.exception("campaign.finished webhook not queued for %s", campaign.pk)


# --- validation ----------------------------------------------------------------------------


def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return False
    return True


def _clean_segment_ids(tenant: Tenant, value: Any, field: str,
                       errors: dict[str, list[str]]) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        errors[field] = [_("Give a list of segments.")]
        return []
    ids: list[str] = []
    for item in value:
        try:
            ids.append(str(UUID(str(item))))
        except ValueError:
            errors[field] = [_("Choose segments of this organization.")]
            return []
    ids = list(dict.fromkeys(ids))
    found = {str(pk) for pk in Segment.objects.filter(tenant=tenant, pk__in=ids)
             .values_list("pk", flat=True)}
    if len(found) != len(ids):
        errors[field] = [_("Choose segments of this organization.")]
    return ids


def _clean_channels(tenant: Tenant, value: Any, errors: dict[str, list[str]]) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        errors["channels"] = [_("Give a list of channels.")]
        return []
    cleaned: list[dict[str, Any]] = []
    problems: list[str] = []
    for spec in value:
        if not isinstance(spec, Mapping) or spec.get("channel") not in ChannelKind.values:
            problems.append(_("Each channel needs one of: %(kinds)s.") % {
                "kinds": ", ".join(ChannelKind.values)})
            continue
        channel = spec["channel"]
        if any(c["channel"] == channel for c in cleaned):
            problems.append(_("%(channel)s is chosen twice.") % {"channel": channel})
            continue
        item: dict[str, Any] = {"channel": channel,
                                "consent_required": bool(spec.get("consent_required", True))}
        key = str(spec.get("template_key") or "").strip()
        if key:
            if not Template.objects.filter(tenant=tenant, key=key, channel=channel,
                                           status=TemplateStatus.PUBLISHED).exists():
                problems.append(_("No published template %(key)s on %(channel)s.") % {
                    "key": key, "channel": channel})
                continue
            item["template_key"] = key
        else:
            body = str(spec.get("body") or "")
            subject = str(spec.get("subject") or "").strip()
            if not body.strip():
                problems.append(_("Write the %(channel)s message or choose a template.")
                                % {"channel": channel})
                continue
            if len(body) > MAX_CHANNEL_BODY or len(subject) > 300:
                problems.append(_("The %(channel)s message is too long.") % {"channel": channel})
                continue
            from tend.messaging import rendering

            try:
                found = rendering.parse(subject) + rendering.parse(body)
            except rendering.TemplateSyntaxError as exc:
                problems += exc.messages
                continue
            unknown = rendering.unknown_variables(found)
            if unknown:
                problems.append(_("Unknown variables: %(names)s.") % {
                    "names": ", ".join(unknown)})
                continue
            item.update(subject=subject, body=body)
        cleaned.append(item)
    if problems:
        errors["channels"] = problems
    return cleaned


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean(tenant: Tenant, data: Mapping[str, Any], current: Campaign | None
           ) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = [_("Give the campaign a name.")]
        elif len(name) > 200:
            errors["name"] = [_("At most 200 characters.")]
        out["name"] = name
    for key in ("description", "context_label", "trigger_activity_type",
                "conversion_activity_type", "cron", "time_zone"):
        if key in data:
            out[key] = str(data.get(key) or "").strip()
    if "type" in data:
        if data["type"] not in CampaignType.values:
            errors["type"] = [_("Choose a type.")]
        out["type"] = data["type"]
    if "kind" in data:
        if data["kind"] not in CampaignKind.values:
            errors["kind"] = [_("Choose a kind.")]
        out["kind"] = data["kind"]
    if "segment_ids" in data:
        out["segment_ids"] = _clean_segment_ids(tenant, data["segment_ids"], "segment_ids",
                                                errors)
    if "exclude_segment_ids" in data:
        out["exclude_segment_ids"] = _clean_segment_ids(
            tenant, data["exclude_segment_ids"], "exclude_segment_ids", errors)
    if "channels" in data:
        out["channels"] = _clean_channels(tenant, data["channels"], errors)
    if "context" in data:
        context = data.get("context") or {}
        if not isinstance(context, Mapping) or not all(
                isinstance(v, str | int | float | bool) or v is None for v in context.values()):
            errors["context"] = [_("Give the context as names with plain values.")]
        elif unknown := sorted(set(context) - set(ITEM_FIELDS)):
            errors["context"] = [_("Unknown names: %(names)s. Use: %(allowed)s.") % {
                "names": ", ".join(unknown), "allowed": ", ".join(ITEM_FIELDS)}]
        out["context"] = dict(context) if isinstance(context, Mapping) else {}
    for key in ("scheduled_at", "end_at"):
        if key in data:
            value = data.get(key)
            if value is not None and not isinstance(value, datetime):
                errors[key] = [_("Give a date and time.")]
            elif value is not None and timezone.is_naive(value):
                value = timezone.make_aware(value)
            out[key] = value
    for key in ("send_local_time",):
        if key in data:
            out[key] = bool(data[key])
    if "throttle_per_minute" in data:
        value = data.get("throttle_per_minute")
        if value in (None, "", 0):
            out["throttle_per_minute"] = None
        elif not _whole(value):
            errors["throttle_per_minute"] = [_("Enter a whole number.")]
        elif not 1 <= value <= 1_000_000:
            errors["throttle_per_minute"] = [_("Give a number of messages per minute.")]
        else:
            out["throttle_per_minute"] = value
    if "conversion_days" in data:
        value = data.get("conversion_days")
        if not _whole(value):
            errors["conversion_days"] = [_("Enter a whole number.")]
        elif not 1 <= value <= 365:
            errors["conversion_days"] = [_("Give between 1 and 365 days.")]
        out["conversion_days"] = value
    if "trigger_rule" in data:
        rule = data.get("trigger_rule") or {}
        if rule:
            from tend.rules import rule_validate

            problems = rule_validate(tenant=tenant, rule=rule)
            if problems:
                errors["trigger_rule"] = [f"{p.path}: {p.message}" for p in problems]
        out["trigger_rule"] = rule
    if out.get("cron") and not croniter.is_valid(out["cron"]):
        errors["cron"] = [_("Not a cron expression (for example 0 9 * * 1).")]
    if out.get("time_zone") and not _zone_ok(out["time_zone"]):
        errors["time_zone"] = [_("Unknown time zone.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _check_ready(tenant: Tenant, campaign: Campaign) -> None:
    """What a campaign needs before it can be launched."""
    errors: dict[str, list[str]] = {}
    if not campaign.segment_ids and campaign.type != CampaignType.TRIGGERED:
        errors["segment_ids"] = [_("Choose at least one segment.")]
    if not campaign.channels:
        errors["channels"] = [_("Choose at least one channel.")]
    from tend.messaging.services.accounts import default_account

    missing = [c["channel"] for c in campaign.channels or []
               if default_account(tenant=tenant, kind=c["channel"]) is None]
    if missing:
        errors["channels"] = [_("No active channel account for: %(channels)s.") % {
            "channels": ", ".join(missing)}]
    if campaign.type == CampaignType.RECURRING and not campaign.cron:
        errors["cron"] = [_("Give the cron expression of the repeats.")]
    if campaign.type == CampaignType.TRIGGERED and not campaign.trigger_activity_type:
        errors["trigger_activity_type"] = [_("Choose the activity that triggers it.")]
    if campaign.type == CampaignType.JOURNEY:
        errors["type"] = [_("Journey campaigns are sent by their journey.")]
    if errors:
        raise ValidationFailed(fields=errors)


# --- create, change, delete ----------------------------------------------------------------


def campaign_create(*, tenant: Tenant, actor: Actor, data: Mapping[str, Any]) -> Campaign:
    """A new DRAFT campaign. Needs `campaigns.add`. `data` keys: see `FIELDS`."""
    check_perm(actor, "campaigns.add")
    values = _clean(tenant, {k: v for k, v in data.items() if k in FIELDS}, None)
    user = actor.acting_user
    with transaction.atomic():
        campaign = Campaign.objects.create(tenant=tenant, created_by=user, updated_by=user,
                                           **values)
        audit_record(tenant=tenant, actor=actor, action="campaign.created",
                     entity_type="marketing.campaign", entity_id=campaign.pk,
                     changes={"name": campaign.name, "type": campaign.type})
    return campaign


def campaign_update(*, tenant: Tenant, actor: Actor, campaign: Campaign,
                    data: Mapping[str, Any]) -> Campaign:
    """Change a DRAFT, SCHEDULED or PAUSED campaign. Needs `campaigns.change`. A scheduled
    campaign's next run follows a changed send time or cron."""
    check_perm(actor, "campaigns.change")
    if campaign.status not in EDITABLE_STATUSES:
        raise Conflict(_("Only a draft, scheduled or paused campaign can be changed."))
    values = _clean(tenant, {k: v for k, v in data.items() if k in FIELDS}, campaign)
    with transaction.atomic():
        for key, value in values.items():
            setattr(campaign, key, value)
        campaign.updated_by = actor.acting_user
        if campaign.status == S.SCHEDULED:
            campaign.next_run_at = next_run_time(campaign, after=timezone.now())
        campaign.save()
        audit_record(tenant=tenant, actor=actor, action="campaign.updated",
                     entity_type="marketing.campaign", entity_id=campaign.pk,
                     changes={"fields": sorted(values)})
    return campaign


def campaign_delete(*, tenant: Tenant, actor: Actor, campaign: Campaign) -> None:
    """Delete a campaign that never sent (DRAFT, or CANCELLED before its first run)."""
    check_perm(actor, "campaigns.change")
    if campaign.status not in (S.DRAFT, S.CANCELLED) or campaign.run_count:
        raise Conflict(_("Only a campaign that never sent can be deleted; cancel it instead."))
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="campaign.deleted",
                     entity_type="marketing.campaign", entity_id=campaign.pk,
                     changes={"name": campaign.name})
        campaign.delete()


# --- timing --------------------------------------------------------------------------------


# A local-time campaign runs this long before its send time, so that the first time zone to
# reach the wall-clock time (UTC+14) gets its messages on time; each message then waits for
# its contact's own time.
LOCAL_LEAD = timedelta(hours=14)


def next_run_time(campaign: Campaign, *, after: datetime) -> datetime | None:
    """When the tick should run the campaign next (`send_time` less `LOCAL_LEAD` for a
    local-time campaign)."""
    at = send_time(campaign, after=after)
    if at is not None and campaign.send_local_time:
        return at - LOCAL_LEAD
    return at


def send_time(campaign: Campaign, *, after: datetime) -> datetime | None:
    """When the campaign should run next after `after`: a one-time campaign at its send time
    (or now) until it ran; a recurring one at its next cron time in its time zone, until
    `end_at`; None for triggered and journey campaigns."""
    if campaign.type == CampaignType.ONE_TIME:
        if campaign.run_count:
            return None
        return campaign.scheduled_at or after
    if campaign.type == CampaignType.RECURRING and campaign.cron:
        zone = zone_named(campaign.time_zone or campaign.tenant.time_zone)
        start = max(after, campaign.scheduled_at) if campaign.scheduled_at else after
        following = croniter(campaign.cron, start.astimezone(zone)).get_next(datetime)
        if campaign.end_at and following > campaign.end_at:
            return None
        return following
    return None


# --- launch, pause, resume, cancel ---------------------------------------------------------


def _locked(tenant: Tenant, campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(tenant=tenant, pk=campaign.pk)


def campaign_launch(*, tenant: Tenant, actor: Actor, campaign: Campaign) -> Campaign:
    """Launch a DRAFT campaign: one-time and recurring ones become SCHEDULED for their next
    run (the tick runs them; a one-time campaign without a send time goes at once), triggered
    ones ACTIVE. Needs `campaigns.send`."""
    check_perm(actor, "campaigns.send")
    with transaction.atomic():
        campaign = _locked(tenant, campaign)
        _check_ready(tenant, campaign)
        now = timezone.now()
        if campaign.type == CampaignType.TRIGGERED:
            campaign_transition(campaign=campaign, to=S.ACTIVE, now=now)
        else:
            due = next_run_time(campaign, after=now)
            if due is None:
                raise ValidationFailed(fields={"end_at": [
                    _("The campaign has no run left before its end.")]})
            campaign_transition(campaign=campaign, to=S.SCHEDULED, now=now)
            campaign.next_run_at = due
            campaign.save(update_fields=["next_run_at", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="campaign.launched",
                     entity_type="marketing.campaign", entity_id=campaign.pk,
                     changes={"next_run_at": campaign.next_run_at.isoformat()
                              if campaign.next_run_at else None})
    if campaign.next_run_at and campaign.next_run_at <= timezone.now():
        _enqueue_run(tenant, campaign)
    return campaign


def campaign_pause(*, tenant: Tenant, actor: Actor, campaign: Campaign) -> Campaign:
    """Pause a scheduled or active campaign: no run starts and its queued messages are held
    (those already handed to a provider still go). Needs `campaigns.send`."""
    check_perm(actor, "campaigns.send")
    with transaction.atomic():
        campaign = _locked(tenant, campaign)
        campaign_transition(campaign=campaign, to=S.PAUSED)
        held = fanout.messages_hold(tenant=tenant, campaign_id=campaign.pk)
        audit_record(tenant=tenant, actor=actor, action="campaign.paused",
                     entity_type="marketing.campaign", entity_id=campaign.pk,
                     changes={"held": held})
    return campaign


def campaign_resume(*, tenant: Tenant, actor: Actor, campaign: Campaign) -> Campaign:
    """Resume a paused campaign: its held messages go back to the queue (the same rows, so
    nobody gets a message twice); a campaign that had not run yet is SCHEDULED again, others
    ACTIVE. A run missed while paused happens at once. Needs `campaigns.send`."""
    check_perm(actor, "campaigns.send")
    with transaction.atomic():
        campaign = _locked(tenant, campaign)
        started = campaign.run_count > 0 or campaign.type == CampaignType.TRIGGERED
        campaign_transition(campaign=campaign, to=S.ACTIVE if started else S.SCHEDULED)
        released = fanout.messages_release(tenant=tenant, campaign_id=campaign.pk)
        audit_record(tenant=tenant, actor=actor, action="campaign.resumed",
                     entity_type="marketing.campaign", entity_id=campaign.pk,
                     changes={"released": released})
    if campaign.next_run_at and campaign.next_run_at <= timezone.now():
        _enqueue_run(tenant, campaign)
    return campaign


def campaign_cancel(*, tenant: Tenant, actor: Actor, campaign: Campaign,
                    reason: str = "") -> Campaign:
    """Cancel a campaign for good: no more runs, and its messages not yet handed to a
    provider are discarded. Needs `campaigns.send`."""
    check_perm(actor, "campaigns.send")
    with transaction.atomic():
        campaign = _locked(tenant, campaign)
        campaign_transition(campaign=campaign, to=S.CANCELLED)
        discarded = fanout.messages_discard(tenant=tenant, campaign_id=campaign.pk)
        audit_record(tenant=tenant, actor=actor, action="campaign.cancelled",
                     entity_type="marketing.campaign", entity_id=campaign.pk,
                     changes={"discarded": discarded, "reason": reason[:200]})
    return campaign


# --- running -------------------------------------------------------------------------------


def _enqueue_run(tenant: Tenant, campaign: Campaign) -> None:
    from tend.core.background import enqueue_on_commit
    from tend.marketing.tasks_campaigns import campaign_run_task

    enqueue_on_commit(campaign_run_task, str(tenant.pk), str(campaign.pk))


TRACK_PATH = "/t/"


def track_base(campaign: Campaign) -> str:
    """The start of the campaign's tracking URLs, its signed token included; "" (no tracking)
    when this installation's public origin (`TEND_PUBLIC_URL`) is not known."""
    from tend.core.origins import public_origin
    from tend.marketing.services.tracking import tracking_token

    origin = public_origin()
    if not origin:  # a relative link in a message leads nowhere: leave the links alone
        return ""
    token = tracking_token(tenant_id=campaign.tenant_id, campaign_id=campaign.pk)
    return f"{origin}{TRACK_PATH}{token}/"


def _constants(tenant: Tenant, campaign: Campaign) -> dict[str, dict[str, Any]]:
    from tend.messaging import rendering

    return rendering.context_for(tenant=tenant, contact=None,
                                 extra={"item": campaign.context or {}})


def campaign_run(*, tenant: Tenant, campaign_id: Any, now: datetime | None = None
                 ) -> CampaignRun | None:
    """Run a due campaign once: fan out to the outbox, record the run, and set the next run
    (or none). Does nothing unless the campaign is SCHEDULED or ACTIVE and due — so a
    duplicate task, a paused or cancelled campaign, or a run already done queue nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(
            tenant=tenant, pk=campaign_id).first()
        if (campaign is None or campaign.status not in (S.SCHEDULED, S.ACTIVE)
                or campaign.next_run_at is None or campaign.next_run_at > now):
            return None
        started = time.monotonic()
        number = campaign.run_count + 1
        run = CampaignRun.objects.create(
            tenant=tenant, campaign=campaign, number=number, due_at=campaign.next_run_at,
            started_at=now, channels=[c["channel"] for c in campaign.channels],
            context=campaign.context or {})
        at = campaign.next_run_at
        if campaign.send_local_time:
            at += LOCAL_LEAD
        run_fan_out(tenant=tenant, campaign=campaign, run=run, at=at)
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.save(update_fields=["duration_ms", "updated_at"])
        campaign.run_count = number
        campaign.next_run_at = next_run_time(campaign, after=max(at, now))
        campaign.target_count += run.target_count
        if campaign.status == S.SCHEDULED:
            campaign_transition(campaign=campaign, to=S.ACTIVE, now=now)
        campaign.save(update_fields=["run_count", "next_run_at", "target_count", "links",
                                     "updated_at"])
    return run


def run_fan_out(*, tenant: Tenant, campaign: Campaign, run: CampaignRun, at: datetime) -> None:
    """Queue a run's messages (every channel) and finish the run record."""
    base = track_base(campaign)
    constants = _constants(tenant, campaign)
    total = 0
    versions: dict[str, dict[str, int]] = {}
    user_id = campaign.created_by_id
    from tend.messaging.services.accounts import default_account

    for spec in campaign.channels:
        account = default_account(tenant=tenant, kind=spec["channel"])
        result = fanout.fan_out_channel(
            tenant=tenant, campaign=campaign, spec=spec, run_key=str(run.number), at=at,
            account_id=account.pk if account else None, actor_user_id=user_id,
            constants=constants, track_base=base)
        total += result.queued
        if result.versions:
            versions[spec["channel"]] = result.versions
    run.target_count = total
    run.template_versions = versions
    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["target_count", "template_versions", "status", "finished_at",
                            "updated_at"])


def campaign_send_now(*, tenant: Tenant, campaign_id: Any) -> CampaignRun | None:
    """Run the campaign if it is due (the task behind the tick and launch)."""
    return campaign_run(tenant=tenant, campaign_id=campaign_id)


def campaigns_complete_drained(*, tenant: Tenant) -> int:
    """Mark COMPLETED the active campaigns with no run left and no message waiting."""
    done = 0
    for campaign in Campaign.objects.filter(
            tenant=tenant, status=S.ACTIVE, next_run_at__isnull=True).exclude(
            type__in=[CampaignType.TRIGGERED, CampaignType.JOURNEY]):
        if fanout.messages_pending(tenant=tenant, campaign_id=campaign.pk):
            continue
        with transaction.atomic():
            locked = _locked(tenant, campaign)
            if locked.status == S.ACTIVE and locked.next_run_at is None:
                campaign_transition(campaign=locked, to=S.COMPLETED)
                done += 1
    return done


# --- triggered campaigns -------------------------------------------------------------------


def campaign_trigger(*, tenant: Tenant, campaign: Campaign, activity: Any) -> int:
    """Send an ACTIVE triggered campaign to the contact of `activity` when its rule matches
    them (and they are in its segments, when it has any). Keyed by the activity, so the same
    activity never sends twice. Returns the messages queued."""
    contact_id = activity.contact_id
    if contact_id is None or campaign.status != S.ACTIVE:
        return 0
    if campaign.trigger_rule:
        from tend.people.models import Contact
        from tend.rules import rule_matches

        contact = Contact.objects.filter(tenant=tenant, pk=contact_id).first()
        if contact is None or not rule_matches(tenant=tenant, rule=campaign.trigger_rule,
                                               contact=contact):
            return 0
    base = track_base(campaign)
    constants = _constants(tenant, campaign)
    queued = 0
    from tend.messaging.services.accounts import default_account

    with transaction.atomic():
        for spec in campaign.channels:
            account = default_account(tenant=tenant, kind=spec["channel"])
            result = fanout.fan_out_channel(
                tenant=tenant, campaign=campaign, spec=spec,
                run_key=f"a{fanout._hex(activity.pk)}", at=timezone.now(),
                account_id=account.pk if account else None,
                actor_user_id=campaign.created_by_id, constants=constants, track_base=base,
                contact_ids=[contact_id])
            queued += result.queued
        if queued:
            from django.db.models import F

            Campaign.objects.filter(pk=campaign.pk).update(
                target_count=F("target_count") + queued, links=campaign.links)
    return queued


# --- preview -------------------------------------------------------------------------------


def campaign_preview(*, tenant: Tenant, actor: Actor, channel: Mapping[str, Any],
                     contact: Any = None, context: Mapping[str, Any] | None = None
                     ) -> dict[str, str]:
    """What one channel of a campaign would say to `contact` (or with empty contact fields):
    `{"subject", "body"}`, links not yet rewritten. Needs `campaigns.view`; writes nothing."""
    check_perm(actor, "campaigns.view")
    errors: dict[str, list[str]] = {}
    specs = _clean_channels(tenant, [channel], errors)
    if errors:
        raise ValidationFailed(fields=errors)
    spec = specs[0]
    extra = {"item": dict(context or {})}
    if spec.get("template_key"):
        from tend.messaging.services.templates import template_render, template_resolve

        template = template_resolve(tenant=tenant, key=spec["template_key"],
                                    channel=spec["channel"], contact=contact)
        assert template is not None  # checked by _clean_channels
        rendered = template_render(tenant=tenant, template=template, contact=contact,
                                   extra=extra)
        return {"subject": rendered["subject"], "body": rendered["body"]}
    from tend.messaging import rendering

    values = rendering.context_for(tenant=tenant, contact=contact, extra=extra)
    return {"subject": rendering.render(spec.get("subject", ""), values),
            "body": rendering.render(spec.get("body", ""), values)}
