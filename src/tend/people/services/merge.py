"""Merging two contacts that are one person: the winner keeps everything, the loser stays as a
MERGED row pointing at the winner.

The people module's own rows move through participants registered in the merge registry
(`tend.people.merging`), exactly like every other module's, so one list says what follows a
person on a merge.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.audit import audit_record
from tend.core.services.customfields import custom_values_validate
from tend.people.choices import AliasType, ContactStatus, DuplicateResolution
from tend.people.merging import merge_participants, register_merge_participant
from tend.people.models import (
    Activity,
    Consent,
    ConsentEvent,
    Contact,
    ContactTag,
    DuplicateCandidate,
    IdentityAlias,
    IngestionLog,
    Interaction,
    Note,
    Task,
)
from tend.people.services.activities import activity_record
from tend.people.signals import contact_changed

# Contact columns a person chooses between, with their labels (in screen order).
MERGE_FIELDS: dict[str, Any] = {
    "first_name": gettext_lazy("first name"),
    "last_name": gettext_lazy("last name"),
    "display_name": gettext_lazy("display name"),
    "date_of_birth": gettext_lazy("date of birth"),
    "gender": gettext_lazy("gender"),
    "job_title": gettext_lazy("job title"),
    "company": gettext_lazy("company"),
    "owner": gettext_lazy("owner"),
    "lifecycle_stage": gettext_lazy("lifecycle stage"),
    "address_line1": gettext_lazy("address"),
    "address_line2": gettext_lazy("address line 2"),
    "city": gettext_lazy("city"),
    "state": gettext_lazy("state / province"),
    "postal_code": gettext_lazy("postal code"),
    "country": gettext_lazy("country"),
    "language": gettext_lazy("language"),
    "time_zone": gettext_lazy("time zone"),
    "source": gettext_lazy("source"),
}
FK_FIELDS = {"company", "owner"}
CHOICES = ("winner", "loser")


def _value(contact: Contact, name: str) -> Any:
    if name in FK_FIELDS:
        return getattr(contact, f"{name}_id")
    if name.startswith("custom."):
        return (contact.custom or {}).get(name.removeprefix("custom."))
    return getattr(contact, name)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def merge_fields(winner: Contact, loser: Contact) -> list[str]:
    """The choosable fields of this pair: the contact columns, then every custom key either
    has (sorted)."""
    custom = sorted(set(winner.custom or {}) | set(loser.custom or {}))
    return [*MERGE_FIELDS, *(f"custom.{key}" for key in custom)]


def merge_default_choice(winner: Contact, loser: Contact, name: str) -> str:
    """Keep the winner's value unless it is empty and the loser has one."""
    if _empty(_value(winner, name)) and not _empty(_value(loser, name)):
        return "loser"
    return "winner"


def _check_pair(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    if winner.tenant_id != tenant.pk or loser.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"loser_id": [_("Not a contact of this organization.")]})
    if winner.pk == loser.pk:
        raise ValidationFailed(fields={"loser_id": [_("A contact cannot be merged with itself.")]})
    for name, contact in (("winner_id", winner), ("loser_id", loser)):
        if not contact.is_live or contact.erased_at is not None:
            raise ValidationFailed(fields={name: [
                _("Merged, deleted or erased contacts cannot be merged.")]})


def _clean_choices(winner: Contact, loser: Contact, field_choices: Any) -> dict[str, str]:
    if field_choices is None:
        field_choices = {}
    if not isinstance(field_choices, dict):
        raise ValidationFailed(fields={"field_choices": [
            _("Give an object of field: \"winner\" or \"loser\".")]})
    allowed = merge_fields(winner, loser)
    errors: dict[str, list[str]] = {}
    for name, choice in field_choices.items():
        if name not in allowed:
            errors[f"field_choices.{name}"] = [_("Not a field these contacts can merge.")]
        elif choice not in CHOICES:
            errors[f"field_choices.{name}"] = [_("Choose \"winner\" or \"loser\".")]
    if errors:
        raise ValidationFailed(fields=errors)
    return {name: field_choices.get(name) or merge_default_choice(winner, loser, name)
            for name in allowed}


# --- the people module's participants ----------------------------------------------------------


