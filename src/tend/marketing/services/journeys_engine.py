"""The journey engine: claim due enrollments and walk them to their next wait or their end.

One clock: an ACTIVE enrollment is due when `waiting_until` has passed. `run_due` (the tick,
any number of workers at once) claims a batch of due enrollments with
`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite: the single write lock of the
IMMEDIATE transaction) and advances each of them *inside that transaction*: every step's
effect (the outbox `Message` of a SEND, the tag of an UPDATE, the task of a CREATE_TASK), its
`JourneyEnrollmentStep` history row and the enrollment's new position commit together or not
at all. A worker killed mid-batch therefore leaves nothing behind; the next claim redoes the
batch from the same state, so no step's effect happens twice. The SEND's dedupe key
(`journey:<enrollment>:<step>`, plus the history sequence number for a SEND on a loop) is the
second belt: the outbox refuses a second message with the same key.

Each enrollment runs in its own savepoint: a step that raises marks that enrollment FAILED
(with the error as its exit reason) and the batch goes on.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tend.core.actors import Actor
from tend.core.errors import TendError
from tend.core.models import Tenant
from tend.core.tenancy import system_scope, tenant_scope
from tend.marketing.models_journeys import (
    EnrollmentStatus,
    Journey,
    JourneyEnrollment,
    JourneyEnrollmentStep,
    JourneyStatus,
    JourneyStep,
    StepResult,
    StepType,
)
from tend.marketing.services.journeys_validation import (
    DEFAULT_CHECK_EVERY,
    loop_keys,
    parse_duration,
)

logger = logging.getLogger(__name__)

BATCH = 200
# At most this many steps per enrollment per claim without a wait (validation forbids loops
# without a WAIT; this only bounds a journey edited into a strange shape).
MAX_STEPS_PER_RUN = 100


@dataclass
class Outcome:
    """What a step did: its history status and result, and where the enrollment goes."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    next_key: str = ""
    wait_until: datetime | None = None
    end: str = ""
    reason: str = ""


@dataclass
class RunStats:
    claimed: int = 0
    steps: int = 0
    completed: int = 0
    failed: int = 0
    batches: int = 0


@dataclass
class _Graph:
    steps: dict[str, JourneyStep]
    by_id: dict[Any, JourneyStep]
    loops: set[str]


class _Batch:
    """Caches shared by the enrollments of one claim in one organization, and the rows the
    claim writes at its end (outbox messages, history rows, enrollment positions)."""

    def __init__(self, tenant: Tenant, now: datetime) -> None:
        self.tenant = tenant
        self.now = now
        self.actor = Actor.system()
        self.graphs: dict[tuple[Any, int], _Graph] = {}
        self.templates: dict[tuple[str, str, str], Any] = {}
        self.accounts: dict[str, Any] = {}
        self.counters: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.messages: list[Any] = []
        self.history: list[JourneyEnrollmentStep] = []
        self.changed: list[JourneyEnrollment] = []
        self._matcher: Any = None

    def graph(self, journey_id: Any, version: int) -> _Graph:
        key = (journey_id, version)
        if key not in self.graphs:
            steps = list(JourneyStep.objects.filter(tenant=self.tenant, journey_id=journey_id,
                                                    version=version))
            by_key = {s.key: s for s in steps}
            loops = loop_keys([{"key": s.key, "type": s.type, "config": s.config,
                                "next": s.next_key, "yes": s.yes_key, "no": s.no_key}
                               for s in steps])
            self.graphs[key] = _Graph(by_key, {s.pk: s for s in steps}, loops)
        return self.graphs[key]

    def template(self, key: str, channel: str, contact: Any) -> Any:
        from tend.messaging.services.templates import template_resolve

        cache_key = (key, channel, (contact.language or "").lower())
        if cache_key not in self.templates:
            self.templates[cache_key] = template_resolve(tenant=self.tenant, key=key,
                                                         channel=channel, contact=contact)
        return self.templates[cache_key]

    def account(self, channel: str) -> Any:
        from tend.messaging.services.accounts import default_account

        if channel not in self.accounts:
            self.accounts[channel] = default_account(tenant=self.tenant, kind=channel)
        return self.accounts[channel]

    def matches(self, contact: Any, rule: dict[str, Any]) -> bool:
        """`rule_matches` for one contact, with the field registry read once per batch (a
        copy of one `ContactMatcher` per contact, each with its own facts)."""
        from tend.rules import rule_matcher
        from tend.rules.population import population
        from tend.rules.registry import Facts

        if self._matcher is None:
            self._matcher = rule_matcher(tenant=self.tenant, contact=None, now=self.now,
                                         trusted=True)
        matcher = copy.copy(self._matcher)
        matcher.contact = contact
        matcher.live = contact.tenant_id == self.tenant.pk and population().is_member(contact)
        matcher.facts = Facts(contact, matcher.ctx)
        return bool(matcher.matches(rule))


