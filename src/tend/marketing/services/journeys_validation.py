"""Checking a journey's steps: each step's settings (`clean_steps`, always, before anything is
saved) and the graph as a whole (`graph_problems`, before a journey may run): every step
reachable from the trigger, every path ends, no loop without a WAIT, and a published template
for every channel a SEND uses. Problems are reported per step key."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.outbound import url_problem
from tend.marketing.models_journeys import StepType

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_STEPS = 200
MAX_VARIANTS = 10
UPDATE_ACTIONS = ("set_field", "add_tag", "remove_tag", "set_lifecycle", "add_to_segment",
                  "remove_from_segment")
# Contact fields an UPDATE step may set (plus `custom.<key>`).
SETTABLE_FIELDS = ("first_name", "last_name", "city", "state", "country", "language",
                   "job_title", "source", "lifecycle_stage", "time_zone", "gender")
DURATION_RE = re.compile(
    r"^\s*(\d{1,6})\s*(m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks"
    r"|s|sec|secs|second|seconds)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# How often a WAIT-until-a-rule checks its rule when no interval is given.
DEFAULT_CHECK_EVERY = timedelta(minutes=15)

Problems = dict[str, list[str]]


def parse_duration(value: Any) -> timedelta | None:
    """"3 days", "24 h", "30 minutes", "2w" (or a number of seconds) → timedelta; None when
    not understood or not positive."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return timedelta(seconds=value) if value > 0 else None
    if not isinstance(value, str):
        return None
    match = DURATION_RE.match(value)
    if not match:
        return None
    amount = int(match.group(1))
    unit = match.group(2).lower()
    unit = "m" if unit.startswith("min") else unit[0]
    seconds = amount * _UNITS[unit]
    return timedelta(seconds=seconds) if seconds > 0 else None


def parse_until(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:  # well formed but not a date, e.g. 2030-02-30
        return None
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_fixed_timezone(0))
    return parsed


def _condition_rule(config: dict[str, Any]) -> Any:
    """A CONDITION's rule in the rule language's shape; the golf CRM's
    `{"rules": [...], "combinator": "AND"}` is accepted as it is."""
    if isinstance(config.get("rule"), dict):
        return config["rule"]
    return {"combinator": str(config.get("combinator") or "and").lower(),
            "rules": config.get("rules") if isinstance(config.get("rules"), list) else []}


def _rule_problems(tenant: Tenant, rule: Any) -> tuple[dict[str, Any] | None, list[str]]:
    from tend.rules import rule_clean

    try:
        return rule_clean(tenant=tenant, rule=rule), []
    except ValidationFailed as exc:
        return None, [f"{path}: {msg}" if path else str(msg)
                      for path, msgs in exc.fields.items() for msg in msgs] or [exc.message]


def _link(raw: Any) -> str:
    return str(raw).strip() if raw not in (None, "") else ""


