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

import itertools
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db.models import Model, Q
from django.db.models.signals import post_delete, post_save
from django.utils.functional import Promise
from django.utils.translation import get_language

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

# The built registry of each organization and language, with the configuration token it was
# built at (see `fields_version`): `fields_for` rebuilds it only when the token changed.
_built: OrderedDict[tuple[str, str], tuple[str, dict[str, RuleField]]] = OrderedDict()
_BUILT_MAX = 256
_lock = threading.Lock()
# Each `fields_for` call starts a new generation; `LazyChoices` read the database once per
# generation, so choices (units, pods, segments…) are as fresh as the registry read.
_generations = itertools.count(1)
_generation: ContextVar[int] = ContextVar("tend_rules_generation", default=0)


def register_fields(provider: Provider, *, changes_with: Iterable[type[Model]] = ()) -> None:
    """Add a provider of rule fields (call from `AppConfig.ready()`; registering the same
    function twice has no effect). A provider must not depend on any one contact.

    The built registry is kept per organization and language, so a provider runs again only
    when the organization's rule configuration changed: a provider that reads the
    organization's configuration (custom field definitions) names the models it reads in
    `changes_with`, and saving or deleting one of their rows (through the ORM, so the
    signals fire) marks the configuration changed for every process. Anything else a field
    lists from the database (segments, units) belongs in `LazyChoices`, read on use."""
    if provider not in _providers:
        _providers.append(provider)
    for model in changes_with:
        post_save.connect(_configuration_saved, sender=model,
                          dispatch_uid=f"tend.rules.fields:{model._meta.label}:save")
        post_delete.connect(_configuration_deleted, sender=model,
                            dispatch_uid=f"tend.rules.fields:{model._meta.label}:delete")


def fields_for(tenant: Tenant) -> dict[str, RuleField]:
    """Every field the organization's rules may use, by key, in registration order.

    Costs one small indexed query (the configuration token) when the registry is already
    built in this process for this organization and language; callers must not change the
    returned fields."""
    _generation.set(next(_generations))
    key = (str(tenant.pk), get_language() or "")
    token = fields_version(tenant)
    held = _built.get(key)
    if held is not None and held[0] == token:
        return held[1]
    fields: dict[str, RuleField] = {}
    for provider in _providers:
        for rule_field in provider(tenant):
            fields.setdefault(rule_field.key, rule_field)
    with _lock:
        _built[key] = (token, fields)
        _built.move_to_end(key)
        while len(_built) > _BUILT_MAX:
            _built.popitem(last=False)
    return fields


def fields_version(tenant: Tenant) -> str:
    """The organization's rule-configuration token: a new random value whenever a model named
    in `changes_with` is saved or deleted (a value is never reused, so a change rolled back
    cannot make an older registry look current). The row is made with the organization
    (`fields_version_create`); reading never writes, and an organization without one reads
    "" until its first change."""
    from tend.rules.models import FieldsVersion

    found = list(FieldsVersion.objects.filter(tenant_id=tenant.pk)
                 .values_list("token", flat=True)[:1])
    return str(found[0]) if found else ""


def fields_version_create(sender: Any = None, *, tenant: Tenant, **kwargs: Any) -> None:
    """Give a new organization its token row (a `tenant_created` receiver; an existing row
    is kept)."""
    from tend.rules.models import FieldsVersion

    FieldsVersion.objects.bulk_create([FieldsVersion(tenant_id=tenant.pk,
                                                     token=uuid.uuid4().hex)],
                                      ignore_conflicts=True)


def bump_fields_version(tenant_id: Any) -> str:
    """Mark the organization's rule configuration changed (every process rebuilds its
    registry at the next `fields_for`); the new token."""
    from tend.rules.models import FieldsVersion

    token = uuid.uuid4().hex
    FieldsVersion.objects.bulk_create(
        [FieldsVersion(tenant_id=tenant_id, token=token)],
        update_conflicts=True, unique_fields=["tenant"], update_fields=["token"])
    return token


def _configuration_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    tenant_id = getattr(instance, "tenant_id", None)
    if tenant_id is not None:
        bump_fields_version(tenant_id)


def _configuration_deleted(sender: Any, instance: Any, origin: Any = None,
                           **kwargs: Any) -> None:
    from tend.core.models import Tenant

    # Deleting the organization itself deletes its configuration too: nothing to mark (and
    # writing a row for it would break the deletion).
    if isinstance(origin, Tenant) or getattr(origin, "model", None) is Tenant:
        return
    tenant_id = getattr(instance, "tenant_id", None)
    if tenant_id is not None:
        bump_fields_version(tenant_id)


class LazyChoices(Sequence[tuple[str, Any]]):
    """Choices read from the database on use, at most once per `fields_for` call: building
    the registry costs no query, and a kept registry still lists today's segments or units
    (a value created in another process is a valid choice at once)."""

    def __init__(self, load: Callable[[], list[tuple[str, Any]]]) -> None:
        self._load = load
        self._items: tuple[int, list[tuple[str, Any]]] | None = None

    def _all(self) -> list[tuple[str, Any]]:
        generation = _generation.get()
        held = self._items
        if held is None or held[0] != generation or generation == 0:
            held = (generation, self._load())
            self._items = held
        return held[1]

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Any:
        return iter(self._all())


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
