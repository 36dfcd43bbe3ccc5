"""Journeys and sequences: create, edit (steps are versioned), validate, activate, pause,
archive, enroll contacts and take them out. The engine that walks enrollments is in
`journeys_engine`; the triggers that enroll people are in `journeys_triggers`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.marketing.models_journeys import (
    EnrollmentStatus,
    Journey,
    JourneyEnrollment,
    JourneyKind,
    JourneyStatus,
    JourneyStep,
    StepType,
    TriggerType,
)
from tend.marketing.services.journeys_validation import (
    Problems,
    clean_steps,
    graph_problems,
    parse_duration,
)

# Enrolling this many or fewer at once advances them at once (a task after commit); more are
# left to the tick.
ADVANCE_NOW_MAX = 50
SEQUENCE_MAX_ITEMS = 20


def _journey_fields(tenant: Tenant, data: dict[str, Any], journey: Journey | None
                    ) -> dict[str, Any]:
    """The journey's own fields from `data` (an allowlist), checked."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "name" in data or journey is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = [_("Give the journey a name.")]
        elif len(name) > 200:
            errors["name"] = [_("At most 200 characters.")]
        elif Journey.objects.filter(tenant=tenant, name=name).exclude(
                pk=journey.pk if journey else UUID(int=0)).exists():
            errors["name"] = [_("Another journey has this name.")]
        out["name"] = name
    if "description" in data:
        out["description"] = str(data.get("description") or "")[:2000]
    if "kind" in data and journey is None:
        if data["kind"] not in JourneyKind.values:
            errors["kind"] = [_("Choose journey or sequence.")]
        out["kind"] = data["kind"]
    if "time_zone" in data:
        zone = str(data.get("time_zone") or "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = [_("Choose a time zone such as Asia/Dubai.")]
        out["time_zone"] = zone
    if "allow_reentry" in data:
        out["allow_reentry"] = bool(data["allow_reentry"])
    if "max_enrollments" in data:
        value = data["max_enrollments"]
        if value in (None, ""):
            out["max_enrollments"] = None
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors["max_enrollments"] = [_("Enter a whole number of at least 1, or nothing.")]
        else:
            out["max_enrollments"] = value
    if "trigger_type" in data or "trigger_config" in data:
        type_ = data.get("trigger_type", journey.trigger_type if journey else TriggerType.MANUAL)
        config = data.get("trigger_config")
        if config is None:
            config = journey.trigger_config if journey else {}
        out.update(_clean_trigger(tenant, type_, config, errors))
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _clean_trigger(tenant: Tenant, type_: Any, config: Any, errors: dict[str, list[str]]
                   ) -> dict[str, Any]:
    from tend.marketing.models import Segment

    if type_ not in TriggerType.values:
        errors["trigger_type"] = [_("Choose a trigger.")]
        return {}
    config = config if isinstance(config, dict) else {}
    out: dict[str, Any] = {"trigger_type": type_, "trigger_key": "", "trigger_config": {}}
    if type_ == TriggerType.ACTIVITY:
        activity = str(config.get("activity_type") or config.get("eventType") or "")
        activity = activity.strip().upper()
        if not activity or len(activity) > 100:
            errors["trigger_config.activity_type"] = [_("Give the activity type.")]
        cleaned: dict[str, Any] = {"activity_type": activity}
        conditions = config.get("conditions")
        if conditions:
            from tend.rules import rule_clean

            try:
                cleaned["conditions"] = rule_clean(tenant=tenant, rule=conditions)
            except ValidationFailed as exc:
                errors["trigger_config.conditions"] = [
                    f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items()]
        out.update(trigger_key=activity, trigger_config=cleaned)
    elif type_ in (TriggerType.SEGMENT_ENTERED, TriggerType.SEGMENT_LEFT):
        segment_id = str(config.get("segment_id") or "")
        try:
            segment = Segment.objects.filter(tenant=tenant, pk=UUID(segment_id)).first()
        except ValueError:
            segment = None
        if segment is None:
            errors["trigger_config.segment_id"] = [_("Choose a segment.")]
            segment_id = ""
        out.update(trigger_key=segment_id, trigger_config={"segment_id": segment_id})
    elif type_ == TriggerType.DATE:
        field = str(config.get("field") or "date_of_birth")
        import re

        if field != "date_of_birth" and not re.match(r"^custom\.[a-z0-9_]{1,64}$", field):
            errors["trigger_config.field"] = [_("Choose date_of_birth or custom.<key>.")]
        days = config.get("days_before", 0)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
            errors["trigger_config.days_before"] = [_("Enter 0 to 365 days.")]
            days = 0
        annual = bool(config.get("annual", field == "date_of_birth"))
        at = str(config.get("at") or "09:00")
        if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", at):
            errors["trigger_config.at"] = [_("Write the time as HH:MM.")]
        out.update(trigger_key=field, trigger_config={"field": field, "days_before": days,
                                                      "annual": annual, "at": at})
    return out


def journey_create(*, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> Journey:
    """A new DRAFT journey (or sequence) with its trigger and, when `data["steps"]` is given,
    its steps (their own settings are checked; the graph is checked at activation). Needs
    `journeys.add`."""
    check_perm(actor, "journeys.add")
    fields = _journey_fields(tenant, {"kind": JourneyKind.JOURNEY, **data}, None)
    steps = clean_steps(tenant=tenant, steps=data["steps"]) if data.get("steps") else [
        {"key": "trigger", "type": StepType.TRIGGER, "name": "", "config": {}, "next": "end",
         "yes": "", "no": ""},
        {"key": "end", "type": StepType.END, "name": "", "config": {}, "next": "", "yes": "",
         "no": ""}]
    with transaction.atomic():
        journey = Journey.objects.create(tenant=tenant, created_by=actor.acting_user,
                                         updated_by=actor.acting_user, **fields)
        _write_steps(tenant, journey, 1, steps)
        audit_record(tenant=tenant, actor=actor, action="journey.created",
                     entity_type="marketing.journey", entity_id=journey.pk,
                     changes={"name": journey.name})
    _index_changed()
    return journey


def journey_update(*, tenant: Tenant, actor: Actor, journey: Journey,
                   data: dict[str, Any]) -> Journey:
    """Change the journey's own fields (name, description, trigger, time zone, re-entry,
    limit). Needs `journeys.change`."""
    check_perm(actor, "journeys.change")
    _check(tenant, journey)
    if journey.status == JourneyStatus.ARCHIVED:
        raise Conflict(_("An archived journey cannot be changed."))
    fields = _journey_fields(tenant, data, journey)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(journey, name, value)
        journey.updated_by = actor.acting_user
        journey.save()
        audit_record(tenant=tenant, actor=actor, action="journey.updated",
                     entity_type="marketing.journey", entity_id=journey.pk,
                     changes={"fields": sorted(fields)})
    _index_changed()
    return journey


def _check(tenant: Tenant, journey: Journey) -> None:
    if journey.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"journey": [_("Choose a journey of this organization.")]})