def _clean_config(tenant: Tenant, type_: str, config: dict[str, Any], errors: list[str]
                  ) -> dict[str, Any]:
    """The step's settings, normalized; problems appended to `errors`."""
    from tend.messaging.choices import ChannelKind

    if type_ == StepType.SEND:
        channel = str(config.get("channel") or "").upper()
        template = str(config.get("templateId") or config.get("template") or "").strip()
        if channel not in ChannelKind.values:
            errors.append(_("Choose a channel."))
        if not template:
            errors.append(_("Choose a template."))
        return {"channel": channel, "templateId": template[:100]}
    if type_ == StepType.WAIT:
        out: dict[str, Any] = {}
        given = [k for k in ("duration", "until", "untilRule") if config.get(k) not in (None, "")]
        if len(given) != 1:
            errors.append(_("Wait for a duration, until a date and time, or until a rule "
                            "matches (exactly one)."))
            return {k: config.get(k) for k in given}
        kind = given[0]
        if kind == "duration":
            if parse_duration(config["duration"]) is None:
                errors.append(_("Write a duration such as “3 days” or “24 hours”."))
            out["duration"] = config["duration"]
        elif kind == "until":
            if parse_until(config["until"]) is None:
                errors.append(_("Write the date and time as 2026-05-01T09:00."))
            out["until"] = config["until"]
        else:
            rule, problems = _rule_problems(tenant, config["untilRule"])
            errors.extend(problems)
            out["untilRule"] = rule if rule is not None else config["untilRule"]
            if parse_duration(config.get("timeout")) is None:
                errors.append(_("Give the longest time to wait for the rule, e.g. “7 days”."))
            out["timeout"] = config.get("timeout")
            if config.get("checkEvery") not in (None, ""):
                if parse_duration(config["checkEvery"]) is None:
                    errors.append(_("Write how often to check as a duration."))
                out["checkEvery"] = config["checkEvery"]
        return out
    if type_ == StepType.CONDITION:
        rule, problems = _rule_problems(tenant, _condition_rule(config))
        errors.extend(problems)
        if rule is not None and not rule.get("rules"):
            errors.append(_("Add at least one condition."))
        return {"rule": rule if rule is not None else _condition_rule(config)}
    if type_ == StepType.SPLIT:
        variants = config.get("variants")
        if isinstance(variants, list) and variants and not isinstance(variants[0], dict):
            # The golf CRM's shape: {"variants": ["A", "B"], "weights": [50, 50], "next": [...]}
            weights = config.get("weights") or []
            nexts = config.get("next") or []
            variants = [{"name": name,
                         "weight": weights[i] if i < len(weights) else 1,
                         "next": nexts[i] if i < len(nexts) else ""}
                        for i, name in enumerate(variants)]
        if not isinstance(variants, list) or not 2 <= len(variants) <= MAX_VARIANTS:
            errors.append(_("A split has 2 to 10 branches."))
            return {"variants": []}
        cleaned: list[dict[str, Any]] = []
        for item in variants:
            item = item if isinstance(item, dict) else {}
            weight = item.get("weight")
            if isinstance(weight, bool) or not isinstance(weight, int) or not 0 < weight <= 1000:
                errors.append(_("Each branch needs a weight from 1 to 1000."))
                weight = 1
            cleaned.append({"name": str(item.get("name") or "")[:40] or chr(65 + len(cleaned)),
                            "weight": weight, "next": _link(item.get("next"))})
        return {"variants": cleaned}
    if type_ == StepType.UPDATE:
        return _clean_update(tenant, config, errors)
    if type_ == StepType.CREATE_TASK:
        title = str(config.get("title") or "").strip()
        if not title:
            errors.append(_("Give the task a title."))
        out = {"title": title[:200], "description": str(config.get("description") or "")[:2000],
               "assignee": "owner" if config.get("assignee") == "owner" else ""}
        if config.get("dueIn") not in (None, ""):
            if parse_duration(config["dueIn"]) is None:
                errors.append(_("Write when the task is due as a duration."))
            out["dueIn"] = config["dueIn"]
        return out
    if type_ == StepType.WEBHOOK:
        url = str(config.get("url") or "").strip()
        if not re.match(r"^https?://[^\s/]+", url):
            errors.append(_("Give the address to call (http or https)."))
        elif problem := url_problem(url):
            errors.append(problem)
        return {"url": url[:500]}
    return {}