def _zone(journey: Journey) -> ZoneInfo:
    try:
        return ZoneInfo(journey.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def wait_deadline(config: dict[str, Any], journey: Journey, now: datetime) -> datetime | None:
    """When a plain WAIT (a duration, or until a date and time in the journey's time zone)
    is over."""
    if config.get("duration") not in (None, ""):
        delta = parse_duration(config["duration"])
        return now + delta if delta else now
    if config.get("until"):
        parsed = parse_datetime(str(config["until"]))
        if parsed is None:
            return now
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=_zone(journey))
        return parsed
    return None


def split_variant(contact_id: Any, step_key: str, variants: list[dict[str, Any]]
                  ) -> dict[str, Any]:
    """The branch of a SPLIT for a contact: a hash of the contact id and the step key picks a
    point in the total weight, so a contact always lands in the same branch (also after the
    journey is edited into a new version, as the key stays)."""
    total = sum(v["weight"] for v in variants)
    digest = hashlib.sha256(f"{contact_id}:{step_key}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for variant in variants:
        point -= variant["weight"]
        if point < 0:
            return variant
    return variants[-1]


# --- the steps --------------------------------------------------------------------------------


def _send(b: _Batch, e: JourneyEnrollment, step: JourneyStep, graph: _Graph,
          out: list[Any]) -> Outcome:
    """Queue the step's template for the contact. The `Message` row is the one
    `message_enqueue` would write (MARKETING purpose, the organization's default account for
    the channel, dedupe key `journey:<enrollment>:<step>`); it is inserted with the batch,
    set-based, in the claim's transaction (the set-based twin of `message_enqueue`)."""
    from tend.messaging.choices import MessageDirection, MessagePurpose, MessageStatus
    from tend.messaging.models import Message
    from tend.messaging.services.templates import template_render

    contact = e.contact
    channel, key = step.config.get("channel", ""), step.config.get("templateId", "")
    template = b.template(key, channel, contact)
    if template is None:
        return Outcome(StepResult.FAILED, {"error": f"no published template {key} ({channel})"},
                       end=EnrollmentStatus.FAILED, reason=f"No template {key} for {channel}")
    rendered = template_render(tenant=b.tenant, template=template, contact=contact,
                               extra={"journey": {"name": e.journey.name}})
    dedupe_key = f"journey:{e.pk}:{step.pk}"
    if step.key in graph.loops:
        dedupe_key += f":{e.steps_taken}"
    message = Message(
        tenant=b.tenant, contact=contact, account=b.account(channel), channel=channel,
        direction=MessageDirection.OUTBOUND, purpose=MessagePurpose.MARKETING,
        status=MessageStatus.QUEUED, body=rendered["body"], subject=rendered["subject"],
        template=template, template_variables=rendered["variables"], dedupe_key=dedupe_key,
        source=f"journey:{e.journey_id}",
        metadata={"journey_id": str(e.journey_id), "enrollment_id": str(e.pk),
                  "step": step.key},
        queued_at=b.now, next_attempt_at=b.now)
    out.append(message)
    return Outcome(StepResult.COMPLETED, {"message_id": str(message.pk), "channel": channel,
                                          "template": key}, next_key=step.next_key)


def _rule_true(b: _Batch, e: JourneyEnrollment, rule: dict[str, Any]) -> bool:
    return b.matches(e.contact, rule)


def _wait_arrive(b: _Batch, e: JourneyEnrollment, step: JourneyStep) -> Outcome:
    config = step.config
    if config.get("untilRule"):
        if _rule_true(b, e, config["untilRule"]):
            return Outcome(StepResult.COMPLETED, {"matched": True}, next_key=step.next_key)
        timeout = parse_duration(config.get("timeout")) or timedelta(days=1)
        check = parse_duration(config.get("checkEvery")) or DEFAULT_CHECK_EVERY
        until = min(b.now + check, b.now + timeout)
        return Outcome(StepResult.WAITING, {"until_rule": True,
                                            "timeout_at": (b.now + timeout).isoformat()},
                       wait_until=until)
    until = wait_deadline(config, e.journey, b.now) or b.now
    if until <= b.now:
        return Outcome(StepResult.COMPLETED, {"until": until.isoformat()},
                       next_key=step.next_key)
    return Outcome(StepResult.WAITING, {"until": until.isoformat()}, wait_until=until)


def _wait_wake(b: _Batch, e: JourneyEnrollment, step: JourneyStep) -> Outcome:
    """A waiting enrollment is due again: go on, or (WAIT until a rule) look again later."""
    config = step.config
    if not config.get("untilRule"):
        return Outcome(StepResult.COMPLETED, {}, next_key=step.next_key)
    if _rule_true(b, e, config["untilRule"]):
        return Outcome(StepResult.COMPLETED, {"matched": True}, next_key=step.next_key)
    started = e.wait_started_at or b.now
    timeout_at = started + (parse_duration(config.get("timeout")) or timedelta(days=1))
    if b.now >= timeout_at:
        return Outcome(StepResult.COMPLETED, {"matched": False, "timed_out": True},
                       next_key=step.next_key)
    check = parse_duration(config.get("checkEvery")) or DEFAULT_CHECK_EVERY
    return Outcome(StepResult.WAITING, {}, wait_until=min(b.now + check, timeout_at))


def _update(b: _Batch, e: JourneyEnrollment, step: JourneyStep) -> Outcome:
    """Set a field, a tag, the lifecycle stage or a static list membership through the
    people and segment services (each is a no-op when the contact already is that way)."""
    from tend.marketing.models import Segment
    from tend.marketing.services.membership import segment_add_members, segment_remove_members
    from tend.people.services.contacts import (
        contact_tags_add,
        contact_tags_remove,
        contact_update,
    )

    config, contact = step.config, e.contact
    action, value = config.get("action"), config.get("value")
    if action == "set_field":
        name = config["field"]
        data: dict[str, Any] = ({"custom": {name.removeprefix("custom."): value}}
                                if name.startswith("custom.") else {name: value})
        contact_update(tenant=b.tenant, actor=b.actor, contact=contact, data=data)
    elif action == "set_lifecycle":
        contact_update(tenant=b.tenant, actor=b.actor, contact=contact,
                       data={"lifecycle_stage": value})
    elif action == "add_tag":
        contact_tags_add(tenant=b.tenant, actor=b.actor, contact=contact, tags=[value])
    elif action == "remove_tag":
        contact_tags_remove(tenant=b.tenant, actor=b.actor, contact=contact, tags=[value])
    elif action in ("add_to_segment", "remove_from_segment"):
        segment = Segment.objects.filter(tenant=b.tenant, pk=value).first()
        if segment is None:
            return Outcome(StepResult.SKIPPED, {"error": "list deleted"}, next_key=step.next_key)
        change = segment_add_members if action == "add_to_segment" else segment_remove_members
        change(tenant=b.tenant, actor=b.actor, segment=segment, contact_ids=[contact.pk])
    return Outcome(StepResult.COMPLETED, {"action": action, "value": value,
                                          "field": config.get("field", "")},
                   next_key=step.next_key)


def _create_task(b: _Batch, e: JourneyEnrollment, step: JourneyStep) -> Outcome:
    from tend.people.services.tasks import task_create

    config = step.config
    due = parse_duration(config.get("dueIn")) if config.get("dueIn") else None
    assignee = e.contact.owner if config.get("assignee") == "owner" else None
    task = task_create(tenant=b.tenant, actor=b.actor, title=config["title"],
                       description=config.get("description", ""),
                       due_at=b.now + due if due else None, assignee=assignee,
                       contact=e.contact)
    return Outcome(StepResult.COMPLETED, {"task_id": str(task.pk)}, next_key=step.next_key)


def _webhook(b: _Batch, e: JourneyEnrollment, step: JourneyStep) -> Outcome:
    from tend.core.background import enqueue_on_commit
    from tend.marketing.tasks_journeys import journey_webhook_task

    key = f"journey:{e.pk}:{step.pk}:{e.steps_taken}"
    enqueue_on_commit(journey_webhook_task, b.tenant.pk, step.config["url"], {
        "journey_id": str(e.journey_id), "enrollment_id": str(e.pk),
        "contact_id": str(e.contact_id), "step": step.key}, key)
    return Outcome(StepResult.COMPLETED, {"url": step.config["url"], "idempotency_key": key},
                   next_key=step.next_key)


def _execute(b: _Batch, e: JourneyEnrollment, step: JourneyStep, graph: _Graph,
             out: list[Any]) -> Outcome:
    type_ = step.type
    if type_ == StepType.TRIGGER:
        return Outcome(StepResult.COMPLETED, {}, next_key=step.next_key)
    if type_ == StepType.SEND:
        return _send(b, e, step, graph, out)
    if type_ == StepType.WAIT:
        return _wait_arrive(b, e, step)
    if type_ == StepType.CONDITION:
        matched = _rule_true(b, e, step.config["rule"])
        return Outcome(StepResult.COMPLETED, {"matched": matched},
                       next_key=step.yes_key if matched else step.no_key)
    if type_ == StepType.SPLIT:
        variant = split_variant(e.contact_id, step.key, step.config["variants"])
        return Outcome(StepResult.COMPLETED, {"variant": variant["name"]},
                       next_key=variant["next"])
    if type_ == StepType.UPDATE:
        return _update(b, e, step)
    if type_ == StepType.CREATE_TASK:
        return _create_task(b, e, step)
    if type_ == StepType.WEBHOOK:
        return _webhook(b, e, step)
    return Outcome(StepResult.COMPLETED, {}, end=EnrollmentStatus.COMPLETED)


# --- one enrollment -----------------------------------------------------------------------------


def _finish(b: _Batch, e: JourneyEnrollment, status: str, reason: str = "") -> None:
    e.status = status
    e.waiting_until = None
    e.wait_started_at = None
    if status == EnrollmentStatus.COMPLETED:
        e.completed_at = b.now
        b.counters[e.journey_id]["total_completed"] += 1
    else:
        e.exited_at = b.now
        e.exit_reason = reason[:200]
        b.counters[e.journey_id]["total_failed" if status == EnrollmentStatus.FAILED
                                 else "total_exited"] += 1


_SAVED = ["current_step", "status", "waiting_until", "wait_started_at", "steps_taken",
          "completed_at", "exited_at", "exit_reason", "updated_at"]


# Steps whose effects are written at once through other modules' services (the rest only
# add rows the batch writes at its end): an enrollment reaching one opens a savepoint, so a
# failure later in the same walk takes the effect back with it.
_EFFECTFUL = frozenset({StepType.UPDATE, StepType.CREATE_TASK, StepType.WEBHOOK})


def _advance(b: _Batch, e: JourneyEnrollment) -> int:
    """Walk one claimed enrollment to its next wait or its end; returns the steps taken.
    Runs inside the claim's transaction; its rows join the batch's only when it gets through
    without an error."""
    graph = b.graph(e.journey_id, e.version)
    step = graph.by_id.get(e.current_step_id)
    if step is None:
        _finish(b, e, EnrollmentStatus.FAILED, "The step it was on no longer exists.")
        b.changed.append(e)
        return 0
    contact = e.contact
    if contact.status in ("MERGED", "DELETED") or contact.deleted_at or contact.erased_at:
        _finish(b, e, EnrollmentStatus.EXITED, "The contact was deleted or merged.")
        b.changed.append(e)
        return 0
    rows: list[JourneyEnrollmentStep] = []
    messages: list[Any] = []
    savepoint = None
    taken = 0
    try:
        for _ in range(MAX_STEPS_PER_RUN):
            if step.type == StepType.WAIT and e.wait_started_at is not None:
                outcome = _wait_wake(b, e, step)
                if outcome.wait_until is not None:
                    e.waiting_until = outcome.wait_until
                    break
                entered = e.wait_started_at
                e.wait_started_at = None
            else:
                if step.type in _EFFECTFUL and savepoint is None:
                    savepoint = transaction.savepoint()
                entered = b.now
                outcome = _execute(b, e, step, graph, messages)
                if outcome.wait_until is not None:
                    # The WAIT's history row is written when the wait ends.
                    e.current_step = step
                    e.wait_started_at = b.now
                    e.waiting_until = outcome.wait_until
                    break
            e.steps_taken += 1
            taken += 1
            rows.append(JourneyEnrollmentStep(
                tenant=b.tenant, enrollment=e, step=step, seq=e.steps_taken, step_key=step.key,
                step_type=step.type, status=outcome.status, result=outcome.result,
                entered_at=entered, completed_at=b.now))
            if outcome.end:
                e.current_step = step
                _finish(b, e, outcome.end, outcome.reason)
                break
            following = graph.steps.get(outcome.next_key)
            if following is None:
                e.current_step = step
                _finish(b, e, EnrollmentStatus.FAILED,
                        f"Step {step.key} leads to a step that does not exist.")
                break
            step = following
        else:
            # Came back round without a wait: carry on at the next claim.
            e.current_step = step
            e.waiting_until = b.now
    except Exception:
        if savepoint is not None:
            transaction.savepoint_rollback(savepoint)
        raise
    if savepoint is not None:
        transaction.savepoint_commit(savepoint)
    b.history.extend(rows)
    b.messages.extend(messages)
    b.changed.append(e)
    return taken


def _fail(b: _Batch, e: JourneyEnrollment, exc: Exception) -> None:
    """After a step raised (its effects taken back): the enrollment fails, with a history
    row saying why, and the rest of the batch goes on."""
    message = exc.message if isinstance(exc, TendError) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TendError) and exc.fields:
        message += " " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items())
    fresh = JourneyEnrollment.objects.select_related("current_step").get(pk=e.pk)
    step = fresh.current_step
    fresh.steps_taken += 1
    if step is not None:
        b.history.append(JourneyEnrollmentStep(
            tenant=b.tenant, enrollment=fresh, step=step, seq=fresh.steps_taken,
            step_key=step.key, step_type=step.type, status=StepResult.FAILED,
            result={"error": message[:1000]}, entered_at=b.now, completed_at=b.now))
    _finish(b, fresh, EnrollmentStatus.FAILED, message)
    e.status = fresh.status
    b.changed.append(fresh)


