"""Shared test helpers: a fixed instant, both back ends side by side, custom fields of every
type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tend.core.models import CustomFieldDefinition, Tenant
from tend.people.models import Contact
from tend.rules import rule_contacts, rule_matches

NOW = datetime(2025, 3, 15, 9, 30, tzinfo=UTC)

CUSTOM = (
    ("nickname", "text", []),
    ("handicap", "number", []),
    ("balance", "decimal", []),
    ("joined", "date", []),
    ("renewed_at", "datetime", []),
    ("vip", "boolean", []),
    ("tier", "choice", ["gold", "silver"]),
    ("sports", "multi_choice", ["golf", "tennis", "swim"]),
)


def make_custom_fields(tenant: Tenant) -> None:
    for position, (key, kind, choices) in enumerate(CUSTOM):
        CustomFieldDefinition.objects.create(
            tenant=tenant, entity_type="contact", key=key, label={"en": key.title()},
            field_type=kind, position=position,
            choices=[{"value": c, "label": {"en": c.title()}} for c in choices])


def sql_members(tenant: Tenant, rule: dict[str, Any], now: datetime = NOW) -> set[Any]:
    return set(rule_contacts(tenant=tenant, rule=rule, now=now).values_list("pk", flat=True))


def python_members(tenant: Tenant, rule: dict[str, Any], now: datetime = NOW) -> set[Any]:
    return {c.pk for c in Contact.objects.filter(tenant=tenant)
            if rule_matches(tenant=tenant, rule=rule, contact=c, now=now)}


def both(tenant: Tenant, rule: dict[str, Any], now: datetime = NOW) -> set[Any]:
    """The members by SQL, after checking Python agrees."""
    by_sql = sql_members(tenant, rule, now)
    assert python_members(tenant, rule, now) == by_sql
    return by_sql


def one(field: str, operator: str, value: Any = None) -> dict[str, Any]:
    leaf: dict[str, Any] = {"field": field, "operator": operator}
    if value is not None:
        leaf["value"] = value
    return {"combinator": "and", "rules": [leaf]}