def _move_aliases(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    winner_aliases = list(IdentityAlias.objects.filter(tenant=tenant, contact=winner))
    have = {(a.type, a.system, a.value) for a in winner_aliases}
    primary_kinds = {(a.type, a.system) for a in winner_aliases if a.is_primary}
    for alias in IdentityAlias.objects.filter(tenant=tenant, contact=loser):
        if (alias.type, alias.system, alias.value) in have:
            alias.delete()  # the same identity: the winner's copy is the one
            continue
        fields = ["contact", "updated_at"]
        if alias.is_primary and (alias.type, alias.system) in primary_kinds:
            alias.is_primary = False
            fields.append("is_primary")
        alias.contact = winner
        alias.save(update_fields=fields)


def _move_rows(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    for model in (Activity, Note, Interaction, Task, ConsentEvent, IngestionLog):
        model.objects.filter(tenant=tenant, contact=loser).update(contact=winner)


def _move_consents(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    """The most recent decision per channel and purpose survives; the history moves whole."""
    mine = {(c.channel, c.purpose): c for c in Consent.objects.filter(tenant=tenant,
                                                                        contact=winner)}
    for consent in Consent.objects.filter(tenant=tenant, contact=loser):
        current = mine.get((consent.channel, consent.purpose))
        if current is not None:
            if current.changed_at >= consent.changed_at:
                consent.delete()
                continue
            current.delete()
        consent.contact = winner
        consent.save(update_fields=["contact", "updated_at"])


def _move_tags(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    winner_tags = ContactTag.objects.filter(tenant=tenant, contact=winner).values("tag_id")
    ContactTag.objects.filter(tenant=tenant, contact=loser, tag_id__in=winner_tags).delete()
    ContactTag.objects.filter(tenant=tenant, contact=loser).update(contact=winner)


def _move_candidates(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    """The pair being merged is resolved MERGED; the loser's other pairs move to the winner
    unless the winner already has that pair (then the loser's copy goes)."""
    a, b = sorted([winner.pk, loser.pk])
    DuplicateCandidate.objects.filter(tenant=tenant, contact_a_id=a, contact_b_id=b).update(
        resolution=DuplicateResolution.MERGED, resolved_at=timezone.now())
    involving = DuplicateCandidate.objects.filter(tenant=tenant).filter(
        Q(contact_a=loser) | Q(contact_b=loser)).exclude(contact_a_id=a, contact_b_id=b)
    winner_pairs = set()
    for x, y in DuplicateCandidate.objects.filter(tenant=tenant).filter(
            Q(contact_a=winner) | Q(contact_b=winner)).values_list("contact_a_id",
                                                                   "contact_b_id"):
        winner_pairs.add(y if x == winner.pk else x)
    for candidate in involving:
        other = (candidate.contact_b_id if candidate.contact_a_id == loser.pk
                 else candidate.contact_a_id)
        if other in winner_pairs or other == winner.pk:
            candidate.delete()
            continue
        first, second = sorted([winner.pk, other])
        # Two UPDATEs would break the ordered-pair check midway; write the pair in one go.
        DuplicateCandidate.objects.filter(pk=candidate.pk).update(contact_a_id=first,
                                                                  contact_b_id=second)
        winner_pairs.add(other)


def register_people_merge_participants() -> None:
    register_merge_participant("people.aliases", _move_aliases)
    register_merge_participant("people.rows", _move_rows)
    register_merge_participant("people.consents", _move_consents)
    register_merge_participant("people.tags", _move_tags)
    register_merge_participant("people.duplicates", _move_candidates)


# --- the merge ---------------------------------------------------------------------------------


def _refresh_primaries(tenant: Tenant, contact: Contact) -> None:
    primaries = dict(IdentityAlias.objects.filter(
        tenant=tenant, contact=contact, is_primary=True, system="",
        type__in=(AliasType.EMAIL, AliasType.PHONE),
    ).values_list("type", "value"))
    for alias_type in (AliasType.EMAIL, AliasType.PHONE):
        if alias_type in primaries:
            continue
        first = IdentityAlias.objects.filter(tenant=tenant, contact=contact, type=alias_type,
                                             system="").order_by("created_at", "value").first()
        if first is not None:
            first.is_primary = True
            first.save(update_fields=["is_primary", "updated_at"])
            primaries[alias_type] = first.value
    contact.primary_email = primaries.get(AliasType.EMAIL, "")
    contact.primary_phone = primaries.get(AliasType.PHONE, "")


def contact_metrics_refresh(*, contact: Contact) -> None:
    """Recompute `contact`'s activity metrics from its activities (sets the attributes; the
    caller saves)."""
    now = timezone.now()
    activities = Activity.objects.filter(tenant_id=contact.tenant_id, contact=contact)
    latest = activities.order_by("-occurred_at", "-id").values("occurred_at", "type").first()
    contact.last_activity_at = latest["occurred_at"] if latest else None
    contact.last_activity_type = latest["type"] if latest else ""
    contact.activity_count_30d = activities.filter(
        occurred_at__gte=now - timedelta(days=30)).count()
    contact.activity_count_90d = activities.filter(
        occurred_at__gte=now - timedelta(days=90)).count()
    contacted = Interaction.objects.filter(tenant_id=contact.tenant_id, contact=contact).aggregate(
        at=Max("occurred_at"))["at"]
    if contacted and (contact.last_contacted_at is None or contacted > contact.last_contacted_at):
        contact.last_contacted_at = contacted


def _display_name(contact: Contact) -> str:
    return f"{contact.first_name} {contact.last_name}".strip()


def contact_merge(*, tenant: Tenant, actor: Actor, winner: Contact, loser: Contact,
                  field_choices: dict[str, str] | None = None) -> Contact:
    """Merge `loser` into `winner`: one person from now on.

    Preconditions: both are live contacts of `tenant` (not merged, deleted or erased), not the
    same contact; the actor holds `contacts.manage`. `field_choices` maps a field of
    `merge_fields()` (`"city"`, `"custom.member_no"`) to `"winner"` or `"loser"`; fields not
    given keep the winner's value unless it is empty. Every row pointing at the loser moves to
    the winner through the merge registry; the loser becomes MERGED with `merged_into`. One
    transaction; audited with ids only; a CONTACT_MERGED activity on the winner.
    """
    if not actor.has_perm("contacts.manage"):
        raise PermissionDenied()
    _check_pair(tenant, winner, loser)
    with transaction.atomic():
        # Lock both rows (in a stable order) and read them fresh.
        locked = {c.pk: c for c in Contact.objects.select_for_update().filter(
            tenant=tenant, pk__in=[winner.pk, loser.pk]).order_by("pk")}
        winner, loser = locked[winner.pk], locked[loser.pk]
        _check_pair(tenant, winner, loser)
        choices = _clean_choices(winner, loser, field_choices)
        from_loser = sorted(name for name, choice in choices.items() if choice == "loser")

        custom = dict(winner.custom or {})
        custom_changes: dict[str, Any] = {}
        for name in from_loser:
            if name.startswith("custom."):
                key = name.removeprefix("custom.")
                value = (loser.custom or {}).get(key)
                if value is None:
                    custom.pop(key, None)
                else:
                    custom_changes[key] = value
            elif name in FK_FIELDS:
                setattr(winner, f"{name}_id", getattr(loser, f"{name}_id"))
            else:
                setattr(winner, name, getattr(loser, name))
                if name == "display_name":
                    winner.display_name_custom = loser.display_name_custom
        if custom_changes:
            definitions = custom_definitions(tenant=tenant, entity_type="contact")
            defined = {d.key for d in definitions}
            # A value whose field was deleted since is kept as stored; the rest are checked.
            custom.update({k: v for k, v in custom_changes.items() if k not in defined})
            custom.update(custom_values_validate(
                tenant=tenant, entity_type="contact", partial=True, definitions=definitions,
                values={k: v for k, v in custom_changes.items() if k in defined}))
        winner.custom = {k: v for k, v in custom.items() if v is not None}
        if not winner.display_name_custom:
            winner.display_name = _display_name(winner) or winner.display_name
        winner.external_ids = {**(loser.external_ids or {}), **(winner.external_ids or {})}
        if loser.lifetime_value_minor and (
                not winner.lifetime_value_currency
                or winner.lifetime_value_currency == loser.lifetime_value_currency):
            winner.lifetime_value_minor += loser.lifetime_value_minor
            winner.lifetime_value_currency = loser.lifetime_value_currency
        if loser.last_contacted_at and (winner.last_contacted_at is None
                                        or loser.last_contacted_at > winner.last_contacted_at):
            winner.last_contacted_at = loser.last_contacted_at

        for _name, participant in merge_participants():
            participant(tenant, winner, loser)

        _refresh_primaries(tenant, winner)
        contact_metrics_refresh(contact=winner)
        winner.updated_by = actor.acting_user
        winner.save()
        from tend.people.services.consent import consent_refresh_flags

        consent_refresh_flags(contact=winner)

        now = timezone.now()
        Contact.objects.filter(pk=loser.pk).update(
            status=ContactStatus.MERGED, merged_into=winner, merged_at=now,
            primary_email="", primary_phone="", email_opt_in=False, sms_opt_in=False,
            whatsapp_opt_in=False, telegram_opt_in=False, web_opt_in=False, updated_at=now,
            updated_by=actor.acting_user,
        )
        loser.refresh_from_db()
        activity_record(
            tenant=tenant, actor=actor, type="CONTACT_MERGED", contact=winner,
            category="SYSTEM", title=_("Merged with another contact record"),
            metadata={"merged_contact_id": str(loser.pk), "fields_from_merged": from_loser},
        )
        winner.refresh_from_db()
        audit_record(tenant=tenant, actor=actor, action="contact.merged", entity_type="contact",
                     entity_id=winner.pk,
                     changes={"merged_contact_id": str(loser.pk), "fields_from_merged": from_loser})
        changes = ((winner.pk, "updated"), (loser.pk, "merged"))
        transaction.on_commit(lambda: _announce(tenant, changes))
    return winner


def _announce(tenant: Tenant, changes: tuple[tuple[Any, str], ...]) -> None:
    for contact_id, change in changes:
        contact_changed.send(sender=Contact, tenant=tenant, contact_id=contact_id,
                             change=change, fields=[])


def merge_preview(*, winner: Contact, loser: Contact) -> list[dict[str, Any]]:
    """Both contacts' values side by side, with the default choice per field:
    `[{field, label, winner, loser, default, differs}]`. Values are display strings."""
    rows = []
    for name in merge_fields(winner, loser):
        label = MERGE_FIELDS.get(name) or name.removeprefix("custom.")
        values = []
        for contact in (winner, loser):
            value = getattr(contact, name) if name in FK_FIELDS else _value(contact, name)
            values.append("" if value is None else str(value))
        rows.append({"field": name, "label": str(label), "winner": values[0],
                     "loser": values[1], "default": merge_default_choice(winner, loser, name),
                     "differs": values[0] != values[1]})
    return rows
