"""The journey engine: claim due enrollments and walk them to their next wait or their end.

One clock: an ACTIVE enrollment is due when `waiting_until` has passed. `run_due` (the tick,
any number of workers at once) claims a batch of due enrollments with
`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite: the single write lock of the
IMMEDIATE transaction) and advances all of them *inside that transaction*: every step's
effect (the outbox `Message` of a SEND, the tag of an UPDATE, the task of a CREATE_TASK), its
`JourneyEnrollmentStep` history row and the enrollment's new position commit together or not
at all. A worker killed mid-batch therefore leaves nothing behind; the next claim redoes the
batch from the same state, so no step's effect happens twice. The SEND's dedupe key
(`journey:<enrollment>:<step>`, plus the history sequence number for a SEND on a loop) is the
second belt: the outbox refuses a second message with the same key.

The batch moves set-based, a step at a time: the claimed enrollments are grouped by the step
they stand on (journey, version, step), each group runs its step for all its enrollments at
once — a CONDITION (or a WAIT until a rule) is one query for the whole group
(`rule_contacts_many`), a SEND renders its template per contact into rows — and the groups
of the next step form from where they went, until every enrollment waits or ends. At the end
of the batch the outbox messages, the history rows and the new positions are written with
one statement each (PostgreSQL: `INSERT … SELECT` and `UPDATE … FROM` over `unnest` of
one array per column, bound server-side), no model instance per row.

Steps whose effects go through other modules' services (UPDATE, CREATE_TASK, WEBHOOK) run
per enrollment, each in its own savepoint: one that raises takes its own effect back, marks
its enrollment FAILED at that step (a FAILED history row with the error) and the batch goes
on; the steps that enrollment took before stand, recorded.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from uuid_utils import uuid7

from tend.core.actors import Actor
from tend.core.bulksql import column_arrays, execute_bound
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

BATCH = 500
# At most this many steps per enrollment per claim without a wait (validation forbids loops
# without a WAIT; this only bounds a journey edited into a strange shape).
MAX_STEPS_PER_RUN = 100
COMPLETED_EVENT = "journey.completed"

# The choices as plain strings: looking up an enum member costs microseconds, and a batch
# does it hundreds of thousands of times.
_R = SimpleNamespace(**{m.name: m.value for m in StepResult})
_E = SimpleNamespace(**{m.name: m.value for m in EnrollmentStatus})
_T = SimpleNamespace(**{m.name: m.value for m in StepType})


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
    ids: dict[str, str]  # step key → the step's id as text


@dataclass(eq=False)
class _Walk:
    """One claimed enrollment as the batch moves it (its row is written at the end)."""

    pk: Any
    journey_id: Any
    version: int
    contact_id: Any
    contact: Any  # the fields a template may show, and `language`
    step: JourneyStep | None
    steps_taken: int
    wait_started_at: datetime | None
    status: str = _E.ACTIVE
    waiting_until: datetime | None = None
    completed_at: datetime | None = None
    exited_at: datetime | None = None
    exit_reason: str = ""
    moving: bool = True


@dataclass
class _Shared:
    """What the batches of one `run_due` share: the organizations, and the step graphs by
    journey and version (the steps of a version do not change once enrollments stand on
    it: an edit then makes a new version; a graph that misses an enrollment's step is
    read again). Kept for one run only, which the tick's budget bounds."""

    tenants: dict[Any, Tenant] = field(default_factory=dict)
    graphs: dict[tuple[Any, int], _Graph] = field(default_factory=dict)


