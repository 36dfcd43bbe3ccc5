"""Unit-scoped staff: a staff member whose own contact is a SECRETARY or LEADER of a unit with
`scope_staff` set sees only the people of that unit's subtree (and themselves) — in the
contact lists, on contact pages and through the API (registered with
`people.visibility.register_contact_scope`). Staff without such a membership are not limited.

The limit is one SQL condition (no query of its own): "the actor has no scoping membership,
or this is the actor's own contact, or the contact is a current member of a unit inside one
of the actor's scoping units". The first part does not depend on the row, so unlimited staff
pay one constant subquery.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Exists, ExpressionWrapper, F, OuterRef, Q

from tend.community.models import UnitMembership, UnitRole
from tend.community.selectors.care_units import current_q
from tend.people.models import IdentityAlias


def unit_scope(*, tenant: Any, actor: Any) -> Q | None:
    user = getattr(actor, "user", None)
    if user is None or getattr(actor, "is_system", False):
        return None
    own = IdentityAlias.objects.filter(tenant=tenant, type="AUTH_USER",
                                       value=str(user.pk)).values("contact_id")
    scoping = UnitMembership.objects.filter(
        current_q(), tenant=tenant, scope_staff=True,
        role__in=[UnitRole.SECRETARY, UnitRole.LEADER], contact_id__in=own)
    inside = scoping.annotate(member_path=ExpressionWrapper(
        OuterRef("unit__path"), output_field=CharField())).filter(
        member_path__startswith=F("unit__path"))
    member = UnitMembership.objects.filter(current_q(), tenant=tenant,
                                           contact=OuterRef("pk")).filter(Exists(inside))
    return ~Q(Exists(scoping)) | Q(pk__in=own) | Q(Exists(member))


def register() -> None:
    from tend.people.visibility import register_contact_scope

    register_contact_scope(unit_scope)
