"""The marketing module's use of the rule language (`tend.rules`): cleaning a segment's rule
and reading what it depends on. Imported lazily so the rules app stays a runtime dependency
only of the functions that need it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tend.core.models import Tenant


def clean_rule(*, tenant: Tenant, rule: Any) -> dict[str, Any]:
    """The normalized rule; raises ValidationFailed keyed by the rule path (`rule.<path>`)."""
    from tend.core.errors import ValidationFailed
    from tend.rules import rule_clean

    try:
        return dict(rule_clean(tenant=tenant, rule=rule))
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, fields={
            f"rule.{path}" if path else "rule": messages
            for path, messages in exc.fields.items()}) from None


def rule_meta(*, tenant: Tenant, rule: dict[str, Any]) -> tuple[list[str], list[str], bool]:
    """(dependencies, referenced segment ids, time-relative) of a clean rule."""
    from tend.rules import rule_dependencies, rule_segment_refs

    deps = set(rule_dependencies(tenant=tenant, rule=rule))
    refs = sorted(rule_segment_refs(rule))
    return sorted(deps), refs, "time" in deps


def matching_contacts(*, tenant: Tenant, rule: dict[str, Any]) -> QuerySet[Any]:
    """The live contacts the rule matches: one SQL query, usable as a subquery."""
    from tend.rules import rule_contacts

    return rule_contacts(tenant=tenant, rule=rule)
