"""Fast bulk writes for imports: plain SQL instead of the ORM's per-row statement building.

PostgreSQL: the rows go through `COPY … FROM STDIN` (psycopg 3) into a temporary staging
table, then one `INSERT … SELECT` (or `UPDATE … FROM`) moves them into the real table. COPY
cannot write into a table with row-level security, but the `INSERT … SELECT` can and is
checked by the policies like any insert. SQLite: one prepared statement run with
`executemany`.

These functions write what they are given, nothing more: no signals, no `auto_now`, no
validation. Callers set `created_at`/`updated_at` and have checked the rows already. Run inside
the caller's transaction and tenant scope.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, Model

_stage_numbers = itertools.count(1)

Prep = Callable[[Any], Any]


def _prep(field: Field[Any, Any]) -> Prep | None:
    """How to turn an attribute value into a database value (None: as it is)."""
    internal = field.get_internal_type()
    target = field
    if internal in ("ForeignKey", "OneToOneField"):
        target = field.target_field  # type: ignore[attr-defined]
        internal = target.get_internal_type()
    if internal in ("CharField", "TextField", "BooleanField", "IntegerField", "BigIntegerField",
                    "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField",
                    "PositiveBigIntegerField", "SlugField", "URLField", "EmailField",
                    "BigAutoField", "AutoField"):
        return None
    if connection.vendor == "postgresql" and internal in ("UUIDField", "DateTimeField",
                                                          "DateField"):
        # psycopg writes UUIDs (or their text), aware datetimes and dates as they are.
        return None
    if internal == "UUIDField":
        return lambda v: (v.hex if isinstance(v, uuid.UUID) else uuid.UUID(str(v)).hex
                          ) if v is not None else None
    if internal == "JSONField":
        return _json_cell
    # Dates and times: a batch mostly repeats one value ("now"), so remember the conversions.
    return functools.lru_cache(maxsize=4096)(
        lambda v: target.get_db_prep_save(v, connection))


class RawJSON(str):
    """A JSON document already serialized: written as it is (a value repeated in every row of
    a batch is serialized once)."""


def _json_cell(value: Any) -> str | None:
    if value is None or isinstance(value, RawJSON):
        return value
    if value == {}:
        return "{}"
    return json.dumps(value)


def _columns(model: type[Model], names: Sequence[str] | None
             ) -> tuple[list[str], list[str], list[Prep | None]]:
    fields = [f for f in model._meta.concrete_fields
              if names is None or f.name in names or f.attname in names]
    return ([f.attname for f in fields], [str(f.column) for f in fields],
            [_prep(f) for f in fields])


def _rows(objs: Sequence[Any], attnames: list[str], preps: list[Prep | None]
          ) -> list[tuple[Any, ...]]:
    converted = [(i, prep) for i, prep in enumerate(preps) if prep is not None]
    if objs and isinstance(objs[0], Row):
        pick = operator.itemgetter(*attnames)
        values = [pick(obj) for obj in objs]
        if len(attnames) == 1:
            values = [(v,) for v in values]
    else:
        values = [tuple(getattr(obj, name) for name in attnames) for obj in objs]
    if not converted:
        return values
    rows = []
    for row in values:
        cells = list(row)
        for i, prep in converted:
            cells[i] = prep(cells[i])
        rows.append(tuple(cells))
    return rows


class Row(dict[str, Any]):
    """A row to insert without building a model instance: attribute names → values."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name == "pk":
                return self["id"]
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


_templates: dict[type[Model], tuple[dict[str, Any], list[tuple[str, Callable[[], Any]]]]] = {}


def new_row(model: type[Model], **values: Any) -> Row:
    """A `Row` of `model` holding its fields' defaults, then `values` (by attribute name:
    `contact_id`, not `contact`). Much cheaper than `model(...)` for rows only inserted."""
    if model not in _templates:
        fixed: dict[str, Any] = {}
        calls: list[tuple[str, Callable[[], Any]]] = []
        for field in model._meta.concrete_fields:
            if field.has_default() and callable(field.default):
                calls.append((field.attname, field.default))
            else:
                fixed[field.attname] = field.get_default()
        _templates[model] = (fixed, calls)
    fixed, calls = _templates[model]
    row = Row(fixed)
    for name, make in calls:
        if name not in values:
            row[name] = make()
    row.update(values)
    return row


