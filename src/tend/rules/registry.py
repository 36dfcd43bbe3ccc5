"""The field registry of the rule language.

Modules contribute the fields a rule may test by registering a *provider*: a function that,
given an organization, yields `RuleField`s (contact columns, custom fields, tags, consent,
activity aggregates, segment membership, …). The rules app never imports those modules; each
field carries both back ends for its operators:

- `to_q(operator, value, ctx)` → a `Q` on `Contact` (the SQL back end, for sets);
- `to_python(facts, operator, value, ctx)` → bool for one contact (the Python back end).

Both receive a value already checked and normalized by the rules app (see `operators.py`), and
both must give the same answer for every contact (`docs/rules.md` states the null semantics).
Most fields are plain values read from a column or a JSON key; `scalar_field()` builds those
from an SQL expression and a Python getter, and the operator semantics come from the rules
app, so every module gets them identically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.functional import Promise

if TYPE_CHECKING:
    from tend.core.models import Tenant


class FieldType:
    """The value types a rule field may have; each has its own operators (`operators.py`)."""

    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    TAGS = "tags"
    EXISTS = "exists"
    CONSENT = "consent"
    ACTIVITY_COUNT = "activity_count"
    ACTIVITY_LAST = "activity_last"
    SEGMENT = "segment"

    ALL = (STRING, NUMBER, DATE, DATETIME, BOOLEAN, CHOICE, MULTI_CHOICE, TAGS, EXISTS,
           CONSENT, ACTIVITY_COUNT, ACTIVITY_LAST, SEGMENT)


@dataclass
class RuleContext:
    """What both back ends need besides the rule: the organization, one fixed `now` (so a
    rule is evaluated against one instant everywhere), and the organization's time zone for
    relative dates."""

    tenant: Tenant
    now: datetime
    zone: ZoneInfo
    # The database vendor the SQL runs on ("postgresql", "sqlite"): text folding follows it.
    vendor: str = "sqlite"

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()


class Facts:
    """What the Python back end knows about one contact, loaded lazily and at most once per
    evaluation: `facts.contact` is the row, `facts.get(key, loader)` memoizes anything a field
    needs (its tags, aliases, consents, activity times), so a rule with ten conditions on tags
    still loads the tags once."""

    def __init__(self, contact: Any, ctx: RuleContext) -> None:
        self.contact = contact
        self.ctx = ctx
        self._cache: dict[Any, Any] = {}

    def get(self, key: Any, loader: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = loader()
        return self._cache[key]


ToQ = Callable[[str, Any, RuleContext], Q]
ToPython = Callable[[Facts, str, Any, RuleContext], bool]
Depends = Callable[[str, Any], Iterable[str]]
ValueCheck = Callable[[str, Any, RuleContext], Any]


@dataclass(frozen=True)
class RuleField:
    """One thing a rule may test.

    `key` is what rules name (`"city"`, `"custom.handicap"`, `"tags"`); `group`/`group_label`
    place it in the field picker; `operators` defaults to every operator of its `type`;
    `choices` lists `(value, label)` for choice-like types. `depends` names the change kinds
    the field reads (see `rule_dependencies`); `check_value`, when given, further checks and
    normalizes a value after the type's own check (it raises `ValueError` with a message).
    """

    key: str
    label: str | Promise
    type: str
    group: str
    group_label: str | Promise
    to_q: ToQ
    to_python: ToPython
    depends: Depends
    operators: tuple[str, ...] = ()
    choices: tuple[tuple[str, str | Promise], ...] = ()
    check_value: ValueCheck | None = None

    def allowed_operators(self) -> tuple[str, ...]:
        from tend.rules.operators import OPERATORS_BY_TYPE

        return self.operators or OPERATORS_BY_TYPE[self.type]


Provider = Callable[["Tenant"], Iterable[RuleField]]
_providers: list[Provider] = []


def register_fields(provider: Provider) -> None:
    """Add a provider of rule fields (call from `AppConfig.ready()`; registering the same
    function twice has no effect). A provider may query the organization's configuration
    (custom field definitions, segments) but must not depend on any one contact."""
    if provider not in _providers:
        _providers.append(provider)


def fields_for(tenant: Tenant) -> dict[str, RuleField]:
    """Every field the organization's rules may use, by key, in registration order."""
    fields: dict[str, RuleField] = {}
    for provider in _providers:
        for rule_field in provider(tenant):
            fields.setdefault(rule_field.key, rule_field)
    return fields


def scalar_field(*, key: str, label: str | Promise, type: str, group: str,
                 group_label: str | Promise, expression: Any,
                 getter: Callable[[Facts], Any], depends: Iterable[str],
                 operators: tuple[str, ...] = (),
                 choices: tuple[tuple[str, str | Promise], ...] = (),
                 json: bool = False) -> RuleField:
    """A field whose value is one scalar: `expression` reads it in SQL (an expression on
    `Contact`, e.g. `F("city")` or a JSON key transform) and `getter` reads the same value from
    the facts. The rules app applies the operator semantics to both, identically.

    `json=True` marks a value read from a JSON document: booleans are compared as JSON."""
    from tend.rules import scalar

    kinds = tuple(depends)

    def to_q(operator: str, value: Any, ctx: RuleContext) -> Q:
        return scalar.scalar_q(expression, type, operator, value, ctx, json=json)

    def to_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
        return scalar.scalar_python(getter(facts), type, operator, value, ctx)

    return RuleField(key=key, label=label, type=type, group=group, group_label=group_label,
                     to_q=to_q, to_python=to_python, depends=lambda op, value: kinds,
                     operators=operators, choices=choices)
