"""Unit-scoped staff: a staff member whose own contact is a SECRETARY or LEADER of a unit with
`scope_staff` set sees only the people of that unit's subtree (and themselves) — in the
contact lists, on contact pages and through the API (registered with
`people.visibility.register_contact_scope`). Staff without such a membership are not limited.

Finding the actor's scoping units is one small indexed query; staff without any get no limit
at all (None), so the lists of other apps that apply the hook (segment members, the inbox,
campaign recipients) keep their plain queries for them. For scoped staff the limit is one SQL
condition: "the contact is a current member of one of those units" (which holds for the
actor's own contact).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from tend.community.models import Unit, UnitMembership, UnitRole
from tend.core.zones import tenant_today
from tend.people.models import IdentityAlias


def _scoping(tenant: Any, user_id: Any, today: date) -> QuerySet[UnitMembership]:
    """The user's current SECRETARY or LEADER memberships with `scope_staff` (through the
    contact their account is linked to)."""
    own = IdentityAlias.objects.filter(tenant=tenant, type="AUTH_USER",
                                       value=str(user_id)).values("contact_id")
    return UnitMembership.objects.filter(
        Q(until__isnull=True) | Q(until__gt=today), tenant=tenant, scope_staff=True,
        role__in=[UnitRole.SECRETARY, UnitRole.LEADER], contact_id__in=own)


def _scope_of(tenant: Any, paths: tuple[str, ...], today: date) -> Q | None:
    if not paths:
        return None
    inside = Q()
    for path in paths:
        inside |= Q(path__startswith=path)
    # The actor's own contact passes too: their scoping membership is a current membership
    # of a unit inside the scope. One EXISTS whose units are a subquery on the scoping
    # units' paths (literal prefixes, so PostgreSQL estimates the subtree from the path's
    # statistics and plans it as a semi-join) — no query for the units' ids first.
    units = Unit.objects.filter(inside, tenant=tenant).values("pk")
    member = UnitMembership.objects.filter(Q(until__isnull=True) | Q(until__gt=today),
                                           tenant=tenant, unit_id__in=units,
                                           contact=OuterRef("pk"))
    scope = Q(Exists(member))
    # What the limit depends on, for callers that keep statements built with it (the
    # attention page): the same key is the same SQL.
    scope.scope_key = (  # type: ignore[attr-defined]
        "community.unit_scope", str(tenant.pk), paths, today.isoformat())
    return scope


def unit_scope(*, tenant: Any, actor: Any) -> Q | None:
    user = getattr(actor, "user", None)
    if user is None or getattr(actor, "is_system", False):
        return None
    today = tenant_today(tenant)
    paths = tuple(sorted(set(_scoping(tenant, user.pk, today)
                             .values_list("unit__path", flat=True))))
    _remember((str(tenant.pk), str(user.pk)), paths)
    return _scope_of(tenant, paths, today)


# The scoping paths last seen for each (organization, user) in this process, so a statement
# built for them can run at once and check them in its own round trip (`remembered_scope`).
_seen: OrderedDict[tuple[str, str], tuple[str, ...]] = OrderedDict()
_SEEN_MAX = 1024
_lock = threading.Lock()


def _remember(key: tuple[str, str], paths: tuple[str, ...]) -> None:
    with _lock:
        _seen[key] = paths
        _seen.move_to_end(key)
        while len(_seen) > _SEEN_MAX:
            _seen.popitem(last=False)


@dataclass(frozen=True)
class RememberedScope:
    """The unit limit of an actor as last seen (`q()`, None for no limit), and what tells
    whether it still holds: a statement that uses `q()` also selects `checks(user_value)`
    (two subqueries on the actor's scoping memberships, the user's id a parameter), and the
    limit held at that statement when `holds(their values)`. Building the limit and the
    checks is left to the caller that compiles a statement (none when it keeps one)."""

    tenant: Any
    paths: tuple[str, ...]
    today: date
    user_value: str

    @property
    def key(self) -> Any:
        return ("remembered", self.paths, self.today.isoformat())

    def q(self) -> Q | None:
        return _scope_of(self.tenant, self.paths, self.today)

    def checks(self, user_value: str) -> dict[str, Any]:
        return remembered_scope_checks(tenant=self.tenant, paths=self.paths,
                                       user_value=user_value, today=self.today)

    def holds(self, values: Sequence[Any]) -> bool:
        scoping, outside = values
        return int(scoping or 0) == len(self.paths) and int(outside or 0) == 0


def remembered_scope_checks(*, tenant: Any, paths: tuple[str, ...], user_value: str,
                            today: date) -> dict[str, Any]:
    """How many distinct scoping units the user has now, and how many of their scoping
    memberships are outside `paths` (subqueries, for a select list)."""
    scoping = _scoping(tenant, user_value, today)
    count = (scoping.order_by().values("tenant_id")
             .annotate(n=Count("unit__path", distinct=True)).values("n"))
    outside = scoping.exclude(unit__path__in=paths) if paths else scoping
    outside_count = (outside.order_by().values("tenant_id").annotate(n=Count("pk"))
                     .values("n"))
    return {"scope_scoping": Subquery(count), "scope_outside": Subquery(outside_count)}


def remembered_scope(*, tenant: Any, actor: Any) -> RememberedScope | None:
    """The actor's unit limit from memory (no query), when it is the only limit on contacts
    and `unit_scope` saw this actor before in this process; else None."""
    from tend.people.visibility import registered_contact_scopes

    user = getattr(actor, "user", None)
    if (user is None or getattr(actor, "is_system", False)
            or registered_contact_scopes() != (unit_scope,)):
        return None
    paths = _seen.get((str(tenant.pk), str(user.pk)))
    if paths is None:
        return None
    return RememberedScope(tenant=tenant, paths=paths, today=tenant_today(tenant),
                           user_value=str(user.pk))


def register() -> None:
    from tend.people.visibility import register_contact_scope

    register_contact_scope(unit_scope)
