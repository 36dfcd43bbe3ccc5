"""Finding likely duplicate contacts, and resolving candidates people reviewed.

Detection never compares every contact with every other. It puts contacts into *blocks* that
share a key — a canonical email (lower-cased, `+tag` dropped, dots dropped for Gmail), the
last nine digits of a phone or WhatsApp number, the normalized last name with the first
initial, and a Soundex of the last name with the first initial — and scores only the pairs
inside a block, with rapidfuzz: names (token sort ratio), company and city.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import Job, Tenant
from tend.core.services.audit import audit_record
from tend.people.choices import AliasType, ContactStatus, DuplicateResolution, MatchType
from tend.people.models import Contact, DuplicateCandidate, IdentityAlias

DETECT_JOB_KIND = "people.duplicates_detect"
# Blocks bigger than this are too common a key ("smith j") to say anything; skipped.
MAX_BLOCK = 50
NAME_MATCH = 85  # token sort ratio from which two names count as "the same"
MIN_NAME_SCORE = 75  # a name-only pair needs at least this overall score
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
PHONE_KEY_DIGITS = 9
LIVE_STATUSES = (ContactStatus.ACTIVE, ContactStatus.INACTIVE)


# --- keys -------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case, accents removed, punctuation to spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^\w]+", " ", stripped).split())


def email_key(value: str) -> str:
    """The canonical form two spellings of one mailbox share (`J.Doe+news@Gmail.com` and
    `jdoe@gmail.com`)."""
    value = (value or "").strip().lower()
    local, sep, domain = value.rpartition("@")
    if not sep or not local:
        return ""
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def phone_key(value: str) -> str:
    """The last nine digits: the same number read with different country defaults agrees."""
    digits = re.sub(r"\D", "", value or "")
    return digits[-PHONE_KEY_DIGITS:] if len(digits) >= 7 else ""


_SOUNDEX = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"),
            **dict.fromkeys("dt", "3"), "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}


def soundex(word: str) -> str:
    """American Soundex of the Latin letters of `word` ("" when it has none)."""
    letters = [ch for ch in fold(word) if "a" <= ch <= "z"]
    if not letters:
        return ""
    code, last = letters[0].upper(), _SOUNDEX.get(letters[0], "")
    for ch in letters[1:]:
        digit = _SOUNDEX.get(ch, "")
        if digit and digit != last:
            code += digit
        if ch not in "hw":
            last = digit
    return (code + "000")[:4]


def name_keys(first_name: str, last_name: str, display_name: str = "") -> list[str]:
    """Blocking keys of a name: exact folded last name + first initial, and its Soundex."""
    first, last = fold(first_name), fold(last_name)
    if not last and display_name:
        parts = fold(display_name).split()
        if len(parts) >= 2:
            first, last = parts[0], parts[-1]
    if not last or not first:
        return []
    keys = [f"n:{last}|{first[0]}"]
    if code := soundex(last):
        keys.append(f"s:{code}|{fold(first)[0]}")
    return keys


def full_name(contact: dict[str, Any]) -> str:
    name = f"{contact.get('first_name') or ''} {contact.get('last_name') or ''}".strip()
    return fold(name or contact.get("display_name") or "")


# --- scoring ----------------------------------------------------------------------------------


@dataclass
class PairScore:
    score: int
    match_type: str
    matched_fields: list[str] = field(default_factory=list)


def score_pair(a: dict[str, Any], b: dict[str, Any], *, same_email: bool = False,
               same_phone: bool = False) -> PairScore | None:
    """Score two contacts (dicts of first_name, last_name, display_name, city, company_id,
    company_name) that share a block. None when they are not likely one person."""
    name_a, name_b = full_name(a), full_name(b)
    name = fuzz.token_sort_ratio(name_a, name_b) if name_a and name_b else 0.0
    matched: list[str] = []
    if same_email:
        matched.append("email")
    if same_phone:
        matched.append("phone")
    if name >= NAME_MATCH:
        matched.append("name")
    parts: list[tuple[float, float]] = [(name, 0.7)]
    if a.get("company_id") and b.get("company_id"):
        company = 100.0 if a["company_id"] == b["company_id"] else fuzz.token_sort_ratio(
            fold(a.get("company_name") or ""), fold(b.get("company_name") or ""))
        parts.append((company, 0.15))
        if company >= 90:
            matched.append("company")
    if a.get("city") and b.get("city"):
        city = fuzz.ratio(fold(a["city"]), fold(b["city"]))
        parts.append((city, 0.15))
        if city >= 90:
            matched.append("city")
    similarity = sum(v * w for v, w in parts) / sum(w for _, w in parts)
    if same_email or same_phone:
        # A shared identity is strong evidence; the names only say how strong.
        score = 80 + similarity * 0.2
        match_type = MatchType.EMAIL if same_email else MatchType.PHONE
    else:
        if name < NAME_MATCH:
            return None
        score = similarity
        match_type = MatchType.NAME
        if score < MIN_NAME_SCORE:
            return None
    return PairScore(score=max(0, min(100, round(score))), match_type=match_type,
                     matched_fields=matched)


# --- detection --------------------------------------------------------------------------------


CONTACT_FIELDS = ("id", "first_name", "last_name", "display_name", "city", "company_id",
                  "company__name", "primary_email", "primary_phone")


def _contact_rows(tenant: Tenant, ids: Iterable[UUID] | None = None) -> dict[UUID, dict[str, Any]]:
    queryset = Contact.objects.filter(tenant=tenant, status__in=LIVE_STATUSES,
                                      deleted_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    rows = {}
    for row in queryset.values(*CONTACT_FIELDS).iterator(chunk_size=2000):
        row["company_name"] = row.pop("company__name")
        rows[row["id"]] = row
    return rows


def _blocks(tenant: Tenant, contacts: dict[UUID, dict[str, Any]]) -> dict[str, set[UUID]]:
    blocks: dict[str, set[UUID]] = defaultdict(set)
    for row in contacts.values():
        for key in name_keys(row["first_name"], row["last_name"], row["display_name"]):
            blocks[key].add(row["id"])
        if key := email_key(row["primary_email"]):
            blocks[f"e:{key}"].add(row["id"])
        if key := phone_key(row["primary_phone"]):
            blocks[f"p:{key}"].add(row["id"])
    aliases = IdentityAlias.objects.filter(
        tenant=tenant, type__in=(AliasType.EMAIL, AliasType.PHONE, AliasType.WHATSAPP)
    ).values_list("contact_id", "type", "value")
    for contact_id, type_, value in aliases.iterator(chunk_size=5000):
        if contact_id not in contacts:
            continue
        key = (f"e:{email_key(value)}" if type_ == AliasType.EMAIL else f"p:{phone_key(value)}")
        if len(key) > 2:
            blocks[key].add(contact_id)
    return blocks


def _pairs(blocks: dict[str, set[UUID]]) -> dict[tuple[UUID, UUID], set[str]]:
    """Each pair of contacts sharing a block, with the kinds of key they share."""
    pairs: dict[tuple[UUID, UUID], set[str]] = defaultdict(set)
    for key, members in blocks.items():
        if len(members) < 2 or len(members) > MAX_BLOCK:
            continue
        for a, b in combinations(sorted(members), 2):
            pairs[(a, b)].add(key[0])
    return pairs


def _save_candidates(tenant: Tenant, scored: dict[tuple[UUID, UUID], PairScore]) -> dict[str, int]:
    """Create new candidates and refresh pending ones; reviewed pairs stay as they are."""
    created = updated = 0
    if not scored:
        return {"created": 0, "updated": 0}
    firsts = {a for a, _b in scored}
    existing = {
        (c.contact_a_id, c.contact_b_id): c
        for c in DuplicateCandidate.objects.filter(tenant=tenant, contact_a_id__in=firsts)
    }
    new, changed = [], []
    for (a, b), result in scored.items():
        current = existing.get((a, b))
        if current is None:
            new.append(DuplicateCandidate(
                tenant=tenant, contact_a_id=a, contact_b_id=b, match_type=result.match_type,
                score=result.score, matched_fields=result.matched_fields,
            ))
        elif current.resolution == DuplicateResolution.PENDING and (
            current.score != result.score or current.matched_fields != result.matched_fields
            or current.match_type != result.match_type
        ):
            current.score, current.matched_fields = result.score, result.matched_fields
            current.match_type = result.match_type
            changed.append(current)
    if new:
        # A concurrent run may have added the same pair: the unique pair decides.
        DuplicateCandidate.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
        created = len(new)
    if changed:
        DuplicateCandidate.objects.bulk_update(changed, ["score", "matched_fields",
                                                         "match_type", "updated_at"],
                                               batch_size=500)
        updated = len(changed)
    return {"created": created, "updated": updated}


def duplicates_detect(*, tenant: Tenant, job: Job | None = None) -> dict[str, int]:
    """Find likely duplicates among `tenant`'s live contacts and record them as candidates.

    Call inside `tenant_scope(tenant)`. Idempotent: a pair is stored once; pending candidates
    get their score refreshed; pairs already marked not-duplicate, ignored or merged are never
    re-opened. With `job`, reports progress on it (and stops if it was cancelled).
    """
    from tend.core.services.jobs import job_progress

    contacts = _contact_rows(tenant)
    pairs = _pairs(_blocks(tenant, contacts))
    total = len(pairs)
    if job is not None:
        job_progress(tenant=tenant, job=job, processed=0, total=total,
                     counts={"pairs": total, "candidates": 0})
    # Emails and phones are compared on their keys, so "same" means the same key block.
    scored: dict[tuple[UUID, UUID], PairScore] = {}
    report_every = max(1, total // 50)
    for done, ((a, b), kinds) in enumerate(pairs.items(), start=1):
        result = score_pair(contacts[a], contacts[b], same_email="e" in kinds,
                            same_phone="p" in kinds)
        if result is not None:
            scored[(a, b)] = result
        if job is not None and (done % report_every == 0 or done == total):
            job_progress(tenant=tenant, job=job, processed=done,
                         counts={"candidates": len(scored)})
    with transaction.atomic():
        saved = _save_candidates(tenant, scored)
    return {"contacts": len(contacts), "pairs": total, "candidates": len(scored), **saved}


def run_detection_job(*, tenant: Tenant, job: Job) -> dict[str, Any]:
    """The `people.duplicates_detect` job kind's work."""
    return duplicates_detect(tenant=tenant, job=job)