def _update_positions(enrollments: list[JourneyEnrollment], now: datetime) -> None:
    """One UPDATE statement per enrollment, sent with `executemany` (pipelined by the
    driver): Django's `bulk_update` builds a CASE per column and row, which costs more
    than the work it saves at these sizes."""
    meta = JourneyEnrollment._meta
    columns: list[Any] = [meta.get_field(name) for name in _SAVED]
    pk: Any = meta.pk
    sql = (f"UPDATE {connection.ops.quote_name(meta.db_table)} SET "
           + ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in columns)
           + f" WHERE {connection.ops.quote_name(pk.column)} = %s")
    rows = []
    for e in enrollments:
        e.updated_at = now
        rows.append([f.get_db_prep_save(getattr(e, f.attname), connection) for f in columns]
                    + [pk.get_db_prep_value(e.pk, connection)])
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _flush(b: _Batch) -> None:
    """Write what the batch decided: the outbox messages (one statement; a dedupe key seen
    before keeps its first message), the history rows, the enrollments' new positions and
    the journeys' counters."""
    from tend.messaging.models import Message

    if b.messages:
        Message.objects.bulk_create(b.messages, ignore_conflicts=True)
        keys = {m.dedupe_key: str(m.pk) for m in b.messages}
        stored = {k: str(pk) for k, pk in Message.objects.filter(
            tenant=b.tenant, dedupe_key__in=list(keys)).values_list("dedupe_key", "pk")}
        if stored != keys:
            # A message with the key existed already: the history names that one.
            moved = {keys[k]: stored[k] for k in keys if stored.get(k) != keys[k]}
            for row in b.history:
                if row.result.get("message_id") in moved:
                    row.result = {**row.result, "message_id": moved[row.result["message_id"]]}
        from tend.messaging.outbox import outbox_wake

        transaction.on_commit(outbox_wake)
    if b.history:
        JourneyEnrollmentStep.objects.bulk_create(b.history)
    if b.changed:
        _update_positions(b.changed, b.now)
    for journey_id, counts in b.counters.items():
        Journey.objects.filter(tenant=b.tenant, pk=journey_id).update(
            **{name: F(name) + n for name, n in counts.items()})


