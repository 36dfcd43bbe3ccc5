"""Tag services and selectors."""

from __future__ import annotations

import pytest

from tend.core.actors import Actor
from tend.core.errors import NotFound, PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, Tag
from tend.core.selectors.access import actor_for_membership
from tend.core.selectors.tags import tag_get, tag_list
from tend.core.services.tags import tag_create, tag_delete, tag_recolor, tag_rename, tag_update
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, membership_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(tenant, owner):
    return actor_for_membership(membership_of(tenant, owner))


def _create(tenant, name, **kw):
    with tenant_scope(tenant):
        return tag_create(tenant=tenant, actor=Actor.system(), name=name, **kw)


def _create_errors(tenant, **kw):
    kw.setdefault("name", "x")
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as excinfo:
        tag_create(tenant=tenant, actor=Actor.system(), **kw)
    return excinfo.value.fields


def test_create_makes_slug_defaults_color_and_audits(tenant, actor, owner):
    with tenant_scope(tenant):
        tag = tag_create(tenant=tenant, actor=actor, name="  Golf   Members ",
                         description=" weekend ")
        entry = AuditLog.objects.order_by("-seq").first()
    assert (tag.name, tag.slug, tag.color, tag.description) == (
        "Golf Members", "golf-members", "#6b7280", "weekend"
    )
    assert tag.created_by == owner
    assert (entry.action, entry.entity_id, entry.changes) == (
        "tag.created", str(tag.pk), {"name": "Golf Members", "color": "#6b7280"}
    )


def test_arabic_names_keep_their_letters(tenant):
    tag = _create(tenant, "كبار الشخصيات")
    assert (tag.name, tag.slug) == ("كبار الشخصيات", "كبار-الشخصيات")
    assert _create_errors(tenant, name="كبار  الشخصيات") == {
        "name": ["The tag كبار الشخصيات exists already."]
    }


def test_names_are_unique_ignoring_case_and_punctuation(tenant):
    _create(tenant, "VIP")
    for name in ("vip", "V.I.P", " vip! "):
        assert _create_errors(tenant, name=name) == {"name": ["The tag VIP exists already."]}


def test_the_same_name_in_another_tenant_is_fine(tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    _create(tenant, "VIP")
    assert _create(other, "VIP").tenant_id == other.pk


def test_bad_input_gets_field_messages(tenant):
    assert _create_errors(tenant, name="  ", color="blue", description="d" * 301) == {
        "name": ["This field is required."],
        "color": ["Enter a color as #rrggbb, e.g. #2563eb."],
        "description": ["Use at most 300 characters."],
    }
    assert _create_errors(tenant, name="!!!") == {"name": ["Use at least one letter or digit."]}
    assert _create_errors(tenant, name="n" * 101) == {"name": ["Use at most 100 characters."]}
    assert _create_errors(tenant, name=None) == {"name": ["This field is required."]}


def test_short_colors_are_expanded_and_lowercased(tenant):
    assert _create(tenant, "a", color="#ABC").color == "#aabbcc"
    assert _create(tenant, "b", color="#2563EB").color == "#2563eb"


def test_rename_recolor_and_update(tenant, actor):
    tag = _create(tenant, "VIP")
    with tenant_scope(tenant):
        tag_rename(tenant=tenant, actor=actor, tag=tag, name="Very Important")
        tag_recolor(tenant=tenant, actor=actor, tag=tag, color="#ff0000")
        tag_update(tenant=tenant, actor=actor, tag=tag, description="top")
        tag = tag_get(tenant=tenant, tag_id=tag.pk)
        changes = list(AuditLog.objects.filter(action="tag.updated").order_by("seq")
                       .values_list("changes", flat=True))
    assert (tag.name, tag.slug, tag.color, tag.description) == (
        "Very Important", "very-important", "#ff0000", "top"
    )
    assert changes == [
        {"name": {"before": "VIP", "after": "Very Important"}},
        {"color": {"before": "#6b7280", "after": "#ff0000"}},
        {"description": {"before": "", "after": "top"}},
    ]


def test_rename_to_a_taken_name_is_refused_but_case_change_of_own_name_is_fine(tenant, actor):
    _create(tenant, "Gold")
    silver = _create(tenant, "Silver")
    with tenant_scope(tenant):
        with pytest.raises(ValidationFailed) as excinfo:
            tag_rename(tenant=tenant, actor=actor, tag=silver, name="GOLD")
        assert excinfo.value.fields == {"name": ["The tag Gold exists already."]}
        tag_rename(tenant=tenant, actor=actor, tag=silver, name="SILVER")
        assert tag_get(tenant=tenant, tag_id=silver.pk).name == "SILVER"


def test_rename_and_recolor_need_a_value(tenant, actor):
    tag = _create(tenant, "VIP")
    with tenant_scope(tenant):
        with pytest.raises(ValidationFailed) as excinfo:
            tag_recolor(tenant=tenant, actor=actor, tag=tag, color="")
        assert excinfo.value.fields == {"color": ["This field is required."]}
        with pytest.raises(ValidationFailed) as excinfo:
            tag_rename(tenant=tenant, actor=actor, tag=tag, name="")
        assert excinfo.value.fields == {"name": ["This field is required."]}


def test_delete_removes_and_audits(tenant, actor):
    tag = _create(tenant, "VIP")
    tag_id = tag.pk
    with tenant_scope(tenant):
        tag_delete(tenant=tenant, actor=actor, tag=tag)
        entry = AuditLog.objects.order_by("-seq").first()
        assert not Tag.objects.filter(pk=tag_id).exists()
    assert (entry.action, entry.entity_id, entry.changes) == (
        "tag.deleted", str(tag_id), {"name": "VIP"}
    )


def test_permissions(tenant, make_user):
    user = make_user("agent@example.com")
    add_member(tenant, user, "viewer")
    viewer = actor_for_membership(membership_of(tenant, user))
    tag = _create(tenant, "VIP")
    with tenant_scope(tenant):
        with pytest.raises(PermissionDenied):
            tag_create(tenant=tenant, actor=viewer, name="x")
        with pytest.raises(PermissionDenied):
            tag_rename(tenant=tenant, actor=viewer, tag=tag, name="y")
        with pytest.raises(PermissionDenied):
            tag_delete(tenant=tenant, actor=viewer, tag=tag)


def test_changing_another_tenants_tag_is_refused(tenant, make_tenant, actor):
    other = make_tenant("Other", slug="other")
    foreign = _create(other, "VIP")
    with tenant_scope(tenant):
        with pytest.raises(ValidationFailed):
            tag_rename(tenant=tenant, actor=actor, tag=foreign, name="mine")
        with pytest.raises(ValidationFailed):
            tag_delete(tenant=tenant, actor=actor, tag=foreign)


def test_list_and_search(tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    for name in ("Silver", "gold", "Golf"):
        _create(tenant, name)
    _create(other, "Goliath")
    with tenant_scope(tenant):
        assert [t.name for t in tag_list(tenant=tenant)] == ["gold", "Golf", "Silver"]
        assert [t.name for t in tag_list(tenant=tenant, search="GOL")] == ["gold", "Golf"]


def test_get_of_malformed_or_foreign_id_is_not_found(tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    foreign = _create(other, "VIP")
    with tenant_scope(tenant):
        for bad in ("nope", foreign.pk, None):
            with pytest.raises(NotFound):
                tag_get(tenant=tenant, tag_id=bad)
