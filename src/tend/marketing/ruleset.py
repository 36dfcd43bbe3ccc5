"""The marketing module's use of the rule language (`tend.rules`): cleaning a segment's rule,
reading what it depends on, and evaluating stored rules (SQL for refreshes, Python for one
contact). Imported lazily so the rules app stays a runtime dependency only of the functions
that need it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
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


def stored_rules_contacts(*, tenant: Tenant, rules: Mapping[Any, dict[str, Any]],
                          now: datetime | None = None) -> dict[Any, QuerySet[Any]]:
    """The live contacts each stored (clean) rule matches, compiled together: one read of the
    field registry, one `now`, no second lookup of the tags and segments the rules name."""
    from tend.rules import rule_contacts_many

    return rule_contacts_many(tenant=tenant, rules=rules, now=now, trusted=True)


class ContactEvaluator:
    """Many stored (clean) rules against one contact with the Python back end
    (`tend.rules.rule_matcher`): one field registry read and one set of facts, so the
    contact's tags, aliases, consents and activity times load at most once for all of them.
    Agrees with `matching_contacts` (the rule language checks both back ends against each
    other)."""

    def __init__(self, *, tenant: Tenant, contact_id: Any) -> None:
        from tend.rules import rule_matcher

        self.matcher = rule_matcher(tenant=tenant, contact=contact_id, trusted=True)

    def matches(self, rule: dict[str, Any]) -> bool:
        return self.matcher.matches(rule)

    def segments(self) -> set[str]:
        """The contact's current segment ids (the set evaluations read; update it in place)."""
        from tend.marketing.rules_fields import member_segments

        if self.matcher.facts is None:
            return set()
        return member_segments(self.matcher.facts)
