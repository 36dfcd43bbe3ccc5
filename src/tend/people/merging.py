"""The merge registry: every module whose rows point at a contact moves them on a merge.

A module registers a participant from its `AppConfig.ready()`:

    register_merge_participant("events.tickets", move_tickets)

`func(tenant, winner, loser)` runs inside the merge's transaction and tenant scope, after the
people module's own participants, and must move (or drop, when the winner already has the
same thing) every row of its module that points at `loser` so that it points at `winner`.
It must not touch the two contacts' own columns: the merge service sets those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tend.core.models import Tenant
    from tend.people.models import Contact

MergeParticipant = Callable[["Tenant", "Contact", "Contact"], None]

_participants: dict[str, MergeParticipant] = {}


def register_merge_participant(name: str, func: MergeParticipant) -> None:
    """Add `func` under `name`; registering a name again replaces it (order is kept)."""
    if not name:
        raise ValueError("a merge participant needs a name")
    _participants[name] = func


def unregister_merge_participant(name: str) -> None:
    _participants.pop(name, None)


def merge_participants() -> list[tuple[str, MergeParticipant]]:
    """Participants in registration order (the people module's own come first)."""
    return list(_participants.items())
