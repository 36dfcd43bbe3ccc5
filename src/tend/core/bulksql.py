"""Set-based statements for batches on PostgreSQL: one array per column, bound server-side.

A batch of rows becomes `unnest(CAST(%s AS <type>[]), …) AS u(c0, c1, …)` with one array
literal per column, built with plain string operations (ids, numbers and ISO times print as
they are; other text is quoted; a JSON column travels as one JSON document of its values).
`execute_bound` then runs the statement with server-side binding on Django's connection (in
its transaction), so each array is one parameter PostgreSQL parses once: the statement text
stays the same whatever the batch, and nothing is quoted into it. Django's client-side cursor
would quote every value of every array into the text (psycopg's array dumper cost a quarter of
an outbox worker's CPU), and a JSON document of the rows costs a parse per value read out of
it.

Used by the journey engine, the outbox's result writes and `activities_record_many`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection

# Field types whose values print without characters an array literal must quote (ids,
# numbers, ISO times).
PLAIN_TYPES = frozenset({
    "UUIDField", "ForeignKey", "OneToOneField", "IntegerField", "PositiveIntegerField",
    "PositiveSmallIntegerField", "BigIntegerField", "SmallIntegerField", "DateTimeField",
    "DateField"})


def json_default(value: Any) -> Any:
    """`json.dumps` default for the values a batch carries (times, UUIDs)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> str:
    if value is None:
        return "NULL"
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def _quoted(value: Any) -> str:
    if value is None:
        return "NULL"
    if not isinstance(value, str):
        value = str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def column_arrays(model_fields: Sequence[Any], rows: Sequence[Sequence[Any]], *,
                  alias: str = "u") -> tuple[str, list[str]]:
    """`rows` (one value per field of `model_fields`, in order) as
    `unnest(…) AS <alias>(c0, c1, …)` and its parameters, one per column."""
    arrays: list[str] = []
    casts = []
    for i, f in enumerate(model_fields):
        if f.get_internal_type() == "JSONField":
            arrays.append(json.dumps([row[i] for row in rows], default=json_default,
                                     separators=(",", ":")))
            casts.append("ARRAY(SELECT v FROM jsonb_array_elements(CAST(%s AS jsonb)) "
                         "WITH ORDINALITY AS j(v, n) ORDER BY n)")
            continue
        if f.get_internal_type() in PLAIN_TYPES:
            items = [v if type(v) is str else _plain(v) for v in (row[i] for row in rows)]
        else:
            items = [_quoted(row[i]) for row in rows]
        arrays.append("{" + ",".join(items) + "}")
        casts.append(f"CAST(%s AS {f.db_type(connection)}[])")
    names = ", ".join(f"c{i}" for i in range(len(model_fields)))
    return f"unnest({', '.join(casts)}) AS {alias}({names})", arrays


def execute_bound(sql: str, params: Sequence[Any], *, fetch: bool = False
                  ) -> tuple[int, list[tuple[Any, ...]]]:
    """Run `sql` with server-side binding on Django's PostgreSQL connection, in its
    transaction; returns the rows affected and, with `fetch`, the rows it returned."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall() if fetch else []
        return max(cursor.rowcount, 0), rows
