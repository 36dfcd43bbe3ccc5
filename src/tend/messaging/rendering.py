"""The sandboxed renderer of message templates.

A template is plain text with variables: `{{ contact.first_name }}`, optionally with a
fallback for an empty value: `{{ contact.first_name|default:"friend" }}`. Nothing else is
understood — no tags, no filters besides `default`, no attribute access: a variable is looked
up by name in a dict of plain strings built beforehand from an allowlist (the contact fields
below, the organization's name, and the namespaces modules register, e.g. `event.title`).
Template text can therefore never reach an object, a method or another organization's data.

    register_template_variables("event", ["title", "starts_at", "place", "url"])

A namespace's values are passed at send time as `extra={"event": {"title": …}}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

# Contact fields a template may show; nothing else of the contact is reachable.
CONTACT_FIELDS = ("first_name", "last_name", "display_name", "city", "country", "language",
                  "job_title", "primary_email", "primary_phone")
ORGANIZATION_FIELDS = ("name",)

_namespaces: dict[str, tuple[str, ...]] = {
    "contact": CONTACT_FIELDS,
    "organization": ORGANIZATION_FIELDS,
}


def register_template_variables(namespace: str, names: Iterable[str]) -> None:
    """Allow `{{ <namespace>.<name> }}` in templates (values come from the sender's `extra`).
    Registering a namespace again adds names to it; `contact` and `organization` are fixed."""
    if namespace in ("contact", "organization"):
        raise ValueError(f"{namespace} variables are fixed")
    _namespaces[namespace] = tuple(dict.fromkeys((*_namespaces.get(namespace, ()), *names)))


def allowed_variables() -> dict[str, tuple[str, ...]]:
    return dict(_namespaces)


_VARIABLE = re.compile(r"\{\{(.*?)\}\}", re.S)
_EXPRESSION = re.compile(
    r"""^\s*(?P<path>[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\s*
        (?:\|\s*default\s*:\s*"(?P<default>[^"{}]*)"\s*)?$""", re.X)


@dataclass(frozen=True)
class Variable:
    text: str  # as written, braces included
    path: str
    default: str | None


class TemplateSyntaxError(ValueError):
    """The text is not a valid template; `messages` say why, for the person."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def parse(text: str) -> list[Variable]:
    """The variables in `text`; raises `TemplateSyntaxError` for anything that is not plain
    text and `{{ namespace.name }}` variables."""
    errors: list[str] = []
    if "{%" in text or "{#" in text:
        errors.append(_("Only {{ variables }} are allowed, not {% tags %} or {# comments #}."))
    variables = []
    for match in _VARIABLE.finditer(text):
        expression = _EXPRESSION.match(match.group(1))
        if expression is None:
            errors.append(_("“%(text)s” is not a variable like {{ contact.first_name }}.")
                          % {"text": match.group(0)[:80]})
            continue
        variables.append(Variable(match.group(0), expression.group("path"),
                                  expression.group("default")))
    rest = _VARIABLE.sub("", text)
    if "{{" in rest or "}}" in rest:
        errors.append(_("A variable is not closed: write {{ name }}."))
    if errors:
        raise TemplateSyntaxError(errors)
    return variables


def unknown_variables(variables: Iterable[Variable]) -> list[str]:
    """The variable paths that are not on the allowlist, in order of appearance."""
    unknown = []
    for variable in variables:
        namespace, name = variable.path.split(".", 1)
        if name not in _namespaces.get(namespace, ()) and variable.path not in unknown:
            unknown.append(variable.path)
    return unknown


def render(text: str, values: Mapping[str, Mapping[str, Any]]) -> str:
    """`text` with every variable replaced by its value in `values` (`{namespace: {name:
    value}}`), or its default, or nothing. Values are turned into text; nothing is escaped
    (messages are plain text; HTML email escapes at its own layer)."""

    def replace(match: re.Match[str]) -> str:
        expression = _EXPRESSION.match(match.group(1))
        if expression is None:
            return match.group(0)
        namespace, name = expression.group("path").split(".", 1)
        value = (values.get(namespace) or {}).get(name)
        text_value = "" if value is None else str(value)
        if not text_value.strip() and expression.group("default") is not None:
            return expression.group("default")
        return text_value

    return _VARIABLE.sub(replace, text)


def context_for(*, tenant: Any, contact: Any | None,
                extra: Mapping[str, Mapping[str, Any]] | None = None
                ) -> dict[str, dict[str, Any]]:
    """The values a template sees: the allowlisted contact fields, the organization's name,
    and `extra` namespaces (only registered names are kept)."""
    values: dict[str, dict[str, Any]] = {
        "contact": {name: getattr(contact, name, "") or "" for name in CONTACT_FIELDS}
        if contact is not None else {},
        "organization": {"name": tenant.name},
    }
    for namespace, given in (extra or {}).items():
        allowed = _namespaces.get(namespace)
        if not allowed or namespace in ("contact", "organization") or not isinstance(given,
                                                                                     Mapping):
            continue
        values[namespace] = {name: given[name] for name in allowed if name in given}
    return values