def _write_steps(tenant: Tenant, journey: Journey, version: int,
                 steps: list[dict[str, Any]]) -> None:
    JourneyStep.objects.bulk_create([
        JourneyStep(tenant=tenant, journey=journey, version=version, key=s["key"], position=i,
                    type=s["type"], name=s["name"], config=s["config"], next_key=s["next"],
                    yes_key=s["yes"], no_key=s["no"])
        for i, s in enumerate(steps)])


def step_dicts(steps: Iterable[JourneyStep]) -> list[dict[str, Any]]:
    """Stored steps in the shape `clean_steps` returns (and the API shows)."""
    return [{"key": s.key, "type": s.type, "name": s.name, "config": s.config,
             "next": s.next_key, "yes": s.yes_key, "no": s.no_key} for s in steps]


def journey_steps(*, tenant: Tenant, journey: Journey, version: int | None = None
                  ) -> list[JourneyStep]:
    return list(JourneyStep.objects.filter(tenant=tenant, journey=journey,
                                           version=version or journey.version)
                .order_by("position"))


def journey_set_steps(*, tenant: Tenant, actor: Actor, journey: Journey,
                      steps: Any) -> Journey:
    """Replace the journey's steps. Needs `journeys.change`.

    Each step's own settings must be valid (`ValidationFailed` per step otherwise). While the
    journey runs (ACTIVE or PAUSED) the whole graph must also be valid. When enrollments
    exist on the current version, the steps become a new version that new enrollments use;
    running enrollments keep the version they started on."""
    check_perm(actor, "journeys.change")
    _check(tenant, journey)
    if journey.status == JourneyStatus.ARCHIVED:
        raise Conflict(_("An archived journey cannot be changed."))
    cleaned = clean_steps(tenant=tenant, steps=steps)
    if journey.status in (JourneyStatus.ACTIVE, JourneyStatus.PAUSED):
        problems = graph_problems(tenant=tenant, steps=cleaned)
        if problems:
            raise ValidationFailed(_("The journey runs: fix these before saving."),
                                   fields=_problem_fields(problems))
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(tenant=tenant, pk=journey.pk)
        used = JourneyEnrollment.objects.filter(tenant=tenant, journey=journey,
                                                version=journey.version).exists()
        if used:
            latest = JourneyStep.objects.filter(tenant=tenant, journey=journey).aggregate(
                v=Max("version"))["v"] or journey.version
            journey.version = latest + 1
            journey.save(update_fields=["version", "updated_at"])
        else:
            JourneyStep.objects.filter(tenant=tenant, journey=journey,
                                       version=journey.version).delete()
        _write_steps(tenant, journey, journey.version, cleaned)
        audit_record(tenant=tenant, actor=actor, action="journey.steps_changed",
                     entity_type="marketing.journey", entity_id=journey.pk,
                     changes={"version": journey.version, "steps": len(cleaned)})
    return journey


