"""Reminders for staff: rules per organization turn contacts into persisted `Reminder`
items, and each staff member gets a daily digest (email, in-app, Telegram).

Two registries let modules extend it:

- reminder types — `register_reminder_type(key, label, candidates, params=…)`: `candidates`
  finds, set-based, the contacts (among those a rule selects) that need a reminder now,
  each with the occurrence it is about (`subject_key`), when it fell due and why. Shipped:
  CONTACT_OVERDUE (no contact for more than `days`) and FOLLOW_UP_DUE (an interaction's
  follow-up date has come and nobody has been in touch since).
- recipient resolvers — `register_reminder_recipient(key, label, resolve)`: who is reminded
  about which contacts. Shipped: `owner` (the contact's owner); a community module adds
  mentors and unit secretaries.

`reminders_generate` (the tick, per organization) is idempotent: one reminder per type,
contact, recipient and occurrence ever, and at most one open at a time; reminders whose
cause went away (the person was contacted) are closed as done by the next run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import Tenant, User
from tend.core.services.audit import audit_record
from tend.core.services.changes import changed_values, save_changes
from tend.core.services.guards import check_perm
from tend.core.services.organization import tenant_setting_change
from tend.core.text import clean_text
from tend.core.zones import tenant_zone, zone_named
from tend.marketing.models import Reminder, ReminderDigest, ReminderRule, ReminderStatus
from tend.people.models import Contact, Interaction

logger = logging.getLogger(__name__)

DEFAULT_DIGEST_HOUR = 8
DIGEST_LINES = 15
CHUNK = 2000
MAX_SNOOZE_DAYS = 365


@dataclass(frozen=True)
class Candidate:
    """A contact that needs a reminder: about which occurrence, since when, why."""

    contact_id: Any
    subject_key: str
    due_at: datetime
    reason: str


CandidatesFunc = Callable[[Tenant, QuerySet[Contact], dict[str, Any], datetime],
                          Iterable[Candidate]]
ResolveFunc = Callable[[Tenant, list[Any]], dict[Any, list[Any]]]


@dataclass(frozen=True)
class ReminderType:
    key: str
    label: str | Promise
    candidates: CandidatesFunc
    description: str | Promise = ""
    # Parameter name → (default, label); values are whole numbers.
    params: dict[str, tuple[int, str | Promise]] = field(default_factory=dict)


@dataclass(frozen=True)
class RecipientResolver:
    key: str
    label: str | Promise
    resolve: ResolveFunc


_types: dict[str, ReminderType] = {}
_resolvers: dict[str, RecipientResolver] = {}


def register_reminder_type(key: str, label: str | Promise, candidates: CandidatesFunc, *,
                           description: str | Promise = "",
                           params: dict[str, tuple[int, str | Promise]] | None = None) -> None:
    """Add a reminder type. `candidates(tenant, contacts, params, now)` gets the contacts
    the rule selects (a queryset, usable as a subquery) and yields `Candidate`s."""
    if not key or len(key) > 50:
        raise ValueError("a reminder type needs a key of 1 to 50 characters")
    _types[key] = ReminderType(key, label, candidates, description, dict(params or {}))


def register_reminder_recipient(key: str, label: str | Promise, resolve: ResolveFunc) -> None:
    """Add a recipient resolver: `resolve(tenant, contact_ids)` → {contact id: [user ids]}."""
    _resolvers[key] = RecipientResolver(key, label, resolve)


def reminder_types() -> list[ReminderType]:
    return sorted(_types.values(), key=lambda t: t.key)


def reminder_type(key: str) -> ReminderType | None:
    return _types.get(key)


def recipient_resolvers() -> list[RecipientResolver]:
    return sorted(_resolvers.values(), key=lambda r: r.key)


# --- the shipped types and resolver -----------------------------------------------------------


def contact_overdue_candidates(tenant: Tenant, contacts: QuerySet[Contact],
                               params: dict[str, Any], now: datetime) -> Iterable[Candidate]:
    """Contacts not contacted for more than `days` (never contacted: counted from when they
    were added). The occurrence is the last contact, so getting in touch starts afresh."""
    days = int(params.get("days", 30))
    cutoff = now - timedelta(days=days)
    rows = (contacts.annotate(basis=Coalesce("last_contacted_at", "created_at"))
            .filter(basis__lt=cutoff).values_list("pk", "basis", "last_contacted_at")
            .order_by())
    for pk, basis, last in rows.iterator(chunk_size=CHUNK):
        if last is None:
            reason = _("Never contacted (added %(date)s)") % {"date": f"{basis:%Y-%m-%d}"}
        else:
            reason = _("No contact for %(days)d days") % {"days": (now - basis).days}
        yield Candidate(pk, f"since:{int(basis.timestamp())}", basis + timedelta(days=days),
                        reason)


def follow_up_due_candidates(tenant: Tenant, contacts: QuerySet[Contact],
                             params: dict[str, Any], now: datetime) -> Iterable[Candidate]:
    """Interactions whose follow-up date has come (in the organization's time zone, up to
    `lookback_days` back) with no contact logged after them."""
    zone = tenant_zone(tenant)
    today = now.astimezone(zone).date()
    since = today - timedelta(days=int(params.get("lookback_days", 90)))
    rows = (Interaction.objects.filter(tenant=tenant, follow_up_on__lte=today,
                                       follow_up_on__gte=since,
                                       contact__in=contacts.values("pk"))
            .filter(Q(contact__last_contacted_at__isnull=True)
                    | Q(contact__last_contacted_at__lte=F("occurred_at")))
            .values_list("pk", "contact_id", "follow_up_on", "summary").order_by())
    for pk, contact_id, day, summary in rows.iterator(chunk_size=CHUNK):
        if day is None:
            continue
        summary = " ".join((summary or "").split())
        reason = _("Follow up: %(summary)s") % {"summary": summary[:120]}
        yield Candidate(contact_id, f"interaction:{pk}",
                        datetime.combine(day, time(0, 0), tzinfo=zone), reason[:300])


def resolve_owner(tenant: Tenant, contact_ids: list[Any]) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = {}
    rows = Contact.objects.filter(tenant=tenant, pk__in=contact_ids, owner__isnull=False,
                                  owner__is_active=True).values_list("pk", "owner_id")
    for pk, owner_id in rows:
        out[pk] = [owner_id]
    return out


def register_builtin() -> None:
    register_reminder_type(
        "CONTACT_OVERDUE", gettext_lazy("Contact overdue"), contact_overdue_candidates,
        description=gettext_lazy("Nobody has been in touch for longer than the threshold."),
        params={"days": (30, gettext_lazy("Days without contact"))})
    register_reminder_type(
        "FOLLOW_UP_DUE", gettext_lazy("Follow-up due"), follow_up_due_candidates,
        description=gettext_lazy("A logged interaction's follow-up date has come."),
        params={"lookback_days": (90, gettext_lazy("Look back (days)"))})
    register_reminder_recipient("owner", gettext_lazy("Contact owner"), resolve_owner)


# --- rules -----------------------------------------------------------------------------------


def _clean_rule(tenant: Tenant, data: dict[str, Any], rule_obj: ReminderRule | None
                ) -> dict[str, Any]:
    from tend.rules import rule_clean

    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    creating = rule_obj is None
    if "name" in data or creating:
        name = clean_text(data.get("name"), "name", errors, required=True, limit=200,
                          collapse=True)
        if "name" not in errors:
            taken = ReminderRule.objects.filter(tenant=tenant, name__iexact=name)
            if rule_obj is not None:
                taken = taken.exclude(pk=rule_obj.pk)
            if taken.exists():
                errors["name"] = [_("Another reminder rule has this name.")]
        out["name"] = name
    type_key = data.get("type") if "type" in data else (rule_obj.type if rule_obj else None)
    kind = _types.get(str(type_key or ""))
    if "type" in data or creating:
        if kind is None:
            errors["type"] = [_("Choose a reminder type.")]
        out["type"] = str(type_key or "")
    if "params" in data or creating:
        given = data.get("params") or {}
        params: dict[str, int] = {}
        if not isinstance(given, dict):
            errors["params"] = [_("Give the settings as an object.")]
        elif kind is not None:
            for name, (default, _label) in kind.params.items():
                value = given.get(name, default)
                try:
                    number = int(value)
                except (TypeError, ValueError):
                    number = -1
                if number < 1 or number > 3650:
                    errors[f"params.{name}"] = [_("Enter a whole number from 1 to 3650.")]
                params[name] = number
            for name in given:
                if name not in kind.params:
                    errors[f"params.{name}"] = [_("Unknown setting.")]
        out["params"] = params
    if "recipients" in data or creating:
        recipients = data.get("recipients") or ["owner"]
        if not isinstance(recipients, list | tuple) or any(r not in _resolvers
                                                             for r in recipients):
            errors["recipients"] = [_("Choose who is reminded.")]
        else:
            out["recipients"] = sorted(set(recipients))
    if "rule" in data:
        rule = data.get("rule") or {}
        if rule:
            try:
                rule = rule_clean(tenant=tenant, rule=rule)
            except ValidationFailed as exc:
                for path, messages in exc.fields.items():
                    errors[f"rule.{path}" if path else "rule"] = list(messages)
        out["rule"] = rule
    if "is_active" in data and data["is_active"] is not None:
        out["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def reminder_rule_create(*, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> ReminderRule:
    """A reminder rule (active unless `is_active` false). Needs `reminders.manage`."""
    check_perm(actor, "reminders.manage")
    clean = _clean_rule(tenant, data, None)
    with transaction.atomic():
        rule = ReminderRule.objects.create(tenant=tenant, created_by=actor.acting_user,
                                           updated_by=actor.acting_user, **clean)
        audit_record(tenant=tenant, actor=actor, action="reminder_rule.created",
                     entity_type="reminder_rule", entity_id=rule.pk,
                     changes={"name": rule.name, "type": rule.type})
    return rule


def reminder_rule_update(*, tenant: Tenant, actor: Actor, rule: ReminderRule,
                         data: dict[str, Any]) -> ReminderRule:
    """Change a rule; its existing reminders stay. Needs `reminders.manage`."""
    check_perm(actor, "reminders.manage")
    clean = _clean_rule(tenant, data, rule)
    changes = changed_values(rule, clean)
    if not changes:
        return rule
    with transaction.atomic():
        save_changes(rule, changes, actor=actor)
        audit_record(tenant=tenant, actor=actor, action="reminder_rule.updated",
                     entity_type="reminder_rule", entity_id=rule.pk,
                     changes={k: v for k, v in changes.items() if k != "rule"})
    return rule


def reminder_rule_delete(*, tenant: Tenant, actor: Actor, rule: ReminderRule) -> None:
    """Delete a rule and its open reminders (closed ones stay as history). Needs
    `reminders.manage`."""
    check_perm(actor, "reminders.manage")
    with transaction.atomic():
        Reminder.objects.filter(tenant=tenant, rule=rule, status__in=_OPEN).delete()
        pk = rule.pk
        rule.delete()
        audit_record(tenant=tenant, actor=actor, action="reminder_rule.deleted",
                     entity_type="reminder_rule", entity_id=pk, changes={})


# --- generating ------------------------------------------------------------------------------

_OPEN = (ReminderStatus.OPEN, ReminderStatus.SNOOZED)


def _rule_contacts(tenant: Tenant, rule: ReminderRule, now: datetime) -> QuerySet[Contact]:
    from tend.rules import rule_contacts

    if rule.rule and rule.rule.get("rules"):
        return rule_contacts(tenant=tenant, rule=rule.rule, now=now)
    return Contact.objects.filter(tenant=tenant, merged_into__isnull=True,
                                  deleted_at__isnull=True, erased_at__isnull=True,
                                  status__in=("ACTIVE", "INACTIVE"))


def reminder_rule_run(*, tenant: Tenant, rule: ReminderRule, now: datetime | None = None
                      ) -> tuple[int, int]:
    """Evaluate one rule: create the missing reminders, close as done the open ones whose
    cause went away. Returns (created, closed). Idempotent."""
    now = now or timezone.now()
    kind = _types.get(rule.type)
    if kind is None:
        return 0, 0
    params = {name: default for name, (default, _l) in kind.params.items()} | rule.params
    contacts = _rule_contacts(tenant, rule, now)
    wanted: dict[tuple[str, str, str], Candidate] = {}
    batch: list[Candidate] = []
    created = 0

    def flush() -> int:
        if not batch:
            return 0
        recipients: dict[Any, set[Any]] = defaultdict(set)
        ids = list({c.contact_id for c in batch})
        for key in rule.recipients or ["owner"]:
            resolver = _resolvers.get(key)
            if resolver is None:
                continue
            for contact_id, users in resolver.resolve(tenant, ids).items():
                recipients[contact_id].update(users)
        rows = []
        for cand in batch:
            for user_id in recipients.get(cand.contact_id, ()):
                wanted[(str(cand.contact_id), str(user_id), cand.subject_key)] = cand
                rows.append(Reminder(tenant=tenant, rule=rule, type=rule.type,
                                     contact_id=cand.contact_id, recipient_id=user_id,
                                     subject_key=cand.subject_key[:100], due_at=cand.due_at,
                                     reason=cand.reason[:300]))
        batch.clear()
        before = Reminder.objects.filter(tenant=tenant, rule=rule).count()
        Reminder.objects.bulk_create(rows, ignore_conflicts=True)
        return Reminder.objects.filter(tenant=tenant, rule=rule).count() - before

    for cand in kind.candidates(tenant, contacts, params, now):
        batch.append(cand)
        if len(batch) >= CHUNK:
            created += flush()
    created += flush()
    stale = [pk for pk, contact_id, user_id, key in Reminder.objects.filter(
        tenant=tenant, rule=rule, status__in=_OPEN).values_list(
        "pk", "contact_id", "recipient_id", "subject_key")
        if (str(contact_id), str(user_id), key) not in wanted]
    closed = 0
    for start in range(0, len(stale), CHUNK):
        closed += Reminder.objects.filter(tenant=tenant, pk__in=stale[start:start + CHUNK]
                                          ).update(status=ReminderStatus.DONE, closed_at=now,
                                                   snoozed_until=None)
    ReminderRule.objects.filter(tenant=tenant, pk=rule.pk).update(last_run_at=now,
                                                                  last_created=created)
    return created, closed


def reminders_generate(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Reopen snoozed reminders that are due again, then run every active rule. Returns how
    many reminders were created."""
    now = now or timezone.now()
    Reminder.objects.filter(tenant=tenant, status=ReminderStatus.SNOOZED,
                            snoozed_until__lte=now).update(status=ReminderStatus.OPEN,
                                                           snoozed_until=None)
    created = 0
    for rule in ReminderRule.objects.filter(tenant=tenant, is_active=True):
        try:
            with transaction.atomic():
                created += reminder_rule_run(tenant=tenant, rule=rule, now=now)[0]
        except ValidationFailed as exc:  # a rule naming a field that went away
            logger.warning("reminder rule %s skipped: %s", rule.pk, exc.fields or exc)
    return created


