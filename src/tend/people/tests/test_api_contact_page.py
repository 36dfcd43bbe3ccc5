import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key, signed_in
from tend.people.models import Activity, Company, Consent, Interaction, Note, Task
from tend.people.services.notes import note_create
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor

API = "/api/v1"


@pytest.fixture
def contact(tenant):
    return make_contact(tenant)


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


def post(client, url, body, **kw):
    return client.post(url, data=json.dumps(body), content_type="application/json", **kw)


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def _activities(tenant, contact, n):
    now = timezone.now()
    with tenant_scope(tenant):
        Activity.objects.bulk_create([
            Activity(tenant=tenant, contact=contact, type="EVENT_ATTENDED", category="EVENTS",
                     title=f"Event {i}", occurred_at=now - timedelta(minutes=i))
            for i in range(n)])


def test_timeline_pages_with_cursor_in_constant_queries(tenant, client, contact,
                                                        django_assert_num_queries):
    _activities(tenant, contact, 7)
    url = f"{API}/contacts/{contact.pk}/timeline"
    client.get(url)  # warm the session
    response = client.get(url, {"limit": 3})
    body = response.json()
    assert [i["title"] for i in body["items"]] == ["Event 0", "Event 1", "Event 2"]
    assert (body["items"][0]["icon"], body["items"][0]["display_title"]) == ("calendar",
                                                                             "Event 0")
    seen = [i["id"] for i in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        page = client.get(url, {"limit": 3, "cursor": cursor}).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 7
    client.get(url, {"limit": 50})
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url, {"limit": 50})
    _activities(tenant, contact, 40)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(url, {"limit": 50}).json()["items"]) == 47