def _problem_fields(problems: Problems) -> dict[str, list[str]]:
    return {(key if key == "journey" else f"steps.{key}"): msgs for key, msgs in problems.items()}


def journey_problems(*, tenant: Tenant, journey: Journey) -> Problems:
    """What stops the journey's current steps from running, per step key ({} when none)."""
    steps = step_dicts(journey_steps(tenant=tenant, journey=journey))
    problems = graph_problems(tenant=tenant, steps=steps)
    if journey.trigger_type != TriggerType.MANUAL and not journey.trigger_key:
        problems.setdefault("journey", []).append(_("Finish setting up the trigger."))
    return problems


def journey_activate(*, tenant: Tenant, actor: Actor, journey: Journey) -> Journey:
    """Start (or resume) the journey: it enrolls from its trigger and advances enrollments.
    Refused with the problems per step (`fields={"steps.<key>": [...]}`) when the steps
    cannot run. Needs `journeys.change`."""
    check_perm(actor, "journeys.change")
    _check(tenant, journey)
    if journey.status == JourneyStatus.ARCHIVED:
        raise Conflict(_("An archived journey cannot be activated."))
    problems = journey_problems(tenant=tenant, journey=journey)
    if problems:
        raise ValidationFailed(_("The journey cannot start yet."),
                               fields=_problem_fields(problems))
    return _set_status(tenant, actor, journey, JourneyStatus.ACTIVE)


def journey_pause(*, tenant: Tenant, actor: Actor, journey: Journey) -> Journey:
    """Stop enrolling and advancing; enrollments stay where they are. Needs
    `journeys.change`."""
    check_perm(actor, "journeys.change")
    _check(tenant, journey)
    if journey.status != JourneyStatus.ACTIVE:
        raise Conflict(_("Only an active journey can be paused."))
    return _set_status(tenant, actor, journey, JourneyStatus.PAUSED)


def journey_archive(*, tenant: Tenant, actor: Actor, journey: Journey) -> Journey:
    """Retire the journey: its active enrollments exit. Needs `journeys.delete`."""
    check_perm(actor, "journeys.delete")
    _check(tenant, journey)
    now = timezone.now()
    with transaction.atomic():
        exited = JourneyEnrollment.objects.filter(
            tenant=tenant, journey=journey, status=EnrollmentStatus.ACTIVE).update(
            status=EnrollmentStatus.EXITED, exited_at=now, waiting_until=None,
            exit_reason=_("The journey was archived."))
        Journey.objects.filter(pk=journey.pk).update(total_exited=F("total_exited") + exited)
        journey.total_exited += exited
        return _set_status(tenant, actor, journey, JourneyStatus.ARCHIVED)