# --- acting on a reminder ------------------------------------------------------------------


def _check_own(actor: Actor, reminder: Reminder) -> None:
    if actor.has_perm("reminders.manage"):
        return
    check_perm(actor, "reminders.view")
    user = actor.acting_user
    if user is None or user.pk != reminder.recipient_id:
        raise PermissionDenied(_("This reminder is someone else's."))


def _close(tenant: Tenant, actor: Actor, reminder: Reminder, status: str) -> Reminder:
    _check_own(actor, reminder)
    if reminder.status not in _OPEN:
        raise ValidationFailed(fields={"status": [_("This reminder is already closed.")]})
    reminder.status = status
    reminder.snoozed_until = None
    reminder.closed_at = timezone.now()
    reminder.closed_by = actor.acting_user
    reminder.save(update_fields=["status", "snoozed_until", "closed_at", "closed_by",
                                 "updated_at"])
    return reminder


def reminder_done(*, tenant: Tenant, actor: Actor, reminder: Reminder) -> Reminder:
    """Mark done. The recipient (with `reminders.view`) or anyone with `reminders.manage`."""
    return _close(tenant, actor, reminder, ReminderStatus.DONE)


def reminder_dismiss(*, tenant: Tenant, actor: Actor, reminder: Reminder) -> Reminder:
    """Dismiss (not needed): the same occurrence never comes back."""
    return _close(tenant, actor, reminder, ReminderStatus.DISMISSED)


