"""The attention list: people who need a mentor's attention, with the clauses that fired.

The rule is the seed's, in the rule language, with the organization's thresholds:

    days since last contact (by mentor) > D
    OR practice regularity in [NONE, IRREGULAR]
    OR (next lesson eligible AND months since last lesson > M)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tend.community.models import MentorLink, Unit, UnitMembership
from tend.community.selectors.care_attention_page import AttentionPerson
from tend.community.services.care_attention import attention_settings
from tend.core.models import Tenant
from tend.core.zones import tenant_today
from tend.people.models import Contact
from tend.rules import rule_conditions_many, rule_population
from tend.rules.services import rule_context

CLAUSES = (
    ("contact", gettext_lazy("No mentor contact for more than %(days)d days")),
    ("practice", gettext_lazy("Practice is irregular or absent")),
    ("lesson", gettext_lazy("Next lesson due, none for more than %(months)d months")),
)
CLAUSE_KEYS = tuple(key for key, _label in CLAUSES)


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


def _in_unit(tenant: Tenant, unit: Unit, now: datetime) -> Exists:
    """The contact is a current member of a unit in `unit`'s subtree (a semi-join). The
    subtree's unit ids are read first (one small query): a literal list lets PostgreSQL
    use the memberships' unit index and a parallel hash for whole-list counts."""
    units = list(Unit.objects.filter(tenant=tenant, path__startswith=unit.path)
                 .values_list("pk", flat=True))
    return Exists(UnitMembership.objects.filter(
        Q(until__isnull=True) | Q(until__gt=tenant_today(tenant, now)), tenant=tenant,
        unit_id__in=units, contact=OuterRef("pk")))


@dataclass(slots=True)
class AttentionRow:
    contact: Contact | AttentionPerson
    reasons: list[str]
    clauses: list[str]


