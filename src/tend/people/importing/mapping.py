"""Where each column of an imported file goes: targets, presets for known exports, and the
auto-mapping that recognizes them (exact names first, then fuzzy matching with rapidfuzz).

A mapping is `{column header: target}`; columns left out (or mapped to "") are ignored.
Targets:

- contact fields: `first_name`, `last_name`, `display_name`, `date_of_birth`, `gender`,
  `address_line1`, `address_line2`, `city`, `state`, `postal_code`, `country`, `language`,
  `time_zone`, `lifecycle_stage`, `job_title`, `source`
- `email`, `phone` (several columns may map to them; a cell may hold several values separated
  by `;` or `:::`; the first becomes primary), `tags` (names separated by `,` `;` or `:::`),
  `company` (a company name, found or created), `id` (a Tend contact id, from our export)
- `custom.<key>`: a custom field of contacts
- `external.<system>`: an id in another system (e.g. `external.hubspot`), stored as an
  identity and used to match contacts on the next import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz, process

from tend.core.models import CustomFieldDefinition

CONTACT_FIELDS: dict[str, str | Promise] = {
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "display_name": _("Display name"),
    "date_of_birth": _("Date of birth"),
    "gender": _("Gender"),
    "address_line1": _("Address"),
    "address_line2": _("Address line 2"),
    "city": _("City"),
    "state": _("State / province"),
    "postal_code": _("Postal code"),
    "country": _("Country"),
    "language": _("Language"),
    "time_zone": _("Time zone"),
    "lifecycle_stage": _("Lifecycle stage"),
    "job_title": _("Job title"),
    "source": _("Source"),
}
SPECIAL_TARGETS: dict[str, str | Promise] = {
    "email": _("Email"),
    "phone": _("Phone"),
    "tags": _("Tags"),
    "company": _("Company name"),
    "id": _("Tend contact id"),
}
EXTERNAL_RE = re.compile(r"^external\.([a-z0-9][a-z0-9_-]{0,49})$")
CUSTOM_RE = re.compile(r"^custom\.([a-z][a-z0-9_]{0,63})$")

# Our own export's columns (also the vCard reader's), and the target each one fills.
OWN_EXPORT: dict[str, str] = {
    "Tend id": "id",
    "First name": "first_name",
    "Last name": "last_name",
    "Display name": "display_name",
    "Email": "email",
    "Other emails": "email",
    "Phone": "phone",
    "Other phones": "phone",
    "Company": "company",
    "Job title": "job_title",
    "Lifecycle stage": "lifecycle_stage",
    "Date of birth": "date_of_birth",
    "Gender": "gender",
    "Address": "address_line1",
    "Address line 2": "address_line2",
    "City": "city",
    "State": "state",
    "Postal code": "postal_code",
    "Country": "country",
    "Language": "language",
    "Time zone": "time_zone",
    "Source": "source",
    "Tags": "tags",
}

HUBSPOT: dict[str, str] = {
    "Record ID": "external.hubspot",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Email": "email",
    "Additional email addresses": "email",
    "Phone Number": "phone",
    "Mobile Phone Number": "phone",
    "Company Name": "company",
    "Job Title": "job_title",
    "Lifecycle Stage": "lifecycle_stage",
    "Street Address": "address_line1",
    "City": "city",
    "State/Region": "state",
    "Country/Region": "country",
    "Postal Code": "postal_code",
    "Preferred language": "language",
    "Time Zone": "time_zone",
    "Original Source": "source",
    "Date of birth": "date_of_birth",
}

MAILCHIMP: dict[str, str] = {
    "Email Address": "email",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Address": "address_line1",
    "Phone Number": "phone",
    "Company": "company",
    "TAGS": "tags",
    "LEID": "external.mailchimp",
}

GOOGLE: dict[str, str] = {
    "First Name": "first_name",
    "Last Name": "last_name",
    "Given Name": "first_name",
    "Family Name": "last_name",
    "Name": "display_name",
    "Birthday": "date_of_birth",
    "Gender": "gender",
    "Organization Name": "company",
    "Organization Title": "job_title",
    "Organization 1 - Name": "company",
    "Organization 1 - Title": "job_title",
    "Labels": "tags",
    "Group Membership": "tags",
    "Language": "language",
    "E-mail 1 - Value": "email",
    "E-mail 2 - Value": "email",
    "E-mail 3 - Value": "email",
    "Phone 1 - Value": "phone",
    "Phone 2 - Value": "phone",
    "Phone 3 - Value": "phone",
    "Address 1 - Street": "address_line1",
    "Address 1 - Extended Address": "address_line2",
    "Address 1 - City": "city",
    "Address 1 - Region": "state",
    "Address 1 - Postal Code": "postal_code",
    "Address 1 - Country": "country",
}


@dataclass(frozen=True)
class Preset:
    key: str
    label: str | Promise
    columns: dict[str, str]
    # Headers that only this export has: seeing enough of them names the preset.
    signature: tuple[str, ...]


PRESETS: tuple[Preset, ...] = (
    # Our headers are sentence case ("First name"), unlike HubSpot's and Google's.
    Preset("tend", _("Tend export"), OWN_EXPORT, ("Tend id", "Display name", "Other emails",
                                                   "Other phones", "Lifecycle stage",
                                                   "First name", "Last name", "Postal code",
                                                   "Date of birth")),
    Preset("hubspot", _("HubSpot contacts export"), HUBSPOT,
           ("Record ID", "Phone Number", "Mobile Phone Number", "Company Name",
            "Lifecycle Stage", "State/Region", "Country/Region", "Contact owner",
            "Street Address")),
    Preset("mailchimp", _("Mailchimp audience export"), MAILCHIMP,
           ("Email Address", "TAGS", "MEMBER_RATING", "OPTIN_TIME", "LEID", "EUID",
            "CONFIRM_TIME", "GMTOFF")),
    Preset("google", _("Google Contacts CSV"), GOOGLE,
           ("Middle Name", "E-mail 1 - Value", "E-mail 1 - Label", "Phone 1 - Value",
            "Organization Name", "Address 1 - City", "Labels", "Given Name",
            "Group Membership", "File As", "Name Prefix")),
)
PRESET_LABELS = {p.key: p.label for p in PRESETS}

# Other spellings people use, for the fuzzy match.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("first name", "firstname", "given name", "forename", "first"),
    "last_name": ("last name", "lastname", "surname", "family name", "last"),
    "display_name": ("name", "full name", "display name", "contact name"),
    "email": ("email", "e-mail", "email address", "mail", "work email", "personal email"),
    "phone": ("phone", "phone number", "mobile", "mobile phone", "cell", "telephone", "tel",
              "whatsapp"),
    "company": ("company", "company name", "organization", "organisation", "employer"),
    "job_title": ("job title", "title", "position", "role"),
    "date_of_birth": ("date of birth", "birthday", "birth date", "dob"),
    "gender": ("gender", "sex"),
    "address_line1": ("address", "street", "street address", "address line 1"),
    "address_line2": ("address line 2", "address 2"),
    "city": ("city", "town"),
    "state": ("state", "region", "province", "state/region", "county"),
    "postal_code": ("postal code", "zip", "zip code", "postcode"),
    "country": ("country", "country code", "country/region"),
    "language": ("language", "preferred language", "locale"),
    "time_zone": ("time zone", "timezone"),
    "lifecycle_stage": ("lifecycle stage", "stage", "lifecycle"),
    "tags": ("tags", "labels", "groups", "segments"),
    "source": ("source", "lead source", "original source"),
}
FUZZY_THRESHOLD = 88


def _norm(header: str) -> str:
    return re.sub(r"[\s_]+", " ", header.strip().lower())


def is_valid_target(target: str, custom_keys: set[str] | None = None) -> bool:
    if target in CONTACT_FIELDS or target in SPECIAL_TARGETS or EXTERNAL_RE.match(target):
        return True
    match = CUSTOM_RE.match(target)
    return match is not None and (custom_keys is None or match.group(1) in custom_keys)


def target_choices(definitions: list[CustomFieldDefinition]) -> list[tuple[str, str]]:
    """(value, label) of every target, for the mapping screen's selects."""
    choices = [(key, str(label)) for key, label in SPECIAL_TARGETS.items()]
    choices += [(key, str(label)) for key, label in CONTACT_FIELDS.items()]
    language = get_language() or "en"
    choices += [(f"custom.{d.key}", f"{d.label_for(language)} ({_('custom field')})")
                for d in definitions]
    choices += [(f"external.{system}", f"{_('External id')}: {name}")
                for system, name in (("hubspot", "HubSpot"), ("mailchimp", "Mailchimp"),
                                     ("google", "Google"), ("legacy", "legacy"))]
    return choices


