"""The SMART analyzer: how specific, measurable, achievable, relevant and time-bound a
commitment reads, with an explanation for each check and a score from 1 to 10.

`analyze(text)` uses the registered analyzer; the default is `RuleAnalyzer` (word lists and
patterns, English and Arabic, no network). An analyzer that calls a language model implements
the same `SmartAnalyzer` protocol and is installed with `set_analyzer(...)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from django.utils.translation import gettext as _

CHECKS = ("specific", "measurable", "achievable", "relevant", "time_bound")

_NUMBER = re.compile(r"\d+|\b(one|two|three|four|five|six|seven|eight|nine|ten|once|twice)\b"
                     r"|(واحد|اثنين|ثلاث|أربع|خمس|مرة|مرتين)", re.I)
_UNITS = re.compile(r"\b(minutes?|mins?|hours?|pages?|km|miles?|steps|times|reps|words|calls|"
                    r"emails|chapters?|glasses|lessons?)\b|(دقيقة|دقائق|ساعة|صفحة|صفحات|كم|مرات)",
                    re.I)
_TIME = re.compile(r"\b(today|tonight|tomorrow|by|before|every|daily|each|this (week|morning|"
                   r"evening)|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
                   r"\d{1,2}(:\d\d)?\s?(am|pm))\b"
                   r"|(اليوم|غدا|غداً|قبل|كل يوم|يوميا|يومياً|هذا الأسبوع)",
                   re.I)
_VAGUE = re.compile(r"\b(more|better|try|some|stuff|things|somehow|maybe|improve|get fit|"
                    r"be healthier|work on)\b|(أكثر|أفضل|أحاول|بعض|ربما)", re.I)
_ACTION = re.compile(r"\b(write|read|run|walk|call|email|finish|ship|publish|meditate|study|"
                     r"practice|cook|send|review|plan|complete|exercise|code|build|draft|clean|"
                     r"learn|swim|post|record|apply)\b|(أكتب|أقرأ|أجري|أمشي|أتصل|أنهي|أدرس|أمارس)",
                     re.I)
_HUGE = re.compile(r"\b(\d{3,}\s?(pages|km|miles|hours)|every single|never again|perfect|"
                   r"all day|100%)\b", re.I)


@dataclass
class SmartResult:
    """Each check's verdict with a reason, the score (1 to 10), and a suggested rewrite."""

    checks: dict[str, dict[str, object]] = field(default_factory=dict)
    score: int = 1
    suggestion: str = ""


class SmartAnalyzer(Protocol):
    def analyze(self, text: str, *, goal: str = "") -> SmartResult: ...


class RuleAnalyzer:
    """Word lists and patterns: deterministic, instant, good enough to coach a first draft."""

    def analyze(self, text: str, *, goal: str = "") -> SmartResult:
        text = " ".join((text or "").split())
        words = text.split()
        checks: dict[str, dict[str, object]] = {}
        specific = bool(_ACTION.search(text)) and len(words) >= 3 and not _VAGUE.search(text)
        checks["specific"] = {"ok": specific, "reason": _(
            "Names a concrete action.") if specific else _(
            "Say exactly what you will do (a verb like write, run, call), not “more” or "
            "“better”.")}
        measurable = bool(_NUMBER.search(text)) and bool(_UNITS.search(text) or
                                                         re.search(r"\d", text))
        checks["measurable"] = {"ok": measurable, "reason": _(
            "Has a number you can check.") if measurable else _(
            "Add an amount: how many minutes, pages, calls or times.")}
        achievable = not _HUGE.search(text) and len(words) <= 40
        checks["achievable"] = {"ok": achievable, "reason": _(
            "Sounds doable in a day or a week.") if achievable else _(
            "Make it smaller: something you can surely do this week.")}
        relevant = bool(goal) and bool({w.lower() for w in re.findall(r"\w{3,}", goal)}
                                       & {w.lower() for w in re.findall(r"\w{3,}", text)})
        relevant = relevant or (not goal and specific)
        checks["relevant"] = {"ok": relevant, "reason": _(
            "Connects with your goal.") if relevant else _(
            "Say how this moves your goal forward.")}
        timed = bool(_TIME.search(text))
        checks["time_bound"] = {"ok": timed, "reason": _(
            "Says when.") if timed else _("Add when: today, by Friday, every morning.")}
        passed = sum(1 for c in checks.values() if c["ok"])
        score = max(1, min(10, passed * 2))
        suggestion = ""
        if passed < 5:
            missing = [name for name in CHECKS if not checks[name]["ok"]]
            suggestion = " ".join(str(checks[name]["reason"]) for name in missing)
        return SmartResult(checks=checks, score=score, suggestion=suggestion)


_analyzer: SmartAnalyzer = RuleAnalyzer()


def set_analyzer(analyzer: SmartAnalyzer) -> None:
    """Install another analyzer (an LLM-backed one, say) for every later `analyze` call."""
    global _analyzer
    _analyzer = analyzer


def analyze(text: str, *, goal: str = "") -> SmartResult:
    return _analyzer.analyze(text, goal=goal)
