"""The visual rule builder's model: a rule ⇄ form fields, editing actions, and the tree the
templates render (each condition with its field, operators, value inputs and errors).

Form names follow the tree: the outer group is `r`, its children `r.0`, `r.1`, a grandchild
`r.1.0`. A group posts `<path>.combinator` (and `<path>.not`); a condition posts
`<path>.field`, `<path>.operator` and its value parts (`<path>.value`, `.value2`, `.unit`,
`.type`, `.category`, `.days`, `.date`). Problems from validation (`rules[1].rules[0].value`)
are placed on the condition they belong to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tend.rules import operators as op
from tend.rules.registry import FieldType, RuleField
from tend.rules.validation import MAX_DEPTH, RuleProblem

ROOT = "r"
EMPTY_RULE: dict[str, Any] = {"combinator": "and", "not": False, "rules": []}
_INDEX = re.compile(r"rules\[(\d+)\]")


def problem_node(path: str) -> tuple[str, str]:
    """`rules[1].rules[0].value` → (`r.1.0`, `value`)."""
    indexes = _INDEX.findall(path)
    tail = _INDEX.sub("", path).strip(".")
    return ".".join([ROOT, *indexes]), tail.split(".")[-1] if tail else ""


# --- form → rule --------------------------------------------------------------------------------


class _Form:
    def __init__(self, data: Any) -> None:
        self.data = data

    def get(self, name: str) -> str:
        value = self.data.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    def getlist(self, name: str) -> list[str]:
        getter = getattr(self.data, "getlist", None)
        values = getter(name) if getter else [self.data.get(name, "")]
        return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _children(data: Any, path: str) -> list[str]:
    pattern = re.compile(re.escape(path) + r"\.(\d+)\.")
    indexes = sorted({int(m.group(1)) for key in data for m in [pattern.match(key)] if m})
    return [f"{path}.{i}" for i in indexes]


def _leaf_value(form: _Form, path: str, field: RuleField, operator: str) -> Any:
    kind = field.type
    if not op.needs_value(kind, operator):
        return None
    value = form.get(f"{path}.value")
    if kind == FieldType.ACTIVITY_COUNT:
        count: Any = ([value, form.get(f"{path}.value2")] if operator == op.BETWEEN else value)
        return {"type": form.get(f"{path}.type"), "category": form.get(f"{path}.category"),
                "days": form.get(f"{path}.days") or None, "count": count}
    if kind == FieldType.ACTIVITY_LAST:
        return {"type": form.get(f"{path}.type"), "category": form.get(f"{path}.category"),
                "amount": value, "unit": form.get(f"{path}.unit") or "days",
                "date": form.get(f"{path}.date")}
    if kind in (FieldType.MULTI_CHOICE, FieldType.TAGS) or (
            kind in (FieldType.CHOICE, FieldType.CONSENT) and operator in (op.IN, op.NOT_IN)):
        return form.getlist(f"{path}.value")
    if kind == FieldType.STRING and operator in (op.IN, op.NOT_IN):
        return [part.strip() for part in value.split(",") if part.strip()]
    if kind == FieldType.BOOLEAN:
        return {"true": True, "false": False}.get(value, value)
    if operator in op.RELATIVE:
        return {"amount": value, "unit": form.get(f"{path}.unit") or "days"}
    if operator == op.BETWEEN:
        return [value, form.get(f"{path}.value2")]
    return value


def _node_from_form(form: _Form, path: str, fields: dict[str, RuleField]) -> dict[str, Any]:
    if f"{path}.combinator" in form.data:
        return {"combinator": form.get(f"{path}.combinator") or "and",
                "not": form.get(f"{path}.not") in ("1", "on", "true"),
                "rules": [_node_from_form(form, child, fields)
                          for child in _children(form.data, path)]}
    key = form.get(f"{path}.field")
    field = fields.get(key)
    operator = form.get(f"{path}.operator")
    if field is None:
        return {"field": key, "operator": operator}
    if form.get(f"{path}.previous") != key or operator not in field.allowed_operators():
        operator = field.allowed_operators()[0]
        return {"field": key, "operator": operator,
                **({} if not op.needs_value(field.type, operator) else {"value": None})}
    leaf = {"field": key, "operator": operator}
    value = _leaf_value(form, path, field, operator)
    if value is not None:
        leaf["value"] = value
    return leaf


def rule_from_form(data: Mapping[str, Any], fields: dict[str, RuleField]) -> dict[str, Any]:
    """The rule the builder's inputs describe (not yet validated)."""
    if f"{ROOT}.combinator" not in data:
        return dict(EMPTY_RULE, rules=[])
    return _node_from_form(_Form(data), ROOT, fields)


# --- actions -------------------------------------------------------------------------------


def _locate(rule: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, int | None]:
    """(parent group, index) of the node at `path`; (None, None) for the outer group."""
    parts = path.split(".")[1:]
    if not parts:
        return None, None
    node = rule
    for part in parts[:-1]:
        node = node["rules"][int(part)]
    return node, int(parts[-1])


