"""/api/v1/tags."""

from __future__ import annotations

import pytest

from tend.core.actors import Actor
from tend.core.models import Tag
from tend.core.services.tags import tag_create
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def full(tenant, owner):
    return make_key(tenant, owner, ["tags.view", "tags.add", "tags.change", "tags.delete"])[1]


@pytest.fixture
def read_only(tenant, owner):
    return make_key(tenant, owner, ["tags.view"])[1]


def _tag(tenant, name, **kw):
    with tenant_scope(tenant):
        return tag_create(tenant=tenant, actor=Actor.system(), name=name, **kw)


def test_create_read_update_delete(client, tenant, full):
    response = client.post("/api/v1/tags", {"name": "كبار الشخصيات", "color": "#ABC"},
                           content_type="application/json", headers=bearer(full))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["slug"], body["color"], body["description"]) == (
        "كبار الشخصيات", "كبار-الشخصيات", "#aabbcc", ""
    )
    url = f"/api/v1/tags/{body['id']}"
    assert client.get(url, headers=bearer(full)).json()["name"] == "كبار الشخصيات"

    response = client.patch(url, {"color": "#000000"}, content_type="application/json",
                            headers=bearer(full))
    assert (response.status_code, response.json()["color"], response.json()["name"]) == (
        200, "#000000", "كبار الشخصيات"
    )

    response = client.delete(url, headers=bearer(full))
    assert (response.status_code, response.content) == (204, b"")
    assert client.get(url, headers=bearer(full)).status_code == 404


def test_list_pages_by_name_and_searches(client, tenant, full):
    for name in ("Gamma", "Alpha", "Beta"):
        _tag(tenant, name)
    first = client.get("/api/v1/tags", {"limit": 2}, headers=bearer(full)).json()
    assert [t["name"] for t in first["items"]] == ["Alpha", "Beta"]
    second = client.get("/api/v1/tags", {"limit": 2, "cursor": first["next_cursor"]},
                        headers=bearer(full)).json()
    assert ([t["name"] for t in second["items"]], second["next_cursor"]) == (["Gamma"], None)
    found = client.get("/api/v1/tags", {"q": "alp"}, headers=bearer(full)).json()
    assert [t["name"] for t in found["items"]] == ["Alpha"]


def test_duplicate_name_is_422_with_the_field(client, tenant, full):
    _tag(tenant, "VIP")
    response = client.post("/api/v1/tags", {"name": "v.i.p"}, content_type="application/json",
                           headers=bearer(full))
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("name", "The tag VIP exists already.")
    ]


def test_unknown_fields_are_refused(client, tenant, full):
    response = client.post("/api/v1/tags", {"name": "x", "tenant": "other"},
                           content_type="application/json", headers=bearer(full))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["tenant"]


def test_read_only_key_cannot_write(client, tenant, read_only):
    tag = _tag(tenant, "VIP")
    assert client.post("/api/v1/tags", {"name": "x"}, content_type="application/json",
                       headers=bearer(read_only)).status_code == 403
    assert client.patch(f"/api/v1/tags/{tag.pk}", {"name": "y"},
                        content_type="application/json",
                        headers=bearer(read_only)).status_code == 403
    assert client.delete(f"/api/v1/tags/{tag.pk}", headers=bearer(read_only)).status_code == 403
    with tenant_scope(tenant):
        assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]
