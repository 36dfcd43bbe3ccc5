"""Creating, changing and deleting segments.

Dynamic segments get their rule cleaned by the rule language (`tend.rules`), their
dependencies recorded for change tracking, and a first refresh right away; segment-in-segment
references may not form a cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.text import clean_text
from tend.marketing.choices import RefreshFrequency, RefreshTrigger, SegmentType
from tend.marketing.models import Segment
from tend.marketing.ruleset import clean_rule, rule_meta

EDITABLE = frozenset({"name", "description", "type", "rule", "is_active", "refresh_frequency"})
FREQUENCY_STEP = {
    RefreshFrequency.HOURLY: timedelta(hours=1),
    RefreshFrequency.DAILY: timedelta(days=1),
    RefreshFrequency.WEEKLY: timedelta(days=7),
}


def next_refresh(frequency: str, after: datetime) -> datetime | None:
    """When a segment refreshed at `after` is due again (None: only when asked)."""
    step = FREQUENCY_STEP.get(RefreshFrequency(frequency)) if frequency else None
    return after + step if step else None


def _clean(tenant: Tenant, data: Any, *, segment: Segment | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed(fields={"data": [_("Give the segment as an object.")]})
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - EDITABLE):
        errors[str(key)] = [_("This field cannot be set.")]
    if "name" in data or segment is None:
        name = clean_text(data.get("name"), "name", errors, required=True, limit=200,
                          collapse=True)
        if "name" not in errors and Segment.objects.filter(
                tenant=tenant, name__iexact=name).exclude(
                pk__in=[segment.pk] if segment else []).exists():
            errors["name"] = [_("Another segment has this name.")]
        out["name"] = name
    if "description" in data:
        out["description"] = clean_text(data["description"], "description", errors,
                                        limit=2000)
    if "type" in data or segment is None:
        kind = data.get("type") or SegmentType.STATIC
        if kind not in SegmentType.values:
            errors["type"] = [_("Choose static, dynamic or import.")]
        elif segment is not None and kind != segment.type:
            errors["type"] = [_("The type of a segment cannot change.")]
        out["type"] = kind
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = [_("Give true or false.")]
        out["is_active"] = bool(data["is_active"])
    if "refresh_frequency" in data:
        if data["refresh_frequency"] not in RefreshFrequency.values:
            errors["refresh_frequency"] = [_("Choose how often to refresh.")]
        out["refresh_frequency"] = data["refresh_frequency"]
    kind = out.get("type") or (segment.type if segment else SegmentType.STATIC)
    if kind == SegmentType.DYNAMIC and ("rule" in data or segment is None):
        try:
            out["rule"] = clean_rule(tenant=tenant, rule=data.get("rule") or {})
        except ValidationFailed as exc:
            errors.update(exc.fields)
    elif kind != SegmentType.DYNAMIC and data.get("rule"):
        errors["rule"] = [_("Only dynamic segments have rules.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _check_no_cycle(tenant: Tenant, segment_id: Any, refs: list[str]) -> None:
    """Refuse a rule whose segment references lead back to this segment (or name a segment
    of no one, or of another organization)."""
    graph = {str(pk): list(r or []) for pk, r in
             Segment.objects.filter(tenant=tenant).values_list("pk", "segment_refs")}
    own = str(segment_id) if segment_id else None
    unknown = [r for r in refs if r not in graph or r == own]
    if own in refs:
        raise ValidationFailed(fields={"rule": [_("A segment cannot contain itself.")]})
    if unknown:
        raise ValidationFailed(fields={"rule": [_("Choose segments of this organization.")]})
    if own is None:
        return
    stack, seen = list(refs), set()
    while stack:
        current = stack.pop()
        if current == own:
            raise ValidationFailed(fields={"rule": [
                _("These segments would contain each other; remove the loop.")]})
        if current in seen:
            continue
        seen.add(current)
        stack.extend(graph.get(current, []))


def _apply_rule(tenant: Tenant, segment: Segment, rule: dict[str, Any]) -> None:
    deps, refs, time_relative = rule_meta(tenant=tenant, rule=rule)
    _check_no_cycle(tenant, segment.pk if segment.pk and not segment._state.adding else None,
                    refs)
    segment.rule = rule
    segment.dependencies = deps
    segment.segment_refs = refs
    segment.is_time_relative = time_relative


def segment_create(*, tenant: Tenant, actor: Actor, data: dict[str, Any],
                   is_system: bool = False, system_key: str = "") -> Segment:
    """Create a segment. Needs `segments.add`.

    `data`: `name` (unique in the organization, case-insensitively), `description`, `type`
    (STATIC, DYNAMIC or IMPORT), `rule` (DYNAMIC only; cleaned by `tend.rules`),
    `is_active`, `refresh_frequency`. A dynamic segment is filled at once (its first refresh
    writes no entered activities: nobody *entered*, the segment began).
    """
    check_perm(actor, "segments.add")
    values = _clean(tenant, data, segment=None)
    rule = values.pop("rule", None)
    segment = Segment(tenant=tenant, is_system=is_system, system_key=system_key,
                      created_by=actor.acting_user, updated_by=actor.acting_user, **values)
    if segment.type == SegmentType.DYNAMIC:
        _apply_rule(tenant, segment, rule or {})
    else:
        segment.refresh_frequency = RefreshFrequency.MANUAL
    try:
        with transaction.atomic():
            segment.save()
            # System segments are part of the organization's creation, audited as such.
            if not is_system:
                audit_record(tenant=tenant, actor=actor, action="segment.created",
                             entity_type="segment", entity_id=segment.pk,
                             changes={"type": segment.type})
            if segment.is_dynamic and segment.is_active:
                from tend.marketing.services.membership import segment_refresh

                segment_refresh(tenant=tenant, actor=actor, segment=segment,
                                trigger=RefreshTrigger.CREATED)
    except IntegrityError:
        raise ValidationFailed(fields={"name": [_("Another segment has this name.")]}) from None
    return segment


def segment_update(*, tenant: Tenant, actor: Actor, segment: Segment,
                   data: dict[str, Any]) -> Segment:
    """Change a segment's fields. Needs `segments.change`. A system segment keeps its name
    and rules. Changing the rules (or switching the segment back on) refreshes it."""
    check_perm(actor, "segments.change")
    if segment.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"segment": [_("Choose a segment of this organization.")]})
    values = _clean(tenant, data, segment=segment)
    if segment.is_system and (("name" in values and values["name"] != segment.name)
                              or ("rule" in values and values["rule"] != segment.rule)):
        raise ValidationFailed(fields={"name": [_("A system segment keeps its name and rules.")]})
    rule = values.pop("rule", None)
    changed = sorted(k for k, v in values.items() if getattr(segment, k) != v)
    rule_changed = rule is not None and rule != segment.rule
    for key in changed:
        setattr(segment, key, values[key])
    if rule_changed:
        _apply_rule(tenant, segment, rule or {})
        changed.append("rule")
    if not changed:
        return segment
    if segment.is_dynamic and "refresh_frequency" in changed:
        segment.next_refresh_at = next_refresh(segment.refresh_frequency,
                                               segment.last_refreshed_at or timezone.now())
    segment.updated_by = actor.acting_user
    try:
        with transaction.atomic():
            segment.save()
            audit_record(tenant=tenant, actor=actor, action="segment.updated",
                         entity_type="segment", entity_id=segment.pk,
                         changes={"fields": changed})
            if segment.is_dynamic and segment.is_active and (
                    rule_changed or "is_active" in changed):
                from tend.marketing.services.membership import segment_refresh

                segment_refresh(tenant=tenant, actor=actor, segment=segment,
                                trigger=RefreshTrigger.RULE_CHANGED)
    except IntegrityError:
        raise ValidationFailed(fields={"name": [_("Another segment has this name.")]}) from None
    return segment


def segment_delete(*, tenant: Tenant, actor: Actor, segment: Segment) -> None:
    """Delete a segment and its memberships. Needs `segments.delete`. System segments and
    segments other segments' rules refer to cannot be deleted."""
    check_perm(actor, "segments.delete")
    if segment.is_system:
        raise Conflict(_("System segments cannot be deleted; switch them off instead."))
    users = [s.name for s in Segment.objects.filter(tenant=tenant)
             if str(segment.pk) in (s.segment_refs or [])]
    if users:
        raise Conflict(_("Other segments use this one: %(names)s.") % {
            "names": ", ".join(sorted(users))})
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="segment.deleted",
                     entity_type="segment", entity_id=segment.pk,
                     changes={"members": segment.member_count})
        segment.delete()
