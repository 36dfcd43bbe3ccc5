from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tend.core.models import CustomFieldDefinition
from tend.core.services.accounts import user_set_language
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.models import Activity, ConsentEvent, IdentityAlias, Interaction, Note, Task
from tend.people.panels import register_contact_panel, unregister_contact_panel
from tend.people.services.notes import note_create
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor


@pytest.fixture
def contact(tenant):
    return make_contact(tenant, lifecycle_stage="CUSTOMER", primary_email="lina@example.com",
                        custom={"shirt": "L"})


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


def url(name, tenant, **kw):
    return reverse(f"people:{name}", kwargs={"org_slug": tenant.slug, **kw})


def page_url(tenant, contact):
    return url("contacts-detail", tenant, contact_id=contact.pk)


def _activities(tenant, contact, n, start=0):
    now = timezone.now()
    with tenant_scope(tenant):
        Activity.objects.bulk_create([
            Activity(tenant=tenant, contact=contact, type="EVENT_ATTENDED", category="EVENTS",
                     title=f"Event {i}", occurred_at=now - timedelta(hours=i))
            for i in range(start, start + n)])


def test_page_shows_header_identities_custom_fields_and_timeline(tenant, owner, client,
                                                                 contact):
    with tenant_scope(tenant):
        IdentityAlias.objects.create(tenant=tenant, contact=contact, type="EMAIL",
                                     value="lina@example.com", is_primary=True,
                                     verified_at=timezone.now())
        CustomFieldDefinition.objects.create(tenant=tenant, entity_type="contact", key="shirt",
                                             label={"en": "Shirt size", "ar": "مقاس القميص"},
                                             field_type="text")
    _activities(tenant, contact, 3)
    response = client.get(page_url(tenant, contact))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="contact-name">Lina Haddad</h1>' in html
    assert '<span class="badge badge-primary" id="contact-lifecycle">Customer</span>' in html
    assert "✓ verified" in html
    assert "<dt>Shirt size</dt><dd>L</dd>" in html
    assert html.count('class="timeline-item"') == 3
    assert 'id="timeline-more"' not in html
    # the contacts engineer's edit page may not exist: then no link
    assert ('id="contact-edit"' in html) == _edit_resolves(tenant, contact)
    user_set_language(user=owner, language="ar")
    arabic = client.get(page_url(tenant, contact)).content.decode()
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "<dt>مقاس القميص</dt>" in arabic


def _edit_resolves(tenant, contact):
    from django.urls import NoReverseMatch

    try:
        url("contacts-edit", tenant, contact_id=contact.pk)
    except NoReverseMatch:
        return False
    return True


def test_query_count_is_constant(tenant, owner, client, contact, django_assert_max_num_queries):
    actor = member_actor(tenant, owner)
    with tenant_scope(tenant):
        note_create(tenant=tenant, actor=actor, contact=contact, body="one")
    _activities(tenant, contact, 2)
    client.get(page_url(tenant, contact))  # the first request of a session writes it
    # A budget for all modules' panels (messaging, segments, community); the real check is
    # that the count does not grow with the contact's data.
    with django_assert_max_num_queries(48) as few:
        assert client.get(page_url(tenant, contact)).status_code == 200
    with tenant_scope(tenant):
        for i in range(15):
            note_create(tenant=tenant, actor=actor, contact=contact, body=f"note {i}",
                        is_pinned=i % 2 == 0)
            Interaction.objects.create(tenant=tenant, contact=contact, channel="PHONE",
                                       summary=f"call {i}", staff=owner)
            Task.objects.create(tenant=tenant, title=f"task {i}", contact=contact,
                                assignee=owner)
    _activities(tenant, contact, 60, start=10)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(page_url(tenant, contact))
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_timeline_infinite_scroll_and_filters(tenant, client, contact):
    _activities(tenant, contact, 25)
    with tenant_scope(tenant):
        Activity.objects.create(tenant=tenant, contact=contact, type="DONATION_RECEIVED",
                                category="FINANCIAL", title="Gave 50",
                                occurred_at=timezone.now() - timedelta(days=40))
    html = client.get(page_url(tenant, contact)).content.decode()
    assert html.count('class="timeline-item"') == 20
    assert 'hx-trigger="revealed"' in html
    first = client.get(page_url(tenant, contact)).context["next_cursor"]
    more = client.get(url("contacts-timeline", tenant, contact_id=contact.pk),
                      {"cursor": first}, headers={"HX-Request": "true"})
    assert more.status_code == 200
    assert more.content.decode().count('class="timeline-item"') == 6
    financial = client.get(url("contacts-timeline", tenant, contact_id=contact.pk),
                           {"category": "FINANCIAL"})
    body = financial.content.decode()
    assert body.count('class="timeline-item"') == 1 and "Gave 50" in body
    ranged = client.get(url("contacts-timeline", tenant, contact_id=contact.pk),
                        {"until": (timezone.localdate() - timedelta(days=30)).isoformat()})
    assert ranged.content.decode().count('class="timeline-item"') == 1
    bad = client.get(url("contacts-timeline", tenant, contact_id=contact.pk),
                     {"since": "yesterday"})
    assert bad.status_code == 422
    bad_cursor = client.get(url("contacts-timeline", tenant, contact_id=contact.pk),
                            {"cursor": "nonsense"})
    assert bad_cursor.status_code == 422


