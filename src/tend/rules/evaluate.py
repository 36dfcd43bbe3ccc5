"""The Python back end: a normalized rule against one contact.

Fields read what they need through `Facts`, which loads each kind of fact (tags, aliases,
consents, activity times) at most once per evaluation. The result must equal the SQL back
end's for the same contact and the same `now` (a property test checks it on random rules and
random data).
"""

from __future__ import annotations

from typing import Any

from tend.rules.registry import Facts, RuleField


def evaluate_group(group: dict[str, Any], fields: dict[str, RuleField], facts: Facts) -> bool:
    """Same meaning as `compile.compile_group`: empty "and" is TRUE, empty "or" FALSE."""
    results = (
        evaluate_group(node, fields, facts) if "rules" in node
        else fields[node["field"]].to_python(facts, node["operator"], node.get("value"),
                                             facts.ctx)
        for node in group["rules"]
    )
    result = all(results) if group["combinator"] == "and" else any(results)
    return not result if group["not"] else result
