"""Extension points of the people module. Receivers must not hold business logic of their
own module's data; they let other modules react (after commit where it matters)."""

from django.dispatch import Signal

activity_recorded = Signal()
"""Sent after commit for each new Activity. Arguments: `tenant`, `activity`."""

interaction_logged = Signal()
"""Sent inside the transaction after an Interaction is saved (mentor links keep their
`last_contact_at` from it). Arguments: `tenant`, `interaction`, `actor`."""

contact_changed = Signal()
"""Sent after commit when a contact was created, updated, merged or erased. Arguments:
`tenant`, `contact_id`, `change` ("created" | "updated" | "merged" | "erased" | "deleted"),
`fields` (names of changed fields, for segment dependency tracking)."""

contacts_bulk_changed = Signal()
"""Sent after commit when many contacts changed at once (a contact import), instead of one
`contact_changed` per contact. Arguments: `tenant`, `reason` ("import"), `count` (contacts
created or updated). Receivers should react set-based (segments refresh whole)."""
