"""Settings → Custom fields pages, and the form field factory other apps use."""

from __future__ import annotations

import pytest
from django import forms
from django.urls import reverse

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.forms.customfields import (
    add_custom_fields,
    custom_form_field,
    custom_values_from_form,
)
from tend.core.models import CustomFieldDefinition
from tend.core.selectors.customfields import custom_definitions
from tend.core.services.customfields import custom_values_validate, customfield_create
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.core.views.base import apply_errors
from tend.core.views.customfields import choices_from_text, choices_to_text

pytestmark = pytest.mark.django_db


def _url(name, tenant, **kw):
    return reverse(f"core:{name}", kwargs={"org_slug": tenant.slug, **kw})


def _field(tenant, key, field_type, entity_type="contact", **kw):
    kw.setdefault("label", {"en": key.title(), "ar": "حقل " + key})
    with tenant_scope(tenant):
        return customfield_create(tenant=tenant, actor=Actor.system(), entity_type=entity_type,
                                  key=key, field_type=field_type, **kw)


@pytest.fixture
def viewer(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    return user


@pytest.fixture
def admin(tenant, make_user):
    user = make_user("admin@example.com")
    add_member(tenant, user, "admin")
    return user


# --- the choices editor text -----------------------------------------------------------------


def test_choices_text_round_trip():
    choices = choices_from_text("gold | Gold | ذهبي\n\n silver \nbronze | Bronze\n")
    assert choices == [
        {"value": "gold", "label": {"en": "Gold", "ar": "ذهبي"}},
        {"value": "silver", "label": {"en": "silver"}},
        {"value": "bronze", "label": {"en": "Bronze"}},
    ]
    assert choices_to_text(choices) == "gold | Gold | ذهبي\nsilver\nbronze | Bronze"


# --- pages -----------------------------------------------------------------------------------


def test_list_groups_fields_by_entity_type(tenant, admin):
    _field(tenant, "level", "text")
    _field(tenant, "size", "number", entity_type="company")
    response = signed_in(admin).get(_url("customfields-list", tenant))
    assert response.status_code == 200
    sections = {s["entity"].key: [f.key for f in s["fields"]]
                for s in response.context["sections"]}
    assert sections == {"company": ["size"], "contact": ["level"]}
    assert 'id="cf-add-contact"' in response.content.decode()


def test_viewer_without_permission_gets_403(tenant, viewer):
    assert signed_in(viewer).get(_url("customfields-list", tenant)).status_code == 403


def test_add_a_choice_field(tenant, admin):
    response = signed_in(admin).post(_url("customfields-add", tenant, entity_type="contact"), {
        "label_en": "Member level", "label_ar": "مستوى العضوية", "key": "member_level",
        "field_type": "choice", "choices": "gold | Gold | ذهبي\nsilver", "required": "on",
        "help_text": "Tier", "position": "",
    })
    assert (response.status_code, response["Location"]) == (
        302, _url("customfields-list", tenant)
    )
    with tenant_scope(tenant):
        field = CustomFieldDefinition.objects.get()
    assert (field.entity_type, field.key, field.field_type, field.required, field.help_text) == (
        "contact", "member_level", "choice", True, "Tier"
    )
    assert field.label == {"en": "Member level", "ar": "مستوى العضوية"}
    assert field.choices == [{"value": "gold", "label": {"en": "Gold", "ar": "ذهبي"}},
                             {"value": "silver", "label": {"en": "silver"}}]


def test_add_with_errors_shows_them_next_to_fields(tenant, admin):
    _field(tenant, "level", "text")
    response = signed_in(admin).post(_url("customfields-add", tenant, entity_type="contact"), {
        "label_en": "", "label_ar": "", "key": "level", "field_type": "multi_choice",
        "choices": "",
    })
    assert response.status_code == 422
    assert response.context["form"].errors == {
        "key": ["A field with this key exists already."],
        "label_en": ["This field is required."],
        "choices": ["Add at least one choice."],
    }
    assert response.context["show_choices"] is True


def test_add_for_unknown_entity_type_is_404(tenant, admin):
    response = signed_in(admin).get(_url("customfields-add", tenant, entity_type="spaceship"))
    assert response.status_code == 404


def test_choices_editor_appears_for_choice_types_only(tenant, admin):
    client = signed_in(admin)
    url = _url("customfields-choices-editor", tenant)
    shown = client.get(url, {"field_type": "choice", "choices": "a"}, HTTP_HX_REQUEST="true")
    hidden = client.get(url, {"field_type": "text"}, HTTP_HX_REQUEST="true")
    assert 'name="choices"' in shown.content.decode()
    assert ">\na</textarea>" in shown.content.decode()
    assert hidden.content.decode().strip() == '<div id="choices-editor"></div>'
    assert client.get(url, {"field_type": "choice"}).status_code == 404


def test_detail_shows_preview_and_saves_changes(tenant, admin):
    field = _field(tenant, "level", "choice", choices=["gold"])
    client = signed_in(admin)
    page = client.get(_url("customfields-detail", tenant, field_id=field.pk))
    assert page.status_code == 200
    assert 'id="customfield-preview"' in page.content.decode()
    response = client.post(_url("customfields-detail", tenant, field_id=field.pk), {
        "label_en": "Tier", "label_ar": "", "choices": "gold\nplatinum | Platinum",
        "help_text": "", "position": "3",
    })
    assert response.status_code == 302
    with tenant_scope(tenant):
        field.refresh_from_db()
    assert (field.label, field.required, field.position) == ({"en": "Tier"}, False, 3)
    assert [c["value"] for c in field.choices] == ["gold", "platinum"]


def test_deactivate_and_activate(tenant, admin):
    field = _field(tenant, "level", "text")
    client = signed_in(admin)
    assert client.post(_url("customfields-deactivate", tenant, field_id=field.pk)
                       ).status_code == 302
    with tenant_scope(tenant):
        assert CustomFieldDefinition.objects.get().is_active is False
    client.post(_url("customfields-activate", tenant, field_id=field.pk))
    with tenant_scope(tenant):
        assert CustomFieldDefinition.objects.get().is_active is True


def test_another_tenants_field_is_404(tenant, admin, make_tenant):
    other = make_tenant("Other", slug="other")
    foreign = _field(other, "canary_field", "text")
    client = signed_in(admin)
    assert client.get(_url("customfields-detail", tenant, field_id=foreign.pk)
                      ).status_code == 404
    assert client.post(_url("customfields-deactivate", tenant, field_id=foreign.pk)
                       ).status_code == 404
    with tenant_scope(other):
        assert CustomFieldDefinition.objects.get().is_active is True


# --- the form field factory ------------------------------------------------------------------


def test_factory_gives_a_widget_per_type(tenant):
    expected = {
        "text": (forms.CharField, forms.TextInput),
        "number": (forms.CharField, forms.NumberInput),
        "decimal": (forms.CharField, forms.TextInput),
        "date": (forms.CharField, forms.DateInput),
        "datetime": (forms.CharField, forms.DateTimeInput),
        "boolean": (forms.ChoiceField, forms.Select),
        "choice": (forms.ChoiceField, forms.Select),
        "multi_choice": (forms.MultipleChoiceField, forms.CheckboxSelectMultiple),
        "url": (forms.CharField, forms.URLInput),
        "email": (forms.CharField, forms.EmailInput),
        "phone": (forms.CharField, forms.TextInput),
    }
    for field_type, (field_class, widget_class) in expected.items():
        choices = ["a", "b"] if "choice" in field_type else None
        definition = _field(tenant, f"f_{field_type}", field_type, choices=choices)
        form_field = custom_form_field(definition, language="ar")
        assert (type(form_field), type(form_field.widget)) == (field_class, widget_class)
        assert form_field.label == f"حقل f_{field_type}"


def test_factory_round_trip_through_the_service(tenant):
    tenant.time_zone = "Asia/Dubai"
    tenant.save()
    _field(tenant, "joined_at", "datetime")
    _field(tenant, "vip", "boolean", required=True)
    _field(tenant, "sports", "multi_choice", choices=["golf", "padel"])
    hidden = _field(tenant, "old", "text")
    with tenant_scope(tenant):
        from tend.core.services.customfields import customfield_deactivate

        customfield_deactivate(tenant=tenant, actor=Actor.system(), definition=hidden)
        definitions = custom_definitions(tenant=tenant, entity_type="contact")

    # given stored values, the unbound form shows them in local time
    form = forms.Form()
    names = add_custom_fields(form, definitions=definitions, tenant=tenant, values={
        "joined_at": "2025-01-02T06:00:00Z", "vip": True, "sports": ["padel"], "old": "x",
    })
    assert names == ["custom.joined_at", "custom.vip", "custom.sports"]
    assert form.initial == {"custom.joined_at": "2025-01-02T10:00", "custom.vip": "true",
                            "custom.sports": ["padel"]}

    # when a bound form is posted, the service stores the normalized values
    form = forms.Form({"custom.joined_at": "2025-01-02T11:30", "custom.vip": "false",
                       "custom.sports": ["golf", "padel"]})
    add_custom_fields(form, definitions=definitions, tenant=tenant)
    assert form.is_valid(), form.errors
    raw = custom_values_from_form(form, definitions)
    with tenant_scope(tenant):
        values = custom_values_validate(tenant=tenant, entity_type="contact", values=raw,
                                        partial=True)
    assert values == {"joined_at": "2025-01-02T07:30:00Z", "vip": False,
                      "sports": ["golf", "padel"]}


def test_service_errors_land_on_the_form_fields(tenant):
    _field(tenant, "visits", "number")
    with tenant_scope(tenant):
        definitions = custom_definitions(tenant=tenant, entity_type="contact")
    form = forms.Form({"custom.visits": "1.5"})
    add_custom_fields(form, definitions=definitions, tenant=tenant)
    assert form.is_valid()
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as excinfo:
        custom_values_validate(tenant=tenant, entity_type="contact",
                               values=custom_values_from_form(form, definitions))
    apply_errors(form, excinfo.value)
    assert form.errors == {"custom.visits": ["Enter a whole number."]}
