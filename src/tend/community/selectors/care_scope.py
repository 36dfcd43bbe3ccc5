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

from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from tend.community.models import Unit, UnitMembership, UnitRole
from tend.community.selectors.care_units import current_q
from tend.people.models import IdentityAlias


def unit_scope(*, tenant: Any, actor: Any) -> Q | None:
    user = getattr(actor, "user", None)
    if user is None or getattr(actor, "is_system", False):
        return None
    own = IdentityAlias.objects.filter(tenant=tenant, type="AUTH_USER",
                                       value=str(user.pk)).values("contact_id")
    rows = list(UnitMembership.objects.filter(
        current_q(), tenant=tenant, scope_staff=True,
        role__in=[UnitRole.SECRETARY, UnitRole.LEADER], contact_id__in=own)
        .values_list("contact_id", "unit__path"))
    if not rows:
        return None
    inside = Q()
    paths = sorted({path for _contact_id, path in rows})
    for path in paths:
        inside |= Q(path__startswith=path)
    # The actor's own contact passes too: their scoping membership is a current membership
    # of a unit inside the scope. One EXISTS whose units are a subquery on the scoping
    # units' paths (literal prefixes, so PostgreSQL estimates the subtree from the path's
    # statistics and plans it as a semi-join) — no query for the units' ids first.
    units = Unit.objects.filter(inside, tenant=tenant).values("pk")
    today = timezone.localdate()
    member = UnitMembership.objects.filter(Q(until__isnull=True) | Q(until__gt=today),
                                           tenant=tenant, unit_id__in=units,
                                           contact=OuterRef("pk"))
    scope = Q(Exists(member))
    # What the limit depends on, for callers that keep statements built with it (the
    # attention page): the same key is the same SQL.
    scope.scope_key = (  # type: ignore[attr-defined]
        "community.unit_scope", str(tenant.pk), tuple(paths), today.isoformat())
    return scope


def register() -> None:
    from tend.people.visibility import register_contact_scope

    register_contact_scope(unit_scope)
