"""The field registry is kept per organization and language and rebuilt when the
organization's rule configuration changes: a custom field or segment created (or deleted) a
moment ago, in this process or another, is usable (or unknown) at once."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from django.utils import translation

from tend.core.models import CustomFieldDefinition
from tend.core.tenancy import tenant_scope
from tend.marketing.services.segments import segment_create, segment_delete
from tend.people.tests.helpers_360 import member_actor
from tend.rules import rule_validate
from tend.rules.models import FieldsVersion
from tend.rules.registry import fields_for
from tend.rules.tests.helpers import one

pytestmark = pytest.mark.django_db


def _define(tenant, key="handicap", **kw):
    return CustomFieldDefinition.objects.create(
        tenant=tenant, entity_type="contact", key=key, label=kw.pop("label", {"en": "Handicap"}),
        field_type=kw.pop("field_type", "number"), **kw)


def _problems(tenant, rule):
    return [p.message for p in rule_validate(tenant=tenant, rule=rule)]


def test_the_registry_is_kept_until_the_configuration_changes(scoped, make_tenant):
    built = fields_for(scoped)
    assert fields_for(scoped) is built
    other = make_tenant(name="Other")
    with tenant_scope(other):
        assert fields_for(other) is not built
    _define(scoped)
    rebuilt = fields_for(scoped)
    assert rebuilt is not built and "custom.handicap" in rebuilt
    assert fields_for(scoped) is rebuilt


def test_a_custom_field_is_usable_at_once_and_unknown_once_deleted(scoped):
    rule = one("custom.handicap", "greaterThan", 10)
    assert _problems(scoped, rule)  # unknown field; the registry is now built
    definition = _define(scoped)
    assert _problems(scoped, rule) == []
    definition.is_active = False
    definition.save()
    assert _problems(scoped, rule)
    definition.is_active = True
    definition.save()
    assert _problems(scoped, rule) == []
    definition.delete()
    assert _problems(scoped, rule)
    assert "custom.handicap" not in fields_for(scoped)


def test_a_change_marked_by_another_process_rebuilds_the_registry(scoped):
    rule = one("custom.handicap", "greaterThan", 10)
    assert _problems(scoped, rule)
    # Another process writes the definition and marks the configuration changed; this
    # process has no signal of it, only the token in the database.
    CustomFieldDefinition.objects.bulk_create([CustomFieldDefinition(
        tenant=scoped, entity_type="contact", key="handicap", label={"en": "Handicap"},
        field_type="number")])
    FieldsVersion.objects.filter(tenant=scoped).update(token=uuid.uuid4().hex)
    assert _problems(scoped, rule) == []


def test_a_change_rolled_back_does_not_stay_in_the_registry(scoped):
    fields_for(scoped)
    with pytest.raises(RuntimeError), transaction.atomic():
        _define(scoped)
        assert "custom.handicap" in fields_for(scoped)
        raise RuntimeError
    assert "custom.handicap" not in fields_for(scoped)
    _define(scoped, key="other")
    fields = fields_for(scoped)
    assert "custom.other" in fields and "custom.handicap" not in fields


def test_labels_follow_the_active_language(scoped):
    _define(scoped, label={"en": "Handicap", "fr": "Indice"}, field_type="choice",
            choices=[{"value": "a", "label": {"en": "Low", "fr": "Bas"}}])
    with translation.override("fr"):
        field = fields_for(scoped)["custom.handicap"]
        assert (field.label, list(field.choices)) == ("Indice", [("a", "Bas")])
    with translation.override("en"):
        field = fields_for(scoped)["custom.handicap"]
        assert (field.label, list(field.choices)) == ("Handicap", [("a", "Low")])


def test_a_segment_is_usable_at_once_and_unknown_once_deleted(scoped, owner):
    actor = member_actor(scoped, owner)
    fields_for(scoped)
    segment = segment_create(tenant=scoped, actor=actor, data={"name": "Golfers",
                                                               "type": "STATIC"})
    rule = one("segment", "equals", str(segment.pk))
    assert _problems(scoped, rule) == []
    assert (str(segment.pk), "Golfers") in list(fields_for(scoped)["segment"].choices)
    segment_delete(tenant=scoped, actor=actor, segment=segment)
    assert _problems(scoped, rule) == ["Choose a segment of this organization."]
    assert str(segment.pk) not in dict(fields_for(scoped)["segment"].choices)


def test_building_a_kept_registry_costs_one_query(scoped, django_assert_num_queries):
    _define(scoped)
    fields_for(scoped)
    with django_assert_num_queries(1):
        fields_for(scoped)


def test_the_token_row_is_made_with_the_organization_and_reading_never_writes(
        make_tenant, django_assert_num_queries):
    from tend.core.models import Tenant
    from tend.rules.registry import bump_fields_version, fields_version

    made = make_tenant(name="Fresh Club")
    with tenant_scope(made):
        [row] = FieldsVersion.objects.filter(tenant=made)
        assert len(row.token) == 32
        assert fields_version(made) == row.token
    bare = Tenant.objects.create(name="Bare", slug="bare")  # made without the service
    with tenant_scope(bare):
        with django_assert_num_queries(1):
            assert fields_version(bare) == ""
        assert not FieldsVersion.objects.filter(tenant=bare).exists()
        token = bump_fields_version(bare.pk)  # the first change makes the row
        assert fields_version(bare) == token != ""