class _Batch:
    """Caches shared by the enrollments of one claim in one organization, and the rows the
    claim writes at its end (outbox messages, history rows, enrollment positions)."""

    def __init__(self, tenant: Tenant, now: datetime, shared: _Shared | None = None) -> None:
        self.tenant = tenant
        self.now = now
        self.now_iso = now.isoformat()
        self.actor = Actor.system()
        self.graphs = shared.graphs if shared is not None else {}
        self.journeys: dict[Any, Journey] = {}
        self.templates: dict[tuple[str, str, str], Any] = {}
        self.accounts: dict[str, Any] = {}
        self.counters: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # Message rows (dicts of the varying columns) and history rows (tuples, see _row).
        self.messages: list[dict[str, Any]] = []
        self.history: list[tuple[Any, ...]] = []
        self.walks: list[_Walk] = []

    def graph(self, journey_id: Any, version: int, *, fresh: bool = False) -> _Graph:
        key = (journey_id, version)
        if fresh or key not in self.graphs:
            steps = list(JourneyStep.objects.filter(tenant=self.tenant, journey_id=journey_id,
                                                    version=version))
            by_key = {s.key: s for s in steps}
            loops = loop_keys([{"key": s.key, "type": s.type, "config": s.config,
                                "next": s.next_key, "yes": s.yes_key, "no": s.no_key}
                               for s in steps])
            self.graphs[key] = _Graph(by_key, {s.pk: s for s in steps}, loops,
                                      {s.key: str(s.pk) for s in steps})
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

    def matching(self, rule: dict[str, Any], contact_ids: Sequence[Any]) -> set[Any]:
        """Which of `contact_ids` match `rule`: one query for all of them (the rule language
        compiled to SQL; a contact that is not live never matches)."""
        from tend.rules import rule_contacts_many

        if not contact_ids:
            return set()
        live = rule_contacts_many(tenant=self.tenant, rules={"rule": rule}, now=self.now,
                                  trusted=True)["rule"]
        ids: Any = list(contact_ids)
        if connection.vendor == "postgresql":
            # One array parameter instead of a placeholder per contact.
            ids = RawSQL("SELECT unnest(CAST(%s AS uuid[]))", [ids])
        return {str(pk) for pk in live.filter(pk__in=ids).values_list("pk", flat=True)}


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


# --- the steps, each for a group of enrollments standing on it ------------------------------


def _send(b: _Batch, w: _Walk, step: JourneyStep, graph: _Graph) -> Outcome:
    """Queue the step's template for the contact. The message row is the one
    `message_enqueue` would write (MARKETING purpose, the organization's default account for
    the channel, dedupe key `journey:<enrollment>:<step>`); the batch inserts its rows in one
    statement, in the claim's transaction (the set-based twin of `message_enqueue`)."""
    from tend.messaging.services.templates import template_render

    channel, key = step.config.get("channel", ""), step.config.get("templateId", "")
    template = b.template(key, channel, w.contact)
    if template is None:
        return Outcome(_R.FAILED, {"error": f"no published template {key} ({channel})"},
                       end=_E.FAILED, reason=f"No template {key} for {channel}")
    journey = b.journeys[w.journey_id]
    rendered = template_render(tenant=b.tenant, template=template, contact=w.contact,
                               extra={"journey": {"name": journey.name}})
    dedupe_key = f"journey:{w.pk}:{step.pk}"
    if step.key in graph.loops:
        dedupe_key += f":{w.steps_taken}"
    account = b.account(channel)
    message_id = str(uuid7())
    b.messages.append({
        "id": message_id, "contact": w.contact_id,
        "account": str(account.pk) if account is not None else None, "channel": channel,
        "body": rendered["body"], "subject": rendered["subject"], "template": str(template.pk),
        "template_variables": rendered["variables"], "dedupe_key": dedupe_key,
        "source": f"journey:{w.journey_id}",
        "metadata": {"journey_id": w.journey_id, "enrollment_id": w.pk, "step": step.key}})
    return Outcome(_R.COMPLETED, {"message_id": message_id, "channel": channel,
                                          "template": key}, next_key=step.next_key)


def _waits(b: _Batch, step: JourneyStep, walks: list[_Walk]) -> list[Outcome]:
    """A WAIT for the enrollments arriving at it and those whose wait is due again: a
    duration or a date sets the time; a WAIT until a rule goes on for the contacts that
    match it now (one query for the group), looks again after `checkEvery`, and goes on
    without a match at its timeout."""
    config = step.config
    now = b.now
    rule = config.get("untilRule")
    if not rule:
        out = []
        for w in walks:
            if w.wait_started_at is not None:
                out.append(Outcome(_R.COMPLETED, {}, next_key=step.next_key))
                continue
            until = wait_deadline(config, b.journeys[w.journey_id], now) or now
            if until <= now:
                out.append(Outcome(_R.COMPLETED, {"until": until.isoformat()},
                                   next_key=step.next_key))
            else:
                out.append(Outcome(_R.WAITING, {"until": until.isoformat()},
                                   wait_until=until))
        return out
    matched = b.matching(rule, list({w.contact_id for w in walks}))
    timeout = parse_duration(config.get("timeout")) or timedelta(days=1)
    check = parse_duration(config.get("checkEvery")) or DEFAULT_CHECK_EVERY
    out = []
    for w in walks:
        if w.contact_id in matched:
            out.append(Outcome(_R.COMPLETED, {"matched": True}, next_key=step.next_key))
        elif w.wait_started_at is None:
            out.append(Outcome(_R.WAITING, {"until_rule": True,
                                                    "timeout_at": (now + timeout).isoformat()},
                               wait_until=min(now + check, now + timeout)))
        elif now >= w.wait_started_at + timeout:
            out.append(Outcome(_R.COMPLETED, {"matched": False, "timed_out": True},
                               next_key=step.next_key))
        else:
            out.append(Outcome(_R.WAITING, {},
                               wait_until=min(now + check, w.wait_started_at + timeout)))
    return out


