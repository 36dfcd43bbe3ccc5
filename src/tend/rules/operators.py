"""Operators: which ones each field type offers, their labels, and how their values are checked
and normalized. The semantics themselves live in `scalar.py` (plain values) and in the fields
of other types (tags, aggregates, segments).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.rules.registry import FieldType, RuleField

EQ = "equals"
NE = "notEquals"
LT = "lessThan"
LTE = "lessThanOrEqual"
GT = "greaterThan"
GTE = "greaterThanOrEqual"
BETWEEN = "between"
IN = "in"
NOT_IN = "notIn"
CONTAINS = "contains"
NOT_CONTAINS = "notContains"
BEGINS = "beginsWith"
ENDS = "endsWith"
EMPTY = "isEmpty"
NOT_EMPTY = "isNotEmpty"
WITHIN_LAST = "withinLast"
MORE_THAN_AGO = "moreThanAgo"
BEFORE = "before"
AFTER = "after"
HAS_ANY = "hasAny"
HAS_ALL = "hasAll"
HAS_NONE = "hasNone"

# Other spellings accepted on input; `rule_clean` writes the canonical name.
ALIASES = {
    "=": EQ, "==": EQ, "eq": EQ, "!=": NE, "ne": NE, "notEqual": NE,
    "<": LT, "lt": LT, "<=": LTE, "lte": LTE, ">": GT, "gt": GT, ">=": GTE, "gte": GTE,
    "isNull": EMPTY, "null": EMPTY, "isNotNull": NOT_EMPTY, "notNull": NOT_EMPTY,
    "doesNotContain": NOT_CONTAINS, "startsWith": BEGINS,
}

# Operators that are the exact negation of another: TRUE where the other is FALSE, including
# on an empty value (see docs/rules.md, "Empty values").
NEGATIONS = {NE: EQ, NOT_IN: IN, NOT_CONTAINS: CONTAINS, HAS_NONE: HAS_ANY, EMPTY: NOT_EMPTY}
RELATIVE = frozenset({WITHIN_LAST, MORE_THAN_AGO})
UNITS = ("days", "weeks", "months")
MAX_LIST = 200
MAX_TEXT = 1000
MAX_AMOUNT = 100_000

_TEXT = (EQ, NE, IN, NOT_IN, CONTAINS, NOT_CONTAINS, BEGINS, ENDS, EMPTY, NOT_EMPTY)
_NUMBER = (EQ, NE, LT, LTE, GT, GTE, BETWEEN, EMPTY, NOT_EMPTY)
_DATE = (EQ, NE, BEFORE, AFTER, BETWEEN, WITHIN_LAST, MORE_THAN_AGO, EMPTY, NOT_EMPTY)
_SET = (HAS_ANY, HAS_ALL, HAS_NONE, EMPTY, NOT_EMPTY)
_CHOICE = (EQ, NE, IN, NOT_IN, EMPTY, NOT_EMPTY)

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    FieldType.STRING: _TEXT,
    FieldType.NUMBER: _NUMBER,
    FieldType.DATE: _DATE,
    FieldType.DATETIME: _DATE,
    FieldType.BOOLEAN: (EQ, NE, EMPTY, NOT_EMPTY),
    FieldType.CHOICE: _CHOICE,
    FieldType.MULTI_CHOICE: _SET,
    FieldType.TAGS: _SET,
    FieldType.EXISTS: (NOT_EMPTY, EMPTY),
    FieldType.CONSENT: _CHOICE,
    FieldType.ACTIVITY_COUNT: (EQ, NE, LT, LTE, GT, GTE, BETWEEN),
    FieldType.ACTIVITY_LAST: (WITHIN_LAST, MORE_THAN_AGO, BEFORE, AFTER, EMPTY, NOT_EMPTY),
    FieldType.SEGMENT: (EQ, NE),
}

LABELS: dict[str, str | Promise] = {
    EQ: gettext_lazy("is"),
    NE: gettext_lazy("is not"),
    LT: gettext_lazy("less than"),
    LTE: gettext_lazy("at most"),
    GT: gettext_lazy("more than"),
    GTE: gettext_lazy("at least"),
    BETWEEN: gettext_lazy("between"),
    IN: gettext_lazy("is one of"),
    NOT_IN: gettext_lazy("is none of"),
    CONTAINS: gettext_lazy("contains"),
    NOT_CONTAINS: gettext_lazy("does not contain"),
    BEGINS: gettext_lazy("begins with"),
    ENDS: gettext_lazy("ends with"),
    EMPTY: gettext_lazy("is empty"),
    NOT_EMPTY: gettext_lazy("is not empty"),
    WITHIN_LAST: gettext_lazy("within the last"),
    MORE_THAN_AGO: gettext_lazy("more than … ago"),
    BEFORE: gettext_lazy("before"),
    AFTER: gettext_lazy("after"),
    HAS_ANY: gettext_lazy("has any of"),
    HAS_ALL: gettext_lazy("has all of"),
    HAS_NONE: gettext_lazy("has none of"),
}

# Labels that read better for some types.
TYPE_LABELS: dict[tuple[str, str], str | Promise] = {
    (FieldType.EXISTS, NOT_EMPTY): gettext_lazy("has one"),
    (FieldType.EXISTS, EMPTY): gettext_lazy("has none"),
    (FieldType.TAGS, EMPTY): gettext_lazy("has no tags"),
    (FieldType.TAGS, NOT_EMPTY): gettext_lazy("has a tag"),
    (FieldType.ACTIVITY_LAST, EMPTY): gettext_lazy("never happened"),
    (FieldType.ACTIVITY_LAST, NOT_EMPTY): gettext_lazy("happened at least once"),
    (FieldType.SEGMENT, EQ): gettext_lazy("is a member of"),
    (FieldType.SEGMENT, NE): gettext_lazy("is not a member of"),
    (FieldType.CONSENT, EMPTY): gettext_lazy("never asked"),
    (FieldType.CONSENT, NOT_EMPTY): gettext_lazy("has an answer"),
}

UNIT_LABELS: dict[str, str | Promise] = {
    "days": gettext_lazy("days"), "weeks": gettext_lazy("weeks"),
    "months": gettext_lazy("months"),
}


def operator_label(field_type: str, operator: str) -> str:
    return str(TYPE_LABELS.get((field_type, operator), LABELS.get(operator, operator)))


def canonical(operator: Any) -> Any:
    if isinstance(operator, str):
        return ALIASES.get(operator, operator)
    return operator


def needs_value(field_type: str, operator: str) -> bool:
    """Whether the operator takes a value (aggregates always name their activity type)."""
    if field_type in (FieldType.ACTIVITY_COUNT, FieldType.ACTIVITY_LAST):
        return True
    return operator not in (EMPTY, NOT_EMPTY)


# --- value checks -------------------------------------------------------------------------------


class BadValue(ValueError):
    """A value a rule may not hold; the message says why (translated)."""


def _text(value: Any) -> str:
    if value is None:
        raise BadValue(_("Enter a value, or use “is empty”."))
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadValue(_("Enter a text."))
    text = str(value).strip()
    if not text:
        raise BadValue(_("Enter a value, or use “is empty”."))
    if len(text) > MAX_TEXT:
        raise BadValue(_("Enter at most %(n)d characters.") % {"n": MAX_TEXT})
    return text


def number(value: Any) -> int | float:
    """A finite number (a numeric string is accepted): an int when integral."""
    if isinstance(value, bool) or value is None:
        raise BadValue(_("Enter a number."))
    try:
        parsed = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadValue(_("Enter a number.")) from None
    if not parsed.is_finite() or abs(parsed) > Decimal(2**53 - 1):
        raise BadValue(_("Enter a number."))
    if parsed == parsed.to_integral_value():
        return int(parsed)
    return float(parsed)


def a_date(value: Any) -> str:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            pass
    raise BadValue(_("Enter a date as YYYY-MM-DD."))


def _list(value: Any) -> list[Any]:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise BadValue(_("Choose at least one value."))
    if len(value) > MAX_LIST:
        raise BadValue(_("Choose at most %(n)d values.") % {"n": MAX_LIST})
    return list(value)


def _pair(value: Any, one: Any) -> list[Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise BadValue(_("Enter two values: from and to."))
    low, high = one(value[0]), one(value[1])
    if low > high:
        raise BadValue(_("The first value must not be after the second."))
    return [low, high]


def relative(value: Any) -> dict[str, Any]:
    """`{"amount": N, "unit": "days"|"weeks"|"months"}`; a bare number means days."""
    if isinstance(value, int | str) and not isinstance(value, bool):
        value = {"amount": value, "unit": "days"}
    if not isinstance(value, dict):
        raise BadValue(_("Enter a number of days, weeks or months."))
    unit = value.get("unit", "days")
    if unit not in UNITS:
        raise BadValue(_("Choose days, weeks or months."))
    amount = number(value.get("amount"))
    if not isinstance(amount, int) or amount < 0 or amount > MAX_AMOUNT:
        raise BadValue(_("Enter a whole number from 0 to %(n)d.") % {"n": MAX_AMOUNT})
    return {"amount": amount, "unit": unit}


def _choice(value: Any, field: RuleField) -> str:
    allowed = {str(v) for v, _label in field.choices}
    text = value if isinstance(value, str) else None
    if text is None or (allowed and text not in allowed):
        raise BadValue(_("“%(value)s” is not one of the choices.") % {"value": value})
    return text


def clean_plain_value(field: RuleField, operator: str, value: Any) -> Any:
    """Check and normalize the value of a plain-typed field (not aggregates or segments,
    whose fields check their own values). Raises `BadValue`."""
    kind = field.type
    if not needs_value(kind, operator):
        return None
    if kind == FieldType.STRING:
        if operator in (IN, NOT_IN):
            return [_text(v) for v in _list(value)]
        return _text(value)
    if kind == FieldType.NUMBER:
        return _pair(value, number) if operator == BETWEEN else number(value)
    if kind in (FieldType.DATE, FieldType.DATETIME):
        if operator in RELATIVE:
            return relative(value)
        return _pair(value, a_date) if operator == BETWEEN else a_date(value)
    if kind == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise BadValue(_("Choose yes or no."))
        return value
    if kind in (FieldType.CHOICE, FieldType.CONSENT):
        if operator in (IN, NOT_IN):
            return sorted({_choice(v, field) for v in _list(value)})
        return _choice(value, field)
    if kind in (FieldType.MULTI_CHOICE, FieldType.TAGS):
        values = [str(v) for v in _list(value)]
        if kind == FieldType.MULTI_CHOICE:
            values = [_choice(v, field) for v in values]
        return sorted(set(values))
    return value