def _set_status(tenant: Tenant, actor: Actor, journey: Journey, status: str) -> Journey:
    now = timezone.now()
    with transaction.atomic():
        previous = journey.status
        journey.status = status
        if status == JourneyStatus.ACTIVE:
            journey.activated_at = now
        elif status == JourneyStatus.PAUSED:
            journey.paused_at = now
        journey.updated_by = actor.acting_user
        journey.save(update_fields=["status", "activated_at", "paused_at", "updated_by",
                                    "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="journey.status_changed",
                     entity_type="marketing.journey", entity_id=journey.pk,
                     changes={"from": previous, "to": status})
    _index_changed()
    return journey


def _index_changed() -> None:
    from tend.marketing.services.journeys_triggers import trigger_index_clear

    transaction.on_commit(trigger_index_clear)


# --- enrollment -------------------------------------------------------------------------------


def journey_enroll_many(*, tenant: Tenant, actor: Actor, journey: Journey,
                        contact_ids: Iterable[Any], entry_keys: dict[Any, str] | None = None,
                        trigger_data: dict[str, Any] | None = None,
                        now: datetime | None = None) -> list[JourneyEnrollment]:
    """Enroll live contacts of `tenant` in an ACTIVE journey; returns the new enrollments.

    Skipped (not an error): contacts that are not live or not this organization's, contacts
    already on the journey (any enrollment without `allow_reentry`, an active one with it),
    repeats of an `entry_keys` entry (a trigger firing twice), and those over
    `max_enrollments` active at once. Trigger code calls this with the system actor; staff
    need `journeys.send`. The first steps run right after commit for small enrollments, at
    the next tick for big ones."""
    from tend.people.models import Contact

    check_perm(actor, "journeys.send")
    _check(tenant, journey)
    now = now or timezone.now()
    ids = []
    for raw in contact_ids:
        try:
            ids.append(raw if isinstance(raw, UUID) else UUID(str(raw)))
        except ValueError:
            continue
    if not ids:
        return []
    entry_keys = entry_keys or {}
    with transaction.atomic():
        journey = Journey.objects.select_for_update().get(tenant=tenant, pk=journey.pk)
        if journey.status != JourneyStatus.ACTIVE:
            return []
        trigger = JourneyStep.objects.filter(tenant=tenant, journey=journey,
                                             version=journey.version,
                                             type=StepType.TRIGGER).first()
        if trigger is None:
            return []
        live = list(Contact.objects.filter(tenant=tenant, pk__in=ids, deleted_at__isnull=True,
                                           merged_at__isnull=True, erased_at__isnull=True)
                    .values_list("pk", flat=True))
        taken = JourneyEnrollment.objects.filter(tenant=tenant, journey=journey,
                                                 contact_id__in=live)
        if journey.allow_reentry:
            taken = taken.filter(status=EnrollmentStatus.ACTIVE)
        skip = set(taken.values_list("contact_id", flat=True))
        keys = [entry_keys[c] for c in live if entry_keys.get(c)]
        if keys:
            used = set(JourneyEnrollment.objects.filter(
                tenant=tenant, journey=journey, entry_key__in=keys).values_list("entry_key",
                                                                                flat=True))
            skip |= {c for c in live if entry_keys.get(c) in used}
        wanted = [c for c in dict.fromkeys(live) if c not in skip]
        if journey.max_enrollments is not None:
            active = JourneyEnrollment.objects.filter(
                tenant=tenant, journey=journey, status=EnrollmentStatus.ACTIVE).count()
            wanted = wanted[:max(0, journey.max_enrollments - active)]
        rows = [JourneyEnrollment(
            tenant=tenant, journey=journey, version=journey.version, contact_id=contact_id,
            current_step=trigger, status=EnrollmentStatus.ACTIVE, waiting_until=now,
            enrolled_at=now, entry_key=entry_keys.get(contact_id, "")[:200],
            trigger_data=trigger_data or {}, created_by=actor.acting_user)
            for contact_id in wanted]
        try:
            with transaction.atomic():
                JourneyEnrollment.objects.bulk_create(rows)
        except IntegrityError:
            # A concurrent trigger enrolled one of them first: enroll one by one.
            kept = []
            for row in rows:
                try:
                    with transaction.atomic():
                        row.save(force_insert=True)
                    kept.append(row)
                except IntegrityError:
                    continue
            rows = kept
        if rows:
            Journey.objects.filter(pk=journey.pk).update(
                total_enrolled=F("total_enrolled") + len(rows))
            if actor.kind != "system":
                audit_record(tenant=tenant, actor=actor, action="journey.enrolled",
                             entity_type="marketing.journey", entity_id=journey.pk,
                             changes={"contacts": len(rows)})
        if rows and len(rows) <= ADVANCE_NOW_MAX:
            from tend.core.background import enqueue_on_commit
            from tend.marketing.tasks_journeys import journey_advance_task

            enqueue_on_commit(journey_advance_task, tenant.pk, [str(r.pk) for r in rows])
    return rows


def journey_enroll(*, tenant: Tenant, actor: Actor, journey: Journey, contact: Any,
                   trigger_data: dict[str, Any] | None = None) -> JourneyEnrollment:
    """Enroll one contact by hand or through the API; `ValidationFailed` says why not."""
    if journey.status != JourneyStatus.ACTIVE:
        raise ValidationFailed(fields={"journey": [_("Activate the journey first.")]})
    rows = journey_enroll_many(tenant=tenant, actor=actor, journey=journey,
                               contact_ids=[contact.pk], trigger_data=trigger_data)
    if not rows:
        raise ValidationFailed(fields={"contact_id": [
            _("This contact cannot be enrolled: already on this journey, not a live contact, "
              "or the journey is full.")]})
    return rows[0]


def enrollment_exit(*, tenant: Tenant, actor: Actor, enrollment: JourneyEnrollment,
                    reason: str = "") -> JourneyEnrollment:
    """Take a contact out of a journey now. Needs `journeys.send`."""
    check_perm(actor, "journeys.send")
    if enrollment.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"enrollment": [_("Not found.")]})
    with transaction.atomic():
        locked = JourneyEnrollment.objects.select_for_update().get(tenant=tenant,
                                                                   pk=enrollment.pk)
        if locked.status != EnrollmentStatus.ACTIVE:
            raise Conflict(_("This enrollment has already ended."))
        locked.status = EnrollmentStatus.EXITED
        locked.exited_at = timezone.now()
        locked.waiting_until = None
        locked.exit_reason = (reason or _("Taken out by %(who)s.") % {"who": actor.label})[:200]
        locked.save(update_fields=["status", "exited_at", "waiting_until", "exit_reason",
                                   "updated_at"])
        Journey.objects.filter(pk=locked.journey_id).update(total_exited=F("total_exited") + 1)
        audit_record(tenant=tenant, actor=actor, action="journey.enrollment_exited",
                     entity_type="marketing.journeyenrollment", entity_id=locked.pk)
    return locked


