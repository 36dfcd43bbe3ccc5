"""Settings → Custom fields: the fields of each record type, and their create/edit form."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from tend.core.actors import Actor
from tend.core.errors import NotFound, TendError
from tend.core.forms.customfields import custom_form_field
from tend.core.models import CustomFieldDefinition, FieldType, Tenant
from tend.core.selectors.customfields import customfield_get, customfield_list
from tend.core.services.customfields import (
    CHOICE_TYPES,
    custom_field_entities,
    custom_field_entity,
    customfield_activate,
    customfield_create,
    customfield_deactivate,
    customfield_update,
)
from tend.core.views.base import apply_errors, is_htmx, require_perm

CHOICES_HELP = gettext_lazy(
    "One choice per line: value | English label | Arabic label. Labels are optional; the value "
    "is what is stored and cannot be renamed without changing stored records."
)


def choices_to_text(choices: list[dict[str, Any]]) -> str:
    lines = []
    for choice in choices or []:
        label = choice.get("label") or {}
        value = str(choice.get("value", ""))
        parts = [value, label.get("en", ""), label.get("ar", "")]
        if parts[1] == value and not parts[2]:
            parts[1] = ""  # the value is its own label; the parser fills it back in
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def choices_from_text(text: str) -> list[dict[str, Any]]:
    """Parse the editor's lines; the service judges what comes out."""
    choices = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        value, _sep, rest = line.partition("|")
        en, _sep, ar = rest.partition("|")
        label = {k: v.strip() for k, v in (("en", en), ("ar", ar)) if v.strip()}
        choices.append({"value": value.strip(), "label": label or {"en": value.strip()}})
    return choices