def _update(b: _Batch, w: _Walk, step: JourneyStep) -> Outcome:
    """Set a field, a tag or the lifecycle stage of one contact through the people services
    (each is a no-op when the contact already is that way; list membership is `_membership`,
    for the whole group)."""
    from tend.people.models import Contact
    from tend.people.services.contacts import (
        contact_tags_add,
        contact_tags_remove,
        contact_update,
    )

    config = step.config
    action, value = config.get("action"), config.get("value")
    if action in ("set_field", "set_lifecycle", "add_tag", "remove_tag"):
        contact = Contact.objects.get(tenant=b.tenant, pk=w.contact_id)
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
        else:
            contact_tags_remove(tenant=b.tenant, actor=b.actor, contact=contact, tags=[value])
    return Outcome(_R.COMPLETED, {"action": action, "value": value,
                                          "field": config.get("field", "")},
                   next_key=step.next_key)


def _create_task(b: _Batch, w: _Walk, step: JourneyStep) -> Outcome:
    from tend.people.models import Contact
    from tend.people.services.tasks import task_create

    config = step.config
    due = parse_duration(config.get("dueIn")) if config.get("dueIn") else None
    contact = Contact.objects.select_related("owner").get(tenant=b.tenant, pk=w.contact_id)
    assignee = contact.owner if config.get("assignee") == "owner" else None
    task = task_create(tenant=b.tenant, actor=b.actor, title=config["title"],
                       description=config.get("description", ""),
                       due_at=b.now + due if due else None, assignee=assignee,
                       contact=contact)
    return Outcome(_R.COMPLETED, {"task_id": str(task.pk)}, next_key=step.next_key)


def _webhook(b: _Batch, w: _Walk, step: JourneyStep) -> Outcome:
    from tend.core.background import enqueue_on_commit
    from tend.marketing.tasks_journeys import journey_webhook_task

    key = f"journey:{w.pk}:{step.pk}:{w.steps_taken}"
    enqueue_on_commit(journey_webhook_task, b.tenant.pk, step.config["url"], {
        "journey_id": str(w.journey_id), "enrollment_id": str(w.pk),
        "contact_id": str(w.contact_id), "step": step.key}, key)
    return Outcome(_R.COMPLETED, {"url": step.config["url"], "idempotency_key": key},
                   next_key=step.next_key)


_MEMBERSHIP = ("add_to_segment", "remove_from_segment")


def _membership(b: _Batch, step: JourneyStep, walks: list[_Walk]) -> list[Outcome]:
    """Add the group's contacts to a static list or take them out of it: one call of the
    segment service for the whole group (a no-op for those already that way)."""
    from tend.marketing.models import Segment
    from tend.marketing.services.membership import segment_add_members, segment_remove_members

    config = step.config
    action, value = config.get("action"), config.get("value")
    segment = Segment.objects.filter(tenant=b.tenant, pk=value).first()
    if segment is None:
        return [Outcome(_R.SKIPPED, {"error": "list deleted"}, next_key=step.next_key)
                ] * len(walks)
    change = segment_add_members if action == "add_to_segment" else segment_remove_members
    change(tenant=b.tenant, actor=b.actor, segment=segment,
           contact_ids=list({w.contact_id for w in walks}))
    return [Outcome(_R.COMPLETED, {"action": action, "value": value,
                                           "field": config.get("field", "")},
                    next_key=step.next_key)] * len(walks)


_EFFECTS: dict[str, Any] = {_T.UPDATE: _update, _T.CREATE_TASK: _create_task,
                            _T.WEBHOOK: _webhook}


def _error_text(exc: Exception) -> str:
    message = exc.message if isinstance(exc, TendError) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TendError) and exc.fields:
        message += " " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.fields.items())
    return message