def test_timeline_bad_input(tenant, client, contact):
    url = f"{API}/contacts/{contact.pk}/timeline"
    assert client.get(url, {"cursor": "garbage"}).status_code == 422
    bad = client.get(url, {"since": "2030-01-02", "until": "2030-01-01"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["until"]
    assert client.get(f"{API}/contacts/00000000-0000-0000-0000-000000000000/timeline"
                      ).status_code == 404


def test_notes_crud_and_pin(tenant, client, contact):
    url = f"{API}/contacts/{contact.pk}/notes"
    created = post(client, url, {"body": "Hello **there**", "type": "FEEDBACK"})
    assert created.status_code == 201
    note = created.json()
    assert (note["body_html"], note["type"], note["is_pinned"]) == (
        "<p>Hello <strong>there</strong></p>", "FEEDBACK", False)
    assert note["author"]["email"] == "owner@example.com"
    note_url = f"{API}/notes/{note['id']}"
    assert patch(client, note_url, {"body": "Changed"}).json()["body"] == "Changed"
    assert post(client, f"{note_url}/pin", {"pinned": True}).json()["is_pinned"] is True
    listed = client.get(url).json()
    assert [n["body"] for n in listed["items"]] == ["Changed"]
    assert client.delete(note_url).status_code == 204
    with tenant_scope(tenant):
        assert Note.objects.count() == 0


def test_note_bad_input_is_422_with_fields(tenant, client, contact):
    url = f"{API}/contacts/{contact.pk}/notes"
    response = post(client, url, {"body": "x", "type": "NOPE", "tenant": "other"})
    assert response.status_code == 422
    assert sorted(e["field"] for e in response.json()["errors"]) == ["tenant", "type"]
    empty = post(client, url, {"body": "   "})
    assert [e["field"] for e in empty.json()["errors"]] == ["body"]


def test_private_note_is_404_for_others(tenant, owner, contact, make_user):
    with tenant_scope(tenant):
        note = note_create(tenant=tenant, actor=member_actor(tenant, owner), contact=contact,
                           body="mine", is_private=True)
    colleague = make_user("colleague@example.com")
    add_member(tenant, colleague, "manager")
    other = signed_in(colleague, tenant)
    assert other.get(f"{API}/notes/{note.pk}").status_code == 404
    assert other.get(f"{API}/contacts/{contact.pk}/notes").json()["items"] == []
    assert signed_in(owner, tenant).get(f"{API}/notes/{note.pk}").status_code == 200


def test_viewer_cannot_write(tenant, contact, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    assert post(client, f"{API}/contacts/{contact.pk}/notes", {"body": "x"}).status_code == 403
    assert post(client, f"{API}/contacts/{contact.pk}/interactions",
                {"channel": "PHONE", "summary": "x"}).status_code == 403
    assert post(client, f"{API}/tasks", {"title": "x"}).status_code == 403
    assert post(client, f"{API}/contacts/{contact.pk}/consents",
                {"channel": "EMAIL", "status": "GRANTED"}).status_code == 403


def test_interactions_log_and_list(tenant, client, contact):
    url = f"{API}/contacts/{contact.pk}/interactions"
    created = post(client, url, {"channel": "WHATSAPP", "direction": "INBOUND",
                                 "summary": "Asked for dates", "follow_up_on": "2030-03-01",
                                 "flags": ["hot"]})
    assert created.status_code == 201
    assert (created.json()["channel"], created.json()["follow_up_on"],
            created.json()["staff"]["email"]) == ("WHATSAPP", "2030-03-01", "owner@example.com")
    assert [i["summary"] for i in client.get(url).json()["items"]] == ["Asked for dates"]
    naive = post(client, url, {"channel": "PHONE", "summary": "x",
                               "occurred_at": "2024-01-01T10:00:00"})
    assert naive.status_code == 422
    assert [e["field"] for e in naive.json()["errors"]] == ["occurred_at"]
    bad = post(client, url, {"channel": "FAX", "summary": "x"})
    assert [e["field"] for e in bad.json()["errors"]] == ["channel"]
    with tenant_scope(tenant):
        assert Interaction.objects.count() == 1


def test_tasks_api(tenant, owner, client, contact, make_user):
    outsider = make_user("outsider@example.com")
    now = timezone.now()
    created = post(client, f"{API}/tasks", {
        "title": "Call back", "contact_id": str(contact.pk), "assignee_id": str(owner.pk),
        "due_at": (now - timedelta(hours=1)).isoformat()})
    assert created.status_code == 201
    task = created.json()
    assert (task["contact"]["display_name"], task["assignee"]["email"], task["is_overdue"]) == (
        "Lina Haddad", "owner@example.com", True)
    post(client, f"{API}/tasks", {"title": "Undated", "assignee_id": str(owner.pk)})
    post(client, f"{API}/tasks", {"title": "Nobody's"})
    mine = client.get(f"{API}/tasks", {"assignee": "me", "status": "OPEN"}).json()
    assert [t["title"] for t in mine["items"]] == ["Call back", "Undated"]
    refused = post(client, f"{API}/tasks", {"title": "x", "assignee_id": str(outsider.pk)})
    assert (refused.status_code, [e["field"] for e in refused.json()["errors"]]) == (
        422, ["assignee_id"])
    task_url = f"{API}/tasks/{task['id']}"
    assert patch(client, task_url, {"due_at": None}).json()["due_at"] is None
    assert post(client, f"{task_url}/complete", {}).json()["status"] == "DONE"
    assert post(client, f"{task_url}/reopen", {}).json()["status"] == "OPEN"
    assert client.get(f"{API}/tasks", {"assignee": "nobody"}).status_code == 422
    with tenant_scope(tenant):
        company = Company.objects.create(tenant=tenant, name="Oasis Ltd")
    about = post(client, f"{API}/tasks", {"title": "Renew sponsorship",
                                          "company_id": str(company.pk)})
    assert about.json()["company_id"] == str(company.pk)
    assert [t["title"] for t in client.get(f"{API}/tasks", {"company_id": str(company.pk)})
            .json()["items"]] == ["Renew sponsorship"]
    client.delete(f"{API}/tasks/{about.json()['id']}")
    unknown = post(client, f"{API}/tasks", {"title": "x",
                                            "company_id": "00000000-0000-0000-0000-000000000001"})
    assert [e["field"] for e in unknown.json()["errors"]] == ["company_id"]
    assert client.delete(task_url).status_code == 204
    with tenant_scope(tenant):
        assert Task.objects.count() == 2


def test_task_list_query_count_is_constant(tenant, owner, client, contact,
                                           django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with tenant_scope(tenant):
        Task.objects.create(tenant=tenant, title="one", assignee=owner, contact=contact)
    client.get(f"{API}/tasks")
    with CaptureQueriesContext(connection) as few:
        client.get(f"{API}/tasks")
    with tenant_scope(tenant):
        Task.objects.bulk_create([Task(tenant=tenant, title=f"t{i}", assignee=owner,
                                       contact=contact) for i in range(20)])
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(f"{API}/tasks").json()["items"]) == 21


def test_consents_set_list_history(tenant, client, contact):
    url = f"{API}/contacts/{contact.pk}/consents"
    first = post(client, url, {"channel": "EMAIL", "status": "GRANTED", "source": "form",
                               "ip": "198.51.100.7"})
    assert (first.status_code, first.json()["changed"], first.json()["status"]) == (
        200, True, "GRANTED")
    again = post(client, url, {"channel": "EMAIL", "status": "GRANTED"})
    assert again.json()["changed"] is False
    post(client, url, {"channel": "EMAIL", "status": "REVOKED", "source": "call"})
    assert [(c["channel"], c["status"]) for c in client.get(url).json()] == [
        ("EMAIL", "REVOKED")]
    history = client.get(f"{url}/history").json()["items"]
    assert [(h["status"], h["previous_status"], h["ip"]) for h in history] == [
        ("REVOKED", "GRANTED", None), ("GRANTED", "", "198.51.100.7")]
    bad = post(client, url, {"channel": "EMAIL", "status": "GRANTED", "ip": "nope"})
    assert [e["field"] for e in bad.json()["errors"]] == ["ip"]
    with tenant_scope(tenant):
        assert Consent.objects.count() == 1


def test_api_key_with_timeline_permission(tenant, owner, contact):
    _key, secret = make_key(tenant, owner, ["activities.view"])
    from django.test import Client

    response = Client().get(f"{API}/contacts/{contact.pk}/timeline", headers=bearer(secret))
    assert response.status_code == 200
    denied = Client().get(f"{API}/contacts/{contact.pk}/notes", headers=bearer(secret))
    assert denied.status_code == 403


def _page_reads(client, contact):
    """The API reads behind one contact page, each with its query count and item count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    reads = {
        "contact": (f"{API}/contacts/{contact.pk}", {}),
        "timeline": (f"{API}/contacts/{contact.pk}/timeline", {"limit": 20}),
        "notes": (f"{API}/contacts/{contact.pk}/notes", {}),
        "interactions": (f"{API}/contacts/{contact.pk}/interactions", {}),
        "tasks": (f"{API}/tasks", {"contact_id": str(contact.pk), "status": "OPEN"}),
    }
    counts, sizes = {}, {}
    for name, (url, params) in reads.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        assert response.status_code == 200, (name, response.content)
        body = response.json()
        counts[name] = len(queries.captured_queries)
        sizes[name] = len(body["aliases"]) + len(body["tags"]) if name == "contact" \
            else len(body["items"])
    cursor = client.get(reads["timeline"][0], {"limit": 20}).json()["next_cursor"]
    if cursor:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reads["timeline"][0], {"limit": 20, "cursor": cursor}
                              ).status_code == 200
        counts["timeline, next page"] = len(queries.captured_queries)
    return counts, sizes


def test_contact_page_reads_run_constant_queries_whatever_the_contact_holds(
        tenant, owner, client, make_user):
    """Every API read of the contact page costs the same queries for a contact with one of
    each thing as for one with a long timeline (several pages, private notes of others),
    many identities, tags, notes, interactions and open tasks."""
    from tend.core.models import Tag
    from tend.people.models import ContactTag, IdentityAlias

    colleague = make_user("colleague@example.com")
    add_member(tenant, colleague, "manager")
    now = timezone.now()

    def fill(contact, n, label):
        with tenant_scope(tenant):
            for i in range(n):
                IdentityAlias.objects.create(tenant=tenant, contact=contact, type="EMAIL",
                                             value=f"{label}-{i}@example.com",
                                             is_primary=i == 0)
                tag, _ = Tag.objects.get_or_create(tenant=tenant, name=f"Tag {i}",
                                                   slug=f"tag-{i}")
                ContactTag.objects.create(tenant=tenant, contact=contact, tag=tag)
                Note.objects.create(tenant=tenant, contact=contact, body=f"note *{i}*",
                                    author=owner if i % 3 else colleague, is_pinned=i % 4 == 0,
                                    is_private=i % 5 == 1)
                Interaction.objects.create(tenant=tenant, contact=contact, channel="PHONE",
                                           summary=f"call {i}", staff=owner)
                Task.objects.create(tenant=tenant, title=f"task {i}", contact=contact,
                                    assignee=owner, due_at=now + timedelta(days=i))
            Activity.objects.bulk_create([
                Activity(tenant=tenant, contact=contact, type="NOTE_ADDED" if i % 7 == 0
                         else "EVENT_ATTENDED", category="EVENTS", title=f"Event {i}",
                         metadata={"private": True} if i % 14 == 0 else {},
                         actor_user=colleague if i % 7 == 0 else None,
                         occurred_at=now - timedelta(minutes=i // 2))  # ties on occurred_at
                for i in range(n * 5)])

    light, heavy = make_contact(tenant), make_contact(tenant, first_name="Omar")
    fill(light, 1, "light")
    fill(heavy, 25, "heavy")
    _page_reads(client, light)  # the first request of a session writes it
    light_counts, light_sizes = _page_reads(client, light)
    heavy_counts, heavy_sizes = _page_reads(client, heavy)
    assert light_sizes == {"contact": 2, "timeline": 4, "notes": 1, "interactions": 1,
                           "tasks": 1}
    # The colleague's private notes and their private timeline entries are left out (the
    # light contact's one entry of that kind too); 25 identities + 25 tags.
    assert heavy_sizes == {"contact": 50, "timeline": 20, "notes": 23, "interactions": 25,
                           "tasks": 25}
    assert "timeline, next page" in heavy_counts
    assert heavy_counts.pop("timeline, next page") == heavy_counts["timeline"]
    assert heavy_counts == light_counts
