"""The segment-membership field of the rule language: "is (not) a member of <segment>".

SQL reads the materialized membership (an indexed EXISTS), Python reads the contact's
memberships once per evaluation; both see the same rows, so the two back ends agree. Refreshes
run referenced segments first (`dynamic_segments_in_order`), and segment services refuse
reference cycles.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.models import Tenant
from tend.marketing.models import Segment, SegmentMembership

FIELD_KEY = "segment"


def _check(operator: str, value: Any, ctx: Any) -> str:
    try:
        segment_id = str(UUID(str(value)))
    except (TypeError, ValueError):
        raise ValueError(_("Choose a segment.")) from None
    if not Segment.objects.filter(tenant=ctx.tenant, pk=segment_id).exists():
        raise ValueError(_("Choose a segment of this organization."))
    return segment_id


def _to_q(operator: str, value: Any, ctx: Any) -> Q:
    member = Q(Exists(SegmentMembership.objects.filter(
        tenant=ctx.tenant, segment_id=value, contact_id=OuterRef("pk"))))
    return member if operator == "equals" else ~member


def member_segments(facts: Any) -> set[str]:
    """The ids of the segments the facts' contact is in, loaded once per evaluation. The set
    is the one evaluations read: re-evaluating a contact updates it as memberships change, so
    a segment-in-segment rule evaluated next sees the change."""
    def load() -> set[str]:
        return {str(pk) for pk in SegmentMembership.objects.filter(
            tenant=facts.ctx.tenant, contact_id=facts.contact.pk).values_list("segment_id",
                                                                              flat=True)}

    found: set[str] = facts.get("marketing.segments", load)
    return found


def _to_python(facts: Any, operator: str, value: Any, ctx: Any) -> bool:
    member = value in member_segments(facts)
    return member if operator == "equals" else not member


def segment_fields(tenant: Tenant) -> Iterable[Any]:
    from tend.rules.registry import FieldType, LazyChoices, RuleField

    # Read on use only: the registry is built without a query, and a kept registry still
    # lists a segment created a moment ago (in any process).
    choices = LazyChoices(lambda: [(str(pk), name) for pk, name in Segment.objects.filter(
        tenant=tenant).order_by("name").values_list("pk", "name")])
    yield RuleField(
        key=FIELD_KEY, label=gettext_lazy("Segment"), type=FieldType.SEGMENT,
        group="segments", group_label=gettext_lazy("Segments"), to_q=_to_q,
        to_python=_to_python, depends=lambda operator, value: [f"segment:{value}"],
        choices=choices, check_value=_check)  # type: ignore[arg-type]


def register() -> None:
    from tend.rules.registry import register_fields

    register_fields(segment_fields)
