"""Who rules are about: the module that owns people registers the live contacts (the set
`rule_contacts` filters) and how to tell whether one contact belongs to it, so the rules app
needs no import of that module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tend.core.models import Tenant


@dataclass(frozen=True)
class Population:
    """`queryset(tenant)`: the live contacts (not merged, deleted or erased);
    `is_member(contact)`: the same test for one loaded contact."""

    queryset: Callable[[Tenant], QuerySet[Any]]
    is_member: Callable[[Any], bool]


_population: list[Population] = []


def register_population(population: Population) -> None:
    """Set the population rules select from (the people module does, once)."""
    _population[:] = [population]


def population() -> Population:
    if not _population:
        raise LookupError("no population registered for rules (is tend.people installed?)")
    return _population[0]