def duplicate_detection_start(*, tenant: Tenant, actor: Actor) -> Job:
    """Queue a detection job for the organization. Needs `contacts.manage`."""
    from tend.core.services.jobs import job_create

    if not actor.has_perm("contacts.manage"):
        raise PermissionDenied()
    return job_create(tenant=tenant, actor=actor, kind=DETECT_JOB_KIND,
                      title=_("Find duplicate contacts"))


# --- the on-create check -----------------------------------------------------------------------


def duplicates_for_new_contact(contact: Contact, *, limit: int = 10) -> list[dict[str, Any]]:
    """Live contacts that are likely the same person as `contact` (just created or edited):
    another contact holding one of its email or phone identities (under any spelling with the
    same key), or a very similar name in the same city or company.

    Returns `[{contact_id, display_name, score, matched_fields}]`, best first. A few indexed
    queries; call inside the tenant scope.
    """
    tenant_id = contact.tenant_id
    own = list(IdentityAlias.objects.filter(
        tenant_id=tenant_id, contact=contact,
        type__in=(AliasType.EMAIL, AliasType.PHONE, AliasType.WHATSAPP),
    ).values_list("type", "value"))
    emails = {v for t, v in own if t == AliasType.EMAIL}
    phones = {v for t, v in own if t != AliasType.EMAIL}
    if contact.primary_email:
        emails.add(contact.primary_email.lower())
    if contact.primary_phone:
        phones.add(contact.primary_phone)

    email_match = Q()
    for email in emails:
        raw_local, _sep, raw_domain = email.lower().rpartition("@")
        key = email_key(email)
        for local, domain in {(raw_local.split("+", 1)[0], raw_domain),
                              tuple(key.split("@", 1)) if key else ("", "")}:
            if not local:
                continue
            email_match |= Q(value__iexact=f"{local}@{domain}")
            email_match |= Q(value__istartswith=f"{local}+", value__iendswith=f"@{domain}")
        email_match |= Q(value__iexact=email)
    hits: dict[UUID, set[str]] = defaultdict(set)
    alias_q = Q()
    if emails:
        alias_q |= Q(type=AliasType.EMAIL) & email_match
    if phones:
        alias_q |= Q(type__in=(AliasType.PHONE, AliasType.WHATSAPP), value__in=phones)
    if alias_q:
        for other_id, type_ in IdentityAlias.objects.filter(
            alias_q, tenant_id=tenant_id
        ).exclude(contact=contact).values_list("contact_id", "type"):
            hits[other_id].add("email" if type_ == AliasType.EMAIL else "phone")
        primary_q = Q()
        for email in emails:
            primary_q |= Q(primary_email__iexact=email)
        if phones:
            primary_q |= Q(primary_phone__in=phones)
        for other_id, p_email, p_phone in Contact.objects.filter(
            primary_q, tenant_id=tenant_id
        ).exclude(pk=contact.pk).values_list("id", "primary_email", "primary_phone"):
            if p_email and p_email.lower() in emails:
                hits[other_id].add("email")
            if p_phone and p_phone in phones:
                hits[other_id].add("phone")

    similar = Q()
    if contact.last_name and contact.first_name and (contact.city or contact.company_id):
        place = Q()
        if contact.city:
            place |= Q(city__iexact=contact.city)
        if contact.company_id:
            place |= Q(company_id=contact.company_id)
        similar = Q(last_name__iexact=contact.last_name,
                    first_name__istartswith=contact.first_name[:1]) & place

    filters = Q(pk__in=list(hits))
    if similar:
        filters |= similar
    rows = Contact.objects.filter(
        filters, tenant_id=tenant_id, status__in=LIVE_STATUSES, deleted_at__isnull=True
    ).exclude(pk=contact.pk).select_related("company")[: limit * 3]
    me = {"first_name": contact.first_name, "last_name": contact.last_name,
          "display_name": contact.display_name, "city": contact.city,
          "company_id": contact.company_id,
          "company_name": contact.company.name if contact.company_id and contact.company else ""}
    found: list[dict[str, Any]] = []
    for other in rows:
        shared = hits.get(other.pk, set())
        result = score_pair(me, {
            "first_name": other.first_name, "last_name": other.last_name,
            "display_name": other.display_name, "city": other.city,
            "company_id": other.company_id,
            "company_name": other.company.name if other.company else "",
        }, same_email="email" in shared, same_phone="phone" in shared)
        if result is None or (not shared and result.score < 85):
            continue
        found.append({"contact_id": other.pk, "display_name": str(other),
                      "score": result.score, "matched_fields": result.matched_fields})
    found.sort(key=lambda item: (-item["score"], str(item["contact_id"])))
    return found[:limit]


