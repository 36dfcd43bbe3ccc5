"""Consent: what each person agreed to be contacted about, per channel and purpose.

`Consent` holds the current state, `ConsentEvent` the append-only history. The contact's
`email_opt_in`, `sms_opt_in`, `whatsapp_opt_in`, `telegram_opt_in` and `web_opt_in` (in-app
and web chat) flags are copies of the MARKETING consents, refreshed here and nowhere else.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.text import clean_text
from tend.people.choices import ActivityCategory, ConsentChannel, ConsentPurpose, ConsentStatus
from tend.people.models import Consent, ConsentEvent, Contact
from tend.people.services._checks import check_contact_writable, clean_choice
from tend.people.services.activities import activity_record

# Contact flag per channel (MARKETING purpose only).
OPT_IN_FLAGS = {
    ConsentChannel.EMAIL: "email_opt_in",
    ConsentChannel.SMS: "sms_opt_in",
    ConsentChannel.WHATSAPP: "whatsapp_opt_in",
    ConsentChannel.TELEGRAM: "telegram_opt_in",
    ConsentChannel.WEB: "web_opt_in",
}


def _clean_ip(ip: str | None, errors: dict[str, list[str]]) -> str | None:
    if not ip:
        return None
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_ipv46_address

    try:
        validate_ipv46_address(ip)
    except ValidationError:
        errors["ip"] = [_("Enter a valid IPv4 or IPv6 address.")]
        return None
    return ip


def consent_refresh_flags(*, contact: Contact) -> list[str]:
    """Recompute the contact's `*_opt_in` flags from its MARKETING consents; returns the names
    of the flags that changed. Call inside the transaction that changed a consent."""
    granted = set(Consent.objects.filter(
        contact=contact, purpose=ConsentPurpose.MARKETING, status=ConsentStatus.GRANTED,
    ).values_list("channel", flat=True))
    updates = {flag: channel in granted for channel, flag in OPT_IN_FLAGS.items()
               if getattr(contact, flag) != (channel in granted)}
    if updates:
        Contact.objects.filter(pk=contact.pk).update(**updates)
        for flag, value in updates.items():
            setattr(contact, flag, value)
    return sorted(updates)


def consent_set(*, tenant: Tenant, actor: Actor, contact: Contact, channel: str,
                purpose: str = ConsentPurpose.MARKETING, status: str, source: str = "",
                ip: str | None = None) -> tuple[Consent, bool]:
    """Set `contact`'s consent for `channel` and `purpose`; returns (consent, changed).

    Needs `consents.change`; the contact must be live. When the status is already `status`
    nothing is written (`changed=False`). Otherwise, in one transaction: upserts the Consent,
    appends a ConsentEvent (the proof: previous status, source, ip, who), refreshes the
    contact's opt-in flags, records CONSENT_CHANGED on the timeline and an audit entry.
    """
    check_perm(actor, "consents.change")
    errors: dict[str, list[str]] = {}
    channel = clean_choice(channel, "channel", ConsentChannel, errors)
    purpose = clean_choice(purpose or ConsentPurpose.MARKETING, "purpose", ConsentPurpose,
                           errors)
    status = clean_choice(status, "status", ConsentStatus, errors)
    source = clean_text(source, "source", errors, limit=100)
    ip = _clean_ip(ip, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    check_contact_writable(contact)
    now = timezone.now()
    user = actor.acting_user
    with transaction.atomic():
        consent = (Consent.objects.select_for_update()
                   .filter(tenant=tenant, contact=contact, channel=channel, purpose=purpose)
                   .first())
        previous = consent.status if consent is not None else ""
        if consent is not None and consent.status == status:
            return consent, False
        if consent is None:
            consent = Consent.objects.create(
                tenant=tenant, contact=contact, channel=channel, purpose=purpose,
                status=status, source=source, ip=ip, changed_at=now,
                created_by=user, updated_by=user,
            )
        else:
            consent.status, consent.source, consent.ip = status, source, ip
            consent.changed_at, consent.updated_by = now, user
            consent.save(update_fields=["status", "source", "ip", "changed_at", "updated_by",
                                        "updated_at"])
        ConsentEvent.objects.create(
            tenant=tenant, contact=contact, channel=channel, purpose=purpose, status=status,
            previous_status=previous, source=source, ip=ip, actor_label=actor.label[:200],
            occurred_at=now, created_by=user,
        )
        flags = consent_refresh_flags(contact=contact)
        activity_record(
            tenant=tenant, actor=actor, type="CONSENT_CHANGED", contact=contact,
            category=ActivityCategory.MARKETING if purpose == ConsentPurpose.MARKETING
            else ActivityCategory.SYSTEM,
            channel=channel, title=str(ConsentChannel(channel).label),
            metadata={"purpose": purpose, "status": status, "previous_status": previous,
                      "source": source},
            occurred_at=now, related=consent,
        )
        audit_record(tenant=tenant, actor=actor, action="consent.changed",
                     entity_type="contact", entity_id=contact.pk,
                     changes={"channel": channel, "purpose": purpose, "status": status,
                              "previous_status": previous, "flags": flags})
    return consent, True
