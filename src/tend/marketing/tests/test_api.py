import pytest

from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, bearer, make_key, signed_in
from tend.marketing.models import Segment
from tend.marketing.tests.helpers import city_rule, member_ids
from tend.people.tests.helpers_360 import make_contact

API = "/api/v1"


@pytest.fixture
def api(tenant, owner):
    _key, secret = make_key(tenant, owner, ["segments.view", "segments.add", "segments.change",
                                            "segments.delete", "contacts.view"])
    from django.test import Client

    client = Client(headers=bearer(secret))
    return client


def test_static_list_crud_and_members(api, tenant):
    a = make_contact(tenant, first_name="Ada")
    b = make_contact(tenant, first_name="Bo")
    created = api.post(f"{API}/segments", {"name": "VIP", "description": "Best"},
                       content_type="application/json")
    assert created.status_code == 201, created.content
    segment_id = created.json()["id"]
    assert created.json()["type"] == "STATIC"
    added = api.post(f"{API}/segments/{segment_id}/members",
                     {"contact_ids": [str(a.pk), str(b.pk)]}, content_type="application/json")
    assert added.json() == {"count": 2}
    page = api.get(f"{API}/segments/{segment_id}/members?limit=1")
    assert page.status_code == 200
    first = page.json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = api.get(f"{API}/segments/{segment_id}/members?limit=1&cursor={first['next_cursor']}")
    names = {first["items"][0]["contact"]["display_name"],
             second.json()["items"][0]["contact"]["display_name"]}
    assert names == {"Ada Haddad", "Bo Haddad"}
    assert second.json()["next_cursor"] is None
    removed = api.post(f"{API}/segments/{segment_id}/members/remove",
                       {"contact_ids": [str(a.pk)]}, content_type="application/json")
    assert removed.json() == {"count": 1}
    assert api.get(f"{API}/segments/{segment_id}").json()["member_count"] == 1
    history = api.get(f"{API}/segments/{segment_id}/history?days=7").json()
    assert history[-1]["member_count"] == 1
    mine = api.get(f"{API}/contacts/{b.pk}/segments").json()
    assert [s["name"] for s in mine] == ["VIP"]
    patched = api.patch(f"{API}/segments/{segment_id}", {"name": "VIPs"},
                        content_type="application/json")
    assert patched.json()["name"] == "VIPs"
    assert api.delete(f"{API}/segments/{segment_id}").status_code == 204
    assert api.get(f"{API}/segments/{segment_id}").status_code == 404


def test_dynamic_segment_refresh_and_rules(api, tenant):
    make_contact(tenant, first_name="Ada", city="dubai")
    bad = api.post(f"{API}/segments", {"name": "Bad", "type": "DYNAMIC", "rule": {
        "combinator": "and", "rules": [{"field": "city", "operator": "lessThan", "value": 3}]}},
        content_type="application/json")
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["rule.rules[0].operator"]
    created = api.post(f"{API}/segments", {"name": "Dubai", "type": "DYNAMIC",
                                           "rule": city_rule("dubai")},
                       content_type="application/json")
    assert created.status_code == 201
    assert created.json()["member_count"] == 1
    assert "contact:city" in created.json()["dependencies"]
    segment_id = created.json()["id"]
    make_contact(tenant, first_name="Bo", city="dubai")
    refreshed = api.post(f"{API}/segments/{segment_id}/refresh")
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh"]["added"] == 1
    assert api.get(f"{API}/segments/{segment_id}/refreshes").json()[0]["member_count"] == 2
    # Members of a dynamic segment come from its rules only.
    refused = api.post(f"{API}/segments/{segment_id}/members", {"contact_ids": []},
                       content_type="application/json")
    assert refused.status_code == 422
    check = api.post(f"{API}/segments/rule/validate", {"rule": {"rules": [
        {"field": "nope", "operator": "equals", "value": 1}]}}, content_type="application/json")
    assert check.json()["valid"] is False
    assert check.json()["problems"][0]["path"] == "rules[0].field"
    count = api.post(f"{API}/segments/rule/count", {"rule": city_rule("dubai")},
                     content_type="application/json")
    assert count.json()["count"] == 2
    assert len(count.json()["sample"]) == 2


def test_big_refresh_runs_as_a_job(api, tenant):
    from tend.core.models import Job
    from tend.core.services.jobs import job_run

    created = api.post(f"{API}/segments", {"name": "Everyone", "type": "DYNAMIC",
                                           "rule": {"combinator": "and", "rules": []}},
                       content_type="application/json").json()
    make_contact(tenant, first_name="Ada")
    with tenant_scope(tenant):
        Segment.objects.filter(pk=created["id"]).update(member_count=10**6)
    response = api.post(f"{API}/segments/{created['id']}/refresh")
    assert response.status_code == 202
    with tenant_scope(tenant):
        job = Job.objects.get(pk=response.json()["job_id"])
        assert (job.kind, job.params) == ("marketing.segment_refresh",
                                          {"segment_id": created["id"]})
        job = job_run(tenant=tenant, job_id=str(job.pk))
        assert job.result == {"added": 1, "removed": 0, "members": 1}
        assert Segment.objects.get(pk=created["id"]).refreshes.first().job_id == job.pk


def test_viewer_reads_but_cannot_change(tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    assert client.get(f"{API}/segments").status_code == 200
    response = client.post(f"{API}/segments", {"name": "X"}, content_type="application/json")
    assert response.status_code == 403
    everyone = client.get(f"{API}/segments?q=All").json()["items"]
    assert [s["name"] for s in everyone] == ["All contacts"]
    with tenant_scope(tenant):
        assert member_ids(Segment.objects.get(system_key="all")) == set()
