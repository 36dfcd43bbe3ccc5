"""Reads for the API and the rule builder: the field catalogue and a rule's count and sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tend.core.models import Tenant
from tend.rules import operators as op
from tend.rules.registry import fields_for
from tend.rules.services import rule_contacts

SAMPLE_SIZE = 10


def field_catalogue(*, tenant: Tenant) -> list[dict[str, Any]]:
    """The organization's rule fields grouped by module, each with its type, operators
    (key, label, whether it takes a value) and choices, in the reader's language."""
    groups: dict[str, dict[str, Any]] = {}
    for field in fields_for(tenant).values():
        group = groups.setdefault(field.group, {"key": field.group,
                                                "label": str(field.group_label), "fields": []})
        group["fields"].append({
            "key": field.key,
            "label": str(field.label),
            "type": field.type,
            "operators": [{"key": o, "label": op.operator_label(field.type, o),
                           "takes_value": op.needs_value(field.type, o)}
                          for o in field.allowed_operators()],
            "choices": [{"value": str(v), "label": str(label)} for v, label in field.choices],
        })
    return list(groups.values())


@dataclass(frozen=True)
class RuleCount:
    count: int
    sample: list[Any]


def rule_count(*, tenant: Tenant, rule: Any, sample_size: int = SAMPLE_SIZE) -> RuleCount:
    """How many live contacts match `rule`, and the first few by name (two queries).
    Raises `ValidationFailed` for an invalid rule."""
    members = rule_contacts(tenant=tenant, rule=rule)
    sample = list(members.order_by("display_name", "pk")[:sample_size])
    count = len(sample) if len(sample) < sample_size else members.order_by().count()
    return RuleCount(count=count, sample=sample)