def _clean_update(tenant: Tenant, config: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    from tend.core.models import Tag
    from tend.marketing.choices import SegmentType
    from tend.marketing.models import Segment

    action = config.get("action") or ("set_field" if config.get("field") else "")
    value = config.get("value")
    if action not in UPDATE_ACTIONS:
        errors.append(_("Choose what to update."))
        return {"action": action}
    if action == "set_field":
        field = str(config.get("field") or "")
        if field not in SETTABLE_FIELDS and not re.match(r"^custom\.[a-z0-9_]{1,64}$", field):
            errors.append(_("Choose a contact field (or custom.<key>)."))
        return {"action": action, "field": field, "value": value}
    if action == "set_lifecycle":
        from tend.people.choices import LifecycleStage

        if value not in LifecycleStage.values:
            errors.append(_("Choose a lifecycle stage."))
        return {"action": action, "value": value}
    if action in ("add_tag", "remove_tag"):
        text = str(value or "").strip()
        tag = (Tag.objects.filter(tenant=tenant, slug=text).first()
               or Tag.objects.filter(tenant=tenant, name=text).first())
        if tag is None and re.match(r"^[0-9a-f-]{36}$", text):
            tag = Tag.objects.filter(tenant=tenant, pk=text).first()
        if tag is None:
            errors.append(_("Choose a tag of this organization."))
            return {"action": action, "value": text}
        return {"action": action, "value": str(tag.pk), "label": tag.name}
    text = str(value or "").strip()
    segment = Segment.objects.filter(tenant=tenant, type=SegmentType.STATIC, name=text).first()
    if segment is None and re.match(r"^[0-9a-f-]{36}$", text):
        segment = Segment.objects.filter(tenant=tenant, type=SegmentType.STATIC, pk=text).first()
    if segment is None:
        errors.append(_("Choose a static list of this organization."))
        return {"action": action, "value": text}
    return {"action": action, "value": str(segment.pk), "label": segment.name}


def clean_steps(*, tenant: Tenant, steps: Any) -> list[dict[str, Any]]:
    """Each step as `{"key", "type", "name", "config", "next", "yes", "no"}`, normalized;
    raises `ValidationFailed` with `fields={"steps.<key>": [...]}` (or `steps` for the list
    itself) when a step's own settings are wrong. Links are not checked here (see
    `graph_problems`)."""
    if not isinstance(steps, list) or not steps:
        raise ValidationFailed(fields={"steps": [_("Add at least a trigger step.")]})
    if len(steps) > MAX_STEPS:
        raise ValidationFailed(fields={"steps": [_("A journey has at most 200 steps.")]})
    problems: Problems = {}
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(steps):
        raw = raw if isinstance(raw, dict) else {}
        key = str(raw.get("key") or "").strip() or f"s{index + 1}"
        errors: list[str] = []
        if not KEY_RE.match(key):
            errors.append(_("Use letters, digits, - and _ for the step key (at most 40)."))
            key = f"s{index + 1}"
        if key in seen:
            errors.append(_("Two steps have this key."))
        seen.add(key)
        type_ = str(raw.get("type") or "").upper()
        if type_ not in StepType.values:
            errors.append(_("Choose a step type."))
        given = raw.get("config")
        config: dict[str, Any] = given if isinstance(given, dict) else {}
        config = _clean_config(tenant, type_, config, errors) if type_ in StepType.values else {}
        step = {"key": key, "type": type_, "name": str(raw.get("name") or "")[:200],
                "config": config, "next": _link(raw.get("next")),
                "yes": _link(raw.get("yes")), "no": _link(raw.get("no"))}
        if type_ != StepType.CONDITION:
            step["yes"] = step["no"] = ""
        if type_ in (StepType.CONDITION, StepType.SPLIT, StepType.END):
            step["next"] = ""
        if errors:
            problems[f"steps.{key}"] = errors
        cleaned.append(step)
    if problems:
        raise ValidationFailed(_("Some steps need attention."), fields=problems)
    return cleaned


def step_links(step: dict[str, Any]) -> list[str]:
    """The keys a step can go to next ("" where a link is missing)."""
    type_ = step["type"]
    if type_ == StepType.END:
        return []
    if type_ == StepType.CONDITION:
        return [step["yes"], step["no"]]
    if type_ == StepType.SPLIT:
        return [v["next"] for v in step["config"].get("variants", [])]
    return [step["next"]]


def _cycles_without_wait(steps: dict[str, dict[str, Any]]) -> set[str]:
    """Keys of steps on a loop that passes no WAIT (Tarjan's strongly connected components
    of the graph without WAIT steps)."""
    graph = {k: [t for t in step_links(s) if t in steps and steps[t]["type"] != StepType.WAIT]
             for k, s in steps.items() if s["type"] != StepType.WAIT}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    looped: set[str] = set()
    counter = [0]

    def visit(node: str) -> None:
        # Iterative DFS keeps deep graphs off Python's recursion limit.
        work = [(node, iter(graph[node]))]
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        while work:
            current, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[current] = min(low[current], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == current:
                        break
                if len(component) > 1 or current in graph[current]:
                    looped.update(component)

    for node in graph:
        if node not in index:
            visit(node)
    return looped


def loop_keys(steps: list[dict[str, Any]]) -> set[str]:
    """Keys of steps that lie on any loop (a SEND there needs a per-visit dedupe key)."""
    by_key = {s["key"]: s for s in steps}
    reach: dict[str, set[str]] = {}
    for key in by_key:
        seen: set[str] = set()
        todo = [t for t in step_links(by_key[key]) if t in by_key]
        while todo:
            item = todo.pop()
            if item in seen:
                continue
            seen.add(item)
            todo.extend(t for t in step_links(by_key[item]) if t in by_key)
        reach[key] = seen
    return {key for key, seen in reach.items() if key in seen}


def graph_problems(*, tenant: Tenant, steps: list[dict[str, Any]]) -> Problems:
    """What stops these (cleaned) steps from running, per step key (`journey` for the whole):
    an empty dict when the journey may be activated."""
    from tend.messaging.services.templates import template_resolve

    problems: Problems = {}

    def add(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    by_key = {s["key"]: s for s in steps}
    triggers = [s for s in steps if s["type"] == StepType.TRIGGER]
    if len(triggers) != 1:
        add("journey", _("A journey starts with exactly one trigger step."))
    if not any(s["type"] == StepType.END for s in steps):
        add("journey", _("Add an end step."))
    for step in steps:
        links = step_links(step)
        if step["type"] == StepType.SPLIT and not links:
            continue
        for target in links:
            if not target:
                add(step["key"], _("Choose where this step goes next."))
            elif target not in by_key:
                add(step["key"], _("The next step “%(key)s” does not exist.") % {"key": target})
            elif by_key[target]["type"] == StepType.TRIGGER:
                add(step["key"], _("A step cannot go back to the trigger."))
    if triggers:
        reached = {triggers[0]["key"]}
        todo = [triggers[0]["key"]]
        while todo:
            for target in step_links(by_key[todo.pop()]):
                if target in by_key and target not in reached:
                    reached.add(target)
                    todo.append(target)
        for step in steps:
            if step["key"] not in reached:
                add(step["key"], _("No path from the trigger reaches this step."))
    # Every path ends: each step must be able to reach an END.
    ends = {s["key"] for s in steps if s["type"] == StepType.END}
    reverse: dict[str, list[str]] = {k: [] for k in by_key}
    for step in steps:
        for target in step_links(step):
            if target in by_key:
                reverse[target].append(step["key"])
    can_end = set(ends)
    todo = list(ends)
    while todo:
        for source in reverse[todo.pop()]:
            if source not in can_end:
                can_end.add(source)
                todo.append(source)
    for step in steps:
        if step["key"] not in can_end and all(t in by_key for t in step_links(step)
                                              if t) and step_links(step):
            add(step["key"], _("No path from this step reaches an end."))
    for key in sorted(_cycles_without_wait(by_key)):
        add(key, _("This step is on a loop without a wait."))
    checked: dict[tuple[str, str], bool] = {}
    for step in steps:
        if step["type"] != StepType.SEND:
            continue
        pair = (step["config"]["templateId"], step["config"]["channel"])
        if pair not in checked:
            checked[pair] = template_resolve(tenant=tenant, key=pair[0], channel=pair[1],
                                             contact=None) is not None
        if not checked[pair]:
            add(step["key"], _("There is no published template “%(key)s” for %(channel)s.")
                % {"key": pair[0], "channel": pair[1]})
    return problems
