"""What community's care part offers the rule language: practice regularity, days since the
last mentor contact, lessons received, months since the last lesson, next-lesson eligibility,
unit (in a subtree), mentor, traits and initiation kinds.

Per-person values come from `CareSummary` (one row per person, kept by the care services);
sets (units, traits, initiations) are `EXISTS` subqueries on their tables. Elapsed-time fields
("days since", "months since") compare the stored instant with one cut-off per tested number,
in both back ends: "at least N days since" is "before midnight, N-1 days ago" in the
organization's time zone, so SQL and Python use the very same bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.community.models import (
    CareSummary,
    Initiation,
    MentorLink,
    Regularity,
    Unit,
    UnitMembership,
    UserTrait,
)
from tend.core.models import Tenant
from tend.rules import operators as op
from tend.rules.registry import (
    Facts,
    FieldType,
    LazyChoices,
    RuleContext,
    RuleField,
    register_fields,
    scalar_field,
)
from tend.rules.scalar import add_months, day_start, exists_q

GROUP = ("community", gettext_lazy("Community"))
DEFAULT_TRAITS = ("mentor", "acarya", "facilitator")
DEFAULT_INITIATIONS = ("INITIATION", "NAMA_MANTRA")
ELAPSED_OPERATORS = (op.EQ, op.LT, op.LTE, op.GT, op.GTE, op.BETWEEN, op.EMPTY, op.NOT_EMPTY)
SET_OPERATORS = (op.HAS_ANY, op.HAS_ALL, op.HAS_NONE, op.EMPTY, op.NOT_EMPTY)


def _summary(facts: Facts) -> CareSummary | None:
    return facts.get("care.summary", lambda: CareSummary.objects.filter(
        tenant=facts.ctx.tenant, contact_id=facts.contact.pk).first())  # type: ignore[no-any-return]


def _summary_value(name: str, default: Any = None) -> Callable[[Facts], Any]:
    def getter(facts: Facts) -> Any:
        summary = _summary(facts)
        return getattr(summary, name) if summary is not None else default

    return getter


# --- elapsed whole days / months since an instant -------------------------------------------------


def _whole(operator: str, value: Any, ctx: RuleContext) -> Any:
    def one(item: Any) -> int:
        if not isinstance(item, int) or not 0 <= item <= op.MAX_AMOUNT:
            raise op.BadValue(_("Enter a whole number from 0 to %(n)d.") % {"n": op.MAX_AMOUNT})
        return item

    if operator in (op.EMPTY, op.NOT_EMPTY):
        return value
    if operator == op.BETWEEN:
        return [one(value[0]), one(value[1])]
    return one(value)


def _bound(unit: str, amount: int, ctx: RuleContext) -> datetime:
    """The instant before which at least `amount` whole units have passed."""
    day = add_months(ctx.today, -amount) if unit == "months" else ctx.today - timedelta(
        days=amount)
    return day_start(day + timedelta(days=1), ctx)


def _atleast_ranges(operator: str, value: Any) -> list[tuple[int | None, int | None]]:
    """The comparison as "at least low and not at least high" pairs (None: no bound)."""
    if operator == op.BETWEEN:
        return [(value[0], value[1] + 1)]
    return [{op.EQ: (value, value + 1), op.GTE: (value, None), op.GT: (value + 1, None),
             op.LT: (None, value), op.LTE: (None, value + 1)}[operator]]


def _elapsed_field(key: str, label: Any, unit: str, column: str) -> RuleField:
    lookup = f"care_summary__{column}"

    def to_q(operator: str, value: Any, ctx: RuleContext) -> Q:
        present = Q(**{f"{lookup}__isnull": False})
        if operator in (op.EMPTY, op.NOT_EMPTY):
            return present if operator == op.NOT_EMPTY else ~present
        q = present
        for low, high in _atleast_ranges(operator, value):
            if low is not None:
                q &= Q(**{f"{lookup}__lt": _bound(unit, low, ctx)})
            if high is not None:
                q &= Q(**{f"{lookup}__gte": _bound(unit, high, ctx)})
        return q

    def to_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
        at = _summary_value(column)(facts)
        if operator in (op.EMPTY, op.NOT_EMPTY):
            return (at is not None) == (operator == op.NOT_EMPTY)
        if at is None:
            return False
        for low, high in _atleast_ranges(operator, value):
            if low is not None and not at < _bound(unit, low, ctx):
                return False
            if high is not None and not at >= _bound(unit, high, ctx):
                return False
        return True

    return RuleField(key=key, label=label, type=FieldType.NUMBER, group=GROUP[0],
                     group_label=GROUP[1], to_q=to_q, to_python=to_python,
                     depends=lambda o, v: ["care", "time"], operators=ELAPSED_OPERATORS,
                     check_value=_whole)


# --- next lesson eligible -------------------------------------------------------------------------


def _eligible_q(operator: str, value: Any, ctx: RuleContext) -> Q:
    q = Q(care_summary__next_lesson_at__isnull=False, care_summary__next_lesson_at__lte=ctx.now)
    return q if (operator == op.EQ) == bool(value) else ~q


def _eligible_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
    at = _summary_value("next_lesson_at")(facts)
    held = at is not None and at <= ctx.now
    return held if (operator == op.EQ) == bool(value) else not held


# --- unit, mentor, traits, initiations ------------------------------------------------------------


def _current_memberships(ctx: RuleContext) -> Q:
    return Q(until__isnull=True) | Q(until__gt=ctx.today)


def _unit_paths(ctx: RuleContext, ids: list[str]) -> list[str]:
    return list(Unit.objects.filter(tenant=ctx.tenant, pk__in=ids).values_list("path",
                                                                                flat=True))


def _unit_q(operator: str, value: Any, ctx: RuleContext) -> Q:
    links = UnitMembership.objects.filter(_current_memberships(ctx), tenant=ctx.tenant,
                                          contact=OuterRef("pk"))
    if operator in (op.EMPTY, op.NOT_EMPTY):
        q = exists_q(links)
        return q if operator == op.NOT_EMPTY else ~q
    ids = [value] if operator in (op.EQ, op.NE) else list(value)
    within = Q(pk__in=[])
    for path in _unit_paths(ctx, ids):
        within |= Q(unit__path__startswith=path)
    q = exists_q(links.filter(within))
    return ~q if operator in (op.NE, op.NOT_IN) else q


def _unit_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
    held = facts.get("care.units", lambda: list(UnitMembership.objects.filter(
        _current_memberships(ctx), tenant=ctx.tenant, contact_id=facts.contact.pk,
    ).values_list("unit__path", flat=True)))
    if operator in (op.EMPTY, op.NOT_EMPTY):
        return bool(held) == (operator == op.NOT_EMPTY)
    ids = [value] if operator in (op.EQ, op.NE) else list(value)
    paths = _unit_paths(ctx, ids)
    inside = any(mine.startswith(path) for mine in held for path in paths)
    return not inside if operator in (op.NE, op.NOT_IN) else inside


def _mentor_q(operator: str, value: Any, ctx: RuleContext) -> Q:
    q = exists_q(MentorLink.objects.filter(tenant=ctx.tenant, mentee=OuterRef("pk"),
                                           active=True))
    return q if operator == op.NOT_EMPTY else ~q


def _mentor_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
    has = MentorLink.objects.filter(tenant=ctx.tenant, mentee_id=facts.contact.pk,
                                    active=True).exists()
    return has == (operator == op.NOT_EMPTY)


def _set_field(key: str, label: Any, rows: Callable[[RuleContext], Any], column: str,
               choices: tuple[tuple[str, Any], ...]) -> RuleField:
    def to_q(operator: str, value: Any, ctx: RuleContext) -> Q:
        links = rows(ctx).filter(contact=OuterRef("pk"))
        if operator in (op.EMPTY, op.NOT_EMPTY):
            q = exists_q(links)
            return q if operator == op.NOT_EMPTY else ~q
        if operator == op.HAS_ALL:
            q = Q()
            for item in value:
                q &= exists_q(links.filter(**{column: item}))
            return q
        q = exists_q(links.filter(**{f"{column}__in": list(value)}))
        return ~q if operator == op.HAS_NONE else q

    def to_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
        held = facts.get(("care.set", key), lambda: set(rows(ctx).filter(
            contact_id=facts.contact.pk).values_list(column, flat=True)))
        if operator in (op.EMPTY, op.NOT_EMPTY):
            return bool(held) == (operator == op.NOT_EMPTY)
        if operator == op.HAS_ALL:
            return set(value) <= held
        anyof = bool(held & set(value))
        return not anyof if operator == op.HAS_NONE else anyof

    return RuleField(key=key, label=label, type=FieldType.MULTI_CHOICE, group=GROUP[0],
                     group_label=GROUP[1], to_q=to_q, to_python=to_python,
                     depends=lambda o, v: ["care"], operators=SET_OPERATORS, choices=choices)


def _traits(ctx: RuleContext) -> Any:
    return UserTrait.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=ctx.now),
                                    tenant=ctx.tenant)


def _initiations(ctx: RuleContext) -> Any:
    return Initiation.objects.filter(tenant=ctx.tenant)


def care_fields(tenant: Tenant) -> Iterable[RuleField]:
    yield scalar_field(key="care.regularity", label=gettext_lazy("Practice regularity"),
                       type=FieldType.CHOICE, group=GROUP[0], group_label=GROUP[1],
                       expression=F("care_summary__regularity"),
                       getter=_summary_value("regularity"), depends=["care"],
                       choices=tuple(Regularity.choices))
    yield _elapsed_field("care.daysSinceContact",
                         gettext_lazy("Days since last contact (by mentor)"), "days",
                         "mentor_contact_at")
    yield scalar_field(key="care.lessonsReceived", label=gettext_lazy("Lessons received"),
                       type=FieldType.NUMBER, group=GROUP[0], group_label=GROUP[1],
                       expression=Coalesce(F("care_summary__lessons_received"), 0),
                       getter=_summary_value("lessons_received", 0), depends=["care"],
                       operators=(op.EQ, op.NE, op.LT, op.LTE, op.GT, op.GTE, op.BETWEEN))
    yield _elapsed_field("care.monthsSinceLesson", gettext_lazy("Months since last lesson"),
                         "months", "last_lesson_at")
    yield RuleField(key="care.nextLessonEligible", label=gettext_lazy("Next lesson eligible"),
                    type=FieldType.BOOLEAN, group=GROUP[0], group_label=GROUP[1],
                    to_q=_eligible_q, to_python=_eligible_python,
                    depends=lambda o, v: ["care", "time"], operators=(op.EQ, op.NE))
    units = LazyChoices(lambda: [(str(pk), name) for pk, name in Unit.objects.filter(
        tenant=tenant).order_by("path").values_list("pk", "name")])
    yield RuleField(key="care.unit", label=gettext_lazy("Unit (or a unit inside it)"),
                    type=FieldType.CHOICE, group=GROUP[0], group_label=GROUP[1],
                    to_q=_unit_q, to_python=_unit_python, depends=lambda o, v: ["care"],
                    choices=units)  # type: ignore[arg-type]
    yield RuleField(key="care.hasMentor", label=gettext_lazy("Mentor"), type=FieldType.EXISTS,
                    group=GROUP[0], group_label=GROUP[1], to_q=_mentor_q,
                    to_python=_mentor_python, depends=lambda o, v: ["care"])
    def traits() -> list[tuple[str, Any]]:
        held = UserTrait.objects.filter(tenant=tenant).values_list("trait", flat=True)
        return [(t, t) for t in sorted(set(DEFAULT_TRAITS) | set(held.distinct()))]

    def kinds() -> list[tuple[str, Any]]:
        held = Initiation.objects.filter(tenant=tenant).values_list("kind", flat=True)
        return [(k, k.replace("_", " ").title())
                for k in sorted(set(DEFAULT_INITIATIONS) | set(held.distinct()))]

    yield _set_field("care.traits", gettext_lazy("Traits"), _traits, "trait",
                     LazyChoices(traits))  # type: ignore[arg-type]
    yield _set_field("care.initiation", gettext_lazy("Initiation kind"), _initiations, "kind",
                     LazyChoices(kinds))  # type: ignore[arg-type]


def register() -> None:
    register_fields(care_fields)
