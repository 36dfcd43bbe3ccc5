"""The one rule language of Tend: JSON rules over contacts, checked against a registry of
fields that modules contribute, compiled to one SQL query for sets and evaluated in Python
for one contact. See docs/rules.md.

The public names are importable from here; they load on first use, so importing
`tend.rules` while apps load pulls in no models.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tend.rules.registry import FieldType, RuleField, register_fields, scalar_field
    from tend.rules.services import (
        ContactMatcher,
        rule_clean,
        rule_conditions_many,
        rule_contacts,
        rule_contacts_many,
        rule_dependencies,
        rule_matcher,
        rule_matches,
        rule_matches_many,
        rule_population,
        rule_segment_refs,
        rule_validate,
    )
    from tend.rules.validation import RuleProblem

_EXPORTS: dict[str, str] = {
    "RuleProblem": "tend.rules.validation",
    "RuleField": "tend.rules.registry",
    "FieldType": "tend.rules.registry",
    "register_fields": "tend.rules.registry",
    "scalar_field": "tend.rules.registry",
    "rule_validate": "tend.rules.services",
    "rule_clean": "tend.rules.services",
    "rule_contacts": "tend.rules.services",
    "rule_contacts_many": "tend.rules.services",
    "rule_conditions_many": "tend.rules.services",
    "rule_population": "tend.rules.services",
    "rule_matcher": "tend.rules.services",
    "rule_matches_many": "tend.rules.services",
    "ContactMatcher": "tend.rules.services",
    "rule_matches": "tend.rules.services",
    "rule_dependencies": "tend.rules.services",
    "rule_segment_refs": "tend.rules.services",
}

__all__ = [
    "ContactMatcher",
    "FieldType",
    "RuleField",
    "RuleProblem",
    "register_fields",
    "rule_clean",
    "rule_conditions_many",
    "rule_contacts",
    "rule_contacts_many",
    "rule_dependencies",
    "rule_matcher",
    "rule_matches",
    "rule_matches_many",
    "rule_population",
    "rule_segment_refs",
    "rule_validate",
    "scalar_field",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tend.rules' has no attribute {name!r}")
