"""Settings → Tags pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tend.core.actors import Actor
from tend.core.models import Tag
from tend.core.services.tags import tag_create
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in

pytestmark = pytest.mark.django_db


def _url(name, tenant, **kw):
    return reverse(f"core:{name}", kwargs={"org_slug": tenant.slug, **kw})


def _tag(tenant, name, **kw):
    with tenant_scope(tenant):
        return tag_create(tenant=tenant, actor=Actor.system(), name=name, **kw)


@pytest.fixture
def viewer(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    return user


def test_list_shows_tags_and_the_add_form(tenant, owner):
    _tag(tenant, "VIP", color="#ff0000")
    _tag(tenant, "كبار")
    response = signed_in(owner).get(_url("tags-list", tenant))
    body = response.content.decode()
    assert response.status_code == 200
    assert "VIP" in body
    assert "كبار" in body
    assert 'id="tag-add-form"' in body


def test_search_filters_the_list(tenant, owner):
    _tag(tenant, "Golf")
    _tag(tenant, "Tennis")
    response = signed_in(owner).get(_url("tags-list", tenant), {"q": "gol"})
    assert [t.name for t in response.context["tags"]] == ["Golf"]


def test_add_creates_and_redirects(tenant, owner):
    response = signed_in(owner).post(_url("tags-list", tenant),
                                     {"name": "Members", "color": "#2563eb", "description": ""})
    assert (response.status_code, response["Location"]) == (302, _url("tags-list", tenant))
    with tenant_scope(tenant):
        assert list(Tag.objects.values_list("name", "color")) == [("Members", "#2563eb")]


def test_add_duplicate_shows_the_error_next_to_the_name(tenant, owner):
    _tag(tenant, "VIP")
    response = signed_in(owner).post(_url("tags-list", tenant),
                                     {"name": "vip", "color": "#2563eb"})
    assert response.status_code == 422
    assert response.context["form"].errors == {"name": ["The tag VIP exists already."]}


def test_add_with_bad_color_is_422(tenant, owner):
    response = signed_in(owner).post(_url("tags-list", tenant), {"name": "x", "color": "red"})
    assert response.status_code == 422
    assert response.context["form"].errors == {
        "color": ["Enter a color as #rrggbb, e.g. #2563eb."]
    }


def test_viewer_sees_tags_but_cannot_add_change_or_delete(tenant, viewer):
    tag = _tag(tenant, "VIP")
    client = signed_in(viewer)
    response = client.get(_url("tags-list", tenant))
    assert response.status_code == 200
    assert 'id="tag-add-form"' not in response.content.decode()
    assert client.post(_url("tags-list", tenant), {"name": "x"}).status_code == 403
    assert client.post(_url("tags-detail", tenant, tag_id=tag.pk),
                       {"name": "y", "color": "#000000"}).status_code == 403
    assert client.post(_url("tags-delete", tenant, tag_id=tag.pk)).status_code == 403
    with tenant_scope(tenant):
        assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]


def test_edit_saves_changes(tenant, owner):
    tag = _tag(tenant, "VIP")
    response = signed_in(owner).post(_url("tags-detail", tenant, tag_id=tag.pk),
                                     {"name": "Very Important", "color": "#00ff00",
                                      "description": "top"})
    assert response.status_code == 302
    with tenant_scope(tenant):
        tag.refresh_from_db()
    assert (tag.name, tag.color, tag.description) == ("Very Important", "#00ff00", "top")


def test_delete_removes(tenant, owner):
    tag = _tag(tenant, "VIP")
    response = signed_in(owner).post(_url("tags-delete", tenant, tag_id=tag.pk))
    assert (response.status_code, response["Location"]) == (302, _url("tags-list", tenant))
    with tenant_scope(tenant):
        assert Tag.objects.count() == 0


def test_another_tenants_tag_is_404(tenant, owner, make_tenant):
    other = make_tenant("Other", slug="other")
    foreign = _tag(other, "Secret canary")
    client = signed_in(owner)
    for name in ("tags-detail", "tags-delete"):
        response = client.post(_url(name, tenant, tag_id=foreign.pk),
                               {"name": "x", "color": "#000000"})
        assert response.status_code == 404
        assert "Secret canary" not in response.content.decode()
    with tenant_scope(other):
        assert Tag.objects.get().name == "Secret canary"


def test_arabic_page_renders_right_to_left(tenant, owner):
    owner.language = "ar"
    owner.save()
    response = signed_in(owner).get(_url("tags-list", tenant))
    assert response.status_code == 200
    assert 'dir="rtl"' in response.content.decode()
