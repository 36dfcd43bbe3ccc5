"""Care pages: the unit tree and a unit, the attention list with reasons, thresholds, my
mentees, courses, the contact page panels — in English and Arabic."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.community.services.care_mentors import mentor_link_create
from tend.community.services.care_practice import practice_update
from tend.community.services.care_units import unit_create, unit_membership_add
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.models import IdentityAlias
from tend.people.tests.helpers_360 import make_contact, member_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def world(tenant, owner):
    actor = member_actor(tenant, owner)
    with tenant_scope(tenant):
        oman = unit_create(tenant=tenant, actor=actor, name="Oman")
        seeb = unit_create(tenant=tenant, actor=actor, name="Seeb", parent=oman)
        mentor = make_contact(tenant, first_name="Maya", last_name="Mentor",
                              display_name="Maya Mentor")
        ana = make_contact(tenant, first_name="Ana", last_name="", display_name="Ana")
        IdentityAlias.objects.create(tenant=tenant, contact=mentor, type="AUTH_USER",
                                     value=str(owner.pk))
        unit_membership_add(tenant=tenant, actor=actor, unit=seeb, contact=ana)
        mentor_link_create(tenant=tenant, actor=actor, mentor=mentor, mentee=ana,
                           started_at=timezone.now() - timedelta(days=90))
        practice_update(tenant=tenant, actor=actor, contact=ana, regularity="NONE")
    return {"oman": oman, "seeb": seeb, "mentor": mentor, "ana": ana}


def test_unit_pages(client, world):
    page = client.get("/o/acme/community/units/").content.decode()
    assert "Oman" in page and "Seeb" in page
    page = client.get(f"/o/acme/community/units/{world['seeb'].pk}/").content.decode()
    assert "Ana" in page and "Oman" in page
    response = client.post(f"/o/acme/community/units/{world['oman'].pk}/",
                           {"action": "subunit", "name": "Muscat"})
    assert response.status_code == 302
    assert "Muscat" in client.get("/o/acme/community/units/").content.decode()
    assert client.get("/o/acme/community/units/nope/").status_code == 404


def test_attention_page_shows_reasons_and_filters(client, world):
    page = client.get("/o/acme/community/attention/").content.decode()
    assert "No mentor contact for more than 30 days" in page
    assert "Practice is irregular or absent" in page
    page = client.get("/o/acme/community/attention/",
                      {"unit": str(world["oman"].pk)}).content.decode()
    assert 'data-clauses="contact practice"' in page
    response = client.post("/o/acme/community/attention/settings/",
                           {"days_since_contact": "0", "months_since_lesson": "3"})
    assert response.status_code == 422 and "from 1 to 3650" in response.content.decode()
    response = client.post("/o/acme/community/attention/settings/",
                           {"days_since_contact": "--5", "months_since_lesson": "3"})
    assert response.status_code == 422 and "Enter a whole number" in response.content.decode()
    response = client.post("/o/acme/community/attention/settings/",
                           {"days_since_contact": "120", "months_since_lesson": "3"})
    assert response.status_code == 302
    page = client.get("/o/acme/community/attention/").content.decode()
    assert 'data-clauses="practice"' in page


def test_attention_total_of_a_full_page_comes_separately(client, world, tenant, owner,
                                                         monkeypatch):
    """A full page shows its rows at once and asks for the total (a count of the whole list)
    in a second request; a shorter page is its own total."""
    from tend.community.views import care_attention

    page = client.get("/o/acme/community/attention/").content.decode()
    assert "1 person needs attention." in page and "part=total" not in page
    actor = member_actor(tenant, owner)
    with tenant_scope(tenant):
        for name in ("Badr", "Carla"):
            other = make_contact(tenant, first_name=name, last_name="", display_name=name)
            unit_membership_add(tenant=tenant, actor=actor, unit=world["seeb"], contact=other)
            practice_update(tenant=tenant, actor=actor, contact=other, regularity="NONE")
    monkeypatch.setattr(care_attention, "PAGE", 2)
    seeb = str(world["seeb"].pk)
    page = client.get("/o/acme/community/attention/", {"unit": seeb}).content.decode()
    assert "Counting" in page and "people need attention" not in page
    assert f"unit={seeb}&amp;part=total" in page
    assert page.count('<tr data-clauses=') == 2
    total = client.get("/o/acme/community/attention/", {"unit": seeb, "part": "total"})
    assert total.status_code == 200
    assert total.content.decode().strip().endswith("3 people need attention.</p>")


def test_my_mentees_and_contact_panels(client, world):
    page = client.get("/o/acme/community/mentees/").content.decode()
    assert "Ana" in page and "Needs attention" in page
    page = client.get(f"/o/acme/people/contacts/{world['ana'].pk}/").content.decode()
    assert 'id="care-units"' in page and "Seeb" in page
    assert "Maya Mentor" in page and 'id="care-practice"' in page


def test_courses_pages(client):
    response = client.post("/o/acme/community/courses/", {"title": "Lessons",
                                                          "min_interval_days": "30"})
    assert response.status_code == 302
    client.post(response.url, {"title": "Lesson 1"})
    page = client.get(response.url).content.decode()
    assert "Lesson 1" in page
    bad = client.post("/o/acme/community/courses/", {"title": ""})
    assert "Enter a title" in bad.content.decode()


def test_attention_in_arabic(client, owner, world):
    owner.language = "ar"
    owner.save(update_fields=["language"])
    text = client.get("/o/acme/community/attention/").content.decode()
    assert '<html lang="ar" dir="rtl">' in text
    assert "الممارسة غير منتظمة أو منعدمة" in text
    assert "Practice is irregular" not in text


# --- unit-scoped staff ----------------------------------------------------------------------------


@pytest.fixture
def scoped_staff(tenant, owner, make_user, world):
    """A manager whose own contact is the SECRETARY of Seeb, limited to it."""
    from tend.people.tests.helpers_360 import add_member

    secretary = make_user("secretary@example.com")
    add_member(tenant, secretary, "manager")
    actor = member_actor(tenant, owner)
    with tenant_scope(tenant):
        own = make_contact(tenant, first_name="Sara", last_name="Sec", display_name="Sara Sec")
        IdentityAlias.objects.create(tenant=tenant, contact=own, type="AUTH_USER",
                                     value=str(secretary.pk))
        unit_membership_add(tenant=tenant, actor=actor, unit=world["seeb"], contact=own,
                            role="SECRETARY", scope_staff=True)
        outsider = make_contact(tenant, first_name="Omar", last_name="Out",
                                display_name="Omar Outsider")
    return {"client": signed_in(secretary, tenant), "own": own, "outsider": outsider}


def test_unit_scoped_staff_see_only_their_subtree(world, scoped_staff):
    client = scoped_staff["client"]
    listed = client.get("/api/v1/contacts", {"limit": 50}).json()["items"]
    assert sorted(c["display_name"] for c in listed) == ["Ana", "Sara Sec"]
    outsider = scoped_staff["outsider"]
    assert client.get(f"/api/v1/contacts/{outsider.pk}").status_code == 404
    assert client.get(f"/api/v1/contacts/{world['mentor'].pk}/notes").status_code == 404
    assert client.get(f"/api/v1/contacts/{world['ana'].pk}").status_code == 200
    assert client.get(f"/o/acme/people/contacts/{outsider.pk}/").status_code == 404
    assert client.get(f"/o/acme/people/contacts/{world['ana'].pk}/").status_code == 200
    page = client.get("/o/acme/people/contacts/").content.decode()
    assert "Ana" in page and "Omar Outsider" not in page


def test_without_the_setting_staff_see_everyone(tenant, client, world):
    listed = client.get("/api/v1/contacts", {"limit": 50}).json()["items"]
    assert sorted(c["display_name"] for c in listed) == ["Ana", "Maya Mentor"]


def test_recording_lessons_and_practice_from_the_contact_page(tenant, owner, client, world):
    from tend.community.models import LessonProgress, PracticeStatus
    from tend.community.services.care_courses import course_create, lesson_add

    actor = member_actor(tenant, owner)
    with tenant_scope(tenant):
        course = course_create(tenant=tenant, actor=actor, title="Meditation",
                               status="PUBLISHED")
        first = lesson_add(tenant=tenant, actor=actor, course=course, title="Breath")
        second = lesson_add(tenant=tenant, actor=actor, course=course, title="Mantra")
    ana = world["ana"]
    page = client.get(f"/o/acme/people/contacts/{ana.pk}/").content.decode()
    assert 'id="care-lesson-form"' in page and "Meditation — 1. Breath" in page
    url = f"/o/acme/community/contacts/{ana.pk}/care/"
    assert client.post(url, {"action": "lesson", "lesson_id": str(first.pk)}).status_code == 302
    # The same lesson twice: a 422 showing why, with the forms again.
    again = client.post(url, {"action": "lesson", "lesson_id": str(first.pk)})
    assert again.status_code == 422
    assert "This lesson was already received." in again.content.decode()
    assert 'id="care-practice-form"' in again.content.decode()
    assert client.post(url, {"action": "lesson", "lesson_id": str(second.pk)}).status_code == 302
    bad = client.post(url, {"action": "lesson", "lesson_id": "nope"})
    assert bad.status_code == 422 and "Choose a lesson." in bad.content.decode()
    bad = client.post(url, {"action": "practice", "regularity": "HOURLY"})
    assert bad.status_code == 422 and "Choose a practice status." in bad.content.decode()
    assert client.post(url, {"action": "practice", "regularity": "DAILY",
                             "notes": "mornings"}).status_code == 302
    with tenant_scope(tenant):
        assert LessonProgress.objects.filter(contact=ana, lesson=first).exists()
        assert PracticeStatus.objects.get(contact=ana).regularity == "DAILY"
    page = client.get(f"/o/acme/people/contacts/{ana.pk}/").content.decode()
    assert "Meditation — 1. Breath" in page and "mornings" in page


def test_bad_form_input_is_a_422_with_the_field_message(client, world):
    response = client.post("/o/acme/community/courses/", {"title": "", "status": "DRAFT"})
    assert response.status_code == 422
    response = client.post("/o/acme/community/units/", {"name": "", "kind": ""})
    assert response.status_code == 422
    response = client.post(f"/o/acme/community/units/{world['oman'].pk}/",
                           {"action": "member", "contact_id": "nope"})
    assert response.status_code == 422
    assert "Choose a contact of this organization." in response.content.decode()


def test_number_fields_with_non_decimal_digits_are_field_errors(client):
    """"²" counts as a digit to str.isdigit() but int() refuses it: a 422, not a 500."""
    response = client.post("/o/acme/community/attention/settings/",
                           {"days_since_contact": "²", "months_since_lesson": "3"})
    assert response.status_code == 422
    response = client.post("/o/acme/community/courses/",
                           {"title": "Lessons", "min_interval_days": "²"})
    assert response.status_code == 422