def _raised(exc: Exception, walk: _Walk) -> Outcome:
    logger.warning("journey enrollment %s failed: %s", walk.pk, exc)
    message = _error_text(exc)
    return Outcome(_R.FAILED, {"error": message[:1000]}, end=_E.FAILED,
                   reason=message)


def _run_group(b: _Batch, graph: _Graph, step: JourneyStep, walks: list[_Walk]) -> None:
    """Run `step` for every enrollment of `walks` (all standing on it) and move each on."""
    type_ = step.type
    outcomes: list[Outcome]
    if type_ == _T.TRIGGER:
        outcomes = [Outcome(_R.COMPLETED, {}, next_key=step.next_key)] * len(walks)
    elif type_ == _T.END:
        outcomes = [Outcome(_R.COMPLETED, {}, end=_E.COMPLETED)
                    ] * len(walks)
    elif type_ == _T.WAIT and not step.config.get("untilRule"):
        outcomes = _waits(b, step, walks)
    elif type_ in (_T.WAIT, _T.CONDITION):
        try:
            with transaction.atomic():  # a savepoint around the rule's query
                if type_ == _T.WAIT:
                    outcomes = _waits(b, step, walks)
                else:
                    matched = b.matching(step.config["rule"],
                                         list({w.contact_id for w in walks}))
                    outcomes = [Outcome(_R.COMPLETED, {"matched": True},
                                        next_key=step.yes_key) if w.contact_id in matched
                                else Outcome(_R.COMPLETED, {"matched": False},
                                             next_key=step.no_key) for w in walks]
        except Exception as exc:  # a broken rule fails the group, not the batch
            outcomes = [_raised(exc, w) for w in walks]
    elif type_ == _T.SPLIT:
        variants = step.config["variants"]
        outcomes = []
        for w in walks:
            variant = split_variant(w.contact_id, step.key, variants)
            outcomes.append(Outcome(_R.COMPLETED, {"variant": variant["name"]},
                                    next_key=variant["next"]))
    elif type_ == _T.SEND:
        outcomes = []
        for w in walks:
            try:
                outcomes.append(_send(b, w, step, graph))
            except Exception as exc:  # one contact's message must not stop the rest
                outcomes.append(_raised(exc, w))
    elif type_ == _T.UPDATE and step.config.get("action") in _MEMBERSHIP:
        try:
            with transaction.atomic():  # a savepoint: a failure takes its effect back
                outcomes = _membership(b, step, walks)
        except Exception as exc:
            outcomes = [_raised(exc, w) for w in walks]
    elif type_ in _EFFECTS:
        effect = _EFFECTS[type_]
        outcomes = []
        for w in walks:
            try:
                with transaction.atomic():  # a savepoint: a failure takes its effect back
                    outcomes.append(effect(b, w, step))
            except Exception as exc:
                outcomes.append(_raised(exc, w))
    else:
        outcomes = [Outcome(_R.COMPLETED, {}, end=_E.COMPLETED)
                    ] * len(walks)
    for w, outcome in zip(walks, outcomes, strict=True):
        _move(b, graph, w, step, outcome)


def _finish(b: _Batch, w: _Walk, status: str, reason: str = "") -> None:
    w.status = status
    w.moving = False
    w.waiting_until = None
    w.wait_started_at = None
    if status == _E.COMPLETED:
        w.completed_at = b.now
        b.counters[w.journey_id]["total_completed"] += 1
    else:
        w.exited_at = b.now
        w.exit_reason = reason[:200]
        b.counters[w.journey_id]["total_failed" if status == _E.FAILED
                                 else "total_exited"] += 1


def _move(b: _Batch, graph: _Graph, w: _Walk, step: JourneyStep, outcome: Outcome) -> None:
    """Record what `step` did for `w` and put it where the outcome says."""
    waking = step.type == _T.WAIT and w.wait_started_at is not None
    if outcome.wait_until is not None:
        # The WAIT's history row is written when the wait ends.
        if not waking:
            w.wait_started_at = b.now
        w.waiting_until = outcome.wait_until
        w.moving = False
        return
    entered = w.wait_started_at.isoformat() if waking else b.now_iso  # type: ignore[union-attr]
    w.wait_started_at = None
    w.steps_taken += 1
    b.history.append((str(uuid7()), w.pk, graph.ids[step.key], w.steps_taken, step.key, step.type,
                      outcome.status, outcome.result, entered))
    if outcome.end:
        _finish(b, w, outcome.end, outcome.reason)
        return
    following = graph.steps.get(outcome.next_key)
    if following is None:
        _finish(b, w, _E.FAILED,
                f"Step {step.key} leads to a step that does not exist.")
        return
    w.step = following