def reminder_snooze(*, tenant: Tenant, actor: Actor, reminder: Reminder,
                    until: datetime) -> Reminder:
    """Hide an open reminder until `until` (in the future, at most a year away)."""
    _check_own(actor, reminder)
    now = timezone.now()
    if reminder.status not in _OPEN:
        raise ValidationFailed(fields={"status": [_("This reminder is already closed.")]})
    if until is None or timezone.is_naive(until) or until <= now:
        raise ValidationFailed(fields={"until": [_("Choose a time in the future.")]})
    if until > now + timedelta(days=MAX_SNOOZE_DAYS):
        raise ValidationFailed(fields={"until": [_("Snooze for at most a year.")]})
    reminder.status = ReminderStatus.SNOOZED
    reminder.snoozed_until = until
    reminder.save(update_fields=["status", "snoozed_until", "updated_at"])
    return reminder


# --- the daily digest ------------------------------------------------------------------------


def digest_hour(tenant: Tenant) -> int:
    """The local hour digests go out (the organization's setting, default 8)."""
    try:
        hour = int((tenant.settings or {}).get("reminders_digest_hour", DEFAULT_DIGEST_HOUR))
    except (TypeError, ValueError):
        return DEFAULT_DIGEST_HOUR
    return hour if 0 <= hour <= 23 else DEFAULT_DIGEST_HOUR