# --- recording and resolving -------------------------------------------------------------------


def duplicate_record(*, tenant: Tenant, a: Contact, b: Contact, match_type: str, score: int,
                     matched_fields: list[str]) -> DuplicateCandidate:
    """Record that `a` and `b` may be one person (e.g. identifiers pointing at both).

    Returns the existing candidate for the pair if there is one, untouched: a reviewed pair is
    never re-opened.
    """
    if a.pk == b.pk:
        raise ValidationFailed(fields={"contact_b": [_("A contact is not its own duplicate.")]})
    first, second = (a, b) if a.pk < b.pk else (b, a)
    candidate, _created = DuplicateCandidate.objects.get_or_create(
        tenant=tenant, contact_a=first, contact_b=second,
        defaults={"match_type": match_type, "score": max(0, min(100, score)),
                  "matched_fields": matched_fields},
    )
    return candidate


RESOLVABLE = (DuplicateResolution.NOT_DUPLICATE, DuplicateResolution.IGNORED,
              DuplicateResolution.PENDING)


def duplicate_resolve(*, tenant: Tenant, actor: Actor, candidate: DuplicateCandidate,
                      resolution: str) -> DuplicateCandidate:
    """Mark a candidate NOT_DUPLICATE or IGNORED (or back to PENDING). Needs `contacts.manage`.
    A merged candidate cannot change any more (Conflict)."""
    if not actor.has_perm("contacts.manage"):
        raise PermissionDenied()
    if resolution not in RESOLVABLE:
        raise ValidationFailed(fields={"resolution": [
            _("Choose NOT_DUPLICATE, IGNORED or PENDING.")]})
    if candidate.resolution == DuplicateResolution.MERGED:
        raise Conflict(_("These contacts were merged already."))
    with transaction.atomic():
        previous = candidate.resolution
        candidate.resolution = resolution
        pending = resolution == DuplicateResolution.PENDING
        candidate.resolved_by = None if pending else actor.acting_user
        candidate.resolved_at = None if pending else timezone.now()
        candidate.updated_by = actor.acting_user
        candidate.save(update_fields=["resolution", "resolved_by", "resolved_at", "updated_by",
                                      "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="duplicate.resolved",
                     entity_type="duplicate_candidate", entity_id=candidate.pk,
                     changes={"resolution": [previous, resolution]})
    return candidate
