"""Cleaning short texts typed by people (names, titles, descriptions) the same way in every
app: one string, stripped (or with its runs of white space made one space), checked for
presence and length, with the problem written as a field error."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


def clean_text(value: Any, field: str, errors: dict[str, list[str]], *, required: bool = False,
               limit: int | None = None, collapse: bool = False) -> str:
    """`value` as a stripped string, or a field error in `errors[field]`: not text, missing
    when `required`, longer than `limit`. `collapse` also turns every run of white space
    inside into one space (for names and titles shown on one line). `None` counts as empty."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[field] = [_("Enter text.")]
        return ""
    value = " ".join(value.split()) if collapse else value.strip()
    if required and not value:
        errors[field] = [_("This field is required.")]
    elif limit is not None and len(value) > limit:
        errors[field] = [_("Use at most %(limit)d characters.") % {"limit": limit}]
    return value