def _stage(cursor: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """COPY `rows` into a new temporary table shaped like `columns` of `table`; its name."""
    stage = f"tend_stage_{next(_stage_numbers)}"
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    cursor.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS "
                   f"SELECT {quoted} FROM {connection.ops.quote_name(table)} WITH NO DATA")
    with cursor.cursor.copy(f"COPY {stage} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return stage


def _split_constant(rows: list[tuple[Any, ...]]) -> tuple[list[int], list[int]]:
    """Which columns vary across `rows` and which hold one value in every row (the defaults a
    batch never sets, its tenant, its "now"): constants travel once as parameters instead of
    once per row through COPY, which costs per value."""
    if len(rows) < 2:
        return list(range(len(rows[0]))), []
    varying: list[int] = []
    constant: list[int] = []
    for index, column in enumerate(zip(*rows, strict=True)):
        same = column.count(column[0]) == len(column)
        (constant if same else varying).append(index)
    if not varying:  # a staging table needs a column
        varying.append(constant.pop(0))
    return varying, constant


def bulk_insert(model: type[Model], objs: Sequence[Model] | Sequence[Row], *,
                ignore_conflicts: bool = False) -> None:
    """Insert `objs` (every concrete column, as set on the objects)."""
    if not objs:
        return
    attnames, columns, preps = _columns(model, None)
    rows = _rows(objs, attnames, preps)
    table = model._meta.db_table
    q = connection.ops.quote_name
    quoted = ", ".join(q(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            varying, constant = _split_constant(rows)
            staged_columns = [columns[i] for i in varying]
            staged = ([tuple(row[i] for i in varying) for row in rows] if constant else rows)
            stage = _stage(cursor, table, staged_columns, staged)
            types = _db_types(model)
            picks = {i: f"s.{q(columns[i])}" for i in varying}
            picks.update({i: f"CAST(%s AS {types[columns[i]]})" for i in constant})
            select = ", ".join(picks[i] for i in range(len(columns)))
            conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
            cursor.execute(f"INSERT INTO {q(table)} ({quoted}) "
                           f"SELECT {select} FROM {stage} AS s{conflict}",
                           [rows[0][i] for i in sorted(constant)])
            cursor.execute(f"DROP TABLE {stage}")
        else:
            verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"{verb} INTO {q(table)} ({quoted}) VALUES ({marks})", rows)


@functools.cache
def _db_types(model: type[Model]) -> dict[str, str]:
    """Column name → its SQL type (for casting constant parameters)."""
    return {str(f.column): str(f.db_type(connection)) for f in model._meta.concrete_fields}


def bulk_update(model: type[Model], objs: Sequence[Model] | Sequence[Row],
                fields: Sequence[str]) -> None:
    """Write `fields` of `objs` (matched by primary key)."""
    if not objs or not fields:
        return
    pk = model._meta.pk
    assert pk is not None
    attnames, columns, preps = _columns(model, [f for f in fields if f != pk.name])
    pk_prep = _prep(pk)
    table = connection.ops.quote_name(model._meta.db_table)
    q = connection.ops.quote_name
    pk_column = str(pk.column)
    keys = [getattr(o, "pk") for o in objs]  # noqa: B009 - Rows answer `pk` too
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            rows = [(pk_prep(k) if pk_prep else k, *row)
                    for k, row in zip(keys, _rows(objs, attnames, preps), strict=True)]
            stage = _stage(cursor, model._meta.db_table, [pk_column, *columns], rows)
            sets = ", ".join(f"{q(c)} = s.{q(c)}" for c in columns)
            cursor.execute(f"UPDATE {table} AS t SET {sets} FROM {stage} AS s "
                           f"WHERE t.{q(pk_column)} = s.{q(pk_column)}")
            cursor.execute(f"DROP TABLE {stage}")
        else:
            rows = [(*row, pk_prep(k) if pk_prep else k)
                    for k, row in zip(keys, _rows(objs, attnames, preps), strict=True)]
            sets = ", ".join(f"{q(c)} = %s" for c in columns)
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE {q(pk_column)} = %s", rows)
