"""Checking a rule: every problem with its path, and the normalized rule.

A rule is a group, `{"combinator": "and"|"or", "not": false, "rules": [rule | group, …]}`,
where a leaf is `{"field": …, "operator": …, "value": …}`. Paths name where a problem is,
as `rules[1].rules[0].value`; a problem with the whole rule has the path `rule`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from tend.rules import operators as op
from tend.rules.registry import RuleContext, RuleField

MAX_DEPTH = 5  # groups inside groups, the outer group included
MAX_RULES = 200  # leaves in the whole rule
COMBINATORS = ("and", "or")


@dataclass(frozen=True)
class RuleProblem:
    """One problem of a rule: `path` (e.g. `rules[1].rules[0].value`) and a message in the
    reader's language."""

    path: str
    message: str


class _Walk:
    def __init__(self, fields: dict[str, RuleField], ctx: RuleContext, *,
                 check_values: bool = True) -> None:
        self.fields = fields
        self.ctx = ctx
        self.check_values = check_values
        self.problems: list[RuleProblem] = []
        self.leaves = 0

    def problem(self, path: str, message: str) -> None:
        self.problems.append(RuleProblem(path=path or "rule", message=message))

    def group(self, node: Any, path: str, depth: int) -> dict[str, Any]:
        prefix = f"{path}." if path else ""
        if not isinstance(node, dict):
            self.problem(path, _("Expected a group with a combinator and rules."))
            return {"combinator": "and", "not": False, "rules": []}
        if depth > MAX_DEPTH:
            self.problem(path, _("Groups may be nested at most %(n)d deep.") % {"n": MAX_DEPTH})
            return {"combinator": "and", "not": False, "rules": []}
        unknown = sorted(set(node) - {"combinator", "not", "rules", "id"})
        for key in unknown:
            self.problem(f"{prefix}{key}", _("Unknown key."))
        combinator = node.get("combinator", "and")
        if isinstance(combinator, str):
            combinator = combinator.lower()
        if combinator not in COMBINATORS:
            self.problem(f"{prefix}combinator", _("Choose “and” or “or”."))
            combinator = "and"
        negate = node.get("not", False)
        if not isinstance(negate, bool):
            self.problem(f"{prefix}not", _("Choose true or false."))
            negate = False
        children = node.get("rules", [])
        if not isinstance(children, list):
            self.problem(f"{prefix}rules", _("Expected a list of rules."))
            children = []
        cleaned = []
        for index, child in enumerate(children):
            child_path = f"{prefix}rules[{index}]"
            if isinstance(child, dict) and "rules" in child:
                cleaned.append(self.group(child, child_path, depth + 1))
            else:
                leaf = self.leaf(child, child_path)
                if leaf is not None:
                    cleaned.append(leaf)
        return {"combinator": combinator, "not": negate, "rules": cleaned}

    def leaf(self, node: Any, path: str) -> dict[str, Any] | None:
        self.leaves += 1
        if self.leaves == MAX_RULES + 1:
            self.problem(path, _("A rule may hold at most %(n)d conditions.") % {"n": MAX_RULES})
        if not isinstance(node, dict):
            self.problem(path, _("Expected a condition with a field and an operator."))
            return None
        for key in sorted(set(node) - {"field", "operator", "value", "id"}):
            self.problem(f"{path}.{key}", _("Unknown key."))
        key = node.get("field")
        field = self.fields.get(key) if isinstance(key, str) else None
        if field is None:
            self.problem(f"{path}.field", _("Unknown field “%(field)s”.") % {"field": key})
            return None
        operator = op.canonical(node.get("operator"))
        allowed = field.allowed_operators()
        if operator not in allowed:
            self.problem(f"{path}.operator",
                         _("“%(operator)s” cannot be used with %(field)s; use one of: "
                           "%(allowed)s.") % {"operator": node.get("operator"),
                                              "field": field.label,
                                              "allowed": ", ".join(allowed)})
            return None
        try:
            value = self.value(field, operator, node.get("value"))
        except op.BadValue as exc:
            self.problem(f"{path}.value", str(exc))
            return None
        leaf: dict[str, Any] = {"field": field.key, "operator": operator}
        if value is not None:
            leaf["value"] = value
        return leaf

    def value(self, field: RuleField, operator: str, value: Any) -> Any:
        cleaned = op.clean_plain_value(field, operator, value)
        if field.check_value is not None and self.check_values:
            try:
                cleaned = field.check_value(operator, cleaned, self.ctx)
            except op.BadValue:
                raise
            except ValueError as exc:
                raise op.BadValue(str(exc)) from None
        return cleaned


def check_rule(rule: Any, fields: dict[str, RuleField], ctx: RuleContext, *,
               check_values: bool = True) -> tuple[dict[str, Any], list[RuleProblem]]:
    """The normalized rule and its problems (none when valid). `check_values=False` skips the
    fields' own value checks (the ones that read the database, like tag and segment lookups):
    for rules already cleaned, whose values are the ids those checks produced."""
    walk = _Walk(fields, ctx, check_values=check_values)
    normalized = walk.group(rule, "", 1)
    return normalized, walk.problems
