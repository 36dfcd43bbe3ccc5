"""Extension points of the marketing module."""

from django.dispatch import Signal

segment_membership_changed = Signal()
"""Sent after commit when contacts entered or left a segment (any size of change; the
SEGMENT_ENTERED/SEGMENT_LEFT activities are written either way). Arguments: `tenant`,
`segment_id`, `entered` (contact ids), `left` (contact ids)."""
