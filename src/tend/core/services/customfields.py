"""Custom fields: the entity registry, definitions, and validating values against them.

Organizations add fields to entity types ("contact", "company", …). An entity keeps its values
in a `custom` JSON column keyed by the definition's `key`; every write of that column goes
through `custom_values_validate`, which checks and normalizes the values (so the rule engine
and exports can rely on one stored shape per type):

| type         | stored as                                   |
| ------------ | ------------------------------------------- |
| text         | string (stripped, at most 1000 characters)  |
| number       | integer within +/-(2**53 - 1)               |
| decimal      | string, plain notation ("12.50")           |
| date         | "YYYY-MM-DD"                                |
| datetime     | UTC "YYYY-MM-DDTHH:MM:SSZ" (naive input is in the organization's time zone) |
| boolean      | true / false                                |
| choice       | one of the choice values                    |
| multi_choice | list of choice values, in the choices' order |
| url          | string (http/https)                         |
| email        | normalized address                          |
| phone        | E.164 ("+9715…"), parsed with the organization's region |
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from email_validator import EmailNotValidError, validate_email

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import CustomFieldDefinition, FieldType, Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.zones import tenant_zone

TEXT_MAX_LENGTH = 1000
URL_MAX_LENGTH = 2000
DECIMAL_MAX_DIGITS = 30
NUMBER_LIMIT = 2**53 - 1  # what every JSON reader keeps exactly
LABEL_MAX_LENGTH = 100
HELP_MAX_LENGTH = 300
CHOICE_VALUE_MAX_LENGTH = 100
MAX_CHOICES = 200
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CHOICE_TYPES = frozenset({FieldType.CHOICE, FieldType.MULTI_CHOICE})
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


# --- the entity registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class CustomFieldEntity:
    """An entity type organizations may add custom fields to."""

    key: str
    label: str | Promise


_entities: dict[str, CustomFieldEntity] = {}


def register_custom_field_entity(key: str, label: str | Promise) -> None:
    """Let organizations add custom fields to `key` (registering again replaces the label).

    Modules call this from `AppConfig.ready()` for each entity whose model has a `custom`
    column; the core registers "contact" and "company" itself so the settings page is usable
    before those modules exist.
    """
    if not re.match(r"^[a-z][a-z0-9_]{0,49}$", key):
        raise ValueError(f"invalid custom field entity key {key!r}")
    _entities[key] = CustomFieldEntity(key, label)


def custom_field_entities() -> list[CustomFieldEntity]:
    return sorted(_entities.values(), key=lambda e: e.key)


def custom_field_entity(key: str) -> CustomFieldEntity | None:
    return _entities.get(key)


register_custom_field_entity("contact", gettext_lazy("Contacts"))
register_custom_field_entity("company", gettext_lazy("Companies"))


# --- cleaning definition input ---------------------------------------------------------------


def _languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def _clean_label(value: Any, errors: dict[str, list[str]], field: str = "label",
                 *, required: bool = True) -> dict[str, str]:
    """`{"en": …, "ar": …}` (a plain string counts as English); empty languages dropped."""
    if isinstance(value, str):
        value = {"en": value}
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        errors[field] = [_("Give the label as text per language, e.g. {\"en\": \"Level\"}.")]
        return {}
    languages = _languages()
    label: dict[str, str] = {}
    problems: list[str] = []
    for code, text in value.items():
        if code not in languages:
            problems.append(_("Unknown language: %(code)s.") % {"code": code})
            continue
        if text is None:
            continue
        if not isinstance(text, str):
            problems.append(_("The %(code)s label must be text.") % {"code": code})
            continue
        text = text.strip()
        if len(text) > LABEL_MAX_LENGTH:
            problems.append(_("Use at most %(limit)d characters.") % {"limit": LABEL_MAX_LENGTH})
        elif text:
            label[code] = text
    if problems:
        errors[field] = problems
    elif required and not label:
        errors[field] = [_("This field is required.")]
    return label


def _clean_choices(value: Any, field_type: str, errors: dict[str, list[str]]
                   ) -> list[dict[str, Any]]:
    """Choices as `[{"value": …, "label": {…}}]`; a plain string is its own English label."""
    if field_type not in CHOICE_TYPES:
        if value:
            errors["choices"] = [_("Only choice fields have choices.")]
        return []
    if value is None:
        value = []
    if isinstance(value, str) or not isinstance(value, Iterable):
        errors["choices"] = [_("Give a list of choices.")]
        return []
    cleaned: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for position, item in enumerate(value, start=1):
        if isinstance(item, str):
            item = {"value": item, "label": {"en": item}}
        if not isinstance(item, Mapping):
            problems.append(_("Choice %(n)d: give a value and a label.") % {"n": position})
            continue
        raw = item.get("value")
        choice_value = raw.strip() if isinstance(raw, str) else ""
        if not choice_value:
            problems.append(_("Choice %(n)d: the value is required.") % {"n": position})
            continue
        if len(choice_value) > CHOICE_VALUE_MAX_LENGTH:
            problems.append(_("Choice %(n)d: use at most %(limit)d characters.")
                            % {"n": position, "limit": CHOICE_VALUE_MAX_LENGTH})
            continue
        if choice_value in seen:
            problems.append(_("Choice %(n)d: the value %(value)s is listed twice.")
                            % {"n": position, "value": choice_value})
            continue
        seen.add(choice_value)
        label_errors: dict[str, list[str]] = {}
        label = _clean_label(item.get("label") or {"en": choice_value}, label_errors,
                             required=False)
        if label_errors:
            problems += [_("Choice %(n)d: %(message)s") % {"n": position, "message": m}
                         for m in label_errors["label"]]
            continue
        cleaned.append({"value": choice_value, "label": label or {"en": choice_value}})
    if problems:
        errors["choices"] = problems
    elif not cleaned:
        errors["choices"] = [_("Add at least one choice.")]
    elif len(cleaned) > MAX_CHOICES:
        errors["choices"] = [_("Use at most %(limit)d choices.") % {"limit": MAX_CHOICES}]
    return cleaned


def _clean_help(value: Any, errors: dict[str, list[str]]) -> str:
    text = (value or "").strip() if isinstance(value, str | type(None)) else None
    if text is None:
        errors["help_text"] = [_("Enter text.")]
        return ""
    if len(text) > HELP_MAX_LENGTH:
        errors["help_text"] = [_("Use at most %(limit)d characters.") % {"limit": HELP_MAX_LENGTH}]
    return text


def _clean_position(value: Any, errors: dict[str, list[str]]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors["position"] = [_("Enter a whole number of 0 or more.")]
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0 or number > 100_000:
        errors["position"] = [_("Enter a whole number of 0 or more.")]
        return None
    return number


def _check_definition(tenant: Tenant, definition: CustomFieldDefinition) -> None:
    if definition.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"definition": [_("Choose a field of this organization.")]})


def _snapshot(definition: CustomFieldDefinition) -> dict[str, Any]:
    return {
        "label": dict(definition.label or {}), "choices": list(definition.choices or []),
        "required": definition.required, "help_text": definition.help_text,
        "position": definition.position, "is_active": definition.is_active,
    }


# --- definition services ---------------------------------------------------------------------


def customfield_create(*, tenant: Tenant, actor: Actor, entity_type: str, key: str,
                       label: Mapping[str, str] | str, field_type: str,
                       choices: Iterable[Any] | None = None, required: bool = False,
                       help_text: str = "", position: int | None = None
                       ) -> CustomFieldDefinition:
    """Add a custom field to `entity_type` (a registered entity). Needs `customfields.manage`.

    `key` (lowercase letters, digits and _, starting with a letter) is unique per organization
    and entity type, including deactivated fields, and cannot change later; nor can the type.
    Choice types need at least one choice. Without `position` the field goes last.
    """
    check_perm(actor, "customfields.manage")
    errors: dict[str, list[str]] = {}
    if custom_field_entity(entity_type) is None:
        errors["entity_type"] = [_("Choose one of the listed record types.")]
    key = (key or "").strip().lower() if isinstance(key, str) else ""
    if not key:
        errors["key"] = [_("This field is required.")]
    elif not KEY_RE.match(key):
        errors["key"] = [_("Start with a letter; use lowercase letters, digits and _ "
                           "(at most 64).")]
    elif CustomFieldDefinition.objects.filter(
        tenant=tenant, entity_type=entity_type, key=key
    ).exists():
        errors["key"] = [_("A field with this key exists already.")]
    if field_type not in FieldType.values:
        errors["field_type"] = [_("Choose one of the listed types.")]
    clean_label = _clean_label(label, errors)
    clean_choices = _clean_choices(choices, field_type, errors)
    clean_help = _clean_help(help_text, errors)
    clean_position = _clean_position(position, errors)
    if not isinstance(required, bool):
        errors["required"] = [_("Give true or false.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        if clean_position is None:
            last = CustomFieldDefinition.objects.filter(
                tenant=tenant, entity_type=entity_type
            ).aggregate(last=Max("position"))["last"]
            clean_position = 0 if last is None else last + 1
        definition = CustomFieldDefinition.objects.create(
            tenant=tenant, entity_type=entity_type, key=key, label=clean_label,
            field_type=field_type, required=required, choices=clean_choices,
            help_text=clean_help, position=clean_position,
            created_by=actor.acting_user, updated_by=actor.acting_user,
        )
        audit_record(
            tenant=tenant, actor=actor, action="customfield.created", entity_type="customfield",
            entity_id=definition.pk,
            changes={"entity_type": entity_type, "key": key, "field_type": field_type,
                     **_snapshot(definition)},
        )
    return definition


_UNSET: Any = object()


def customfield_update(*, tenant: Tenant, actor: Actor, definition: CustomFieldDefinition,
                       label: Any = _UNSET, choices: Any = _UNSET, required: Any = _UNSET,
                       help_text: Any = _UNSET, position: Any = _UNSET,
                       field_type: Any = _UNSET, key: Any = _UNSET) -> CustomFieldDefinition:
    """Change a field's label, choices, required flag, help text or position (arguments left
    out stay as they are). Needs `customfields.manage`.

    The key and type are fixed once created (stored values depend on them): passing a different
    one is refused. Values already stored stay as they are; a removed choice or a field made
    required is enforced on each record's next write.
    """
    check_perm(actor, "customfields.manage")
    _check_definition(tenant, definition)
    errors: dict[str, list[str]] = {}
    if key is not _UNSET and key != definition.key:
        errors["key"] = [_("The key cannot change; add a new field instead.")]
    if field_type is not _UNSET and field_type != definition.field_type:
        errors["field_type"] = [_("The type cannot change; add a new field instead.")]
    before = _snapshot(definition)
    after = dict(before)
    if label is not _UNSET:
        after["label"] = _clean_label(label, errors)
    if choices is not _UNSET:
        after["choices"] = _clean_choices(choices, definition.field_type, errors)
    if required is not _UNSET:
        if not isinstance(required, bool):
            errors["required"] = [_("Give true or false.")]
        after["required"] = required
    if help_text is not _UNSET:
        after["help_text"] = _clean_help(help_text, errors)
    if position is not _UNSET:
        cleaned_position = _clean_position(position, errors)
        if cleaned_position is not None:
            after["position"] = cleaned_position
    if errors:
        raise ValidationFailed(fields=errors)
    changed = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if not changed:
        return definition
    with transaction.atomic():
        definition.label = after["label"]
        definition.choices = after["choices"]
        definition.required = after["required"]
        definition.help_text = after["help_text"]
        definition.position = after["position"]
        definition.updated_by = actor.acting_user
        definition.save(update_fields=["label", "choices", "required", "help_text", "position",
                                       "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="customfield.updated",
                     entity_type="customfield", entity_id=definition.pk, changes=changed)
    return definition


def _set_active(tenant: Tenant, actor: Actor, definition: CustomFieldDefinition,
                active: bool) -> CustomFieldDefinition:
    check_perm(actor, "customfields.manage")
    _check_definition(tenant, definition)
    if definition.is_active == active:
        return definition
    with transaction.atomic():
        definition.is_active = active
        definition.updated_by = actor.acting_user
        definition.save(update_fields=["is_active", "updated_by", "updated_at"])
        audit_record(
            tenant=tenant, actor=actor,
            action="customfield.activated" if active else "customfield.deactivated",
            entity_type="customfield", entity_id=definition.pk,
            changes={"key": definition.key, "entity_type": definition.entity_type},
        )
    return definition


def customfield_deactivate(*, tenant: Tenant, actor: Actor, definition: CustomFieldDefinition
                           ) -> CustomFieldDefinition:
    """Hide a field from forms and stop requiring it. Stored values are kept (and still
    type-checked when written), so reactivating brings them back. Needs `customfields.manage`."""
    return _set_active(tenant, actor, definition, False)


def customfield_activate(*, tenant: Tenant, actor: Actor, definition: CustomFieldDefinition
                         ) -> CustomFieldDefinition:
    """Bring a deactivated field back. Needs `customfields.manage`."""
    return _set_active(tenant, actor, definition, True)


# --- values ----------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, list | tuple) and not value
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(_("Enter text."))
    value = value.strip()
    if len(value) > TEXT_MAX_LENGTH:
        raise _Invalid(_("Use at most %(limit)d characters.") % {"limit": TEXT_MAX_LENGTH})
    return value


def _number(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid(_("Enter a whole number."))
    integral = (
        (isinstance(value, float) and value.is_integer())
        or (isinstance(value, Decimal) and value.is_finite()
            and value == value.to_integral_value())
        or (isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,20}\s*", value))
    )
    if integral:
        value = int(value)
    if not isinstance(value, int):
        raise _Invalid(_("Enter a whole number."))
    if abs(value) > NUMBER_LIMIT:
        raise _Invalid(_("Enter a number between -%(limit)d and %(limit)d.")
                       % {"limit": NUMBER_LIMIT})
    return value


def _decimal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Invalid(_("Enter a number."))
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise _Invalid(_("Enter a number.")) from None
    if not number.is_finite():
        raise _Invalid(_("Enter a number."))
    text = format(number, "f")
    if len(text.lstrip("-").replace(".", "")) > DECIMAL_MAX_DIGITS:
        raise _Invalid(_("Use at most %(limit)d digits.") % {"limit": DECIMAL_MAX_DIGITS})
    return text


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        raise _Invalid(_("Enter a date (YYYY-MM-DD) without a time."))
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise _Invalid(_("Enter a date as YYYY-MM-DD."))
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise _Invalid(_("Enter a real date as YYYY-MM-DD.")) from None


def _datetime(value: Any, tenant: Tenant) -> str:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?",
        value.strip(),
    ):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _Invalid(_("Enter a real date and time.")) from None
    else:
        raise _Invalid(_("Enter a date and time as YYYY-MM-DDTHH:MM, optionally with seconds "
                         "and a UTC offset."))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tenant_zone(tenant))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise _Invalid(_("Choose yes or no."))


def _choice_values(definition: CustomFieldDefinition) -> list[str]:
    return [str(c.get("value")) for c in definition.choices or [] if isinstance(c, Mapping)]


def _choice(value: Any, definition: CustomFieldDefinition) -> str:
    allowed = _choice_values(definition)
    if not isinstance(value, str) or value not in allowed:
        raise _Invalid(_("%(value)s is not one of the choices.") % {"value": str(value)[:100]})
    return value


def _multi_choice(value: Any, definition: CustomFieldDefinition) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise _Invalid(_("Give a list of choices."))
    allowed = _choice_values(definition)
    unknown = [v for v in value if not isinstance(v, str) or v not in allowed]
    if unknown:
        raise _Invalid(_("%(value)s is not one of the choices.") % {"value": str(unknown[0])[:100]})
    chosen = set(value)
    return [v for v in allowed if v in chosen]


_url_validator = URLValidator(schemes=["http", "https"])


def _url(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(_("Enter a web address."))
    value = value.strip()
    if len(value) > URL_MAX_LENGTH:
        raise _Invalid(_("Use at most %(limit)d characters.") % {"limit": URL_MAX_LENGTH})
    try:
        _url_validator(value)
    except DjangoValidationError:
        raise _Invalid(_("Enter a web address starting with http:// or https://.")) from None
    return value


def _email(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(_("Enter an email address."))
    try:
        return str(validate_email(value.strip(), check_deliverability=False).normalized)
    except EmailNotValidError:
        raise _Invalid(_("Enter a valid email address.")) from None


def _phone(value: Any, tenant: Tenant) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid(_("Enter a phone number."))
    text = str(value).strip()
    region = (tenant.region or "").upper() or None
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise _Invalid(_("Enter a valid phone number, e.g. +971501234567.")) from None
    if not phonenumbers.is_valid_number(number):
        raise _Invalid(_("Enter a valid phone number, e.g. +971501234567."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def custom_value_normalize(definition: CustomFieldDefinition, value: Any, *,
                           tenant: Tenant) -> Any:
    """One non-empty value checked against `definition`, in its stored shape.
    Raises `ValidationFailed` keyed `custom.<key>`."""
    try:
        return _normalize(definition, value, tenant)
    except _Invalid as exc:
        raise ValidationFailed(fields={f"custom.{definition.key}": [exc.message]}) from None


def _normalize(definition: CustomFieldDefinition, value: Any, tenant: Tenant) -> Any:
    kind = definition.field_type
    if kind == FieldType.TEXT:
        return _text(value)
    if kind == FieldType.NUMBER:
        return _number(value)
    if kind == FieldType.DECIMAL:
        return _decimal(value)
    if kind == FieldType.DATE:
        return _date(value)
    if kind == FieldType.DATETIME:
        return _datetime(value, tenant)
    if kind == FieldType.BOOLEAN:
        return _boolean(value)
    if kind == FieldType.CHOICE:
        return _choice(value, definition)
    if kind == FieldType.MULTI_CHOICE:
        return _multi_choice(value, definition)
    if kind == FieldType.URL:
        return _url(value)
    if kind == FieldType.EMAIL:
        return _email(value)
    if kind == FieldType.PHONE:
        return _phone(value, tenant)
    raise _Invalid(_("This field has an unknown type."))


def custom_values_validate(*, tenant: Tenant, entity_type: str, values: Any,
                           partial: bool = False,
                           definitions: list[CustomFieldDefinition] | None = None
                           ) -> dict[str, Any]:
    """Check and normalize an entity's `custom` values against `tenant`'s definitions.

    Returns the values in their stored shapes (see the module docstring). Keys without a
    definition are refused. With `partial=False` (a full write) the result is the complete new
    `custom` dict: empty values (None, "", []) are left out and every active required field must
    have a value. With `partial=True` (a patch) only the given keys are checked; an empty value
    comes back as None, meaning "remove this key" (see `custom_values_merge`), and is refused for
    a required field. Values of deactivated fields are still type-checked but never required.

    Raises `ValidationFailed` with messages keyed `custom.<key>` (or `custom` when `values` is
    not an object). Pass `definitions` when validating many records of one entity type.
    """
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ValidationFailed(fields={"custom": [_("Give custom fields as an object of "
                                                    "key: value.")]})
    if definitions is None:
        definitions = custom_definitions(tenant=tenant, entity_type=entity_type)
    by_key = {d.key: d for d in definitions}
    errors: dict[str, list[str]] = {}
    result: dict[str, Any] = {}
    for key, value in values.items():
        name = f"custom.{key}"
        definition = by_key.get(key) if isinstance(key, str) else None
        if definition is None:
            errors[name] = [_("There is no custom field with this key.")]
            continue
        if _is_empty(value):
            if definition.required and definition.is_active:
                errors[name] = [_("This field is required.")]
            elif partial:
                result[key] = None
            continue
        try:
            result[key] = _normalize(definition, value, tenant)
        except _Invalid as exc:
            errors[name] = [exc.message]
    if not partial:
        for definition in definitions:
            name = f"custom.{definition.key}"
            if (definition.required and definition.is_active and definition.key not in result
                    and name not in errors):
                errors[name] = [_("This field is required.")]
    if errors:
        raise ValidationFailed(_("Some custom fields are not valid."), fields=errors)
    return result


def custom_values_merge(current: Mapping[str, Any] | None,
                        changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the result of a partial `custom_values_validate` to the stored values: keys that
    came back as None are removed, the rest replaced."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def custom_values_for_write(*, tenant: Tenant, entity_type: str, values: Any,
                            current: Mapping[str, Any] | None, partial: bool) -> dict[str, Any]:
    """The `custom` column to store for a write: a partial write validates the given keys and
    merges them into `current`; a full write validates and replaces everything (enforcing
    required fields). Raises ValidationFailed with `custom.<key>` field messages."""
    if partial:
        patch = custom_values_validate(tenant=tenant, entity_type=entity_type, values=values,
                                       partial=True)
        return custom_values_merge(current, patch)
    return custom_values_validate(tenant=tenant, entity_type=entity_type, values=values)
