"""Rendering an organization's custom fields in UI forms.

A form for an entity with a `custom` column adds one form field per active definition, named
`custom.<key>` so the messages of `custom_values_validate` land next to the right input::

    definitions = custom_definitions(tenant=tenant, entity_type="contact", active_only=True)
    add_custom_fields(form, definitions=definitions, tenant=tenant, values=contact.custom)
    ...
    if form.is_valid():
        raw = custom_values_from_form(form, definitions)
        custom = custom_values_validate(tenant=tenant, entity_type="contact", values=raw,
                                        partial=True)
        # on ValidationFailed: tend.core.views.base.apply_errors(form, exc)

The form fields only shape the input (right widget, label, help, required marker); the service
is the one judge of the values, for the UI and the API alike. Partial validation is the usual
choice for a form: it renders only active fields, and values of deactivated ones stay as they
are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from tend.core.models import CustomFieldDefinition, FieldType, Tenant
from tend.core.zones import tenant_zone

PREFIX = "custom."

BOOLEAN_CHOICES = [("", "—"), ("true", _("Yes")), ("false", _("No"))]


def form_field_name(definition: CustomFieldDefinition) -> str:
    return f"{PREFIX}{definition.key}"


def _language() -> str:
    return (translation.get_language() or "en").split("-")[0]


def _choices(definition: CustomFieldDefinition, language: str) -> list[tuple[str, str]]:
    out = []
    for choice in definition.choices or []:
        if not isinstance(choice, Mapping):
            continue
        value = str(choice.get("value", ""))
        labels = choice.get("label") or {}
        label = labels.get(language) or labels.get("en") or value
        out.append((value, label))
    return out


def custom_form_field(definition: CustomFieldDefinition, *, language: str | None = None
                      ) -> forms.Field:
    """The Django form field for one definition, labeled in `language` (default: active)."""
    language = language or _language()
    common: dict[str, Any] = {
        "label": definition.label_for(language),
        "help_text": definition.help_text,
        "required": definition.required,
    }
    kind = definition.field_type
    if kind == FieldType.TEXT:
        return forms.CharField(max_length=1000, **common)
    if kind == FieldType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "1"}), **common)
    if kind == FieldType.DECIMAL:
        return forms.CharField(
            widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common
        )
    if kind == FieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.DATETIME:
        return forms.CharField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
        )
    if kind == FieldType.BOOLEAN:
        choices = BOOLEAN_CHOICES if not definition.required else BOOLEAN_CHOICES[1:]
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect
                                 if definition.required else forms.Select, **common)
    if kind == FieldType.CHOICE:
        blank = [] if definition.required else [("", "—")]
        return forms.ChoiceField(choices=blank + _choices(definition, language), **common)
    if kind == FieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=_choices(definition, language), widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if kind == FieldType.URL:
        return forms.CharField(widget=forms.URLInput(), max_length=2000, **common)
    if kind == FieldType.EMAIL:
        return forms.CharField(widget=forms.EmailInput(), max_length=320, **common)
    if kind == FieldType.PHONE:
        return forms.CharField(
            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}), max_length=40,
            **common,
        )
    return forms.CharField(**common)


def custom_initial(definition: CustomFieldDefinition, value: Any, *, tenant: Tenant) -> Any:
    """A stored value as its form field's initial value."""
    if value is None:
        return None
    kind = definition.field_type
    if kind == FieldType.BOOLEAN:
        return "true" if value else "false"
    if kind == FieldType.DATETIME and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return moment.astimezone(tenant_zone(tenant)).strftime("%Y-%m-%dT%H:%M")
    return value


def add_custom_fields(form: forms.BaseForm, *, definitions: Iterable[CustomFieldDefinition],
                      tenant: Tenant, values: Mapping[str, Any] | None = None,
                      language: str | None = None) -> list[str]:
    """Add a field per active definition to `form` (after its own fields), filled from the
    stored `values` unless the form is bound. Returns the added field names."""
    names = []
    values = values or {}
    for definition in definitions:
        if not definition.is_active:
            continue
        name = form_field_name(definition)
        form.fields[name] = custom_form_field(definition, language=language)
        if definition.key in values:
            form.initial[name] = custom_initial(definition, values[definition.key],
                                                tenant=tenant)
        names.append(name)
    return names


def custom_values_from_form(form: forms.BaseForm,
                            definitions: Iterable[CustomFieldDefinition]) -> dict[str, Any]:
    """The raw `custom` values of a valid form, for `custom_values_validate`."""
    raw: dict[str, Any] = {}
    for definition in definitions:
        name = form_field_name(definition)
        if definition.is_active and name in form.cleaned_data:
            raw[definition.key] = form.cleaned_data[name]
    return raw