def _walk_all(b: _Batch) -> None:
    """Move every claimed enrollment, the groups standing on the same step together, until
    each waits or ends."""
    moving = [w for w in b.walks if w.moving]
    for _ in range(MAX_STEPS_PER_RUN):
        if not moving:
            return
        groups: dict[tuple[Any, int, Any], list[_Walk]] = defaultdict(list)
        for w in moving:
            assert w.step is not None
            groups[(w.journey_id, w.version, w.step.pk)].append(w)
        for (journey_id, version, _step), walks in groups.items():
            _run_group(b, b.graph(journey_id, version), walks[0].step, walks)  # type: ignore[arg-type]
        moving = [w for w in moving if w.moving]
    for w in moving:
        # Came back round without a wait: carry on at the next claim.
        w.waiting_until = b.now
        w.moving = False


# --- set-based writes ---------------------------------------------------------------------------


def _pg_execute(sql: str, params: Sequence[Any]) -> int:
    """One of the batch's set-based statements, bound server-side (see `core.bulksql`);
    returns the rows affected."""
    return execute_bound(sql, params)[0]


def insert_rows(model: type[models.Model], varying: Sequence[str], rows: Sequence[Sequence[Any]],
                constants: dict[str, Any], *, ignore_conflicts: bool = False) -> int:
    """Insert `rows` (values of the fields named in `varying`, in order) into `model`'s
    table with one statement, every other column set to `constants[name]` or the field's
    default; returns how many rows were inserted. PostgreSQL: `INSERT … SELECT … FROM
    unnest(<an array per column>)`, so the statement has a parameter per column however
    many rows, and no model instance is built (not `COPY`: PostgreSQL refuses it on tables
    with row-level security). Other databases: `executemany`."""
    if not rows:
        return 0
    meta = model._meta
    quote = connection.ops.quote_name
    by_name = {f.name: f for f in meta.concrete_fields}
    fixed: dict[str, Any] = {}
    for f in meta.concrete_fields:
        if f.name in varying:
            continue
        value = constants[f.name] if f.name in constants else f.get_default()
        fixed[f.name] = f.get_db_prep_save(value, connection)
    columns = [quote(str(by_name[n].column)) for n in varying] + [
        quote(str(by_name[n].column)) for n in fixed]
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if connection.vendor == "postgresql":
        source, arrays = column_arrays([by_name[n] for n in varying], rows)
        selects = [f"u.c{i}" for i in range(len(varying))]
        selects += [f"CAST(%s AS {by_name[n].db_type(connection)})" for n in fixed]
        return _pg_execute(
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "
            f"SELECT {', '.join(selects)} FROM {source}{conflict}",
            [*fixed.values(), *arrays])
    with connection.cursor() as cursor:
        fields = [by_name[n] for n in varying]
        tail = list(fixed.values())
        cursor.executemany(
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) VALUES "
            f"({', '.join(['%s'] * len(columns))}){conflict}",
            [[f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
             + tail for row in rows])
        return max(cursor.rowcount, 0)


_SAVED = ["current_step", "status", "waiting_until", "wait_started_at", "steps_taken",
          "completed_at", "exited_at", "exit_reason", "updated_at"]


def _update_positions(walks: list[_Walk], now: datetime) -> None:
    """The enrollments' new positions. PostgreSQL: one `UPDATE … FROM unnest(…)`; other
    databases: one UPDATE per enrollment through `executemany`."""
    meta = JourneyEnrollment._meta
    quote = connection.ops.quote_name
    columns: list[Any] = [meta.get_field(name) for name in _SAVED]
    pk: Any = meta.pk
    now_iso = now.isoformat()

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else now_iso if moment is now else moment.isoformat()

    values = [[str(w.step.pk) if w.step is not None else None, w.status, iso(w.waiting_until),
               iso(w.wait_started_at), w.steps_taken, iso(w.completed_at), iso(w.exited_at),
               w.exit_reason, now_iso] for w in walks]
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        source, arrays = column_arrays([pk, *columns], [
            [w.pk, *row] for w, row in zip(walks, values, strict=True)])
        sets = ", ".join(f"{quote(f.column)} = u.c{i + 1}" for i, f in enumerate(columns))
        _pg_execute(f"UPDATE {table} AS e SET {sets} FROM {source} "
                    f"WHERE e.{quote(pk.column)} = u.c0", arrays)
        return
    with connection.cursor() as cursor:
        sql = (f"UPDATE {table} SET "
               + ", ".join(f"{quote(f.column)} = %s" for f in columns)
               + f" WHERE {quote(pk.column)} = %s")
        cursor.executemany(sql, [
            [f.get_db_prep_save(v, connection) for f, v in zip(columns, row, strict=True)]
            + [pk.get_db_prep_value(w.pk, connection)] for w, row in zip(walks, values,
                                                                      strict=True)])