class Attention:
    """The organization's attention rule at one instant: the whole rule and each clause
    compiled from one read of the field registry (the rules are built here, so they are
    trusted), for a list and the reasons of a page of it."""

    def __init__(self, tenant: Tenant, now: datetime | None = None) -> None:
        self.tenant = tenant
        self.now = now or timezone.now()

    @cached_property
    def conditions(self) -> dict[str, Q]:
        # Each clause compiled once; the whole rule is their OR (as `attention_rule`).
        return rule_conditions_many(tenant=self.tenant, rules=attention_clauses(self.tenant),
                                    now=self.now, trusted=True)

    @cached_property
    def live(self) -> QuerySet[Contact]:
        return rule_population(self.tenant)

    @cached_property
    def all(self) -> QuerySet[Contact]:
        whole = Q()
        for key in CLAUSE_KEYS:
            whole |= self.conditions[key]
        return self.live.filter(whole)

    def people(self, *, unit: Unit | None = None, mentor: Contact | None = None,
               actor: Any = None) -> QuerySet[Contact]:
        """The people needing attention (ordered by name), optionally only the members of
        `unit`'s subtree and/or the current mentees of `mentor`; given `actor`, only the
        people the actor may see (unit-scoped staff). One query (for a count, or a whole
        list); a page is `page`."""
        from tend.people.visibility import contact_scope_q

        tenant, qs = self.tenant, self.all
        scope = contact_scope_q(tenant=tenant, actor=actor)
        if scope is not None:
            qs = qs.filter(scope)
        if unit is not None:
            qs = qs.filter(_in_unit(tenant, unit, self.now))
        if mentor is not None:
            qs = qs.filter(pk__in=MentorLink.objects.filter(
                tenant=tenant, mentor=mentor, active=True).values("mentee_id"))
        # Which clauses fired, in the select list of the same query (evaluated for the rows
        # returned only), so a page and its reasons are one round trip.
        # Only what a list shows (the name and what `str()` falls back to) is loaded.
        return (qs.only("id", "tenant_id", "display_name", "primary_email", "primary_phone")
                .annotate(**self._flags()).order_by("display_name", "id"))

    def queryset(self, *, unit_path: str | None = None, mentor_id: Any = None,
                 after: tuple[str, Any] | None = None, scope: Q | None = None
                 ) -> QuerySet[Contact]:
        """The page's query from values alone: the people needing attention in the subtree
        of the unit at `unit_path` (the subtree's units a subquery on their path, so no
        value is read first, and PostgreSQL estimates the subtree from the path's
        statistics), mentees of `mentor_id`, within `scope`, after the cursor `after` (name,
        id), by name, with the clause flags. `page` keeps its compiled statement."""
        tenant, qs = self.tenant, self.all
        if scope is not None:
            qs = qs.filter(scope)
        if unit_path is not None:
            # "Current" on the organization's day (as the rule fields' unit test), so the
            # statement stays the same all day long.
            today = rule_context(tenant=tenant, now=self.now).today
            units = Unit.objects.filter(tenant=tenant, path__startswith=unit_path)
            qs = qs.filter(Exists(UnitMembership.objects.filter(
                Q(until__isnull=True) | Q(until__gt=today),
                tenant=tenant, unit_id__in=units.values("pk"), contact=OuterRef("pk"))))
        if mentor_id is not None:
            qs = qs.filter(pk__in=MentorLink.objects.filter(
                tenant=tenant, mentor_id=mentor_id, active=True).values("mentee_id"))
        if after is not None:
            # As the API's keyset cursor: the leading bound on its own lets PostgreSQL start
            # the index scan at the cursor.
            name, pk = after
            qs = qs.filter(Q(display_name__gte=name) & (
                Q(display_name__gt=name) | Q(display_name=name, id__gt=pk)))
        return (qs.only("id", "tenant_id", "display_name", "primary_email", "primary_phone")
                .annotate(**self._flags()).order_by("display_name", "id"))

    def page(self, *, unit: Unit | None = None, mentor: Contact | None = None,
             actor: Any = None, after: tuple[str, Any] | None = None, limit: int = 100
             ) -> list[AttentionRow]:
        """The first `limit` people needing attention after the cursor `after` (the last
        row's name and id), with the clauses that fired; filters as `people`. One query
        when the page's statement is kept (`care_attention_page`)."""
        from tend.community.selectors.care_attention_page import PageArgs, attention_page_rows
        from tend.community.selectors.care_scope import remembered_scope
        from tend.people.visibility import contact_scope_q

        args = PageArgs(unit_path=unit.path if unit is not None else None,
                        mentor_id=mentor.pk if mentor is not None else None,
                        after=after, limit=limit)
        # The viewer's unit limit as last seen, checked by the page's own statement; when it
        # no longer holds (or is not known yet) it is read afresh.
        check = remembered_scope(tenant=self.tenant, actor=actor)
        found = (attention_page_rows(self, args, None, check) if check is not None
                 else None)
        if found is None:
            scope = contact_scope_q(tenant=self.tenant, actor=actor)
            found = attention_page_rows(self, args, scope) or []  # always read: no check
        labels = clause_labels(self.tenant)
        # One reading per combination of clauses (at most eight), shared by its rows.
        readings: dict[tuple[bool, ...], tuple[list[str], list[str]]] = {}
        rows = []
        for person, held in found:
            reading = readings.get(held)
            if reading is None:
                chosen = [key for key, on in zip(CLAUSE_KEYS, held, strict=True) if on]
                reading = readings[held] = ([labels[k] for k in chosen], chosen)
            rows.append(AttentionRow(person, list(reading[0]), list(reading[1])))
        return rows

    def _flags(self) -> dict[str, ExpressionWrapper]:
        return {f"fired_{key}": ExpressionWrapper(self.conditions[key],
                                                  output_field=BooleanField())
                for key in CLAUSE_KEYS}

    def reasons(self, contacts: list[Contact]) -> list[AttentionRow]:
        """Which clauses fired for each of `contacts`: read from the flags `people` selected
        with them, else one query (a flag per clause in the select list, evaluated for these
        rows only; a contact that is not live has none)."""
        labels = clause_labels(self.tenant)
        names = [f"fired_{key}" for key in CLAUSE_KEYS]
        fired: dict[Any, tuple[bool, ...]] = {
            c.pk: tuple(bool(getattr(c, name)) for name in names) for c in contacts
            if all(hasattr(c, name) for name in names)}
        missing = [c.pk for c in contacts if c.pk not in fired]
        if missing:
            flags = self._flags()
            for pk, *values in (self.live.filter(pk__in=missing)
                                .annotate(**flags).values_list("pk", *flags).order_by()):
                fired[pk] = tuple(bool(v) for v in values)
        rows = []
        for contact in contacts:
            held = fired.get(contact.pk, (False,) * len(CLAUSE_KEYS))
            chosen = [key for key, on in zip(CLAUSE_KEYS, held, strict=True) if on]
            rows.append(AttentionRow(contact, [labels[k] for k in chosen], chosen))
        return rows


def attention_list(*, tenant: Tenant, unit: Unit | None = None, mentor: Contact | None = None,
                   now: datetime | None = None, actor: Any = None) -> QuerySet[Contact]:
    """`Attention(tenant, now).people(…)`: one query."""
    return Attention(tenant, now).people(unit=unit, mentor=mentor, actor=actor)


def attention_reasons(*, tenant: Tenant, contacts: list[Contact],
                      now: datetime | None = None) -> list[AttentionRow]:
    """`Attention(tenant, now).reasons(contacts)`: one query."""
    return Attention(tenant, now).reasons(contacts)