def _process(tenant: Tenant, ids: list[Any], now: datetime, stats: RunStats) -> None:
    """Advance the claimed enrollments `ids` of one organization (inside the claim's
    transaction and the organization's scope)."""
    b = _Batch(tenant, now)
    enrollments = (JourneyEnrollment.objects.filter(tenant=tenant, pk__in=ids,
                                                    status=EnrollmentStatus.ACTIVE)
                   .select_related("contact", "journey"))
    for e in enrollments:
        try:
            stats.steps += _advance(b, e)
        except Exception as exc:  # one broken enrollment must not stop the rest
            logger.warning("journey enrollment %s failed: %s", e.pk, exc)
            _fail(b, e, exc)
        if e.status == EnrollmentStatus.COMPLETED:
            stats.completed += 1
        elif e.status == EnrollmentStatus.FAILED:
            stats.failed += 1
    _flush(b)


def _claim_and_run(query: Any, now: datetime, batch: int, stats: RunStats) -> int:
    tenants: dict[Any, Tenant] = {}
    with transaction.atomic():
        claimed = list(query.select_for_update(skip_locked=True, of=("self",))
                       .order_by("waiting_until").values_list("pk", "tenant_id")[:batch])
        if not claimed:
            return 0
        by_tenant: dict[Any, list[Any]] = defaultdict(list)
        for pk, tenant_id in claimed:
            by_tenant[tenant_id].append(pk)
        for tenant_id, ids in by_tenant.items():
            if tenant_id not in tenants:
                tenants[tenant_id] = Tenant.objects.get(pk=tenant_id)
            with tenant_scope(tenants[tenant_id]):
                _process(tenants[tenant_id], ids, now, stats)
    stats.claimed += len(claimed)
    stats.batches += 1
    return len(claimed)


