"""Editing notes and tasks, reopening tasks, and consent per purpose from the contact page."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from tend.core.models import AuditLog
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.models import Activity, Company, Consent, ConsentEvent, Note, Task
from tend.people.services.notes import note_create
from tend.people.services.tasks import task_update
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor

HTMX = {"HX-Request": "true"}


@pytest.fixture
def contact(tenant):
    return make_contact(tenant, primary_email="lina@example.com")


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


def url(name, tenant, **kw):
    return reverse(f"people:{name}", kwargs={"org_slug": tenant.slug, **kw})


def _note(tenant, user, contact, body="First **draft**", **kw):
    with tenant_scope(tenant):
        return note_create(tenant=tenant, actor=member_actor(tenant, user), contact=contact,
                           body=body, **kw)


# --- notes -------------------------------------------------------------------------------------


def test_edit_note_rerenders_markdown_safely_updates_timeline_and_audits(
        tenant, owner, client, contact):
    note = _note(tenant, owner, contact)
    response = client.post(url("notes-edit", tenant, note_id=note.pk),
                           {"body": "Now **final** <script>alert(1)</script>",
                            "type": "FEEDBACK"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>final</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert response["HX-Trigger"] == "timeline-changed"
    with tenant_scope(tenant):
        note.refresh_from_db()
        assert (note.body, note.type) == ("Now **final** <script>alert(1)</script>", "FEEDBACK")
        activity = Activity.objects.get(type="NOTE_ADDED")
        assert activity.description.startswith("Now final")
        entry = AuditLog.objects.filter(action="note.updated").get()
        assert entry.changes == {"fields": ["body", "type"]}


def test_edit_note_without_htmx_redirects_and_empty_body_is_422(tenant, owner, client, contact):
    note = _note(tenant, owner, contact)
    page = url("contacts-detail", tenant, contact_id=contact.pk)
    response = client.post(url("notes-edit", tenant, note_id=note.pk),
                           {"body": "Plain", "type": "GENERAL"})
    assert (response.status_code, response["Location"]) == (302, page)
    refused = client.post(url("notes-edit", tenant, note_id=note.pk),
                          {"body": "  ", "type": "GENERAL"}, headers=HTMX)
    assert refused.status_code == 422
    html = refused.content.decode()
    assert f'id="note-edit-body-{note.pk}_error"' in html
    assert "<details class=\"note-edit\" open>" in html
    with tenant_scope(tenant):
        note.refresh_from_db()
        assert note.body == "Plain"


def test_private_note_edit_is_for_its_author_only(tenant, owner, client, contact, make_user):
    admin = make_user("admin@example.com")
    add_member(tenant, admin, "admin")
    mine = _note(tenant, owner, contact, body="secret", is_private=True)
    other = signed_in(admin, tenant)
    assert other.post(url("notes-edit", tenant, note_id=mine.pk),
                      {"body": "hijack", "type": "GENERAL"}).status_code == 404
    # the author sees the edit form of their private note, and may change it
    page = client.get(url("contacts-detail", tenant, contact_id=contact.pk)).content.decode()
    assert f'id="note-edit-{mine.pk}"' in page
    assert client.post(url("notes-edit", tenant, note_id=mine.pk),
                       {"body": "still secret", "type": "GENERAL"},
                       headers=HTMX).status_code == 200


def test_note_edit_needs_notes_change(tenant, owner, contact, make_user):
    note = _note(tenant, owner, contact)
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    page = client.get(url("contacts-detail", tenant, contact_id=contact.pk)).content.decode()
    assert f'id="note-edit-{note.pk}"' not in page
    assert client.post(url("notes-edit", tenant, note_id=note.pk),
                       {"body": "x", "type": "GENERAL"}).status_code == 403


def test_other_organizations_note_is_404(tenant, client, make_tenant, make_user):
    other_owner = make_user("o@example.com")
    other = make_tenant("Other", slug="other", owner=other_owner)
    note = _note(other, other_owner, make_contact(other))
    assert client.post(url("notes-edit", tenant, note_id=note.pk),
                       {"body": "x", "type": "GENERAL"}).status_code == 404


# --- tasks -------------------------------------------------------------------------------------


def _task(tenant, contact, **kw):
    with tenant_scope(tenant):
        return Task.objects.create(tenant=tenant, title="Call back", contact=contact, **kw)


def test_edit_task_fields_contact_and_company(tenant, owner, client, contact, make_user):
    task = _task(tenant, contact)
    colleague = make_user("sam@example.com", full_name="Sam")
    add_member(tenant, colleague, "agent")
    other_contact = make_contact(tenant, first_name="Omar", last_name="Said")
    with tenant_scope(tenant):
        company = Company.objects.create(tenant=tenant, name="Acme")
    page = client.get(url("tasks-edit", tenant, task_id=task.pk))
    assert page.status_code == 200
    assert 'value="Call back"' in page.content.decode()
    response = client.post(url("tasks-edit", tenant, task_id=task.pk), {
        "title": "Send the contract", "description": "Signed copy", "due_on": "2030-03-01",
        "priority": "HIGH", "assignee": str(colleague.pk), "contact": str(other_contact.pk),
        "company": str(company.pk),
        "next": url("tasks-mine", tenant)})
    assert (response.status_code, response["Location"]) == (302, url("tasks-mine", tenant))
    with tenant_scope(tenant):
        task.refresh_from_db()
        assert (task.title, task.description, task.priority) == (
            "Send the contract", "Signed copy", "HIGH")
        assert (task.assignee, task.contact, task.company) == (colleague, other_contact, company)
        zone = ZoneInfo(tenant.time_zone or "UTC")
        assert task.due_at == datetime(2030, 3, 1, 23, 59, tzinfo=zone)
        entry = AuditLog.objects.filter(action="task.updated").get()
        assert entry.changes["contact_id"] == str(other_contact.pk)
        assert entry.changes["company_id"] == str(company.pk)
    # clearing the contact and the due day
    client.post(url("tasks-edit", tenant, task_id=task.pk), {
        "title": "Send the contract", "priority": "HIGH", "contact": "", "company": ""})
    with tenant_scope(tenant):
        task.refresh_from_db()
        assert (task.contact, task.company, task.due_at) == (None, None, None)


def test_edit_task_refuses_foreign_contact_and_offsite_next(tenant, owner, client, contact,
                                                           make_tenant, make_user):
    task = _task(tenant, contact)
    other = make_tenant("Other", slug="other", owner=make_user("o@example.com"))
    stranger = make_contact(other)
    refused = client.post(url("tasks-edit", tenant, task_id=task.pk), {
        "title": "x", "priority": "LOW", "contact": str(stranger.pk)})
    assert refused.status_code == 422
    assert "Choose a contact of this organization." in refused.content.decode()
    empty = client.post(url("tasks-edit", tenant, task_id=task.pk),
                        {"title": "", "priority": "LOW", "contact": str(contact.pk)})
    assert empty.status_code == 422
    saved = client.post(url("tasks-edit", tenant, task_id=task.pk), {
        "title": "Fine", "priority": "LOW", "contact": str(contact.pk),
        "next": "https://evil.example/"})
    assert saved["Location"] == url("contacts-detail", tenant, contact_id=contact.pk)


def test_contact_options_search(tenant, client, contact):
    response = client.get(url("tasks-contact-options", tenant), {"q": "Lina"})
    html = response.content.decode()
    assert f'value="{contact.pk}" selected' in html
    assert client.get(url("tasks-contact-options", tenant), {"q": "nobody-like-this"}
                      ).content.decode().count("<option") == 1


def test_reopen_done_task_from_contact_page(tenant, client, contact):
    task = _task(tenant, contact, status="DONE", completed_at=timezone.now())
    page = client.get(url("contacts-detail", tenant, contact_id=contact.pk)).content.decode()
    assert f'id="task-reopen-{task.pk}"' in page
    response = client.post(url("tasks-reopen", tenant, task_id=task.pk))
    assert response["Location"] == url("contacts-detail", tenant, contact_id=contact.pk)
    with tenant_scope(tenant):
        task.refresh_from_db()
        assert (task.status, task.completed_at) == ("OPEN", None)
        assert AuditLog.objects.filter(action="task.reopened").count() == 1


def test_task_pages_of_other_organizations_are_404(tenant, client, make_tenant, make_user):
    other = make_tenant("Other", slug="other", owner=make_user("o@example.com"))
    task = _task(other, make_contact(other))
    assert client.get(url("tasks-edit", tenant, task_id=task.pk)).status_code == 404
    assert client.post(url("tasks-reopen", tenant, task_id=task.pk)).status_code == 404


def test_task_update_service_refuses_dead_contact(tenant, owner, contact):
    task = _task(tenant, contact)
    gone = make_contact(tenant, first_name="Gone", status="DELETED",
                        deleted_at=timezone.now() - timedelta(days=1))
    from tend.core.errors import ValidationFailed

    with tenant_scope(tenant), pytest.raises(ValidationFailed) as caught:
        task_update(tenant=tenant, actor=member_actor(tenant, owner), task=task, contact=gone)
    assert "contact" in caught.value.fields


# --- consent -----------------------------------------------------------------------------------


def test_consent_grid_shows_both_purposes_and_toggles_transactional(tenant, client, contact):
    page = client.get(url("contacts-detail", tenant, contact_id=contact.pk)).content.decode()
    assert page.count('data-purpose="MARKETING"') == page.count('data-purpose="TRANSACTIONAL"')
    assert page.count('data-purpose="TRANSACTIONAL"') >= 4
    response = client.post(url("contacts-consent-set", tenant, contact_id=contact.pk),
                           {"channel": "SMS", "purpose": "TRANSACTIONAL", "status": "GRANTED"},
                           headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<li data-purpose="TRANSACTIONAL">' in html  # the history names the purpose
    with tenant_scope(tenant):
        consent = Consent.objects.get()
        assert (consent.channel, consent.purpose, consent.status) == (
            "SMS", "TRANSACTIONAL", "GRANTED")
        contact.refresh_from_db()
        assert contact.sms_opt_in is False  # the flags follow marketing consent only
        assert ConsentEvent.objects.get().purpose == "TRANSACTIONAL"
    assert client.post(url("contacts-consent-set", tenant, contact_id=contact.pk),
                       {"channel": "SMS", "purpose": "GOSSIP", "status": "GRANTED"},
                       headers=HTMX).status_code == 422


def test_note_of_removed_body_is_not_in_db(tenant, owner, contact):
    # guard: the NOTE_ADDED excerpt of a private note stays empty after an edit
    note = _note(tenant, owner, contact, body="hidden", is_private=True)
    with tenant_scope(tenant):
        from tend.people.services.notes import note_update

        note_update(tenant=tenant, actor=member_actor(tenant, owner), note=note, body="changed")
        assert Activity.objects.get(type="NOTE_ADDED").description == ""
        assert Note.objects.get().body == "changed"


# --- actor labels ----------------------------------------------------------------------------


def test_timeline_actor_labels_are_translated(tenant, client, contact):
    from django.utils import translation

    from tend.people.timeline import actor_display

    with tenant_scope(tenant):
        for label in ("system", "source Booking system", "API key Zapier"):
            Activity.objects.create(tenant=tenant, contact=contact, type="EVENT_ATTENDED",
                                    title="x", actor_label=label)
    with translation.override("ar"):
        assert actor_display("system") == "النظام"
        assert actor_display("source Booking system") == "المصدر Booking system"
        assert actor_display("API key Zapier") == "مفتاح API Zapier"
        assert actor_display("lina@example.com") == "lina@example.com"
    html = client.get(url("contacts-detail", tenant, contact_id=contact.pk),
                      headers={"Accept-Language": "en"}).content.decode()
    assert '<bdi class="timeline-actor">System</bdi>' in html
    api = client.get(f"/api/v1/contacts/{contact.pk}/timeline").json()["items"]
    assert sorted(i["actor_display"] for i in api) == [
        "API key Zapier", "Source Booking system", "System"]
