"""API: contacts, their identities and tags, and companies."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tend.core.actors import Actor
from tend.core.services.customfields import customfield_create
from tend.core.services.tags import tag_create
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import add_member
from tend.core.tests.apitools import signed_in
from tend.people.models import Contact, IdentityAlias
from tend.people.services.companies import company_create
from tend.people.services.contacts import contact_create

SYSTEM = Actor.system()


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def viewer_api(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    return signed_in(user, tenant)


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def problem(response, status):
    assert response.status_code == status, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def make(tenant, **data):
    emails = data.pop("emails", ())
    with tenant_scope(tenant):
        return contact_create(tenant=tenant, actor=SYSTEM, data=data, emails=emails)


def test_create_and_read(api, tenant, owner):
    with tenant_scope(tenant):
        vip = tag_create(tenant=tenant, actor=SYSTEM, name="VIP")
        company = company_create(tenant=tenant, actor=SYSTEM, data={"name": "Gulf Co"})
        customfield_create(tenant=tenant, actor=SYSTEM, entity_type="contact",
                           key="membership_level", label="Level", field_type="choice",
                           choices=["gold", "silver"])
    response = post(api, "/api/v1/contacts", {
        "first_name": "Lina", "last_name": "Haddad", "owner_id": str(owner.pk),
        "company_id": str(company.pk), "emails": ["Lina@Example.com"],
        "phones": ["+971 50 123 4567"], "tag_ids": [str(vip.pk)],
        "custom": {"membership_level": "gold"}, "lifecycle_stage": "MEMBER"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["display_name"], body["primary_email"], body["primary_phone"]) == (
        "Lina Haddad", "lina@example.com", "+971501234567")
    assert body["company"] == {"id": str(company.pk), "name": "Gulf Co"}
    assert body["owner_id"] == str(owner.pk)
    assert body["tags"] == [{"id": str(vip.pk), "name": "VIP", "color": "#6b7280"}]
    assert body["custom"] == {"membership_level": "gold"}
    assert body["consent"] == {"email": False, "sms": False, "whatsapp": False,
                               "telegram": False}
    assert body["metrics"]["last_activity_type"] == "CONTACT_CREATED"
    assert [(a["type"], a["value"], a["is_primary"]) for a in body["aliases"]] == [
        ("EMAIL", "lina@example.com", True), ("PHONE", "+971501234567", True)]
    assert body["possible_duplicates"] == []
    got = api.get(f"/api/v1/contacts/{body['id']}").json()
    assert got["display_name"] == "Lina Haddad"
    assert "possible_duplicates" not in got


def test_create_lists_possible_duplicates(api, tenant):
    first = make(tenant, first_name="Lina", last_name="Haddad", city="Dubai")
    response = post(api, "/api/v1/contacts", {"first_name": "Lina", "last_name": "Haddad",
                                              "city": "Dubai"})
    assert response.status_code == 201
    assert [d["contact_id"] for d in response.json()["possible_duplicates"]] == [str(first.pk)]


def test_create_bad_input(api, tenant, make_user):
    stranger = make_user("stranger@example.com")
    errors = problem(post(api, "/api/v1/contacts", {
        "first_name": "A", "owner_id": str(stranger.pk), "gender": "ROBOT",
        "emails": ["not-an-email"]}), 422)
    assert sorted(errors) == ["gender", "owner_id"]
    errors = problem(post(api, "/api/v1/contacts", {"first_name": "A",
                                                    "emails": ["not-an-email"]}), 422)
    assert list(errors) == ["emails"]
    errors = problem(post(api, "/api/v1/contacts", {"first_name": "A", "tenant_id": "x"}), 422)
    assert list(errors) == ["tenant_id"]
    with tenant_scope(tenant):
        assert Contact.objects.count() == 0


def test_taken_email_does_not_reveal_the_other_contact(api, tenant):
    make(tenant, first_name="Secret", last_name="Person", emails=["taken@example.com"])
    errors = problem(post(api, "/api/v1/contacts", {"first_name": "B",
                                                    "emails": ["taken@example.com"]}), 422)
    assert errors == {"emails": "taken@example.com already belongs to another contact."}


def test_viewer_cannot_write(viewer_api, tenant):
    contact = make(tenant, first_name="Lina")
    assert viewer_api.get(f"/api/v1/contacts/{contact.pk}").status_code == 200
    assert post(viewer_api, "/api/v1/contacts", {"first_name": "X"}).status_code == 403
    response = viewer_api.patch(f"/api/v1/contacts/{contact.pk}", {"city": "X"},
                                content_type="application/json")
    assert response.status_code == 403
    assert viewer_api.delete(f"/api/v1/contacts/{contact.pk}").status_code == 403


def test_update_delete_restore(api, tenant):
    contact = make(tenant, first_name="Lina", last_name="Haddad")
    url = f"/api/v1/contacts/{contact.pk}"
    response = api.patch(url, {"last_name": "Saleh", "city": "Doha"},
                         content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["display_name"], response.json()["city"]) == ("Lina Saleh", "Doha")
    errors = problem(api.patch(url, {"company_id": "01234567-89ab-7def-8123-456789abcdef"},
                               content_type="application/json"), 422)
    assert errors == {"company_id": "Choose a company of this organization."}
    assert api.delete(url).status_code == 204
    assert api.get("/api/v1/contacts").json()["items"] == []
    assert api.get(url).json()["status"] == "DELETED"
    assert post(api, f"{url}/restore").json()["status"] == "ACTIVE"


def test_aliases(api, tenant):
    contact = make(tenant, first_name="Lina", emails=["lina@example.com"])
    url = f"/api/v1/contacts/{contact.pk}/aliases"
    response = post(api, url, {"type": "EMAIL", "value": "LINA@work.example",
                               "is_primary": True})
    assert response.status_code == 201
    new_id = response.json()["id"]
    assert api.get(f"/api/v1/contacts/{contact.pk}").json()["primary_email"] == (
        "lina@work.example")
    with tenant_scope(tenant):
        old = IdentityAlias.objects.get(value="lina@example.com")
    assert post(api, f"{url}/{old.pk}/primary").json()["is_primary"] is True
    assert post(api, f"{url}/{old.pk}/verify").json()["verified_at"] is not None
    assert api.delete(f"{url}/{new_id}").status_code == 204
    assert api.delete(f"{url}/{new_id}").status_code == 404
    errors = problem(post(api, url, {"type": "PHONE", "value": "12"}), 422)
    assert list(errors) == ["phone"]
    errors = problem(post(api, url, {"type": "FAX", "value": "12"}), 422)
    assert list(errors) == ["type"]


def test_tags(api, tenant):
    contact = make(tenant, first_name="Lina")
    with tenant_scope(tenant):
        vip = tag_create(tenant=tenant, actor=SYSTEM, name="VIP")
        donor = tag_create(tenant=tenant, actor=SYSTEM, name="Donor")
    url = f"/api/v1/contacts/{contact.pk}/tags"
    response = api.put(url, {"tag_ids": [str(vip.pk), str(donor.pk)]},
                       content_type="application/json")
    assert [t["name"] for t in response.json()] == ["Donor", "VIP"]
    assert api.delete(f"{url}/{vip.pk}").status_code == 204
    assert [t["name"] for t in api.get(url).json()] == ["Donor"]
    assert [t["name"] for t in post(api, url, {"tag_ids": [str(vip.pk)]}).json()] == [
        "Donor", "VIP"]
    errors = problem(post(api, url, {"tag_ids": ["01234567-89ab-7def-8123-456789abcdef"]}), 422)
    assert list(errors) == ["tags"]


def test_list_search_filters_and_pages(api, tenant):
    for name in ("Amal", "Bilal", "Carla", "Dana"):
        make(tenant, first_name=name, lifecycle_stage="LEAD" if name < "C" else "")
    page = api.get("/api/v1/contacts", {"limit": 3}).json()
    assert [c["display_name"] for c in page["items"]] == ["Amal", "Bilal", "Carla"]
    rest = api.get("/api/v1/contacts", {"limit": 3, "cursor": page["next_cursor"]}).json()
    assert ([c["display_name"] for c in rest["items"]], rest["next_cursor"]) == (["Dana"], None)
    found = api.get("/api/v1/contacts", {"q": "bil"}).json()["items"]
    assert [c["display_name"] for c in found] == ["Bilal"]
    leads = api.get("/api/v1/contacts", {"lifecycle_stage": "LEAD", "sort": "-name"}).json()
    assert [c["display_name"] for c in leads["items"]] == ["Bilal", "Amal"]
    errors = problem(api.get("/api/v1/contacts", {"sort": "age"}), 422)
    assert list(errors) == ["sort"]
    errors = problem(api.get("/api/v1/contacts", {"custom": "nokey"}), 422)
    assert list(errors) == ["custom"]


def test_list_sorted_by_last_activity_pages(api, tenant):
    for name in ("Amal", "Bilal", "Carla"):
        make(tenant, first_name=name)
    first = api.get("/api/v1/contacts", {"sort": "-last_activity", "limit": 2}).json()
    second = api.get("/api/v1/contacts", {"sort": "-last_activity", "limit": 2,
                                          "cursor": first["next_cursor"]}).json()
    names = [c["display_name"] for c in first["items"] + second["items"]]
    assert names == ["Carla", "Bilal", "Amal"]


def test_list_query_count_does_not_grow(api, tenant):
    with tenant_scope(tenant):
        vip = tag_create(tenant=tenant, actor=SYSTEM, name="VIP")
        company = company_create(tenant=tenant, actor=SYSTEM, data={"name": "Gulf Co"})

    def add(n):
        for i in range(n):
            with tenant_scope(tenant):
                contact_create(tenant=tenant, actor=SYSTEM,
                               data={"first_name": f"P{i}{n}", "company": company},
                               emails=[f"p{i}-{n}@example.com"], tags=[vip])

    add(2)
    api.get("/api/v1/contacts")  # the first request of a session does its own bookkeeping
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/api/v1/contacts").json()["items"]) == 2
    add(8)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/contacts").json()["items"]) == 10
    # session, user, membership, the staff member's unit scope (community), contacts (with
    # owner and company), tags, identities; on
    # PostgreSQL also the row-level security settings around the scope.
    expected = 8 if connection.vendor == "sqlite" else 12
    assert len(many.captured_queries) == len(few.captured_queries) == expected


def test_companies(api, tenant):
    contact = make(tenant, first_name="Lina")
    response = post(api, "/api/v1/companies", {"name": "Gulf Co", "website": "https://g.example",
                                               "names": {"ar": "شركة الخليج"}})
    assert response.status_code == 201
    company = response.json()
    assert (company["name"], company["names"], company["contact_count"]) == (
        "Gulf Co", {"ar": "شركة الخليج"}, 0)
    api.patch(f"/api/v1/contacts/{contact.pk}", {"company_id": company["id"]},
              content_type="application/json")
    url = f"/api/v1/companies/{company['id']}"
    assert api.get(url).json()["contact_count"] == 1
    people = api.get(f"{url}/contacts").json()["items"]
    assert [p["display_name"] for p in people] == ["Lina"]
    assert api.patch(url, {"city": "Muscat"}, content_type="application/json").json()[
        "city"] == "Muscat"
    errors = problem(post(api, "/api/v1/companies", {"name": "X", "website": "javascript:1"}),
                     422)
    assert list(errors) == ["website"]
    assert [c["name"] for c in api.get("/api/v1/companies", {"q": "gulf"}).json()["items"]] == [
        "Gulf Co"]
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
