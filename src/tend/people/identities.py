"""Normalizing identities so one person's email or phone always reads the same."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from tend.core.errors import ValidationFailed
from tend.people.choices import AliasType


def normalize_email(value: str) -> str:
    """Lower-cased address with an IDNA (ASCII) domain; raises ValidationFailed if invalid."""
    try:
        result = validate_email((value or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(fields={"email": [str(exc)]}) from exc
    local, _, _domain = result.normalized.rpartition("@")
    return f"{local}@{result.ascii_domain}".lower()


def normalize_phone(value: str, region: str = "US") -> str:
    """E.164 (`+447700900123`), reading numbers without a country code in `region`."""
    raw = (value or "").strip()
    try:
        number = phonenumbers.parse(raw, (region or "US").upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(fields={"phone": [f"Not a phone number: {exc}"]}) from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationFailed(fields={"phone": ["This phone number is not valid."]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_alias(type: str, value: str, *, region: str = "US") -> str:
    """The stored form of an identity of `type` (see `AliasType`)."""
    if type == AliasType.EMAIL:
        return normalize_email(value)
    if type in (AliasType.PHONE, AliasType.WHATSAPP):
        return normalize_phone(value, region)
    cleaned = (value or "").strip()
    if type == AliasType.TELEGRAM:
        cleaned = cleaned.lstrip("@")
        # Numeric ids stay as they are; usernames are case-insensitive on Telegram.
        cleaned = cleaned if cleaned.isdigit() else cleaned.lower()
    if not cleaned:
        raise ValidationFailed(fields={"value": ["This field is required."]})
    if len(cleaned) > 254:
        raise ValidationFailed(fields={"value": ["At most 254 characters."]})
    return cleaned