def reminders_settings_update(*, tenant: Tenant, actor: Actor, digest_hour: int) -> Tenant:
    """Set the local hour of the daily digest (0 to 23). Needs `reminders.manage`."""
    check_perm(actor, "reminders.manage")
    try:
        hour = int(digest_hour)
    except (TypeError, ValueError):
        hour = -1
    if not 0 <= hour <= 23:
        raise ValidationFailed(fields={"digest_hour": [_("Enter an hour from 0 to 23.")]})
    tenant_setting_change(tenant=tenant, actor=actor, key="reminders_digest_hour",
                          change=lambda stored: hour, action="reminders.settings_changed",
                          changes=lambda previous, value: {"digest_hour": hour})
    return tenant


def _digest_text(tenant: Tenant, reminders: list[Reminder], total: int) -> str:
    lines = [f"- {r.contact}: {r.reason} ({r.due_at:%Y-%m-%d})" for r in reminders]
    if total > len(reminders):
        lines.append(_("…and %(count)d more.") % {"count": total - len(reminders)})
    return "\n".join(lines)


def _own_contact(tenant: Tenant, user: User) -> Contact | None:
    """The staff member's own contact: linked by a staff-account identity, else by email."""
    from tend.people.models import IdentityAlias

    alias = (IdentityAlias.objects.filter(tenant=tenant, type="AUTH_USER", value=str(user.pk))
             .select_related("contact").first())
    if alias is not None:
        return alias.contact
    if user.email:
        alias = (IdentityAlias.objects.filter(tenant=tenant, type="EMAIL",
                                              value=user.email.lower())
                 .select_related("contact").first())
        if alias is not None:
            return alias.contact
    return None


