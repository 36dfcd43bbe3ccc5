"""The attention list: people who need a mentor's attention, with the clauses that fired.

The rule is the seed's, in the rule language, with the organization's thresholds:

    days since last contact (by mentor) > D
    OR practice regularity in [NONE, IRREGULAR]
    OR (next lesson eligible AND months since last lesson > M)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tend.community.models import MentorLink, Unit, UnitMembership
from tend.community.services.care_attention import attention_settings
from tend.core.models import Tenant
from tend.people.models import Contact
from tend.rules import rule_contacts

CLAUSES = (
    ("contact", gettext_lazy("No mentor contact for more than %(days)d days")),
    ("practice", gettext_lazy("Practice is irregular or absent")),
    ("lesson", gettext_lazy("Next lesson due, none for more than %(months)d months")),
)


def attention_clauses(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Each clause of the organization's attention rule, as a rule of its own."""
    limits = attention_settings(tenant)
    return {
        "contact": {"combinator": "and", "rules": [
            {"field": "care.daysSinceContact", "operator": "greaterThan",
             "value": limits["days_since_contact"]}]},
        "practice": {"combinator": "and", "rules": [
            {"field": "care.regularity", "operator": "in", "value": ["NONE", "IRREGULAR"]}]},
        "lesson": {"combinator": "and", "rules": [
            {"field": "care.nextLessonEligible", "operator": "equals", "value": True},
            {"field": "care.monthsSinceLesson", "operator": "greaterThan",
             "value": limits["months_since_lesson"]}]},
    }


def attention_rule(tenant: Tenant) -> dict[str, Any]:
    """The whole rule: any clause."""
    return {"combinator": "or", "rules": list(attention_clauses(tenant).values())}


def clause_labels(tenant: Tenant) -> dict[str, str]:
    limits = attention_settings(tenant)
    values = {"days": limits["days_since_contact"], "months": limits["months_since_lesson"]}
    return {key: str(label) % values for key, label in CLAUSES}


def _unit_contacts(tenant: Tenant, unit: Unit, now: datetime) -> QuerySet[Any]:
    from django.db.models import Q

    return UnitMembership.objects.filter(
        Q(until__isnull=True) | Q(until__gt=timezone.localdate(now)), tenant=tenant,
        unit__path__startswith=unit.path).values("contact_id")


def attention_list(*, tenant: Tenant, unit: Unit | None = None, mentor: Contact | None = None,
                   now: datetime | None = None, actor: Any = None) -> QuerySet[Contact]:
    """The people needing attention (ordered by name), optionally only the members of
    `unit`'s subtree and/or the current mentees of `mentor`; given `actor`, only the people
    the actor may see (unit-scoped staff). One query."""
    from tend.people.visibility import contact_scope_q

    now = now or timezone.now()
    qs = rule_contacts(tenant=tenant, rule=attention_rule(tenant), now=now)
    scope = contact_scope_q(tenant=tenant, actor=actor)
    if scope is not None:
        qs = qs.filter(scope)
    if unit is not None:
        qs = qs.filter(pk__in=_unit_contacts(tenant, unit, now))
    if mentor is not None:
        qs = qs.filter(pk__in=MentorLink.objects.filter(
            tenant=tenant, mentor=mentor, active=True).values("mentee_id"))
    return qs.order_by("display_name", "id")


@dataclass(frozen=True)
class AttentionRow:
    contact: Contact
    reasons: list[str]
    clauses: list[str]


def attention_reasons(*, tenant: Tenant, contacts: list[Contact],
                      now: datetime | None = None) -> list[AttentionRow]:
    """Which clauses fired for each of `contacts` (one query per clause)."""
    now = now or timezone.now()
    ids = [c.pk for c in contacts]
    labels = clause_labels(tenant)
    fired: dict[str, set[Any]] = {}
    for key, rule in attention_clauses(tenant).items():
        fired[key] = set(rule_contacts(tenant=tenant, rule=rule, now=now)
                         .filter(pk__in=ids).values_list("pk", flat=True))
    rows = []
    for contact in contacts:
        keys = [key for key, _label in CLAUSES if contact.pk in fired[key]]
        rows.append(AttentionRow(contact, [labels[k] for k in keys], keys))
    return rows
