"""Arabic: Django defines the short date (day first, with right-to-left marks) but no date-time
formats, so they would fall back to the American month/day order."""

DATETIME_FORMAT = "j F، Y g:i A"
SHORT_DATETIME_FORMAT = "d\u200f/m\u200f/Y g:i A"
