"""The journey builder's picture: the steps as a tree of boxes from the trigger down, branches
side by side. A step reached a second time (paths joining again, or a loop back through a
WAIT) is drawn once; the other arrivals show a link to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from tend.marketing.models_journeys import StepType


@dataclass
class Node:
    step: dict[str, Any]
    summary: str
    problems: list[str]
    stats: dict[str, int]
    branches: list[tuple[str, Node | None, str]] = field(default_factory=list)
    # (label, the next node drawn here, or the key of a step drawn elsewhere)


def step_summary(step: dict[str, Any]) -> str:
    """One line saying what a step does."""
    config = step["config"]
    type_ = step["type"]
    if type_ == StepType.SEND:
        return _("Send “%(template)s” by %(channel)s") % {
            "template": config.get("templateId", ""), "channel": config.get("channel", "")}
    if type_ == StepType.WAIT:
        if config.get("duration"):
            return _("Wait %(duration)s") % {"duration": config["duration"]}
        if config.get("until"):
            return _("Wait until %(until)s") % {"until": config["until"]}
        return _("Wait until the rule matches (at most %(timeout)s)") % {
            "timeout": config.get("timeout", "")}
    if type_ == StepType.CONDITION:
        rules = (config.get("rule") or {}).get("rules") or []
        parts = [f"{r.get('field')} {r.get('operator')} {r.get('value', '')}".strip()
                 for r in rules if isinstance(r, dict) and "field" in r]
        return _("If %(rule)s") % {"rule": " · ".join(parts) or "…"}
    if type_ == StepType.SPLIT:
        return " / ".join(f"{v['name']} {v['weight']}" for v in config.get("variants", []))
    if type_ == StepType.UPDATE:
        return f"{config.get('action', '')}: {config.get('label') or config.get('field', '')} " \
               f"{'' if config.get('label') else config.get('value', '')}".strip()
    if type_ == StepType.CREATE_TASK:
        return _("Task: %(title)s") % {"title": config.get("title", "")}
    if type_ == StepType.WEBHOOK:
        return str(config.get("url", ""))
    if type_ == StepType.TRIGGER:
        return _("Enrollment starts here")
    return _("Leaves the journey")


def _branches(step: dict[str, Any]) -> list[tuple[str, str]]:
    type_ = step["type"]
    if type_ == StepType.CONDITION:
        return [(_("yes"), step["yes"]), (_("no"), step["no"])]
    if type_ == StepType.SPLIT:
        return [(v["name"], v["next"]) for v in step["config"].get("variants", [])]
    if type_ == StepType.END:
        return []
    return [("", step["next"])]


def build_tree(steps: list[dict[str, Any]], problems: dict[str, list[str]],
               stats: dict[str, dict[str, int]]) -> tuple[Node | None, list[Node]]:
    """The tree from the trigger, and the steps no path reaches (drawn apart)."""
    by_key = {s["key"]: s for s in steps}
    drawn: set[str] = set()

    def node(key: str) -> Node:
        step = by_key[key]
        drawn.add(key)
        item = Node(step=step, summary=step_summary(step), problems=problems.get(key, []),
                    stats=stats.get(key, {}))
        for label, target in _branches(step):
            if target and target in by_key and target not in drawn:
                item.branches.append((label, node(target), ""))
            else:
                item.branches.append((label, None, target))
        return item

    trigger = next((s for s in steps if s["type"] == StepType.TRIGGER), None)
    root = node(trigger["key"]) if trigger else None
    loose = [node(s["key"]) for s in steps if s["key"] not in drawn]
    return root, loose
