"""Operator semantics for plain values, in both back ends.

A *scalar* field reads one value: a column, a JSON key of `custom`, a column of the company.
The SQL side builds a `Q` from lookups on the field's expression; the Python side applies the
same operator to the value the getter returns. What both agree on (docs/rules.md):

- **Empty** means NULL, a missing JSON key, JSON null, an empty string or an empty list.
- A positive operator (equals, contains, less than, before, within the last …) is FALSE on an
  empty value; its negation (not equals, does not contain, is none of, has none of) is the
  exact opposite and so TRUE on an empty value. SQL's three-valued logic never shows: each
  condition is `present AND test`, which is FALSE (never NULL) when the value is missing, so
  `NOT` and `not` groups negate a plain boolean.
- Text is compared case-insensitively, folding as the database's `LOWER()` does (PostgreSQL:
  every letter; SQLite: ASCII letters only), and surrounding spaces of the stored value count.
- Days are calendar days in the organization's time zone; see `day_start` and `cutoff`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import CharField, Exists, F, FloatField, Q
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import (
    Contains,
    EndsWith,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)

from tend.rules import operators as op
from tend.rules.registry import FieldType, RuleContext

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


# --- time -------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """`day` moved by `months` calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has 28 days


def cutoff_day(amount_unit: dict[str, Any], ctx: RuleContext) -> date:
    """The first day of "the last N days/weeks/months": today minus N units (today in the
    organization's time zone)."""
    amount, unit = int(amount_unit["amount"]), amount_unit["unit"]
    if unit == "months":
        return add_months(ctx.today, -amount)
    return ctx.today - timedelta(days=amount * (7 if unit == "weeks" else 1))


def day_start(day: date, ctx: RuleContext) -> datetime:
    """Midnight of `day` in the organization's time zone, as an aware UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=ctx.zone).astimezone(UTC)


def parse_day(text: str) -> date:
    return date.fromisoformat(text)


def _date_bounds(operator: str, value: Any, ctx: RuleContext
                 ) -> tuple[date | None, date | None, bool]:
    """(low, high, high_inclusive) days for a date operator; `None` means unbounded."""
    if operator in (op.EQ, op.NE):
        day = parse_day(value)
        return day, day, True
    if operator == op.BEFORE:
        return None, parse_day(value), False
    if operator == op.AFTER:
        return parse_day(value) + timedelta(days=1), None, False
    if operator == op.BETWEEN:
        return parse_day(value[0]), parse_day(value[1]), True
    if operator == op.WITHIN_LAST:
        return cutoff_day(value, ctx), ctx.today, True
    if operator == op.MORE_THAN_AGO:
        return None, cutoff_day(value, ctx), False
    raise ValueError(operator)


def datetime_bounds(operator: str, value: Any, ctx: RuleContext
                    ) -> tuple[datetime | None, datetime | None, bool]:
    """(low, high, high_inclusive) instants for a date operator on a date-and-time value:
    the days of `_date_bounds` as midnights in the organization's time zone. "Within the last"
    ends now (a future time is not within the last days)."""
    low, high, inclusive = _date_bounds(operator, value, ctx)
    if operator == op.WITHIN_LAST:
        return day_start(low, ctx) if low else None, ctx.now, True
    low_at = day_start(low, ctx) if low else None
    if high is None:
        return low_at, None, False
    if inclusive:
        return low_at, day_start(high + timedelta(days=1), ctx), False
    return low_at, day_start(high, ctx), False


# --- folding ----------------------------------------------------------------------------------


def fold(text: str, vendor: str) -> str:
    """Lower-case `text` as the database's LOWER() does."""
    if vendor == "sqlite":
        return text.translate(_ASCII_LOWER)
    return text.lower()


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# --- SQL --------------------------------------------------------------------------------------


def _expr(expression: Any) -> Any:
    return F(expression) if isinstance(expression, str) else expression


def _bounds_q(expr: Any, low: Any, high: Any, high_inclusive: bool) -> Q:
    q = Q()
    if low is not None:
        q &= Q(GreaterThanOrEqual(expr, low))
    if high is not None:
        q &= Q(LessThanOrEqual(expr, high) if high_inclusive else LessThan(expr, high))
    return q


def present_q(expr: Any, field_type: str) -> Q:
    """TRUE when the value is not empty, FALSE otherwise (never NULL)."""
    q = Q(IsNull(expr, False))
    if field_type in (FieldType.STRING, FieldType.CHOICE, FieldType.CONSENT):
        q &= ~Q(Exact(expr, ""))
    return q


