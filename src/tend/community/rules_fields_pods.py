"""What community's pods part offers the rule language: pod membership (in any pod, or in
given pods), current streak, and open commitments. Streak and open commitments are kept on
`PodsProfile` by the commitment services; membership is an `EXISTS` on active memberships."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from tend.community.models import Pod, PodMembership, PodMembershipStatus, PodsProfile
from tend.core.models import Tenant
from tend.rules import operators as op
from tend.rules.registry import (
    Facts,
    FieldType,
    LazyChoices,
    RuleContext,
    RuleField,
    register_fields,
    scalar_field,
)
from tend.rules.scalar import exists_q

GROUP = ("community", gettext_lazy("Community"))
NUMBER_OPERATORS = (op.EQ, op.NE, op.LT, op.LTE, op.GT, op.GTE, op.BETWEEN)
SET_OPERATORS = (op.HAS_ANY, op.HAS_ALL, op.HAS_NONE, op.EMPTY, op.NOT_EMPTY)


def _profile_value(name: str) -> Any:
    def getter(facts: Facts) -> Any:
        profile = facts.get("pods.profile", lambda: PodsProfile.objects.filter(
            tenant=facts.ctx.tenant, contact_id=facts.contact.pk).first())
        return getattr(profile, name) if profile is not None else 0

    return getter


def _memberships(ctx: RuleContext) -> Any:
    return PodMembership.objects.filter(tenant=ctx.tenant, status=PodMembershipStatus.ACTIVE)


def _pod_q(operator: str, value: Any, ctx: RuleContext) -> Q:
    links = _memberships(ctx).filter(contact=OuterRef("pk"))
    if operator in (op.EMPTY, op.NOT_EMPTY):
        q = exists_q(links)
        return q if operator == op.NOT_EMPTY else ~q
    if operator == op.HAS_ALL:
        q = Q()
        for item in value:
            q &= exists_q(links.filter(pod_id=item))
        return q
    q = exists_q(links.filter(pod_id__in=list(value)))
    return ~q if operator == op.HAS_NONE else q


def _pod_python(facts: Facts, operator: str, value: Any, ctx: RuleContext) -> bool:
    held = facts.get("pods.pods", lambda: {str(pk) for pk in _memberships(ctx).filter(
        contact_id=facts.contact.pk).values_list("pod_id", flat=True)})
    if operator in (op.EMPTY, op.NOT_EMPTY):
        return bool(held) == (operator == op.NOT_EMPTY)
    wanted = {str(v) for v in value}
    if operator == op.HAS_ALL:
        return wanted <= held
    anyof = bool(held & wanted)
    return not anyof if operator == op.HAS_NONE else anyof


def pods_fields(tenant: Tenant) -> Iterable[RuleField]:
    # Read on first use only: building the field registry must cost no query.
    pods = LazyChoices(lambda: [(str(pk), name) for pk, name in Pod.objects.filter(
        tenant=tenant).order_by("name").values_list("pk", "name")])
    yield RuleField(key="pods.pod", label=gettext_lazy("Pod membership"),
                    type=FieldType.MULTI_CHOICE, group=GROUP[0], group_label=GROUP[1],
                    to_q=_pod_q, to_python=_pod_python, depends=lambda o, v: ["pods"],
                    operators=SET_OPERATORS, choices=pods)  # type: ignore[arg-type]
    yield scalar_field(key="pods.currentStreak", label=gettext_lazy("Current streak (days)"),
                       type=FieldType.NUMBER, group=GROUP[0], group_label=GROUP[1],
                       expression=Coalesce(F("pods_profile__current_streak"), 0),
                       getter=_profile_value("current_streak"), depends=["pods"],
                       operators=NUMBER_OPERATORS)
    yield scalar_field(key="pods.activeCommitments", label=gettext_lazy("Open commitments"),
                       type=FieldType.NUMBER, group=GROUP[0], group_label=GROUP[1],
                       expression=Coalesce(F("pods_profile__active_commitments"), 0),
                       getter=_profile_value("active_commitments"), depends=["pods"],
                       operators=NUMBER_OPERATORS)


def register() -> None:
    register_fields(pods_fields)
