"""Conditions on a JSON list under one key of a JSON column (multiple-choice custom fields),
for PostgreSQL (`?|`, `?&` on jsonb) and SQLite (`json_each`). TRUE or FALSE, never NULL; a
value that is not a list counts as empty on both."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, F, Func, Q


class JsonListTest(Func):
    """`mode`: "any" (holds one of `values`), "all" (holds each of them), "nonempty"."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, key: str, values: list[str], mode: str) -> None:
        super().__init__(F(column))
        self.key = key
        self.values = list(values)
        self.mode = mode

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, params = compiler.compile(self.source_expressions[0])
        item = f"({column} -> %s)"
        is_list = f"jsonb_typeof{item} = 'array'"
        args: list[Any] = [*params, self.key]
        if self.mode == "nonempty":
            sql = f"{is_list} AND jsonb_array_length({column} -> %s) > 0"
            args += [*params, self.key]
        else:
            operator = "?|" if self.mode == "any" else "?&"
            sql = f"{is_list} AND {item} {operator} %s::text[]"
            args += [*params, self.key, self.values]
        return f"COALESCE(({sql}), false)", args

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, params = compiler.compile(self.source_expressions[0])
        path = '$."' + self.key + '"'
        is_list = f"json_type({column}, %s) = 'array'"
        args: list[Any] = [*params, path]
        if self.mode == "nonempty":
            sql = f"{is_list} AND json_array_length({column}, %s) > 0"
            args += [*params, path]
        else:
            tests = []
            groups = [self.values] if self.mode == "any" else [[v] for v in self.values]
            for group in groups:
                marks = ", ".join(["%s"] * len(group))
                tests.append(f"EXISTS (SELECT 1 FROM json_each({column}, %s) AS j "
                             f"WHERE j.value IN ({marks}))")
                args += [*params, path, *group]
            sql = f"{is_list} AND " + " AND ".join(tests)
        return f"COALESCE(({sql}), 0)", args

    def as_sql(self, compiler: Any, connection: Any, function: Any = None, template: Any = None,
               arg_joiner: Any = None, **extra_context: Any) -> Any:
        raise NotImplementedError(f"JSON list conditions are not written for {connection.vendor}")


def json_list_q(column: str, key: str, values: list[str], mode: str) -> Q:
    return Q(JsonListTest(column, key, values, mode))


def json_list_python(raw: Any, values: list[str], mode: str) -> bool:
    if not isinstance(raw, list) or not raw:
        return False
    if mode == "nonempty":
        return True
    held = set(raw)
    return bool(held & set(values)) if mode == "any" else set(values) <= held
