"""Saved contact list views through the API: per user, shared, checked like the list."""

import json

import pytest

from tend.core.models import AuditLog
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.people.models import SavedView

API = "/api/v1/saved-views"


def send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def agent(tenant, make_user):
    user = make_user("agent@example.com")
    add_member(tenant, user, "agent")
    return signed_in(user, tenant)


def test_create_list_get_update_delete(api, tenant):
    created = send(api, "post", API, {
        "name": "  Dubai   leads ", "search": "lina", "filters": {"lifecycle_stage": "LEAD"},
        "columns": ["email", "owner"], "sort": "-created"})
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["search"], body["filters"], body["columns"], body["sort"],
            body["is_shared"], body["is_mine"]) == (
        "Dubai leads", "lina", {"lifecycle_stage": "LEAD"}, ["email", "owner"], "-created",
        False, True)
    view_id = body["id"]
    assert [v["name"] for v in api.get(API).json()["items"]] == ["Dubai leads"]
    assert api.get(f"{API}/{view_id}").json()["search"] == "lina"
    changed = send(api, "patch", f"{API}/{view_id}", {"name": "Leads", "sort": "name"})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["sort"], changed.json()["search"],
            changed.json()["filters"]) == ("Leads", "name", "lina", {"lifecycle_stage": "LEAD"})
    cleared = send(api, "patch", f"{API}/{view_id}", {"search": "", "filters": {}})
    assert (cleared.json()["search"], cleared.json()["filters"]) == ("", {})
    with tenant_scope(tenant):
        assert list(AuditLog.objects.filter(entity_type="savedview").order_by("seq")
                    .values_list("action", flat=True)) == [
            "savedview.created", "savedview.updated", "savedview.updated"]
    assert api.delete(f"{API}/{view_id}").status_code == 204
    assert api.get(f"{API}/{view_id}").status_code == 404


def test_bad_input_is_422_with_fields(api):
    bad = send(api, "post", API, {"name": "", "filters": {"lifecycle_stage": "KING"},
                                  "columns": ["email", "shoe_size"], "sort": "height"})
    assert bad.status_code == 422
    fields = {e.get("field") for e in bad.json()["errors"]}
    assert {"name", "lifecycle_stage", "columns", "sort"} <= fields
    send(api, "post", API, {"name": "Mine"})
    twice = send(api, "post", API, {"name": "Mine"})
    assert twice.status_code == 422
    assert send(api, "post", API, {"name": "x", "owner_id": "1"}).status_code == 422


def test_private_views_are_private_and_shared_ones_need_manage(api, agent, tenant):
    private = send(api, "post", API, {"name": "Owner only"}).json()
    shared = send(api, "post", API, {"name": "Everyone", "is_shared": True}).json()
    assert shared["is_shared"] is True
    seen = agent.get(API).json()["items"]
    assert [(v["name"], v["is_mine"]) for v in seen] == [("Everyone", False)]
    assert agent.get(f"{API}/{private['id']}").status_code == 404
    # the agent may not share, nor change or delete someone else's shared view
    assert send(agent, "post", API, {"name": "Mine too", "is_shared": True}).status_code == 403
    assert send(agent, "patch", f"{API}/{shared['id']}", {"name": "Hijack"}).status_code == 403
    assert agent.delete(f"{API}/{shared['id']}").status_code == 403
    own = send(agent, "post", API, {"name": "Agent view"}).json()
    assert send(agent, "patch", f"{API}/{own['id']}", {"is_shared": True}).status_code == 403
    mine = agent.get(API, {"mine": "true"}).json()["items"]
    assert [v["name"] for v in mine] == ["Agent view"]
    # the same name may exist once per owner
    assert send(agent, "post", API, {"name": "Everyone"}).status_code == 201
    with tenant_scope(tenant):
        assert SavedView.objects.filter(name="Everyone").count() == 2


def test_other_organizations_views_are_404(api, make_tenant, make_user):
    foreign_owner = make_user("o@example.com")
    other = make_tenant("Other", slug="other", owner=foreign_owner)
    theirs = send(signed_in(foreign_owner, other), "post", API,
                  {"name": "Theirs", "is_shared": True}).json()
    assert api.get(f"{API}/{theirs['id']}").status_code == 404
    assert api.delete(f"{API}/{theirs['id']}").status_code == 404
    assert [v["name"] for v in api.get(API).json()["items"]] == []
