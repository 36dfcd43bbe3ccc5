"""Lists people can be put on (the contacts list's "Add to list", an import's list option):
a registry, so people does not reach into the module that keeps the lists (marketing's
static segments register here). Without a provider there are no lists to offer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tend.core.actors import Actor
from tend.core.errors import NotFound
from tend.core.models import Tenant


@dataclass(frozen=True)
class ListProvider:
    """`choices(tenant)` → [(id, name)] of the lists one may add people to;
    `add(tenant=, actor=, list_id=, contact_ids=, source=)` → (list name, how many were
    added), raising NotFound for an unknown list and PermissionDenied/ValidationFailed as
    its own service does."""

    choices: Callable[[Tenant], list[tuple[str, str]]]
    add: Callable[..., tuple[str, int]]
    permission: str


_provider: ListProvider | None = None


def register_list_provider(provider: ListProvider) -> None:
    global _provider
    _provider = provider


def list_choices(*, tenant: Tenant, actor: Actor | None = None) -> list[tuple[str, str]]:
    """The lists on offer (for `actor`, only when it may add people to them)."""
    if _provider is None or (actor is not None and not actor.has_perm(_provider.permission)):
        return []
    return _provider.choices(tenant)


def list_add(*, tenant: Tenant, actor: Actor, list_id: Any, contact_ids: Iterable[Any],
             source: str) -> tuple[str, int]:
    """Add contacts to a list; returns its name and how many were not on it before."""
    if _provider is None:
        raise NotFound()
    return _provider.add(tenant=tenant, actor=actor, list_id=list_id,
                         contact_ids=list(contact_ids), source=source)
