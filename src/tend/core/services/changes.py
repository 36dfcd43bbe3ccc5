"""Writing an edit to a row: only what changed, with who changed it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Model

from tend.core.actors import Actor


def changed_values(obj: Model, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of `values` that differ from `obj`'s attributes."""
    return {k: v for k, v in values.items() if getattr(obj, k) != v}


def save_changes(obj: Model, changes: Mapping[str, Any], *, actor: Actor,
                 also: Iterable[str] = ()) -> None:
    """Set `changes` on `obj` and save only those columns, `also` (columns the caller set
    itself) and who and when (`updated_by`, `updated_at`). Call inside the caller's
    transaction, next to its audit record."""
    for key, value in changes.items():
        setattr(obj, key, value)
    obj.updated_by = actor.acting_user  # type: ignore[attr-defined]
    obj.save(update_fields=[*changes, *also, "updated_by", "updated_at"])