def _telegram(tenant: Tenant, user: User, title: str, text: str, day: date) -> bool:
    from tend.messaging.choices import AccountStatus, ChannelKind, MessagePurpose
    from tend.messaging.models import ChannelAccount
    from tend.messaging.services.outbox import message_enqueue
    from tend.people.models import IdentityAlias

    if not ChannelAccount.objects.filter(tenant=tenant, kind=ChannelKind.TELEGRAM,
                                         status=AccountStatus.ACTIVE).exists():
        return False
    contact = _own_contact(tenant, user)
    if contact is None or not IdentityAlias.objects.filter(
            tenant=tenant, contact=contact, type="TELEGRAM").exists():
        return False
    message_enqueue(tenant=tenant, actor=Actor.system(), contact=contact,
                    channel=ChannelKind.TELEGRAM, body=f"{title}\n\n{text}",
                    purpose=MessagePurpose.TRANSACTIONAL,
                    dedupe_key=f"reminders.digest:{user.pk}:{day.isoformat()}",
                    source="reminders", metadata={"digest_day": day.isoformat()})
    return True


def reminder_digest_send(*, tenant: Tenant, user: User, now: datetime | None = None,
                         force: bool = False) -> ReminderDigest | None:
    """Send `user` today's digest (their local day) if they have open reminders due by the
    end of it and none went out today — unless it is before the digest hour (`force`
    skips that check). In-app notification plus its email copy, and Telegram when the
    user's own contact has a Telegram identity and a Telegram account is connected."""
    from tend.core.services.notifications import notification_create

    now = now or timezone.now()
    local = now.astimezone(zone_named(user.time_zone))
    if not force and local.hour < digest_hour(tenant):
        return None
    day = local.date()
    end_of_day = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=local.tzinfo)
    due = (Reminder.objects.filter(tenant=tenant, recipient=user, status=ReminderStatus.OPEN,
                                   due_at__lt=end_of_day)
           .select_related("contact").order_by("due_at"))
    total = due.count()
    if total == 0 or ReminderDigest.objects.filter(tenant=tenant, user=user, day=day).exists():
        return None
    from django.db import IntegrityError
    from django.urls import reverse

    try:
        with transaction.atomic():
            digest = ReminderDigest.objects.create(tenant=tenant, user=user, day=day,
                                                   sent_at=now, reminder_count=total)
            title = _("%(count)d reminders for today") % {"count": total}
            text = _digest_text(tenant, list(due[:DIGEST_LINES]), total)
            url = reverse("marketing:reminders-list", kwargs={"org_slug": tenant.slug})
            channels = ["in_app"]
            note = notification_create(tenant=tenant, user=user, kind="reminders.digest",
                                       title=title, body=text, url=url,
                                       dedupe_key=f"reminders.digest:{day.isoformat()}")
            if note is not None and user.email:
                channels.append("email")
            if _telegram(tenant, user, title, text, day):
                channels.append("telegram")
            digest.channels = channels
            digest.save(update_fields=["channels"])
    except IntegrityError:  # another worker sent it a moment ago
        return None
    return digest


def reminders_digest_run(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Send the digests due now to every staff member with open reminders. Returns how many
    went out."""
    now = now or timezone.now()
    user_ids = (Reminder.objects.filter(tenant=tenant, status=ReminderStatus.OPEN)
                .order_by().values_list("recipient_id", flat=True).distinct())
    sent = 0
    for user in User.objects.filter(pk__in=list(user_ids), is_active=True):
        if reminder_digest_send(tenant=tenant, user=user, now=now) is not None:
            sent += 1
    return sent