def _due(now: datetime) -> Any:
    return JourneyEnrollment.objects.filter(
        status=EnrollmentStatus.ACTIVE, waiting_until__lte=now,
        journey__status=JourneyStatus.ACTIVE, tenant__is_active=True)


def run_due(*, now: datetime | None = None, batch: int = BATCH,
            budget_seconds: float | None = None, max_batches: int | None = None) -> RunStats:
    """Advance every due enrollment of every organization, a batch per transaction, until
    none is due (as of each batch's start), `budget_seconds` have passed or `max_batches`
    ran. Safe to run from any number of workers at once. `now` fixes the clock (tests)."""
    stats = RunStats()
    started = time.monotonic()
    fixed = now
    with system_scope():
        while True:
            moment = fixed or timezone.now()
            if not _claim_and_run(_due(moment), moment, batch, stats):
                break
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                break
            if max_batches is not None and stats.batches >= max_batches:
                break
    return stats


def advance_enrollments(*, tenant: Tenant, enrollment_ids: list[Any],
                        now: datetime | None = None) -> RunStats:
    """Advance these enrollments now if they are due (right after enrolling, so the first
    steps do not wait for the tick). Enrollments another worker holds are left to it."""
    stats = RunStats()
    moment = now or timezone.now()
    with system_scope():
        _claim_and_run(_due(moment).filter(tenant=tenant, pk__in=enrollment_ids), moment,
                       len(enrollment_ids) or 1, stats)
    return stats