_MESSAGE_FIELDS = ("id", "contact", "account", "channel", "body", "subject", "template",
                   "template_variables", "dedupe_key", "source", "metadata")
_HISTORY_FIELDS = ("id", "enrollment", "step", "seq", "step_key", "step_type", "status",
                   "result", "entered_at")


def _write_messages(b: _Batch) -> None:
    """The outbox messages of the batch's SENDs, one statement; a dedupe key seen before
    keeps its first message, and the history names that one."""
    from tend.messaging.choices import MessageDirection, MessagePurpose, MessageStatus
    from tend.messaging.models import Message
    from tend.messaging.outbox import outbox_wake

    inserted = insert_rows(
        Message, _MESSAGE_FIELDS, [[m[name] for name in _MESSAGE_FIELDS] for m in b.messages],
        {"tenant": b.tenant.pk, "direction": MessageDirection.OUTBOUND,
         "purpose": MessagePurpose.MARKETING, "status": MessageStatus.QUEUED,
         "queued_at": b.now, "next_attempt_at": b.now, "created_at": b.now,
         "updated_at": b.now}, ignore_conflicts=True)
    if inserted != len(b.messages):
        keys = {m["dedupe_key"]: str(m["id"]) for m in b.messages}
        stored = {k: str(pk) for k, pk in Message.objects.filter(
            tenant=b.tenant, dedupe_key__in=list(keys)).values_list("dedupe_key", "pk")}
        moved = {keys[k]: stored[k] for k in keys if k in stored and stored[k] != keys[k]}
        if moved:
            for row in b.history:
                result = row[7]
                if result.get("message_id") in moved:
                    result["message_id"] = moved[result["message_id"]]
    transaction.on_commit(outbox_wake)


def _emit_completed(b: _Batch) -> None:
    """`journey.completed` for the enrollments that reached their END, queued in the
    claim's transaction (so an event is queued exactly when its enrollment completes), all
    of the batch's in one insert; a webhook problem never stops the journey."""
    from tend.marketing.services.webhooks_out import is_listened, webhook_emit_many

    done = [w for w in b.walks if w.status == _E.COMPLETED]
    if not done or not is_listened(b.tenant, COMPLETED_EVENT):
        return
    try:
        with transaction.atomic():
            webhook_emit_many(tenant=b.tenant, key=COMPLETED_EVENT, payloads=[{
                "journey": {"id": w.journey_id, "name": b.journeys[w.journey_id].name,
                            "version": w.version},
                "enrollment": {"id": w.pk, "steps_taken": w.steps_taken,
                               "completed_at": w.completed_at},
                "contact_id": w.contact_id} for w in done])
    except Exception:
        logger.exception("%s webhooks not queued", COMPLETED_EVENT)


def _flush(b: _Batch) -> None:
    """Write what the batch decided: the outbox messages, the history rows, the
    enrollments' new positions and the journeys' counters (a statement each)."""
    if b.messages:
        _write_messages(b)
    if b.history:
        insert_rows(JourneyEnrollmentStep, _HISTORY_FIELDS, b.history,
                    {"tenant": b.tenant.pk, "created_at": b.now, "updated_at": b.now,
                     "completed_at": b.now})
    if b.walks:
        _update_positions(b.walks, b.now)
    for journey_id, counts in b.counters.items():
        Journey.objects.filter(tenant=b.tenant, pk=journey_id).update(
            **{name: F(name) + n for name, n in counts.items()})
    _emit_completed(b)


_CONTACT = ("status", "deleted_at", "erased_at", "first_name", "last_name", "display_name",
            "city", "country", "language", "job_title", "primary_email", "primary_phone")


