"""Reading contact files (CSV, XLSX, vCard) and mapping their columns to contact fields."""

from tend.people.importing.mapping import PRESETS, auto_map, detect_preset, target_choices
from tend.people.importing.readers import Reader, detect_format, open_reader, sniff_csv

__all__ = ["PRESETS", "Reader", "auto_map", "detect_format", "detect_preset", "open_reader",
           "sniff_csv", "target_choices"]
