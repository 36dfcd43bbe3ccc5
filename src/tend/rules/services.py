"""The rule language's public functions: validate, normalize, select (SQL), match (Python),
and what a rule depends on.

Rules are JSON (see `validation.py`); fields come from the registry (`registry.py`), which
modules fill. These functions only read; they take the organization explicitly and run inside
its tenant scope.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.rules import operators as op
from tend.rules.compile import compile_group
from tend.rules.evaluate import evaluate_group
from tend.rules.population import population
from tend.rules.registry import Facts, RuleContext, RuleField, fields_for
from tend.rules.validation import RuleProblem, check_rule

SEGMENT_FIELD = "segment"
K = TypeVar("K", bound=Hashable)


def rule_context(*, tenant: Tenant, now: datetime | None = None) -> RuleContext:
    """The context both back ends evaluate in: one `now`, the organization's time zone."""
    try:
        zone = ZoneInfo(tenant.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return RuleContext(tenant=tenant, now=now or timezone.now(), zone=zone,
                       vendor=connection.vendor)


def _checked(tenant: Tenant, rule: Any, now: datetime | None = None
             ) -> tuple[dict[str, Any], list[RuleProblem], dict[str, RuleField], RuleContext]:
    ctx = rule_context(tenant=tenant, now=now)
    fields = fields_for(tenant)
    normalized, problems = check_rule(rule, fields, ctx)
    return normalized, problems, fields, ctx


def _clean_with(rule: Any, fields: dict[str, RuleField], ctx: RuleContext, *,
                trusted: bool) -> dict[str, Any]:
    normalized, problems = check_rule(rule, fields, ctx, check_values=not trusted)
    if problems:
        _raise(problems)
    return normalized


def rule_validate(*, tenant: Tenant, rule: Any) -> list[RuleProblem]:
    """Every problem of `rule` with its path (unknown field, operator not valid for the
    field's type, bad value, nested too deep); an empty list when the rule is valid."""
    return _checked(tenant, rule)[1]


def _raise(problems: list[RuleProblem]) -> None:
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(problem.path, []).append(problem.message)
    raise ValidationFailed(_("The rule is not valid."), fields=fields)


def rule_clean(*, tenant: Tenant, rule: Any) -> dict[str, Any]:
    """The normalized rule (canonical operator names, typed values, defaults filled in), or
    `ValidationFailed` with `fields={path: [messages]}`."""
    return _valid(tenant, rule, None)[0]


def _valid(tenant: Tenant, rule: Any, now: datetime | None
           ) -> tuple[dict[str, Any], dict[str, RuleField], RuleContext]:
    ctx = rule_context(tenant=tenant, now=now)
    fields = fields_for(tenant)
    return _clean_with(rule, fields, ctx, trusted=False), fields, ctx


def rule_contacts(*, tenant: Tenant, rule: Any, now: datetime | None = None
                  ) -> QuerySet[Any]:
    """The live contacts (not merged, deleted or erased) matching `rule`: one query, usable
    as a subquery (`pk__in=rule_contacts(...).values("pk")`). Raises `ValidationFailed` for an
    invalid rule. `now` fixes the instant relative dates count from (default: now)."""
    normalized, fields, ctx = _valid(tenant, rule, now)
    return rule_population(tenant).filter(compile_group(normalized, fields, ctx))


def rule_contacts_many(*, tenant: Tenant, rules: Mapping[K, Any], now: datetime | None = None,
                       trusted: bool = False) -> dict[K, QuerySet[Any]]:
    """`rule_contacts` for many rules at once: one read of the field registry and one `now`
    for all of them. `trusted=True` is for rules that `rule_clean` returned earlier (stored
    rules): their structure, fields and operators are still checked, but not the values that
    checks look up in the database (tags, segments), which are already the ids those checks
    produced. Raises `ValidationFailed` for the first invalid rule."""
    live = rule_population(tenant)
    return {key: live.filter(condition) for key, condition in rule_conditions_many(
        tenant=tenant, rules=rules, now=now, trusted=trusted).items()}


def rule_conditions_many(*, tenant: Tenant, rules: Mapping[K, Any],
                         now: datetime | None = None, trusted: bool = False) -> dict[K, Q]:
    """Each rule's condition on the live contacts, as a `Q` on their model, checked as in
    `rule_contacts_many` (one registry read, one `now`). A `Q` holds for a contact only
    together with the live-contact filter: `rule_population(tenant).filter(q)` is
    `rule_contacts`. A `Q` also works as a flag in a select list
    (`ExpressionWrapper(q, output_field=BooleanField())`), where building it costs less than
    a subquery of the whole set."""
    ctx = rule_context(tenant=tenant, now=now)
    fields = fields_for(tenant)
    return {key: compile_group(_clean_with(rule, fields, ctx, trusted=trusted), fields, ctx)
            for key, rule in rules.items()}


def rule_population(tenant: Tenant) -> QuerySet[Any]:
    """The live contacts rules select from (not merged, deleted or erased)."""
    return population().queryset(tenant)


class ContactMatcher:
    """One contact against many rules with the Python back end: one field registry read, one
    `now`, and one `Facts`, so the contact's tags, aliases, consents and activity times load
    at most once for all the rules. Build it with `rule_matcher`.

    `facts` is shared by every evaluation; a field module whose facts change between two
    evaluations (segment membership, as one rule's result feeds another) updates what it
    memoized there."""

    def __init__(self, *, tenant: Tenant, contact: Any, now: datetime | None,
                 trusted: bool) -> None:
        self.ctx = rule_context(tenant=tenant, now=now)
        self.fields = fields_for(tenant)
        self.trusted = trusted
        if contact is not None and not hasattr(contact, "tenant_id"):
            model = population().queryset(tenant).model
            contact = model._default_manager.filter(tenant=tenant, pk=contact).first()
        self.contact = contact
        self.live = (contact is not None and contact.tenant_id == tenant.pk
                     and population().is_member(contact))
        self.facts = Facts(contact, self.ctx) if contact is not None else None

    def matches(self, rule: Any) -> bool:
        """Whether the contact matches `rule` (False for a contact that is not live).
        Raises `ValidationFailed` for an invalid rule."""
        normalized = _clean_with(rule, self.fields, self.ctx, trusted=self.trusted)
        if not self.live or self.facts is None:
            return False
        return evaluate_group(normalized, self.fields, self.facts)


def rule_matcher(*, tenant: Tenant, contact: Any, now: datetime | None = None,
                 trusted: bool = False) -> ContactMatcher:
    """A `ContactMatcher` for one contact (a `Contact` or its id; a missing one matches
    nothing). `trusted` as in `rule_contacts_many`."""
    return ContactMatcher(tenant=tenant, contact=contact, now=now, trusted=trusted)


def rule_matches_many(*, tenant: Tenant, rules: Mapping[K, Any], contact: Any,
                      now: datetime | None = None, trusted: bool = False) -> dict[K, bool]:
    """`rule_matches` for many rules and one contact: the contact's facts load once for all
    of them. Agrees with `rule_contacts_many` for every contact."""
    matcher = rule_matcher(tenant=tenant, contact=contact, now=now, trusted=trusted)
    return {key: matcher.matches(rule) for key, rule in rules.items()}


def rule_matches(*, tenant: Tenant, rule: Any, contact: Any,
                 now: datetime | None = None) -> bool:
    """Whether one contact matches `rule`, evaluated in Python (journey conditions,
    triggers). Agrees with `rule_contacts` for every contact: a contact outside the live set
    never matches. Loads the contact's facts with a few queries, each at most once."""
    normalized, fields, ctx = _valid(tenant, rule, now)
    if contact.tenant_id != tenant.pk or not population().is_member(contact):
        return False
    return evaluate_group(normalized, fields, Facts(contact, ctx))


def _leaves(group: dict[str, Any]) -> Iterator[dict[str, Any]]:
    nodes = group.get("rules")
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and "rules" in node:
            yield from _leaves(node)
        elif isinstance(node, dict):
            yield node


def rule_dependencies(*, tenant: Tenant, rule: Any) -> set[str]:
    """The kinds of change that can alter the rule's members: `contact:<field>`,
    `custom:<key>`, `tag`, `alias`, `consent`, `activity:<TYPE>` (or `activity:*`),
    `segment:<id>`, `company`, and `time` when the rule counts from now."""
    normalized, fields, _ctx = _valid(tenant, rule, None)
    kinds: set[str] = set()
    for leaf in _leaves(normalized):
        field = fields[leaf["field"]]
        kinds.update(field.depends(leaf["operator"], leaf.get("value")))
        if leaf["operator"] in op.RELATIVE:
            kinds.add("time")
    return kinds


def rule_segment_refs(rule: Any) -> set[str]:
    """The ids of the segments `rule` names (membership conditions), read without checking
    the rule, so it works on stored rules of any age."""
    refs: set[str] = set()
    if not isinstance(rule, dict):
        return refs
    for leaf in _leaves(rule):
        if leaf.get("field") != SEGMENT_FIELD:
            continue
        value = leaf.get("value")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                refs.add(item)
    return refs