def _positive_q(expr: Any, field_type: str, operator: str, value: Any, ctx: RuleContext,
                json: bool) -> Q:
    if field_type == FieldType.STRING:
        lowered = Lower(expr)
        if operator == op.EQ:
            return Q(Exact(lowered, fold(value, ctx.vendor)))
        if operator == op.IN:
            return Q(In(lowered, sorted({fold(v, ctx.vendor) for v in value})))
        pattern: Any = {op.CONTAINS: Contains, op.BEGINS: StartsWith,
                        op.ENDS: EndsWith}[operator]
        return Q(pattern(lowered, fold(value, ctx.vendor)))
    if field_type in (FieldType.CHOICE, FieldType.CONSENT):
        if operator == op.EQ:
            return Q(Exact(expr, value))
        return Q(In(expr, value))
    if field_type == FieldType.NUMBER:
        if json:
            expr = Cast(expr, FloatField())
        if operator == op.BETWEEN:
            return _bounds_q(expr, value[0], value[1], True)
        lookup = {op.EQ: Exact, op.LT: LessThan, op.LTE: LessThanOrEqual,
                  op.GT: GreaterThan, op.GTE: GreaterThanOrEqual}[operator]
        return Q(lookup(expr, value))
    if field_type == FieldType.BOOLEAN:
        if json:
            # PostgreSQL's ->> gives 'true'/'false'; SQLite's json_extract gives 1/0.
            text = Cast(expr, output_field=CharField())
            return Q(In(text, ["true", "1"] if value else ["false", "0"]))
        return Q(Exact(expr, value))
    if field_type == FieldType.DATE:
        low, high, inclusive = _date_bounds(operator, value, ctx)
        if json:
            return _bounds_q(expr, low.isoformat() if low else None,
                             high.isoformat() if high else None, inclusive)
        return _bounds_q(expr, low, high, inclusive)
    if field_type == FieldType.DATETIME:
        low_at, high_at, inclusive = datetime_bounds(operator, value, ctx)
        if json:
            return _bounds_q(expr, _iso(low_at), _iso(high_at), inclusive)
        return _bounds_q(expr, low_at, high_at, inclusive)
    raise ValueError(f"{field_type} {operator}")


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime(ISO_UTC) if moment else None


def scalar_q(expression: Any, field_type: str, operator: str, value: Any, ctx: RuleContext,
             *, json: bool = False) -> Q:
    """The SQL condition of `operator` on one value; two-valued (see the module docstring)."""
    expr = _expr(expression)
    present = present_q(expr, field_type)
    if operator == op.NOT_EMPTY:
        return present
    if operator == op.EMPTY:
        return ~present
    positive = op.NEGATIONS.get(operator)
    test = positive or operator
    if _false_on_blank(field_type, test, value, ctx):
        # The test is already FALSE on an empty text; NOT NULL alone keeps it two-valued
        # (and the database evaluates the value's expression once less per row).
        present = Q(IsNull(expr, False))
    if positive is not None:
        return ~(present & _positive_q(expr, field_type, positive, value, ctx, json))
    return present & _positive_q(expr, field_type, operator, value, ctx, json)


def _false_on_blank(field_type: str, operator: str, value: Any, ctx: RuleContext) -> bool:
    """Whether the positive `operator` is FALSE on an empty text (''): equals and in with
    values that are not empty."""
    if field_type not in (FieldType.STRING, FieldType.CHOICE, FieldType.CONSENT):
        return False
    if operator not in (op.EQ, op.IN):
        return False
    values = [value] if operator == op.EQ else value
    if field_type == FieldType.STRING:
        values = [fold(v, ctx.vendor) for v in values]
    return all(v != "" for v in values)


def exists_q(queryset: Any) -> Q:
    """`Q(Exists(queryset))`: a subquery test that is TRUE or FALSE, never NULL."""
    return Q(Exists(queryset))


# --- Python -----------------------------------------------------------------------------------


def is_empty(raw: Any) -> bool:
    return raw is None or raw == "" or raw == [] or raw == {}


def _as_datetime(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        return raw
    parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_date(raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    return date.fromisoformat(str(raw))


def _in_bounds(item: Any, low: Any, high: Any, high_inclusive: bool) -> bool:
    if low is not None and item < low:
        return False
    if high is not None:
        return item <= high if high_inclusive else item < high
    return True


def _positive_python(raw: Any, field_type: str, operator: str, value: Any,
                     ctx: RuleContext) -> bool:
    if field_type == FieldType.STRING:
        text = fold(str(raw), ctx.vendor)
        if operator == op.EQ:
            return text == fold(value, ctx.vendor)
        if operator == op.IN:
            return text in {fold(v, ctx.vendor) for v in value}
        needle = fold(value, ctx.vendor)
        if operator == op.CONTAINS:
            return needle in text
        if operator == op.BEGINS:
            return text.startswith(needle)
        return text.endswith(needle)
    if field_type in (FieldType.CHOICE, FieldType.CONSENT):
        return raw == value if operator == op.EQ else raw in value
    if field_type == FieldType.NUMBER:
        number = float(Decimal(str(raw)))
        if operator == op.BETWEEN:
            return float(value[0]) <= number <= float(value[1])
        target = float(value)
        return {op.EQ: number == target, op.LT: number < target, op.LTE: number <= target,
                op.GT: number > target, op.GTE: number >= target}[operator]
    if field_type == FieldType.BOOLEAN:
        return bool(raw) == value
    if field_type == FieldType.DATE:
        low, high, inclusive = _date_bounds(operator, value, ctx)
        return _in_bounds(_as_date(raw), low, high, inclusive)
    if field_type == FieldType.DATETIME:
        low_at, high_at, inclusive = datetime_bounds(operator, value, ctx)
        return _in_bounds(_as_datetime(raw), low_at, high_at, inclusive)
    raise ValueError(f"{field_type} {operator}")


def scalar_python(raw: Any, field_type: str, operator: str, value: Any,
                  ctx: RuleContext) -> bool:
    """The Python twin of `scalar_q` for one value read by the field's getter."""
    present = not is_empty(raw)
    if operator == op.NOT_EMPTY:
        return present
    if operator == op.EMPTY:
        return not present
    positive = op.NEGATIONS.get(operator)
    if positive is not None:
        return not (present and _positive_python(raw, field_type, positive, value, ctx))
    return present and _positive_python(raw, field_type, operator, value, ctx)

