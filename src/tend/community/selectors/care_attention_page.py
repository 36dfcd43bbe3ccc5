"""One page of the attention list from a kept statement.

Compiling the rule query (the field registry, the rule's clauses, Django's SQL compiler) costs
more than running it: a page of 100 people is about 2 ms of SQL on PostgreSQL. So the page's
statement is compiled once per *shape* and kept in process memory (least recently used
first out), then run raw with fresh parameters:

- the shape is the organization, its rule thresholds, the language, the day in the
  organization's time zone, the viewer's visibility limit (its SQL and values), which filters
  are given (unit, mentor, cursor) and the page size;
- the statement is compiled twice, at the first and the last instant of that day, with
  random stand-ins for the unit, the mentor and the cursor: a parameter equal to the instant
  in both is "now", one equal to a stand-in is that value, one equal in both is a constant of
  the shape; anything else (a parameter that moves within the day) makes the shape unfit to
  keep, and the page is compiled every time;
- the statement also selects the organization's rule-configuration token
  (`tend.rules.registry.fields_version`): a page whose token is not the one the statement was
  compiled at is thrown away and compiled afresh, so a change of fields or configuration
  shows at the next request of every process without an extra round trip.

The unit filter is folded into the statement (the subtree's units are a subquery on the
unit's path, a parameter). For staff, the viewer's unit limit as last seen in this process
(`care_scope.remembered_scope`) is used without reading it, and the statement checks it in its
select list (the viewer's current scoping units against those it was built for); when that
check fails, or the page is empty, the limit is read afresh and the page asked again. So a
kept page is one query for any viewer.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q, QuerySet, Subquery
from django.utils.translation import get_language

from tend.people.models import Contact

if TYPE_CHECKING:
    from tend.community.selectors.care_attention import Attention
    from tend.community.selectors.care_scope import RememberedScope

_MAX = 256
_kept: OrderedDict[tuple[Any, ...], _Statement] = OrderedDict()
_lock = threading.Lock()
COLUMNS = ("pk", "display_name", "primary_email", "primary_phone")
VERSION_COLUMN = "rules_version"


@dataclass(slots=True)
class AttentionPerson:
    """The columns of a contact the list shows (what `Contact.__str__` falls back to)."""

    pk: uuid.UUID
    display_name: str
    primary_email: str
    primary_phone: str

    @property
    def id(self) -> uuid.UUID:
        return self.pk

    def __str__(self) -> str:
        return self.display_name or self.primary_email or self.primary_phone or str(self.pk)


@dataclass(frozen=True)
class _Statement:
    token: str
    sql: str
    # Per parameter: ("c", value) a constant, ("now",) the instant, or (name,) a given value.
    slots: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class PageArgs:
    """The values a page is asked with (ids, and the cursor's name and id)."""

    unit_path: str | None = None
    mentor_id: Any = None
    after: tuple[str, Any] | None = None
    limit: int = 100
    user_value: str | None = None  # the viewer's user id, when the statement checks a scope


def _adapt_datetime(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _adapt_uuid(value: Any) -> Any:
    return Contact._meta.pk.get_db_prep_value(value, connection)  # type: ignore[union-attr]


def _scope_key(scope: Q | None) -> Any:
    """The visibility limit as SQL and values: the same limit is the same key; a changed
    limit (other units, a lost secretary role) is another key."""
    if scope is None:
        return None
    given = getattr(scope, "scope_key", None)  # a limit that names what it depends on
    if given is not None:
        return given
    sql, params = Contact._base_manager.filter(scope).values("pk").query.sql_with_params()
    return (sql, tuple(params))


def _day_bounds(attention: Attention) -> tuple[datetime, datetime, Any]:
    from tend.rules.services import rule_context

    zone = rule_context(tenant=attention.tenant, now=attention.now).zone
    day = attention.now.astimezone(zone).date()
    first = datetime.combine(day, time(0, 0, 0, 1), tzinfo=zone)
    last = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone) - timedelta(
        microseconds=1)
    return first, last, (day, str(zone))


def _compile(attention_at: Callable[[datetime], Attention], first: datetime, last: datetime,
             args: PageArgs, scope: Q | None, token_qs: QuerySet[Any],
             checks_for: Callable[[str], dict[str, Any]] | None) -> _Statement | None:
    """The page's statement with its parameter slots, or None when a parameter moves within
    the day (the shape cannot be kept)."""
    unit_path = f"{secrets.token_hex(16)}/" if args.unit_path is not None else None
    mentor = uuid.uuid4() if args.mentor_id is not None else None
    after = ("\x01" + secrets.token_hex(8), uuid.uuid4()) if args.after else None
    user = str(uuid.uuid4()) if checks_for is not None else None
    stand_in: dict[str, Any] = {"unit_path": unit_path, "mentor": mentor,
                                "after_name": after[0] if after else None,
                                "after_id": after[1] if after else None, "user": user}
    checks = checks_for(user) if checks_for is not None and user is not None else {}
    compiled = []
    for instant in (first, last):
        qs = attention_at(instant).queryset(unit_path=unit_path, mentor_id=mentor,
                                            after=after, scope=scope)
        qs = qs.annotate(**{VERSION_COLUMN: Subquery(token_qs)}, **checks).values_list(
            *COLUMNS, *flag_names(), VERSION_COLUMN, *checks)
        compiled.append(qs[:args.limit].query.sql_with_params())
    (sql, one), (sql_last, two) = compiled
    if sql != sql_last or len(one) != len(two):
        return None
    known = {_adapt(k, v): k for k, v in stand_in.items() if v is not None}
    slots: list[tuple[Any, ...]] = []
    at_first, at_last = _adapt_datetime(first), _adapt_datetime(last)
    for a, b in zip(one, two, strict=True):
        if _hashable(a) and a in known and a == b:
            slots.append((known[a],))
        elif a == at_first and b == at_last:
            slots.append(("now",))
        elif a == b:
            slots.append(("c", a))
        else:
            return None
    return _Statement(token="", sql=sql, slots=tuple(slots))


def _adapt(slot: str, value: Any) -> Any:
    """A given value as the statement's parameter: ids as the database takes them, the
    unit's path as the prefix pattern of `path LIKE`."""
    if slot in ("after_name", "user"):
        return value
    if slot == "unit_path":
        return connection.ops.prep_for_like_query(value) + "%"
    return _adapt_uuid(value)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def flag_names() -> list[str]:
    from tend.community.selectors.care_attention import CLAUSE_KEYS

    return [f"fired_{key}" for key in CLAUSE_KEYS]


def _params(statement: _Statement, now: datetime, args: PageArgs) -> list[Any]:
    given = {"unit_path": args.unit_path, "mentor": args.mentor_id,
             "after_name": args.after[0] if args.after else None,
             "after_id": args.after[1] if args.after else None, "user": args.user_value}
    params = []
    for slot in statement.slots:
        if slot[0] == "c":
            params.append(slot[1])
        elif slot[0] == "now":
            params.append(_adapt_datetime(now))
        else:
            params.append(_adapt(slot[0], given[slot[0]]))
    return params


def _run(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def kept_statements() -> int:
    """How many page statements this process keeps (for tests)."""
    return len(_kept)


def forget_statements() -> None:
    with _lock:
        _kept.clear()


def attention_page_rows(attention: Attention, args: PageArgs, scope: Q | None,
                        check: RememberedScope | None = None
                        ) -> list[tuple[AttentionPerson, tuple[bool, ...]]] | None:
    """The page's people (ordered by name, then id) with their clause flags. One query when
    the statement is kept and still current; otherwise the statement is compiled (and kept
    when the shape allows).

    With `check` (the viewer's unit limit as last seen; `scope` is then its `q()`), the statement
    also checks that limit: None when it no longer holds or the page is empty (the caller
    reads the limit afresh and asks again without `check`)."""
    from tend.community.services.care_attention import attention_settings
    from tend.rules.models import FieldsVersion
    from tend.rules.registry import fields_version

    tenant = attention.tenant
    first, last, day = _day_bounds(attention)
    limits = tuple(sorted(attention_settings(tenant).items()))
    key = (connection.alias, connection.vendor, str(tenant.pk), get_language() or "", day,
           limits, check.key if check is not None else _scope_key(scope),
           args.unit_path is not None, args.mentor_id is not None, args.after is not None,
           args.limit)
    if check is not None:
        args = PageArgs(unit_path=args.unit_path, mentor_id=args.mentor_id, after=args.after,
                        limit=args.limit, user_value=check.user_value)
    extra = 2 if check is not None else 0  # the check's two columns
    held = _kept.get(key)
    if held is not None:
        rows = _run(held.sql, _params(held, attention.now, args))
        if check is not None and (not rows or not check.holds(rows[0][-extra:])):
            return None
        # No token row reads as "" (`fields_version`), NULL in the statement.
        current = (rows[0][-1 - extra] or "") if rows else fields_version(tenant)
        if current == held.token:
            with _lock:
                if key in _kept:
                    _kept.move_to_end(key)
            return _people(rows, extra)
    token = fields_version(tenant)  # read before compiling: a later change shows as stale
    token_qs = FieldsVersion.objects.filter(tenant_id=tenant.pk).values("token")[:1]
    from tend.community.selectors.care_attention import Attention

    checks_for = None
    if check is not None:
        scope, checks_for = check.q(), check.checks
    statement = _compile(lambda at: Attention(tenant, at), first, last, args, scope, token_qs,
                         checks_for)
    if statement is None:
        if check is not None:
            return None
        qs = attention.queryset(unit_path=args.unit_path, mentor_id=args.mentor_id,
                                after=args.after, scope=scope)
        return _people([(*row, token) for row in qs.values_list(*COLUMNS, *flag_names())
                        [:args.limit]], 0)
    statement = _Statement(token=token, sql=statement.sql, slots=statement.slots)
    with _lock:
        _kept[key] = statement
        _kept.move_to_end(key)
        while len(_kept) > _MAX:
            _kept.popitem(last=False)
    rows = _run(statement.sql, _params(statement, attention.now, args))
    if check is not None and (not rows or not check.holds(rows[0][-extra:])):
        return None
    return _people(rows, extra)


def _people(rows: list[tuple[Any, ...]], extra: int
            ) -> list[tuple[AttentionPerson, tuple[bool, ...]]]:
    width = len(COLUMNS)
    end = width + len(flag_names())
    native = connection.features.has_native_uuid_field
    return [(AttentionPerson(row[0] if native else uuid.UUID(str(row[0])), row[1], row[2],
                             row[3]),
             tuple(bool(v) for v in row[width:end])) for row in rows]