def detect_preset(headers: list[str]) -> Preset | None:
    """The known export these headers come from, if any: the preset with the most signature
    headers present (at least two), ties broken by the share of its columns present."""
    present = set(headers)
    best: tuple[int, float, Preset] | None = None
    for preset in PRESETS:
        hits = sum(1 for h in preset.signature if h in present)
        share = sum(1 for h in preset.columns if h in present) / len(preset.columns)
        if hits >= 2 and (best is None or (hits, share) > best[:2]):
            best = (hits, share, preset)
    return best[2] if best else None


def auto_map(headers: list[str], definitions: list[CustomFieldDefinition] | None = None
             ) -> tuple[str, dict[str, str]]:
    """(preset key or "", mapping) for a file's headers.

    A detected preset maps its known columns exactly; every other column is matched against
    the target names, their synonyms and the custom fields' keys and labels (case-insensitive,
    then fuzzy). A target that takes one column (a name, the city) is given only once.
    """
    definitions = definitions or []
    preset = detect_preset(headers)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    multi = {"email", "phone", "tags"}
    custom_keys = {d.key for d in definitions}
    if preset is not None:
        for header in headers:
            target = preset.columns.get(header)
            if target and (target in multi or target not in used):
                mapping[header] = target
                used.add(target)
    candidates: dict[str, str] = {}
    for target, words in SYNONYMS.items():
        for word in words:
            candidates.setdefault(word, target)
    for target, label in {**CONTACT_FIELDS, **SPECIAL_TARGETS}.items():
        candidates.setdefault(_norm(str(label)), target)
        candidates.setdefault(_norm(target), target)
    for definition in definitions:
        candidates.setdefault(_norm(definition.key), f"custom.{definition.key}")
        for label in (definition.label or {}).values():
            candidates.setdefault(_norm(str(label)), f"custom.{definition.key}")
    for header in headers:
        if header in mapping:
            continue
        norm = _norm(header)
        target = None
        if is_valid_target(header, custom_keys):
            target = header  # "custom.vip", "external.crm": our export names its targets
        elif norm in candidates:
            target = candidates[norm]
        else:
            found = process.extractOne(norm, list(candidates), scorer=fuzz.ratio,
                                       score_cutoff=FUZZY_THRESHOLD)
            if found is not None:
                target = candidates[found[0]]
        if target and (target in multi or target not in used):
            mapping[header] = target
            used.add(target)
    return (preset.key if preset else ""), mapping