class CustomFieldForm(forms.Form):
    label_en = forms.CharField(label=gettext_lazy("Label (English)"), max_length=100,
                               required=False)
    label_ar = forms.CharField(
        label=gettext_lazy("Label (Arabic)"), max_length=100, required=False,
        widget=forms.TextInput(attrs={"dir": "rtl", "lang": "ar"}),
    )
    key = forms.CharField(
        label=gettext_lazy("Key"), max_length=64,
        help_text=gettext_lazy("Used by the API, imports and rules, e.g. member_level. Lowercase "
                               "letters, digits and _; it cannot change later."),
    )
    field_type = forms.ChoiceField(label=gettext_lazy("Type"), choices=FieldType.choices,
                                   help_text=gettext_lazy("It cannot change later."))
    choices = forms.CharField(label=gettext_lazy("Choices"), required=False,
                              # "value | English | Arabic" reads left to right in any language
                              widget=forms.Textarea(attrs={"rows": 6, "dir": "ltr"}),
                              help_text=CHOICES_HELP)
    required = forms.BooleanField(
        label=gettext_lazy("Required"), required=False,
        help_text=gettext_lazy("Records cannot be saved without a value."),
    )
    help_text = forms.CharField(label=gettext_lazy("Help text"), max_length=300,
                                required=False)
    position = forms.IntegerField(label=gettext_lazy("Position"), min_value=0, required=False,
                                  help_text=gettext_lazy("Lower numbers come first."))

    def __init__(self, *args: Any, editing: bool = False, choices_editor_url: str = "",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            del self.fields["key"]
            del self.fields["field_type"]
        elif choices_editor_url:
            # Picking a type swaps in the choices editor (or removes it) without a reload.
            self.fields["field_type"].widget.attrs.update({
                "hx-get": choices_editor_url, "hx-trigger": "change",
                "hx-target": "#choices-editor", "hx-swap": "outerHTML",
                "hx-include": "#id_choices",
            })

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs = {
            "label": {"en": data.get("label_en") or "", "ar": data.get("label_ar") or ""},
            "required": bool(data.get("required")),
            "help_text": data.get("help_text") or "",
            "position": data.get("position"),
        }
        if not self.editing:
            kwargs["key"] = data.get("key") or ""
            kwargs["field_type"] = data.get("field_type") or ""
        return kwargs


FIELD_MAP = {"label": "label_en"}


def _field_or_404(tenant: Tenant, field_id: UUID) -> CustomFieldDefinition:
    try:
        return customfield_get(tenant=tenant, field_id=field_id)
    except NotFound:
        raise Http404 from None


def _show_choices(field_type: str | None) -> bool:
    return field_type in CHOICE_TYPES


@require_perm("customfields.view")
def customfields_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    by_entity: dict[str, list[CustomFieldDefinition]] = {}
    for definition in customfield_list(tenant=tenant):
        by_entity.setdefault(definition.entity_type, []).append(definition)
    sections = [
        {"entity": entity, "fields": by_entity.pop(entity.key, [])}
        for entity in custom_field_entities()
    ]
    # Fields of an entity type whose module is not installed any more stay visible.
    sections += [
        {"entity": {"key": key, "label": key}, "fields": fields}
        for key, fields in sorted(by_entity.items())
    ]
    return render(request, "core/customfields.html", {
        "sections": sections, "can_manage": actor.has_perm("customfields.manage"),
    })


@require_perm("customfields.manage")
def customfields_add(request: HttpRequest, org_slug: str, entity_type: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    entity = custom_field_entity(entity_type)
    if entity is None:
        raise Http404
    status = 200
    editor_url = reverse("core:customfields-choices-editor", kwargs={"org_slug": tenant.slug})
    if request.method == "POST":
        form = CustomFieldForm(request.POST, choices_editor_url=editor_url)
        if form.is_valid():
            try:
                definition = customfield_create(
                    tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                    entity_type=entity_type,
                    choices=choices_from_text(form.cleaned_data.get("choices") or ""),
                    **form.service_kwargs(),
                )
            except TendError as exc:
                apply_errors(form, exc, field_map=FIELD_MAP)
            else:
                messages.success(request, _("The field %(name)s was added.")
                                 % {"name": definition.label_for(request.LANGUAGE_CODE)})
                return redirect("core:customfields-list", org_slug=tenant.slug)
        status = 422
        field_type = request.POST.get("field_type")
    else:
        form = CustomFieldForm(initial={"field_type": FieldType.TEXT},
                               choices_editor_url=editor_url)
        field_type = FieldType.TEXT
    return render(request, "core/customfield_form.html", {
        "form": form, "entity": entity, "definition": None,
        "show_choices": _show_choices(field_type),
    }, status=status)


@require_perm("customfields.view")
def customfields_detail(request: HttpRequest, org_slug: str, field_id: UUID) -> HttpResponse:
    """A field's settings and a preview of how forms show it; editable with
    `customfields.manage`."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    definition = _field_or_404(tenant, field_id)
    can_manage = actor.has_perm("customfields.manage")
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        form = CustomFieldForm(request.POST, editing=True)
        if form.is_valid():
            try:
                choices = (choices_from_text(form.cleaned_data.get("choices") or "")
                           if _show_choices(definition.field_type) else [])
                customfield_update(tenant=tenant, actor=actor, definition=definition,
                                   choices=choices, **form.service_kwargs())
            except TendError as exc:
                apply_errors(form, exc, field_map=FIELD_MAP)
                definition.refresh_from_db()
            else:
                messages.success(request, _("The field %(name)s was saved.")
                                 % {"name": definition.label_for(request.LANGUAGE_CODE)})
                return redirect("core:customfields-detail", org_slug=tenant.slug,
                                field_id=definition.pk)
        status = 422
    else:
        form = CustomFieldForm(editing=True, initial={
            "label_en": (definition.label or {}).get("en", ""),
            "label_ar": (definition.label or {}).get("ar", ""),
            "choices": choices_to_text(definition.choices),
            "required": definition.required, "help_text": definition.help_text,
            "position": definition.position,
        })
    if not can_manage:
        for field in form.fields.values():
            field.disabled = True
    preview = forms.Form()
    preview.fields["preview"] = custom_form_field(definition)
    return render(request, "core/customfield_form.html", {
        "form": form, "definition": definition, "can_manage": can_manage,
        "entity": custom_field_entity(definition.entity_type)
        or {"key": definition.entity_type, "label": definition.entity_type},
        "show_choices": _show_choices(definition.field_type), "preview": preview,
    }, status=status)


@require_POST
@require_perm("customfields.manage")
def customfields_toggle(request: HttpRequest, org_slug: str, field_id: UUID,
                        active: bool) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    definition = _field_or_404(tenant, field_id)
    service = customfield_activate if active else customfield_deactivate
    service(tenant=tenant, actor=request.actor, definition=definition)  # type: ignore[attr-defined]
    name = definition.label_for(request.LANGUAGE_CODE)
    messages.success(request, (_("The field %(name)s is active again.") if active
                               else _("The field %(name)s was deactivated.")) % {"name": name})
    return redirect("core:customfields-list", org_slug=tenant.slug)


@require_GET
@require_perm("customfields.manage")
def customfields_choices_editor(request: HttpRequest, org_slug: str) -> HttpResponse:
    """htmx: the choices editor for the type just picked (empty for types without choices)."""
    if not is_htmx(request):
        raise Http404
    form = CustomFieldForm(initial={"choices": request.GET.get("choices", "")})
    return render(request, "core/partials/customfield_choices.html", {
        "form": form, "show_choices": _show_choices(request.GET.get("field_type")),
    })


_base = "o/<slug:org_slug>/settings/custom-fields/"

urlpatterns = [
    path(_base, customfields_list, name="customfields-list"),
    path(f"{_base}new/<slug:entity_type>/", customfields_add, name="customfields-add"),
    path(f"{_base}choices-editor/", customfields_choices_editor,
         name="customfields-choices-editor"),
    path(f"{_base}<uuid:field_id>/", customfields_detail, name="customfields-detail"),
    path(f"{_base}<uuid:field_id>/deactivate/", customfields_toggle, {"active": False},
         name="customfields-deactivate"),
    path(f"{_base}<uuid:field_id>/activate/", customfields_toggle, {"active": True},
         name="customfields-activate"),
]