def _columns() -> list[str]:
    """What the claim reads of each enrollment and its contact (the fields a template may
    show): the batch runs on these rows, no model instance per enrollment."""
    from tend.messaging.rendering import CONTACT_FIELDS

    return ["pk", "tenant_id", "journey_id", "version", "contact_id", "current_step_id",
            "wait_started_at", "steps_taken",
            *[f"contact__{name}" for name in _CONTACT[:3]],
            *[f"contact__{name}" for name in _CONTACT[3:] if name in CONTACT_FIELDS]]


def _load(b: _Batch, rows: list[tuple[Any, ...]], shown: list[str]) -> None:
    """The batch's enrollments from the claimed rows: those on a step that no longer exists
    fail, those of a contact deleted or merged meanwhile exit."""
    journey_ids = set()
    for row in rows:
        (pk, _tenant_id, journey_id, version, contact_id, step_id, wait_started_at,
         steps_taken, status, deleted_at, erased_at) = row[:11]
        journey_id = str(journey_id)
        contact = SimpleNamespace(**dict(zip(shown, row[11:], strict=True)))
        graph = b.graph(journey_id, version)
        if step_id not in graph.by_id:
            graph = b.graph(journey_id, version, fresh=True)
        w = _Walk(str(pk), journey_id, version, str(contact_id), contact,
                  graph.by_id.get(step_id), steps_taken, wait_started_at)
        b.walks.append(w)
        journey_ids.add(journey_id)
        if w.step is None:
            _finish(b, w, _E.FAILED, "The step it was on no longer exists.")
        elif status in ("MERGED", "DELETED") or deleted_at or erased_at:
            _finish(b, w, _E.EXITED, "The contact was deleted or merged.")
    b.journeys = {str(j.pk): j for j in Journey.objects.filter(
        tenant=b.tenant, pk__in=journey_ids).only("pk", "name", "time_zone")}


def _process(tenant: Tenant, rows: list[tuple[Any, ...]], shown: list[str], now: datetime,
             stats: RunStats, shared: _Shared) -> None:
    """Advance the claimed enrollments `rows` of one organization (inside the claim's
    transaction and the organization's scope)."""
    b = _Batch(tenant, now, shared)
    _load(b, rows, shown)
    _walk_all(b)
    _flush(b)
    stats.steps += len(b.history)
    for w in b.walks:
        if w.status == _E.COMPLETED:
            stats.completed += 1
        elif w.status == _E.FAILED:
            stats.failed += 1


def _claim_and_run(query: Any, now: datetime, batch: int, stats: RunStats,
                   shared: _Shared | None = None) -> int:
    """Claim up to `batch` due enrollments (locked, skipping those another worker holds),
    reading with the claim what the steps need, and advance them in the same transaction."""
    shared = shared or _Shared()
    tenants = shared.tenants
    columns = _columns()
    shown = [name.removeprefix("contact__") for name in columns[11:]]
    with transaction.atomic():
        claimed = list(query.select_for_update(skip_locked=True, of=("self",))
                       .order_by("waiting_until").values_list(*columns)[:batch])
        if not claimed:
            return 0
        by_tenant: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
        for row in claimed:
            by_tenant[row[1]].append(row)
        for tenant_id, rows in by_tenant.items():
            if tenant_id not in tenants:
                tenants[tenant_id] = Tenant.objects.get(pk=tenant_id)
            with tenant_scope(tenants[tenant_id]):
                _process(tenants[tenant_id], rows, shown, now, stats, shared)
    stats.claimed += len(claimed)
    stats.batches += 1
    return len(claimed)


def _due(now: datetime) -> Any:
    return JourneyEnrollment.objects.filter(
        status=_E.ACTIVE, waiting_until__lte=now,
        journey__status=JourneyStatus.ACTIVE, tenant__is_active=True)


def run_due(*, now: datetime | None = None, batch: int = BATCH,
            budget_seconds: float | None = None, max_batches: int | None = None) -> RunStats:
    """Advance every due enrollment of every organization, a batch per transaction, until
    none is due (as of each batch's start), `budget_seconds` have passed or `max_batches`
    ran. Safe to run from any number of workers at once. `now` fixes the clock (tests)."""
    stats = RunStats()
    started = time.monotonic()
    fixed = now
    shared = _Shared()
    with system_scope():
        while True:
            moment = fixed or timezone.now()
            if not _claim_and_run(_due(moment), moment, batch, stats, shared):
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
