"""Reading import rows: cells → `ParsedRow`, normalized and validated, with per-row errors.

Pure Python (no database writes): the parser is built once per import from the tenant's
region, the column mapping and the custom field definitions, and then called for every row.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import available_timezones

import phonenumbers
from django.utils.translation import gettext as _

from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.customfields import custom_values_validate
from tend.people.choices import AliasType, Gender, LifecycleStage
from tend.people.identities import normalize_alias
from tend.people.importing.mapping import CONTACT_FIELDS, CUSTOM_RE, EXTERNAL_RE
from tend.people.models import Contact

MULTI_SPLIT = re.compile(r"\s*(?:;|:::)\s*")
TAG_SPLIT = re.compile(r"\s*(?:,|;|:::)\s*")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d", "%d %B %Y",
                "%B %d, %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
GENDERS = {"f": Gender.FEMALE, "female": Gender.FEMALE, "woman": Gender.FEMALE,
           "m": Gender.MALE, "male": Gender.MALE, "man": Gender.MALE,
           "other": Gender.OTHER, "non-binary": Gender.OTHER, "nonbinary": Gender.OTHER,
           "undisclosed": Gender.UNDISCLOSED, "prefer not to say": Gender.UNDISCLOSED}
# HubSpot's and other tools' stage names, lower-cased without spaces.
LIFECYCLE_ALIASES = {
    "marketingqualifiedlead": LifecycleStage.LEAD, "salesqualifiedlead": LifecycleStage.LEAD,
    "mql": LifecycleStage.LEAD, "sql": LifecycleStage.LEAD,
    "opportunity": LifecycleStage.PROSPECT, "evangelist": LifecycleStage.ADVOCATE,
    "former customer": LifecycleStage.CHURNED, "formercustomer": LifecycleStage.CHURNED,
}
# Cells a spreadsheet would run as a formula (see `safe_cell`).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST = frozenset("=+-@\t\r")
# Plain strings (not the enum members) for the keys built for every row.
EMAIL, PHONE, EXTERNAL = str(AliasType.EMAIL.value), str(AliasType.PHONE.value), str(
    AliasType.EXTERNAL.value)


_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63})$")
# Domains email_validator refuses (special-use names): left to it.
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def fast_email(value: str) -> str | None:
    """The normalized form of a plain ASCII address (what `normalize_email` gives for it), or
    None when the address needs the full check (non-ASCII, quoted, odd domains, too long).
    Most addresses in a file are plain, and the full check is the slowest step of a row."""
    if len(value) > 254:
        return None
    match = _PLAIN_EMAIL.match(value)
    if match is None or match.group(1).lower() in _SPECIAL_TLDS:
        return None
    local = value.partition("@")[0]
    if len(local) > 64:
        return None
    return value.lower()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass
class ParsedRow:
    """One file row read into contact terms (already normalized and validated)."""

    number: int
    cells: list[str]
    fields: dict[str, Any] = field(default_factory=dict)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    externals: list[tuple[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    company: str = ""
    custom: dict[str, Any] = field(default_factory=dict)
    contact_id: str = ""
    errors: list[str] = field(default_factory=list)

    def identity_keys(self) -> list[tuple[str, str, str]]:
        return ([(EMAIL, "", e) for e in self.emails] + [(PHONE, "", p) for p in self.phones]
                + [(EXTERNAL, s, v) for s, v in self.externals])


_country_names: dict[str, str] = {}


def _country_code(value: str) -> str | None:
    text = value.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    if not _country_names:
        from phonenumbers.geocoder import _region_display_name

        for region in phonenumbers.SUPPORTED_REGIONS:
            name = _region_display_name(region, "en")
            if name:
                _country_names[name.lower()] = region
        _country_names.update({"usa": "US", "united states of america": "US", "uk": "GB",
                               "england": "GB", "great britain": "GB", "uae": "AE"})
    return _country_names.get(text.lower())


def _parse_date(value: str) -> date | None:
    text = value.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


_time_zones: set[str] = set()


class RowParser:
    """Reads rows of one import: cells → `ParsedRow`, collecting per-row errors."""

    def __init__(self, *, tenant: Tenant, headers: list[str], mapping: dict[str, str]) -> None:
        self.region = tenant.region or "US"
        self.tenant = tenant
        self.columns = [(i, mapping[h]) for i, h in enumerate(headers) if mapping.get(h)]
        self.definitions = custom_definitions(tenant=tenant, entity_type="contact")
        # A new contact must have these (as `contact_create` demands); known ones may lack them.
        self.required_custom = sorted(d.key for d in self.definitions
                                      if d.required and d.is_active)
        self.max_lengths = {name: getattr(Contact._meta.get_field(name), "max_length", None)
                            for name in CONTACT_FIELDS if name != "date_of_birth"}

    def parse(self, number: int, cells: list[str]) -> ParsedRow:
        row = ParsedRow(number=number, cells=cells)
        custom_raw: dict[str, Any] = {}
        for index, target in self.columns:
            value = (cells[index] if index < len(cells) else "").strip()
            if not value:
                continue
            if value[0] == "'" and value[1:2] and value[1] in FORMULA_FIRST:
                value = value[1:]  # escaped by a spreadsheet export (ours too): take it back
            if target == "email":
                for part in MULTI_SPLIT.split(value):
                    self._identity(row, EMAIL, part, row.emails)
            elif target == "phone":
                for part in MULTI_SPLIT.split(value):
                    self._identity(row, PHONE, part, row.phones)
            elif target == "tags":
                for name in TAG_SPLIT.split(value):
                    name = name.strip().strip('"').strip()
                    if name and name != "* myContacts" and name not in row.tags:
                        row.tags.append(name[:100])
            elif target == "company":
                row.company = value[:200]
            elif target == "id":
                row.contact_id = value
            elif match := EXTERNAL_RE.match(target):
                row.externals.append((match.group(1), value[:254]))
            elif match := CUSTOM_RE.match(target):
                custom_raw[match.group(1)] = value
            else:
                self._field(row, target, value)
        if custom_raw:
            try:
                cleaned = custom_values_validate(tenant=self.tenant, entity_type="contact",
                                                 values=custom_raw, partial=True,
                                                 definitions=self.definitions)
                row.custom = {k: v for k, v in cleaned.items() if v is not None}
            except ValidationFailed as exc:
                for name, messages in exc.fields.items():
                    row.errors.extend(f"{name}: {m}" for m in messages)
        if row.contact_id:
            try:
                row.contact_id = str(uuid.UUID(row.contact_id))
            except ValueError:
                row.errors.append(_("id: not a Tend contact id."))
        named = any(row.fields.get(f) for f in ("first_name", "last_name", "display_name"))
        if not row.errors and not (row.identity_keys() or row.contact_id or named):
            row.errors.append(_("The row has no name, email, phone or id."))
        return row

    def _identity(self, row: ParsedRow, type: str, value: str, into: list[str]) -> None:
        if not value:
            return
        try:
            normalized = (fast_email(value) if type == EMAIL else None) or (
                normalize_alias(type, value, region=self.region))
        except ValidationFailed:
            label = _("email") if type == EMAIL else _("phone")
            row.errors.append(_("%(field)s: “%(value)s” is not valid.")
                              % {"field": label, "value": value[:100]})
            return
        if normalized not in into:
            into.append(normalized)

    def _field(self, row: ParsedRow, target: str, value: str) -> None:
        error = None
        if target == "date_of_birth":
            parsed = _parse_date(value)
            if parsed is None:
                if value.startswith("--"):
                    return  # a birthday without a year (vCard, Google): nothing to store
                error = _("not a date (use YYYY-MM-DD).")
            row.fields[target] = parsed
        elif target == "gender":
            gender = GENDERS.get(value.lower()) or (value.upper() if value.upper()
                                                     in Gender.values else None)
            if gender is None:
                error = _("unknown gender.")
            row.fields[target] = gender
        elif target == "lifecycle_stage":
            key = value.strip().lower().replace(" ", "").replace("_", "")
            stage = LIFECYCLE_ALIASES.get(key) or next(
                (s for s in LifecycleStage.values if s.lower() == key), None)
            if stage is None:
                if key == "other":
                    return
                error = _("unknown lifecycle stage.")
            row.fields[target] = stage
        elif target == "country":
            code = _country_code(value)
            if code is None:
                error = _("unknown country (use a two-letter code).")
            row.fields[target] = code
        elif target == "time_zone":
            if not _time_zones:
                _time_zones.update(available_timezones())
            if value not in _time_zones:
                error = _("unknown time zone.")
            row.fields[target] = value
        else:
            limit = self.max_lengths.get(target) or 200
            if len(value) > limit:
                error = _("at most %(limit)d characters.") % {"limit": limit}
            row.fields[target] = value
        if error:
            row.errors.append(f"{CONTACT_FIELDS[target]}: {error}")
            row.fields.pop(target, None)