def test_add_note_with_htmx(tenant, client, contact):
    response = client.post(url("contacts-note-add", tenant, contact_id=contact.pk),
                           {"body": "Likes **tea**", "type": "GENERAL"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-changed"
    assert "<strong>tea</strong>" in response.content.decode()
    with tenant_scope(tenant):
        assert list(Note.objects.values_list("body", flat=True)) == ["Likes **tea**"]


def test_add_note_errors_are_shown_with_422(tenant, client, contact):
    response = client.post(url("contacts-note-add", tenant, contact_id=contact.pk),
                           {"body": "", "type": "GENERAL"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert 'id="id_body_error"' in response.content.decode()
    plain = client.post(url("contacts-note-add", tenant, contact_id=contact.pk),
                        {"body": "", "type": "NOPE"})
    assert plain.status_code == 422
    assert 'id="contact-name"' in plain.content.decode()


def test_without_htmx_a_note_redirects_back(tenant, client, contact):
    response = client.post(url("contacts-note-add", tenant, contact_id=contact.pk),
                           {"body": "plain", "type": "GENERAL"})
    assert (response.status_code, response["Location"]) == (302, page_url(tenant, contact))


def test_pin_and_delete_note(tenant, owner, client, contact):
    with tenant_scope(tenant):
        note = note_create(tenant=tenant, actor=member_actor(tenant, owner), contact=contact,
                           body="pin me")
    response = client.post(url("notes-pin", tenant, note_id=note.pk), {"pinned": "1"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    with tenant_scope(tenant):
        note.refresh_from_db()
        assert note.is_pinned is True
    client.post(url("notes-delete", tenant, note_id=note.pk), headers={"HX-Request": "true"})
    with tenant_scope(tenant):
        assert Note.objects.count() == 0


def test_log_interaction_with_follow_up(tenant, client, contact):
    response = client.post(url("contacts-interaction-add", tenant, contact_id=contact.pk),
                           {"channel": "PHONE", "direction": "OUTBOUND", "summary": "Called",
                            "outcome": "Interested", "follow_up_on": "2030-02-01"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    with tenant_scope(tenant):
        interaction = Interaction.objects.get()
        assert (interaction.summary, str(interaction.follow_up_on)) == ("Called", "2030-02-01")
        contact.refresh_from_db()
        assert contact.last_contacted_at == interaction.occurred_at
    bad = client.post(url("contacts-interaction-add", tenant, contact_id=contact.pk),
                      {"channel": "FAX", "summary": ""}, headers={"HX-Request": "true"})
    assert bad.status_code == 422


def test_add_and_complete_task(tenant, owner, client, contact, make_user):
    outsider = make_user("outsider@example.com")
    response = client.post(url("contacts-task-add", tenant, contact_id=contact.pk),
                           {"title": "Send brochure", "due_on": "2030-01-10",
                            "assignee": str(owner.pk), "priority": "HIGH"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    with tenant_scope(tenant):
        task = Task.objects.get()
        assert (task.title, task.assignee, task.priority) == ("Send brochure", owner, "HIGH")
    refused = client.post(url("contacts-task-add", tenant, contact_id=contact.pk),
                          {"title": "x", "assignee": str(outsider.pk), "priority": "LOW"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422
    done = client.post(url("tasks-complete", tenant, task_id=task.pk),
                       headers={"HX-Request": "true"})
    assert done.status_code == 200
    assert 'id="no-tasks"' in done.content.decode()


def test_consent_toggle(tenant, client, contact):
    response = client.post(url("contacts-consent-set", tenant, contact_id=contact.pk),
                           {"channel": "EMAIL", "purpose": "MARKETING", "status": "GRANTED"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Revoke" in response.content.decode()
    with tenant_scope(tenant):
        contact.refresh_from_db()
        assert contact.email_opt_in is True
        assert ConsentEvent.objects.count() == 1
    bad = client.post(url("contacts-consent-set", tenant, contact_id=contact.pk),
                      {"channel": "PIGEON", "status": "GRANTED"},
                      headers={"HX-Request": "true"})
    assert bad.status_code == 422


def test_viewer_sees_page_but_no_forms_and_cannot_post(tenant, contact, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    html = client.get(page_url(tenant, contact)).content.decode()
    assert 'id="note-form"' not in html and 'id="interaction-form"' not in html
    response = client.post(url("contacts-note-add", tenant, contact_id=contact.pk),
                           {"body": "x", "type": "GENERAL"})
    assert response.status_code == 403


def test_other_organizations_contact_is_404(tenant, client, make_tenant, make_user):
    other = make_tenant("Other", slug="other", owner=make_user("o@example.com"))
    stranger = make_contact(other)
    assert client.get(page_url(tenant, stranger)).status_code == 404


def test_merged_contact_redirects_to_survivor(tenant, client, contact):
    loser = make_contact(tenant, status="MERGED", merged_into=contact)
    response = client.get(page_url(tenant, loser))
    assert (response.status_code, response["Location"]) == (302, page_url(tenant, contact))


def test_registered_panels_render(tenant, client, contact):
    def context(*, tenant, actor, contact):
        return {"greeting": f"Hello {contact.first_name}"}

    register_contact_panel("test.hello", "Hello panel", "people/tests/hello_panel.html",
                           context, permission="contacts.view", order=5)
    register_contact_panel("test.hidden", "Hidden", "people/tests/hello_panel.html",
                           context, permission="privacy.manage_nonexistent", order=6)
    try:
        html = client.get(page_url(tenant, contact)).content.decode()
    finally:
        unregister_contact_panel("test.hello")
        unregister_contact_panel("test.hidden")
    assert 'data-panel="test.hello"' in html and "<p>Hello Lina</p>" in html
    assert 'data-panel="test.hidden"' not in html


def test_my_tasks_page(tenant, owner, client, contact):
    now = timezone.now()
    with tenant_scope(tenant):
        Task.objects.create(tenant=tenant, title="Later", assignee=owner, contact=contact,
                            due_at=now + timedelta(days=2))
        Task.objects.create(tenant=tenant, title="Overdue", assignee=owner, contact=contact,
                            due_at=now - timedelta(days=2))
        Task.objects.create(tenant=tenant, title="Someone else's", contact=contact)
        Interaction.objects.create(tenant=tenant, contact=contact, channel="PHONE",
                                   summary="Promised a call", staff=owner,
                                   follow_up_on=timezone.localdate())
    response = client.get(reverse("people:tasks-mine", kwargs={"org_slug": tenant.slug}))
    html = response.content.decode()
    assert response.status_code == 200
    assert [t.title for t in response.context["tasks"]] == ["Overdue", "Later"]
    assert "Someone else" not in html and "Promised a call" in html