# --- sequences --------------------------------------------------------------------------------


def sequence_steps(items: Any) -> list[dict[str, Any]]:
    """A sequence (“telegram after 24 h, SMS after 48 h, email after 72 h”) as the steps of a
    linear journey: `items` are `{"channel", "template", "after"}` with `after` counted from
    enrollment (a duration); each becomes a WAIT for the time since the previous message and a
    SEND."""
    errors: dict[str, list[str]] = {}
    if not isinstance(items, list) or not 1 <= len(items) <= SEQUENCE_MAX_ITEMS:
        raise ValidationFailed(fields={"items": [_("A sequence has 1 to 20 messages.")]})
    steps: list[dict[str, Any]] = [{"key": "trigger", "type": StepType.TRIGGER, "name": "",
                                    "config": {}, "next": "", "yes": "", "no": ""}]
    elapsed = 0.0
    for index, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        after = parse_duration(item.get("after") or 0) if item.get("after") else None
        seconds = after.total_seconds() if after else 0.0
        if item.get("after") and after is None:
            errors[f"items.{index}.after"] = [_("Write a duration such as “24 hours”.")]
        elif seconds < elapsed:
            errors[f"items.{index}.after"] = [_("Each message comes after the one before.")]
        n = index + 1
        if seconds > elapsed:
            steps[-1]["next"] = f"wait{n}"
            steps.append({"key": f"wait{n}", "type": StepType.WAIT, "name": "",
                          "config": {"duration": f"{int(seconds - elapsed)} seconds"},
                          "next": "", "yes": "", "no": ""})
            elapsed = seconds
        steps[-1]["next"] = f"send{n}"
        steps.append({"key": f"send{n}", "type": StepType.SEND, "name": "",
                      "config": {"channel": item.get("channel"),
                                 "templateId": item.get("template")},
                      "next": "", "yes": "", "no": ""})
    steps[-1]["next"] = "end"
    steps.append({"key": "end", "type": StepType.END, "name": "", "config": {}, "next": "",
                  "yes": "", "no": ""})
    if errors:
        raise ValidationFailed(fields=errors)
    return steps


def sequence_items(steps: Iterable[JourneyStep]) -> list[dict[str, Any]]:
    """The sequence editor's rows back from a linear journey's steps."""
    items: list[dict[str, Any]] = []
    elapsed = 0.0
    for step in steps:
        if step.type == StepType.WAIT:
            delta = parse_duration(step.config.get("duration"))
            elapsed += delta.total_seconds() if delta else 0
        elif step.type == StepType.SEND:
            hours = elapsed / 3600
            items.append({"channel": step.config.get("channel", ""),
                          "template": step.config.get("templateId", ""),
                          "after": f"{int(hours)} hours" if hours == int(hours)
                          else f"{int(elapsed)} seconds"})
    return items


def sequence_set(*, tenant: Tenant, actor: Actor, journey: Journey, items: Any) -> Journey:
    """Replace a sequence's messages (see `sequence_steps`). Needs `journeys.change`."""
    return journey_set_steps(tenant=tenant, actor=actor, journey=journey,
                             steps=sequence_steps(items))
