"""Row-level limits on which contacts a staff member may see (unit-scoped staff).

    register_contact_scope(func)

`func(*, tenant, actor)` returns a `Q` on `Contact` the actor's contacts must satisfy, or
None when it does not limit this actor. Every registered limit applies (they are ANDed).
`contact_list` filters by it (`visible_contacts`) and `access_contact` / `contact_get` answer
`NotFound` for contacts outside it when they are given the actor; the contact pages and the
contact API do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Q, QuerySet

ContactScope = Callable[..., Q | None]
_scopes: list[ContactScope] = []
_QS = TypeVar("_QS", bound=QuerySet[Any])


def register_contact_scope(func: ContactScope) -> None:
    """Add a limit (registering the same function twice has no effect)."""
    if func not in _scopes:
        _scopes.append(func)


def unregister_contact_scope(func: ContactScope) -> None:
    if func in _scopes:
        _scopes.remove(func)


def registered_contact_scopes() -> tuple[ContactScope, ...]:
    """The registered limits, in order (a caller that keeps work per limit checks which
    limits apply)."""
    return tuple(_scopes)


def contact_scope_q(*, tenant: Any, actor: Any) -> Q | None:
    """The condition the actor's visible contacts satisfy, or None for no limit."""
    if actor is None or not _scopes:
        return None
    combined: Q | None = None
    for func in _scopes:
        q = func(tenant=tenant, actor=actor)
        if q is not None:
            combined = q if combined is None else combined & q
    return combined


def visible_contacts(qs: _QS, *, tenant: Any, actor: Any) -> _QS:
    """`qs` (contacts) limited to those the actor may see; `qs` itself when nothing limits
    this actor."""
    scope = contact_scope_q(tenant=tenant, actor=actor)
    return qs if scope is None else qs.filter(scope)


def contact_scope_filter(*, tenant: Any, actor: Any, field: str = "contact") -> Q | None:
    """The same limit for rows of other models that point at a contact through `field`
    (a semi-join on the visible contacts), or None for no limit. Other apps' selectors use
    it for their lists of people (segment members, conversations, campaign recipients)."""
    scope = contact_scope_q(tenant=tenant, actor=actor)
    if scope is None:
        return None
    from tend.people.models import Contact

    return Q(**{f"{field}__in": Contact.objects.filter(tenant=tenant).filter(scope)
                .values("pk")})
