"""Identity resolution: from what another system knows about a person (an email, a phone, a
Telegram id, an id in its own database) to the one contact of this organization.

Identifiers are normalized like every alias (`clean_alias_value`), then looked up in one
query. Nothing matches: a contact is created with every identifier. One contact matches: the
identifiers it lacks are added to it. Several contacts match: we do not guess — the best match
is returned and every pair is recorded as a `DuplicateCandidate` for a person to review.

A deleted contact (soft-deleted: status DELETED) no longer answers to its identities: an
identifier only it holds counts as unknown. When the identifier is needed — a new contact is
created with it, or the one matching contact lacks it — it is released from the deleted
contact (its alias row is removed, its primary copies refreshed) and given to the live one,
which gets an `IDENTITIES_REASSIGNED` activity on its timeline; the deleted contact gets a
`contact.identities_released` audit entry. An erased contact has no identities left.

Concurrency: two requests about the same new person may both find nothing and both create.
The alias unique constraint lets only one win; the loser's savepoint rolls back and it looks
again, finding the winner's contact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.people.choices import AliasType, ContactStatus, DuplicateResolution, MatchType
from tend.people.models import Contact, DuplicateCandidate, IdentityAlias
from tend.people.services.aliases import (
    MAX_SOURCE,
    MAX_SYSTEM,
    clean_alias_value,
    sync_primary_fields,
)

MAX_IDENTIFIERS = 20
# How many times a lost creation race is retried before giving up (one is enough in practice:
# the winner committed, so the second lookup sees it).
CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class Identifier:
    """One normalized identity: `(type, system, value)` is what an alias is unique on."""

    type: str
    value: str
    system: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type, self.system, self.value)

    @property
    def label(self) -> str:
        """The field name a duplicate candidate lists (`email`, `phone`, `external:shop`)."""
        name = self.type.lower()
        return f"{name}:{self.system}" if self.system else name


@dataclass
class ResolveResult:
    """What `contact_resolve` did.

    `contact` is the resolved contact; `created` is True when it was made now; `added` lists
    the identifiers newly attached to an existing contact; `conflicts` holds the other contacts
    the identifiers also pointed at (then duplicate candidates were recorded and nothing was
    attached).
    """

    contact: Contact
    created: bool = False
    added: list[Identifier] = field(default_factory=list)
    conflicts: list[Contact] = field(default_factory=list)
    reassigned: list[Identifier] = field(default_factory=list)


REASSIGNED_TYPE = "IDENTITIES_REASSIGNED"


def contact_is_dead(contact: Contact) -> bool:
    """Whether `contact` no longer answers to its identities: soft-deleted or erased."""
    return (contact.deleted_at is not None or contact.erased_at is not None
            or contact.status == ContactStatus.DELETED)


def identifiers_clean(*, tenant: Tenant, identifiers: Any,
                      prefix: str = "identifiers") -> list[Identifier]:
    """Normalize a list of `{"type", "value", "system"?}` into `Identifier`s (duplicates
    dropped, order kept). Raises `ValidationFailed` naming each bad entry
    (`identifiers.2.value`)."""
    if not isinstance(identifiers, list | tuple) or not identifiers:
        raise ValidationFailed(fields={prefix: [_("Give at least one identifier.")]})
    if len(identifiers) > MAX_IDENTIFIERS:
        raise ValidationFailed(fields={prefix: [_("Give at most %(limit)d identifiers.")
                                                % {"limit": MAX_IDENTIFIERS}]})
    errors: dict[str, list[str]] = {}
    cleaned: dict[tuple[str, str, str], Identifier] = {}
    for index, raw in enumerate(identifiers):
        where = f"{prefix}.{index}"
        if not isinstance(raw, Mapping):
            errors[where] = [_("Give an object with a type and a value.")]
            continue
        type = str(raw.get("type") or "").strip().upper()
        if type not in AliasType.values:
            errors[f"{where}.type"] = [_("Choose one of: %(types)s.")
                                       % {"types": ", ".join(AliasType.values)}]
            continue
        system = raw.get("system") or ""
        if not isinstance(system, str) or len(system.strip()) > MAX_SYSTEM:
            errors[f"{where}.system"] = [_("Use at most %(limit)d characters.")
                                         % {"limit": MAX_SYSTEM}]
            continue
        system = system.strip() if type == AliasType.EXTERNAL else ""
        if type == AliasType.EXTERNAL and not system:
            errors[f"{where}.system"] = [_("Name the system this id belongs to.")]
            continue
        try:
            value = clean_alias_value(tenant=tenant, type=type, value=raw.get("value"),
                                      field=f"{where}.value")
        except ValidationFailed as exc:
            errors.update(exc.fields)
            continue
        identifier = Identifier(type=type, value=value, system=system)
        cleaned.setdefault(identifier.key, identifier)
    if errors:
        raise ValidationFailed(fields=errors)
    return list(cleaned.values())


def _lookup(tenant: Tenant, identifiers: Sequence[Identifier]) -> list[IdentityAlias]:
    """The aliases holding any of `identifiers`, with their contacts (one query)."""
    condition = Q()
    for identifier in identifiers:
        condition |= Q(type=identifier.type, system=identifier.system, value=identifier.value)
    return list(IdentityAlias.objects.filter(condition, tenant=tenant).select_related("contact"))


@dataclass
class HeldAlias:
    """An alias found by `identifiers_holders`, with what matters of the contact it resolves
    to (`holder_id`: a merged contact's survivor)."""

    pk: Any
    contact_id: Any
    type: str
    system: str
    value: str
    is_primary: bool
    holder_id: Any
    holder_created_at: datetime
    holder_dead: bool


_HOLDER_COLUMNS = ("pk", "contact_id", "type", "system", "value", "is_primary",
                   "contact__status", "contact__merged_into_id", "contact__deleted_at",
                   "contact__erased_at", "contact__created_at")


def identifiers_holders(*, tenant: Tenant, identifiers: Iterable[Identifier]
                        ) -> dict[tuple[str, str, str], HeldAlias]:
    """The alias holding each of `identifiers` (cleaned) and who it resolves to, for many at
    once: one query with an IN list per (type, system), read as plain values. Identifiers
    nobody holds are absent; a holder may be dead (`contact_is_dead`), in which case the
    identifier is free to take."""
    groups: dict[tuple[str, str], set[str]] = {}
    for identifier in identifiers:
        groups.setdefault((identifier.type, identifier.system), set()).add(identifier.value)
    if not groups:
        return {}
    condition = Q()
    for (type, system), values in groups.items():
        condition |= Q(type=type, system=system, value__in=sorted(values))
    rows = IdentityAlias.objects.filter(condition, tenant=tenant).values_list(*_HOLDER_COLUMNS)
    found = {}
    for (pk, contact_id, type, system, value, is_primary, status, merged_into_id, deleted_at,
         erased_at, created_at) in rows:
        holder_id = contact_id
        dead = (deleted_at is not None or erased_at is not None
                or status == ContactStatus.DELETED)
        if status == ContactStatus.MERGED and merged_into_id:
            survivor = Contact.objects.get(tenant=tenant, pk=merged_into_id)
            holder_id, created_at, dead = survivor.pk, survivor.created_at, contact_is_dead(
                survivor)
        found[(type, system, value)] = HeldAlias(pk, contact_id, type, system, value,
                                                 is_primary, holder_id, created_at, dead)
    return found


def _survivor(contact: Contact) -> Contact:
    """A merged contact's aliases normally moved with the merge; if one was left behind,
    resolve to the contact it was merged into."""
    if contact.status == ContactStatus.MERGED and contact.merged_into_id:
        return Contact.objects.get(tenant_id=contact.tenant_id, pk=contact.merged_into_id)
    return contact


def _rank(aliases: Iterable[IdentityAlias]) -> list[tuple[Contact, list[IdentityAlias]]]:
    """Contacts owning the aliases, best first: most identifiers matched, then oldest."""
    by_contact: dict[Any, tuple[Contact, list[IdentityAlias]]] = {}
    for alias in aliases:
        contact = _survivor(alias.contact)
        by_contact.setdefault(contact.pk, (contact, []))[1].append(alias)
    return sorted(by_contact.values(),
                  key=lambda item: (-len(item[1]), item[0].created_at, str(item[0].pk)))


def _record_conflicts(tenant: Tenant, actor: Actor,
                      ranked: list[tuple[Contact, list[IdentityAlias]]]) -> None:
    for (first, first_aliases), (second, second_aliases) in combinations(ranked, 2):
        a, b = sorted([first, second], key=lambda c: c.pk)
        matched = sorted({Identifier(x.type, x.value, x.system).label
                          for x in (*first_aliases, *second_aliases)})
        DuplicateCandidate.objects.get_or_create(
            tenant=tenant, contact_a=a, contact_b=b,
            defaults={"match_type": MatchType.IDENTIFIERS, "score": 100,
                      "matched_fields": matched, "resolution": DuplicateResolution.PENDING,
                      "created_by": actor.acting_user},
        )


def identities_release(*, tenant: Tenant, actor: Actor,
                       aliases: Sequence[IdentityAlias | HeldAlias]
                       ) -> dict[Any, list[IdentityAlias | HeldAlias]]:
    """Take `aliases` (held by dead contacts) off their contacts so a live contact can have
    them: the rows are deleted, a released primary hands its flag to the oldest remaining
    identity of its kind, and the dead contact's primary copies are refreshed. Returns the
    released aliases by former contact id. Inside the caller's transaction."""
    by_contact: dict[Any, list[IdentityAlias | HeldAlias]] = {}
    for alias in aliases:
        by_contact.setdefault(alias.contact_id, []).append(alias)
    if not by_contact:
        return {}
    IdentityAlias.objects.filter(tenant=tenant, pk__in=[a.pk for a in aliases]).delete()
    for contact_id, released in by_contact.items():
        for alias in released:
            if not alias.is_primary:
                continue
            successor = IdentityAlias.objects.filter(
                tenant=tenant, contact_id=contact_id, type=alias.type, system=alias.system,
            ).order_by("created_at", "id").first()
            if successor is not None:
                IdentityAlias.objects.filter(tenant=tenant, pk=successor.pk).update(
                    is_primary=True)
        former = Contact.objects.filter(tenant=tenant, pk=contact_id).first()
        if former is not None:
            sync_primary_fields(former)
    return by_contact


def reassignment_record(*, tenant: Tenant, actor: Actor, contact: Contact,
                        released: dict[Any, list[IdentityAlias | HeldAlias]],
                        source: str = "") -> None:
    """Record that `contact` took `released` identities over from deleted contacts: an
    `IDENTITIES_REASSIGNED` activity on its timeline and an audit entry on each former
    holder. Inside the caller's transaction."""
    from tend.people.services.activities import activity_record

    for former_id, aliases in released.items():
        labels = sorted({Identifier(a.type, a.value, a.system).label for a in aliases})
        audit_record(tenant=tenant, actor=actor, action="contact.identities_released",
                     entity_type="contact", entity_id=former_id,
                     changes={"identities": labels, "to": str(contact.pk)})
        activity_record(tenant=tenant, actor=actor, contact=contact, type=REASSIGNED_TYPE,
                        category="SYSTEM", title=", ".join(labels), source=source[:100],
                        metadata=reassignment_metadata(former_id, labels))


def reassignment_metadata(former_id: Any, labels: list[str]) -> dict[str, Any]:
    """The metadata of an `IDENTITIES_REASSIGNED` activity."""
    return {"identities": labels, "from_contact": str(former_id)}


def _attach(tenant: Tenant, actor: Actor, contact: Contact, identifiers: list[Identifier],
            source: str) -> list[Identifier]:
    """Add `identifiers` to `contact`; one another request took meanwhile is skipped."""
    if not identifiers:
        return []
    has_primary = set(
        IdentityAlias.objects.filter(tenant=tenant, contact=contact, is_primary=True)
        .values_list("type", "system")
    )
    added = []
    for identifier in identifiers:
        primary = (identifier.type, identifier.system) not in has_primary
        try:
            with transaction.atomic():
                IdentityAlias.objects.create(
                    tenant=tenant, contact=contact, type=identifier.type,
                    system=identifier.system, value=identifier.value, is_primary=primary,
                    source=source[:MAX_SOURCE], created_by=actor.acting_user,
                    updated_by=actor.acting_user,
                )
        except IntegrityError:
            continue  # a concurrent request gave this identity to a contact first
        has_primary.add((identifier.type, identifier.system))
        added.append(identifier)
    if any(i.type in (AliasType.EMAIL, AliasType.PHONE) and not i.system for i in added):
        sync_primary_fields(contact)
    return added


def _create(tenant: Tenant, actor: Actor, identifiers: list[Identifier],
            defaults: Mapping[str, Any], source: str) -> Contact:
    from tend.people.services.contacts import contact_create

    data = dict(defaults)
    if source and not data.get("source"):
        data["source"] = source[:MAX_SOURCE]
    aliases = [{"type": i.type, "value": i.value, "system": i.system} for i in identifiers]
    return contact_create(tenant=tenant, actor=actor, data=data, aliases=aliases)


def contact_resolve(*, tenant: Tenant, actor: Actor, identifiers: Any,
                    defaults: Mapping[str, Any] | None = None,
                    source: str = "") -> ResolveResult:
    """The contact `identifiers` point at, created or completed as needed.

    `identifiers` is a list of `{"type": EMAIL|PHONE|TELEGRAM|WHATSAPP|AUTH_USER|EXTERNAL,
    "value": …, "system": …}` (`system` names the other system of an EXTERNAL id). Invalid ones
    raise `ValidationFailed` keyed `identifiers.<n>.<field>`. `defaults` (contact fields) are
    used only when a contact is created, through `contact_create` (so its permission check,
    validation, audit entry and CONTACT_CREATED activity apply). Identities held only by a
    deleted contact do not match; they move to the resolved contact (see the module
    docstring). Run inside
    `tenant_scope(tenant)`; safe to call concurrently for the same new person.
    """
    cleaned = identifiers_clean(tenant=tenant, identifiers=identifiers)
    defaults = defaults or {}
    for attempt in range(CREATE_ATTEMPTS):
        found = _lookup(tenant, cleaned)
        dead = [a for a in found if contact_is_dead(_survivor(a.contact))]
        ranked = _rank(a for a in found if a not in dead)
        if not ranked:
            try:
                with transaction.atomic():
                    released = identities_release(tenant=tenant, actor=actor, aliases=dead)
                    contact = _create(tenant, actor, cleaned, defaults, source)
                    reassignment_record(tenant=tenant, actor=actor, contact=contact,
                                        released=released, source=source)
            except (IntegrityError, ValidationFailed) as exc:
                # Lost the race for one of the identities: look again (the winner committed).
                # A ValidationFailed that is not about a taken identity is the caller's.
                if isinstance(exc, ValidationFailed) and not _lookup(tenant, cleaned):
                    raise
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                continue
            return ResolveResult(contact=contact, created=True,
                                 reassigned=_identifiers_of(released))
        break
    best, best_aliases = ranked[0]
    if len(ranked) > 1:
        with transaction.atomic():
            _record_conflicts(tenant, actor, ranked)
        return ResolveResult(contact=best, conflicts=[c for c, _a in ranked[1:]])
    known = {(a.type, a.system, a.value) for a in best_aliases}
    missing = [i for i in cleaned if i.key not in known]
    if not missing:
        return ResolveResult(contact=best)
    missing_keys = {i.key for i in missing}
    with transaction.atomic():
        released = identities_release(
            tenant=tenant, actor=actor,
            aliases=[a for a in dead if (a.type, a.system, a.value) in missing_keys])
        added = _attach(tenant, actor, best, missing, source)
        if added:
            audit_record(tenant=tenant, actor=actor, action="contact.identities_resolved",
                         entity_type="contact", entity_id=best.pk,
                         changes={"added": [i.label for i in added]})
        reassignment_record(tenant=tenant, actor=actor, contact=best, released=released,
                            source=source)
    return ResolveResult(contact=best, added=added, reassigned=_identifiers_of(released))


def _identifiers_of(released: dict[Any, list[IdentityAlias | HeldAlias]]
                    ) -> list[Identifier]:
    return [Identifier(a.type, a.value, a.system) for aliases in released.values()
            for a in aliases]
