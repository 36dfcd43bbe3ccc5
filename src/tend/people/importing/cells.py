"""Cells of files people open in a spreadsheet."""

from __future__ import annotations

from typing import Any

# Cells a spreadsheet would run as a formula (see `safe_cell`).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell for a CSV/XLSX file people open in a spreadsheet: text starting like a formula
    (`= + - @`, tab, CR) gets a leading `'` so it is shown, not run."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
