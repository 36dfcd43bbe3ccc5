"""The SQL back end: a normalized rule becomes one `Q` on `Contact`.

Every condition a field builds is two-valued (TRUE or FALSE, never NULL), so the groups
combine with plain AND/OR/NOT and the result is one query the database plans as a whole:
subqueries (`EXISTS`, `IN`) for tags, consent, aliases and activity aggregates, no loop
over contacts.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tend.rules.registry import RuleContext, RuleField

# TRUE and FALSE as conditions (the primary key is never NULL).
ALWAYS = Q(pk__isnull=False)
NEVER = ~Q(pk__isnull=False)


def compile_group(group: dict[str, Any], fields: dict[str, RuleField], ctx: RuleContext) -> Q:
    """The condition of a normalized group: an empty "and" group is TRUE, an empty "or"
    group FALSE; `not` negates the group's result."""
    parts = []
    for node in group["rules"]:
        if "rules" in node:
            parts.append(compile_group(node, fields, ctx))
        else:
            field = fields[node["field"]]
            parts.append(field.to_q(node["operator"], node.get("value"), ctx))
    if not parts:
        q = ALWAYS if group["combinator"] == "and" else NEVER
    else:
        q = parts[0]
        for part in parts[1:]:
            q = (q & part) if group["combinator"] == "and" else (q | part)
    return ~q if group["not"] else q
