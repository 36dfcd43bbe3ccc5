"""Logging touches with people: a call, a meeting, a message exchange."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.text import clean_text
from tend.people.choices import ActivityCategory, Direction, InteractionChannel
from tend.people.models import Contact, Interaction
from tend.people.services._checks import check_contact_writable, clean_choice
from tend.people.services.activities import activity_record
from tend.people.signals import interaction_logged

SUMMARY_MAX_LENGTH = 5_000
OUTCOME_MAX_LENGTH = 200
MAX_FLAGS = 10
FLAG_MAX_LENGTH = 40


def _clean_flags(flags: Any, errors: dict[str, list[str]]) -> list[str]:
    if flags is None:
        return []
    if not isinstance(flags, list | tuple) or not all(isinstance(f, str) for f in flags):
        errors["flags"] = [_("Give a list of short labels.")]
        return []
    cleaned: list[str] = []
    for flag in flags:
        flag = " ".join(flag.split())
        if flag and flag not in cleaned:
            cleaned.append(flag)
    if len(cleaned) > MAX_FLAGS or any(len(f) > FLAG_MAX_LENGTH for f in cleaned):
        errors["flags"] = [_("At most %(count)d labels of at most %(limit)d characters each.")
                           % {"count": MAX_FLAGS, "limit": FLAG_MAX_LENGTH}]
    return cleaned


def interaction_log(
    *,
    tenant: Tenant,
    actor: Actor,
    contact: Contact,
    channel: str,
    direction: str = Direction.OUTBOUND,
    summary: str,
    outcome: str = "",
    flags: list[str] | None = None,
    follow_up_on: date | None = None,
    occurred_at: datetime | None = None,
) -> Interaction:
    """Record a touch with `contact`, done by the actor's user.

    Needs `activities.add`; the contact must be live; `occurred_at` (default now) may not be
    in the future. In one transaction: writes the Interaction, an INTERACTION_LOGGED activity,
    moves `contact.last_contacted_at` forward (never back), writes an audit entry and sends
    `interaction_logged` (so listeners' writes commit or roll back with it).
    """
    check_perm(actor, "activities.add")
    errors: dict[str, list[str]] = {}
    channel = clean_choice(channel, "channel", InteractionChannel, errors)
    direction = clean_choice(direction or Direction.OUTBOUND, "direction", Direction, errors)
    summary = clean_text(summary, "summary", errors, required=True, limit=SUMMARY_MAX_LENGTH)
    outcome = clean_text(outcome, "outcome", errors, limit=OUTCOME_MAX_LENGTH)
    cleaned_flags = _clean_flags(flags, errors)
    now = timezone.now()
    if occurred_at is None:
        occurred_at = now
    elif not isinstance(occurred_at, datetime) or timezone.is_naive(occurred_at):
        errors["occurred_at"] = [_("Give a date and time with a time zone.")]
    elif occurred_at > now + timedelta(minutes=5):
        errors["occurred_at"] = [_("This cannot be in the future.")]
    if follow_up_on is not None and not isinstance(follow_up_on, date):
        errors["follow_up_on"] = [_("Enter a valid date.")]
    if errors:
        raise ValidationFailed(fields=errors)
    check_contact_writable(contact)
    user = actor.acting_user
    with transaction.atomic():
        interaction = Interaction.objects.create(
            tenant=tenant, contact=contact, channel=channel, direction=direction,
            summary=summary, outcome=outcome, flags=cleaned_flags, follow_up_on=follow_up_on,
            occurred_at=occurred_at, staff=user, created_by=user, updated_by=user,
        )
        activity_record(
            tenant=tenant, actor=actor, type="INTERACTION_LOGGED", contact=contact,
            category=ActivityCategory.COMMUNICATION, channel=channel,
            title=str(InteractionChannel(channel).label), description=summary[:1000],
            metadata={"direction": direction, "outcome": outcome, "flags": cleaned_flags,
                      "follow_up_on": follow_up_on.isoformat() if follow_up_on else None},
            occurred_at=occurred_at, related=interaction,
        )
        moved = Contact.objects.filter(pk=contact.pk).filter(
            Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=occurred_at)
        ).update(last_contacted_at=occurred_at)
        if moved:
            contact.last_contacted_at = occurred_at
        audit_record(tenant=tenant, actor=actor, action="interaction.logged",
                     entity_type="interaction", entity_id=interaction.pk,
                     changes={"contact_id": str(contact.pk), "channel": channel,
                              "direction": direction,
                              "follow_up_on": follow_up_on.isoformat() if follow_up_on
                              else None})
        interaction_logged.send(sender=Interaction, tenant=tenant, interaction=interaction,
                                actor=actor)
    return interaction
