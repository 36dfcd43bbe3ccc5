"""Custom field definitions and validating values against them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, CustomFieldDefinition
from tend.core.selectors.access import actor_for_membership
from tend.core.selectors.customfields import customfield_get, customfield_list
from tend.core.services.customfields import (
    custom_field_entities,
    custom_values_for_write,
    custom_values_merge,
    custom_values_validate,
    customfield_activate,
    customfield_create,
    customfield_deactivate,
    customfield_update,
    register_custom_field_entity,
)
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, membership_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(tenant, owner):
    return actor_for_membership(membership_of(tenant, owner))


@pytest.fixture
def viewer_actor(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    return actor_for_membership(membership_of(tenant, user))


def _field(tenant, key, field_type, **kw):
    kw.setdefault("label", {"en": key.title(), "ar": "حقل"})
    with tenant_scope(tenant):
        return customfield_create(tenant=tenant, actor=Actor.system(), entity_type="contact",
                                  key=key, field_type=field_type, **kw)


def _validate(tenant, values, **kw):
    with tenant_scope(tenant):
        return custom_values_validate(tenant=tenant, entity_type="contact", values=values, **kw)


def _errors(tenant, values, **kw):
    with pytest.raises(ValidationFailed) as excinfo:
        _validate(tenant, values, **kw)
    return excinfo.value.fields


# --- the entity registry ---------------------------------------------------------------------


def test_registry_offers_contact_and_company_and_accepts_more(monkeypatch):
    from tend.core.services import customfields

    monkeypatch.setattr(customfields, "_entities", dict(customfields._entities))
    register_custom_field_entity("deal", "Deals")
    keys = [e.key for e in custom_field_entities()]
    assert {"contact", "company", "deal"} <= set(keys)
    with pytest.raises(ValueError):
        register_custom_field_entity("Bad Key", "x")


# --- definitions -----------------------------------------------------------------------------


def test_create_field_stores_it_and_audits(tenant, actor, owner):
    with tenant_scope(tenant):
        field = customfield_create(
            tenant=tenant, actor=actor, entity_type="contact", key="member_level",
            label={"en": "Member level", "ar": "مستوى العضوية"}, field_type="choice",
            choices=["gold", {"value": "silver", "label": {"en": "Silver", "ar": "فضي"}}],
            required=True, help_text="  Their tier  ",
        )
        entry = AuditLog.objects.order_by("-seq").first()
    assert (field.key, field.field_type, field.required, field.help_text, field.position) == (
        "member_level", "choice", True, "Their tier", 0
    )
    assert field.label == {"en": "Member level", "ar": "مستوى العضوية"}
    assert field.choices == [
        {"value": "gold", "label": {"en": "gold"}},
        {"value": "silver", "label": {"en": "Silver", "ar": "فضي"}},
    ]
    assert field.created_by == owner
    assert (entry.action, entry.entity_type, entry.entity_id) == (
        "customfield.created", "customfield", str(field.pk)
    )
    assert entry.changes["key"] == "member_level"


def test_new_fields_go_last_unless_positioned(tenant):
    a = _field(tenant, "a", "text")
    b = _field(tenant, "b", "text")
    c = _field(tenant, "c", "text", position=0)
    assert (a.position, b.position, c.position) == (0, 1, 0)
    with tenant_scope(tenant):
        assert [f.key for f in customfield_list(tenant=tenant, entity_type="contact")] == [
            "a", "c", "b"
        ]


def test_create_reports_every_bad_input_by_field(tenant, actor):
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as excinfo:
        customfield_create(tenant=tenant, actor=actor, entity_type="spaceship", key="9lives",
                           label={"fr": "Niveau"}, field_type="colour", help_text="x" * 301,
                           position=-1, choices=["a"])
    assert excinfo.value.fields == {
        "entity_type": ["Choose one of the listed record types."],
        "key": ["Start with a letter; use lowercase letters, digits and _ (at most 64)."],
        "field_type": ["Choose one of the listed types."],
        "label": ["Unknown language: fr."],
        "choices": ["Only choice fields have choices."],
        "help_text": ["Use at most 300 characters."],
        "position": ["Enter a whole number of 0 or more."],
    }


def test_key_is_unique_per_entity_type_but_not_across(tenant, actor):
    _field(tenant, "level", "text")
    with tenant_scope(tenant):
        other = customfield_create(tenant=tenant, actor=actor, entity_type="company",
                                   key="level", label="Level", field_type="text")
        with pytest.raises(ValidationFailed) as excinfo:
            customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="Level",
                               label="Level", field_type="number")
    assert other.label == {"en": "Level"}
    assert excinfo.value.fields == {"key": ["A field with this key exists already."]}


def test_same_key_in_two_tenants_is_fine(tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    _field(tenant, "level", "text")
    assert _field(other, "level", "text").tenant_id == other.pk


def test_choice_types_need_clean_choices(tenant, actor):
    def errors(choices):
        with tenant_scope(tenant), pytest.raises(ValidationFailed) as excinfo:
            customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="x",
                               label="X", field_type="multi_choice", choices=choices)
        return excinfo.value.fields["choices"]

    assert errors([]) == ["Add at least one choice."]
    assert errors("a,b") == ["Give a list of choices."]
    assert errors(["a", "a", {"value": ""}, 5, {"value": "b", "label": {"xx": "B"}}]) == [
        "Choice 2: the value a is listed twice.",
        "Choice 3: the value is required.",
        "Choice 4: give a value and a label.",
        "Choice 5: Unknown language: xx.",
    ]
    assert errors([str(i) for i in range(201)]) == ["Use at most 200 choices."]


def test_label_needs_some_text(tenant, actor):
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as excinfo:
        customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="x",
                           label={"en": "  ", "ar": ""}, field_type="text")
    assert excinfo.value.fields == {"label": ["This field is required."]}


def test_viewer_may_not_manage_fields(tenant, viewer_actor):
    with tenant_scope(tenant), pytest.raises(PermissionDenied):
        customfield_create(tenant=tenant, actor=viewer_actor, entity_type="contact", key="x",
                           label="X", field_type="text")


def test_update_changes_what_may_change_and_audits_the_difference(tenant, actor):
    field = _field(tenant, "level", "choice", choices=["a", "b"])
    with tenant_scope(tenant):
        customfield_update(tenant=tenant, actor=actor, definition=field,
                           label={"en": "Tier"}, choices=["a", "b", "c"], required=True,
                           help_text="h", position=5)
        field = customfield_get(tenant=tenant, field_id=field.pk)
        entry = AuditLog.objects.order_by("-seq").first()
    assert (field.label, field.required, field.help_text, field.position) == (
        {"en": "Tier"}, True, "h", 5
    )
    assert [c["value"] for c in field.choices] == ["a", "b", "c"]
    assert entry.action == "customfield.updated"
    assert sorted(entry.changes) == ["choices", "help_text", "label", "position", "required"]
    assert entry.changes["required"] == {"before": False, "after": True}


def test_update_without_changes_writes_no_audit_entry(tenant, actor):
    field = _field(tenant, "level", "text")
    with tenant_scope(tenant):
        before = AuditLog.objects.count()
        customfield_update(tenant=tenant, actor=actor, definition=field, help_text="")
        assert AuditLog.objects.count() == before


def test_key_and_type_cannot_change(tenant, actor):
    field = _field(tenant, "level", "text")
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as excinfo:
        customfield_update(tenant=tenant, actor=actor, definition=field, key="tier",
                           field_type="number")
    assert excinfo.value.fields == {
        "key": ["The key cannot change; add a new field instead."],
        "field_type": ["The type cannot change; add a new field instead."],
    }


def test_update_of_another_tenants_field_is_refused(tenant, make_tenant, actor):
    other = make_tenant("Other", slug="other")
    foreign = _field(other, "level", "text")
    with tenant_scope(tenant), pytest.raises(ValidationFailed):
        customfield_update(tenant=tenant, actor=actor, definition=foreign, label="Hacked")


def test_deactivate_and_activate(tenant, actor):
    field = _field(tenant, "level", "text", required=True)
    with tenant_scope(tenant):
        customfield_deactivate(tenant=tenant, actor=actor, definition=field)
        assert CustomFieldDefinition.objects.get(pk=field.pk).is_active is False
        # a deactivated required field is not required any more
        assert custom_values_validate(tenant=tenant, entity_type="contact", values={}) == {}
        customfield_activate(tenant=tenant, actor=actor, definition=field)
        assert CustomFieldDefinition.objects.get(pk=field.pk).is_active is True
        actions = list(AuditLog.objects.order_by("-seq").values_list("action", flat=True)[:2])
    assert actions == ["customfield.activated", "customfield.deactivated"]


def test_get_of_malformed_or_foreign_id_is_not_found(tenant, make_tenant):
    from tend.core.errors import NotFound

    other = make_tenant("Other", slug="other")
    foreign = _field(other, "level", "text")
    with tenant_scope(tenant):
        for bad in ("nope", foreign.pk, None):
            with pytest.raises(NotFound):
                customfield_get(tenant=tenant, field_id=bad)


# --- values ----------------------------------------------------------------------------------


@pytest.fixture
def fields(tenant):
    tenant.region = "AE"
    tenant.time_zone = "Asia/Dubai"
    tenant.save()
    _field(tenant, "nickname", "text")
    _field(tenant, "visits", "number")
    _field(tenant, "balance", "decimal")
    _field(tenant, "birthday", "date")
    _field(tenant, "joined_at", "datetime")
    _field(tenant, "vip", "boolean")
    _field(tenant, "level", "choice", choices=["gold", "silver"])
    _field(tenant, "sports", "multi_choice", choices=["golf", "tennis", "padel"])
    _field(tenant, "site", "url")
    _field(tenant, "work_email", "email")
    _field(tenant, "mobile", "phone")
    return tenant


def test_every_type_is_normalized(fields):
    result = _validate(fields, {
        "nickname": "  Al  ", "visits": "12", "balance": "1.50", "birthday": "1990-02-28",
        "joined_at": "2025-01-02T10:00", "vip": "yes", "level": "gold",
        "sports": ["padel", "golf", "golf"], "site": "https://example.com/a",
        "work_email": "Someone@Example.COM", "mobile": "050 123 4567",
    })
    assert result == {
        "nickname": "Al", "visits": 12, "balance": "1.50", "birthday": "1990-02-28",
        "joined_at": "2025-01-02T06:00:00Z", "vip": True, "level": "gold",
        "sports": ["golf", "padel"], "site": "https://example.com/a",
        "work_email": "Someone@example.com", "mobile": "+971501234567",
    }


def test_python_values_are_accepted_too(fields):
    result = _validate(fields, {
        "visits": 3.0, "balance": Decimal("2.5"), "birthday": date(2000, 1, 2),
        "joined_at": datetime(2025, 1, 2, 3, 4, 5, 678, tzinfo=UTC), "vip": False,
        "mobile": "+44 20 7946 0958",
    })
    assert result == {"visits": 3, "balance": "2.5", "birthday": "2000-01-02",
                      "joined_at": "2025-01-02T03:04:05Z", "vip": False,
                      "mobile": "+442079460958"}


def test_datetime_with_offset_is_converted_to_utc(fields):
    assert _validate(fields, {"joined_at": "2025-06-01T12:30:00+02:00"}) == {
        "joined_at": "2025-06-01T10:30:00Z"
    }
    assert _validate(fields, {"joined_at": "2025-06-01T12:30:00Z"}) == {
        "joined_at": "2025-06-01T12:30:00Z"
    }


def test_bad_values_get_a_message_per_field(fields):
    assert _errors(fields, {
        "nickname": 5, "visits": "1.5", "balance": "abc", "birthday": "02/28/1990",
        "joined_at": "yesterday", "vip": "maybe", "level": "bronze", "sports": ["golf", "chess"],
        "site": "ftp://example.com", "work_email": "not-an-email", "mobile": "12",
        "shoe_size": 44,
    }) == {
        "custom.nickname": ["Enter text."],
        "custom.visits": ["Enter a whole number."],
        "custom.balance": ["Enter a number."],
        "custom.birthday": ["Enter a date as YYYY-MM-DD."],
        "custom.joined_at": ["Enter a date and time as YYYY-MM-DDTHH:MM, optionally with "
                             "seconds and a UTC offset."],
        "custom.vip": ["Choose yes or no."],
        "custom.level": ["bronze is not one of the choices."],
        "custom.sports": ["chess is not one of the choices."],
        "custom.site": ["Enter a web address starting with http:// or https://."],
        "custom.work_email": ["Enter a valid email address."],
        "custom.mobile": ["Enter a valid phone number, e.g. +971501234567."],
        "custom.shoe_size": ["There is no custom field with this key."],
    }


@pytest.mark.parametrize(("key", "value", "message"), [
    ("nickname", "x" * 1001, "Use at most 1000 characters."),
    ("visits", True, "Enter a whole number."),
    ("visits", 2**53, "Enter a number between -9007199254740991 and 9007199254740991."),
    ("visits", 1.5, "Enter a whole number."),
    ("balance", "NaN", "Enter a number."),
    ("balance", "1" * 31, "Use at most 30 digits."),
    ("balance", [1], "Enter a number."),
    ("birthday", "2023-02-30", "Enter a real date as YYYY-MM-DD."),
    ("birthday", datetime(2020, 1, 1, tzinfo=UTC), "Enter a date (YYYY-MM-DD) without a time."),
    ("joined_at", "2025-13-01T00:00", "Enter a real date and time."),
    ("vip", 2, "Choose yes or no."),
    ("level", ["gold"], "['gold'] is not one of the choices."),
    ("sports", "golf", "Give a list of choices."),
    ("site", "https://" + "a" * 2000, "Use at most 2000 characters."),
    ("work_email", 7, "Enter an email address."),
    ("mobile", True, "Enter a phone number."),
])
def test_edge_values_are_refused(fields, key, value, message):
    assert _errors(fields, {key: value}) == {f"custom.{key}": [message]}


def test_values_must_be_an_object(fields):
    assert _errors(fields, ["nickname"]) == {
        "custom": ["Give custom fields as an object of key: value."]
    }


def test_none_is_an_empty_dict(fields):
    assert _validate(fields, None) == {}


def test_full_write_drops_empty_values_and_enforces_required(tenant):
    _field(tenant, "nickname", "text")
    _field(tenant, "level", "choice", choices=["gold"], required=True)
    assert _errors(tenant, {"nickname": "Al"}) == {"custom.level": ["This field is required."]}
    assert _errors(tenant, {"level": ""}) == {"custom.level": ["This field is required."]}
    assert _validate(tenant, {"nickname": "", "level": "gold"}) == {"level": "gold"}


def test_partial_write_checks_only_given_keys_and_marks_removals(tenant):
    _field(tenant, "nickname", "text")
    _field(tenant, "tags_seen", "multi_choice", choices=["a"])
    _field(tenant, "level", "choice", choices=["gold"], required=True)
    result = _validate(tenant, {"nickname": None, "tags_seen": []}, partial=True)
    assert result == {"nickname": None, "tags_seen": None}
    assert _errors(tenant, {"level": None}, partial=True) == {
        "custom.level": ["This field is required."]
    }
    assert custom_values_merge({"nickname": "Al", "level": "gold"}, result | {"x": 1}) == {
        "level": "gold", "x": 1
    }


def test_values_of_deactivated_fields_are_still_type_checked(tenant, actor):
    field = _field(tenant, "visits", "number")
    with tenant_scope(tenant):
        customfield_deactivate(tenant=tenant, actor=actor, definition=field)
    assert _validate(tenant, {"visits": "4"}) == {"visits": 4}
    assert _errors(tenant, {"visits": "four"}) == {"custom.visits": ["Enter a whole number."]}


def test_other_tenants_definitions_do_not_apply(tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    _field(other, "secret", "text")
    assert _errors(tenant, {"secret": "x"}) == {
        "custom.secret": ["There is no custom field with this key."]
    }


def test_other_entity_types_definitions_do_not_apply(tenant, actor):
    with tenant_scope(tenant):
        customfield_create(tenant=tenant, actor=actor, entity_type="company", key="size",
                           label="Size", field_type="number", required=True)
    assert _validate(tenant, {}) == {}


def test_phone_without_a_region_needs_a_plus(tenant):
    tenant.region = ""
    tenant.save()
    _field(tenant, "mobile", "phone")
    assert _errors(tenant, {"mobile": "050 123 4567"}) == {
        "custom.mobile": ["Enter a valid phone number, e.g. +971501234567."]
    }
    assert _validate(tenant, {"mobile": "+971 50 123 4567"}) == {"mobile": "+971501234567"}


def test_values_for_write_merges_a_partial_write_and_replaces_on_a_full_one(tenant):
    _field(tenant, "level", "text", required=True)
    _field(tenant, "size", "number")
    stored = {"level": "gold", "size": 3}
    with tenant_scope(tenant):
        partial = custom_values_for_write(tenant=tenant, entity_type="contact",
                                          values={"size": None}, current=stored, partial=True)
        full = custom_values_for_write(tenant=tenant, entity_type="contact",
                                       values={"level": "silver"}, current=stored, partial=False)
        with pytest.raises(ValidationFailed) as excinfo:
            custom_values_for_write(tenant=tenant, entity_type="contact", values={"size": 4},
                                    current=stored, partial=False)
    assert partial == {"level": "gold"}
    assert full == {"level": "silver"}
    assert list(excinfo.value.fields) == ["custom.level"]