def apply_action(rule: dict[str, Any], action: str, fields: dict[str, RuleField]
                 ) -> dict[str, Any]:
    """`add-rule:<group path>`, `add-group:<group path>`, `remove:<node path>`."""
    verb, _sep, path = action.partition(":")
    try:
        if verb in ("add-rule", "add-group"):
            parent, index = _locate(rule, path)
            group = rule if parent is None else parent["rules"][index]
            depth = path.count(".") + 1
            if verb == "add-group" and depth < MAX_DEPTH:
                group["rules"].append({"combinator": "and", "not": False, "rules": []})
            elif verb == "add-rule" and fields:
                first = next(iter(fields.values()))
                group["rules"].append({"field": first.key,
                                       "operator": first.allowed_operators()[0]})
        elif verb == "remove":
            parent, index = _locate(rule, path)
            if parent is not None and index is not None:
                del parent["rules"][index]
    except (IndexError, KeyError, ValueError, TypeError):
        pass
    return rule


# --- rule → what the templates render ------------------------------------------------------


def _widget(field: RuleField | None, operator: str) -> str:
    if field is None or not op.needs_value(field.type, operator):
        return "none"
    kind = field.type
    if kind == FieldType.ACTIVITY_COUNT:
        return "count"
    if kind == FieldType.ACTIVITY_LAST:
        if operator in op.RELATIVE:
            return "last-relative"
        return "last-date" if operator in (op.BEFORE, op.AFTER) else "last"
    if kind in (FieldType.MULTI_CHOICE, FieldType.TAGS):
        return "multi"
    if kind in (FieldType.CHOICE, FieldType.CONSENT, FieldType.SEGMENT):
        return "multi" if operator in (op.IN, op.NOT_IN) else "select"
    if kind == FieldType.BOOLEAN:
        return "boolean"
    if operator in op.RELATIVE:
        return "relative"
    if kind in (FieldType.DATE, FieldType.DATETIME):
        return "date-between" if operator == op.BETWEEN else "date"
    if kind == FieldType.NUMBER:
        return "number-between" if operator == op.BETWEEN else "number"
    return "text"


def _parts(value: Any) -> dict[str, Any]:
    """The value split into what the inputs show."""
    if isinstance(value, dict):
        count = value.get("count")
        first, second = (count if isinstance(count, list) and len(count) == 2
                         else [count, ""])
        return {"value": value.get("amount", first) if "amount" in value else first,
                "value2": second, "unit": value.get("unit", "days"),
                "type": value.get("type", ""), "category": value.get("category", ""),
                "days": value.get("days") or "", "date": value.get("date", ""),
                "values": []}
    if isinstance(value, list):
        pair = value if len(value) == 2 else ["", ""]
        return {"value": ", ".join(str(v) for v in value), "value2": pair[1],
                "first": pair[0], "values": [str(v) for v in value]}
    if isinstance(value, bool):
        return {"value": "true" if value else "false", "values": []}
    return {"value": "" if value is None else value, "values": [str(value)]}


def builder_tree(rule: dict[str, Any], fields: dict[str, RuleField],
                 problems: list[RuleProblem], choices: dict[str, list[tuple[str, str]]]
                 ) -> dict[str, Any]:
    """The group tree for the templates. `choices` gives extra choice lists by field type
    (the organization's tags for `tags`)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        where, _part = problem_node(problem.path)
        errors.setdefault(where, []).append(problem.message)

    groups: dict[str, list[dict[str, Any]]] = {}
    for field in fields.values():
        groups.setdefault(str(field.group_label), []).append(
            {"key": field.key, "label": str(field.label), "type": field.type})
    field_options = [{"label": label, "fields": items} for label, items in groups.items()]

    def node(item: Any, path: str, depth: int) -> dict[str, Any]:
        if isinstance(item, dict) and "rules" in item and isinstance(item["rules"], list):
            return {"kind": "group", "path": path, "depth": depth,
                    "combinator": item.get("combinator", "and"),
                    "not": bool(item.get("not")), "errors": errors.get(path, []),
                    "can_nest": depth < MAX_DEPTH,
                    "children": [node(child, f"{path}.{i}", depth + 1)
                                 for i, child in enumerate(item["rules"])]}
        item = item if isinstance(item, dict) else {}
        field = fields.get(item.get("field", ""))
        operator = op.canonical(item.get("operator", ""))
        options = [(str(v), str(label)) for v, label in field.choices] if field else []
        if field and not options:
            options = choices.get(field.type, [])
        return {
            "kind": "rule", "path": path, "field": field, "field_key": item.get("field", ""),
            "operator": operator, "errors": errors.get(path, []),
            "operators": [(o, op.operator_label(field.type, o))
                          for o in field.allowed_operators()] if field else [],
            "widget": _widget(field, operator), "choices": options,
            "units": [(k, str(v)) for k, v in op.UNIT_LABELS.items()],
            **_parts(item.get("value")),
        }

    return {"root": node(rule, ROOT, 1), "field_options": field_options}
