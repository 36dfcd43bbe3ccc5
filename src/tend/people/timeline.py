"""How activities look on a timeline: a registry modules fill with renderers for their types.

A renderer gives an icon, a title template and (optionally) a detail partial::

    register_timeline_renderer("TICKET_PURCHASED", TimelineRenderer(
        icon="ticket", title=_("Bought a ticket: %(title)s"),
        detail_template="events/partials/timeline_ticket.html"))
    register_timeline_renderer("EVENT_", TimelineRenderer(icon="calendar"))  # a prefix

A key ending in `_` (or `*`) matches every type starting with it; an exact type wins over a
prefix, a longer prefix over a shorter one. Unknown types use `DEFAULT_RENDERER`. Titles are
`%`-format strings (translatable) filled with the activity's `title`, `channel`, `category`,
`actor` and its metadata's scalar values; a missing name renders as an empty string.
Subclass `TimelineRenderer` and override `render` for anything more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tend.people.choices import ConsentStatus, Direction
from tend.people.models import Activity


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


# What the timeline draws for an icon name (a module may add its own names).
ICON_GLYPHS: dict[str, str] = {
    "dot": "•", "user-plus": "+", "edit": "✎", "merge": "⇄", "upload": "↑", "shield": "◈",
    "note": "✎", "chat": "✆", "segment": "◎", "tag": "#", "mail": "✉", "calendar": "▦",
    "ticket": "◫", "money": "¤", "star": "★",
}


def actor_display(label: str) -> str:
    """An activity's stored actor label (written in English by `Actor.label`: "system",
    "API key <name>", "source <name>", or a member's email) in the reader's language."""
    if label == "system":
        return str(_("System"))
    for prefix, template in (("API key ", _("API key %(name)s")),
                             ("source ", _("Source %(name)s"))):
        if label.startswith(prefix):
            return str(template) % {"name": label[len(prefix):]}
    return label


@dataclass(frozen=True)
class TimelineEntry:
    """One activity ready for a template."""

    activity: Activity
    icon: str
    title: str
    detail_template: str

    @property
    def actor(self) -> str:
        return actor_display(self.activity.actor_label or "")

    @property
    def glyph(self) -> str:
        return ICON_GLYPHS.get(self.icon, ICON_GLYPHS["dot"])


@dataclass(frozen=True)
class TimelineRenderer:
    """How one activity type (or a family of them) is shown. `icon` is a short name the
    timeline CSS knows (falls back to a dot); `detail_template` is included with `activity`
    and `entry` in its context and must not run queries per activity."""

    icon: str = "dot"
    title: str | Promise = "%(title)s"
    detail_template: str = "people/partials/timeline_detail_default.html"
    # (metadata key, TextChoices class): show that value as its translated label.
    labels: tuple[tuple[str, Any], ...] = ()

    def values(self, activity: Activity) -> dict[str, Any]:
        values = _Blank({
            key: value for key, value in (activity.metadata or {}).items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        })
        values.update(title=activity.title, channel=activity.channel,
                      category=activity.category, actor=actor_display(activity.actor_label or ""),
                      type=activity.type)
        for key, choices in self.labels:
            value = values.get(key)
            if value in choices.values:
                values[key] = str(choices(value).label).lower()
        return values

    def render(self, activity: Activity) -> TimelineEntry:
        try:
            title = str(self.title) % self.values(activity)
        except (TypeError, ValueError, KeyError):
            title = activity.title
        title = title.strip(" :·-") or activity.title or _humanize(activity.type)
        return TimelineEntry(activity=activity, icon=self.icon, title=title,
                             detail_template=self.detail_template)


def _humanize(type: str) -> str:
    return type.replace("_", " ").capitalize()


DEFAULT_RENDERER = TimelineRenderer(icon="dot", title="%(title)s")

_exact: dict[str, TimelineRenderer] = {}
_prefixes: dict[str, TimelineRenderer] = {}


def register_timeline_renderer(type_or_prefix: str, renderer: TimelineRenderer) -> None:
    """Register how `type_or_prefix` renders. Registering a key again replaces it (a module
    may refine another's default)."""
    key = type_or_prefix.strip().upper()
    if not key:
        raise ValueError("an activity type or prefix is required")
    if key.endswith("*"):
        _prefixes[key.rstrip("*")] = renderer
    elif key.endswith("_"):
        _prefixes[key] = renderer
    else:
        _exact[key] = renderer


def renderer_for(type: str) -> TimelineRenderer:
    """The renderer of an activity type: exact match, else the longest prefix, else default."""
    found = _exact.get(type)
    if found is not None:
        return found
    best = ""
    for prefix in _prefixes:
        if type.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return _prefixes[best] if best else DEFAULT_RENDERER


def render_activity(activity: Activity) -> TimelineEntry:
    return renderer_for(activity.type).render(activity)


def render_timeline(activities: list[Activity]) -> list[TimelineEntry]:
    return [render_activity(a) for a in activities]


def register_people_renderers() -> None:
    """The people module's own activity types."""
    builtin = {
        "CONTACT_CREATED": TimelineRenderer("user-plus", _("Contact created")),
        "CONTACT_UPDATED": TimelineRenderer("edit", _("Profile updated")),
        "CONTACT_MERGED": TimelineRenderer("merge", _("Merged with another record")),
        "CONTACT_IMPORTED": TimelineRenderer("upload", _("Imported: %(title)s")),
        "CONTACT_ERASED": TimelineRenderer("shield", _("Personal data erased")),
        "NOTE_ADDED": TimelineRenderer(
            "note", _("Note added: %(title)s"), "people/partials/timeline_detail_note.html"),
        "INTERACTION_LOGGED": TimelineRenderer(
            "chat", _("%(title)s (%(direction)s)"),
            "people/partials/timeline_detail_interaction.html",
            labels=(("direction", Direction),)),
        "CONSENT_CHANGED": TimelineRenderer(
            "shield", _("Consent for %(title)s: %(status)s"),
            labels=(("status", ConsentStatus),)),
        "TAG_ADDED": TimelineRenderer("tag", _("Tagged %(title)s")),
        "TAG_REMOVED": TimelineRenderer("tag", _("Tag removed: %(title)s")),
        "EMAIL_": TimelineRenderer("mail", "%(title)s"),
        "MESSAGE_": TimelineRenderer("chat", "%(title)s"),
        "EVENT_": TimelineRenderer("calendar", "%(title)s"),
        "TICKET_": TimelineRenderer("ticket", "%(title)s"),
        "DONATION_": TimelineRenderer("money", "%(title)s"),
        "PAYMENT_": TimelineRenderer("money", "%(title)s"),
    }
    for key, renderer in builtin.items():
        register_timeline_renderer(key, renderer)
