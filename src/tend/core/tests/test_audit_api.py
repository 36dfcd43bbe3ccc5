"""/api/v1/audit."""

from __future__ import annotations

import pytest

from tend.core.actors import Actor
from tend.core.services.audit import audit_record
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, bearer, make_key
from tend.core.tests.apitools import signed_in as client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(tenant, owner):
    return make_key(tenant, owner, ["audit.view"])[1]


def _record(tenant, action, **kw):
    with tenant_scope(tenant):
        return audit_record(tenant=tenant, actor=Actor.system(), action=action, **kw)


def test_list_newest_first_with_cursor_pages(client, tenant, key, owner):
    # seq 1: organization.created; seq 2: apikey.created (the key above)
    for i in range(3):
        _record(tenant, "tag.created", entity_type="tag", entity_id=f"t{i}")
    first = client.get("/api/v1/audit", {"limit": 2}, headers=bearer(key)).json()
    assert [e["seq"] for e in first["items"]] == [5, 4]
    rest = client.get("/api/v1/audit", {"limit": 10, "cursor": first["next_cursor"]},
                      headers=bearer(key)).json()
    assert [e["seq"] for e in rest["items"]] == [3, 2, 1]
    assert rest["next_cursor"] is None
    entry = first["items"][0]
    assert (entry["action"], entry["entity_type"], entry["entity_id"], entry["actor_type"],
            entry["changes"], entry["ip"]) == ("tag.created", "tag", "t2", "system", {}, None)
    assert len(entry["hash"]) == 64


def test_filters(client, tenant, key, owner):
    _record(tenant, "tag.created", entity_type="tag", entity_id="t1")   # 3
    _record(tenant, "role.created", entity_type="role", entity_id="r1")  # 4

    def seqs(**params):
        body = client.get("/api/v1/audit", params, headers=bearer(key)).json()
        return [e["seq"] for e in body["items"]]

    assert seqs(action="tag.") == [3]
    assert seqs(entity_type="role", entity_id="r1") == [4]
    assert seqs(actor=str(owner.pk)) == [2]
    assert seqs(actor="system") == [4, 3, 1]
    assert seqs(date_to="2000-01-01") == []


def test_bad_dates_are_422(client, tenant, key):
    response = client.get("/api/v1/audit", {"date_from": "2025-02-02",
                                            "date_to": "2025-02-01"}, headers=bearer(key))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["date_to"]
    response = client.get("/api/v1/audit", {"date_from": "soon"}, headers=bearer(key))
    assert response.status_code == 422


def test_get_one_and_404_for_unknown(client, tenant, key):
    entry = _record(tenant, "x.y", changes={"a": 1})
    body = client.get(f"/api/v1/audit/{entry.pk}", headers=bearer(key)).json()
    assert (body["seq"], body["changes"], body["prev_hash"]) == (3, {"a": 1}, entry.prev_hash)
    response = client.get("/api/v1/audit/0190f3a0-0000-7000-8000-000000000000",
                          headers=bearer(key))
    assert response.status_code == 404


def test_needs_audit_view(client, tenant, owner, make_user):
    _key, secret = make_key(tenant, owner, ["tags.view"])
    assert client.get("/api/v1/audit", headers=bearer(secret)).status_code == 403
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    session = client_for(viewer, tenant)
    assert session.get("/api/v1/audit").status_code == 403
