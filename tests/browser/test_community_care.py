"""In a real browser: a staff member records a received lesson and a practice status for a
member from the contact page, sees both on the care panel, and finds the member on the
attention list with the clause that fired; a secretary limited to another unit does not see
that member there (nor their contact page)."""

import pytest
from playwright.sync_api import expect

from tend.community.models import LessonProgress, PracticeStatus
from tend.community.services.care_courses import course_create, lesson_add
from tend.community.services.care_units import unit_create, unit_membership_add
from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.people.models import Contact, IdentityAlias
from tend.people.tests.helpers_360 import add_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system()


def test_lesson_and_practice_reach_the_panel_and_the_attention_list(
        chromium, live_server, page, login, tenant, owner, make_user):
    secretary = make_user("secretary@example.com")
    add_member(tenant, secretary, "manager")
    with tenant_scope(tenant):
        oman = unit_create(tenant=tenant, actor=SYSTEM, name="Oman")
        seeb = unit_create(tenant=tenant, actor=SYSTEM, name="Seeb", parent=oman)
        nizwa = unit_create(tenant=tenant, actor=SYSTEM, name="Nizwa", parent=oman)
        ana = Contact.objects.create(tenant=tenant, first_name="Ana", display_name="Ana Seeb")
        unit_membership_add(tenant=tenant, actor=SYSTEM, unit=seeb, contact=ana)
        sara = Contact.objects.create(tenant=tenant, first_name="Sara",
                                      display_name="Sara Nizwa")
        IdentityAlias.objects.create(tenant=tenant, contact=sara, type="AUTH_USER",
                                     value=str(secretary.pk))
        unit_membership_add(tenant=tenant, actor=SYSTEM, unit=nizwa, contact=sara,
                            role="SECRETARY", scope_staff=True)
        course = course_create(tenant=tenant, actor=SYSTEM, title="Meditation",
                               status="PUBLISHED")
        lesson_add(tenant=tenant, actor=SYSTEM, course=course, title="Breath")
        lesson_add(tenant=tenant, actor=SYSTEM, course=course, title="Mantra")

    login("owner@example.com")
    page.goto(f"/o/acme/people/contacts/{ana.pk}/")
    panel = page.locator("#care-path")
    expect(panel.locator("#care-lessons")).to_contain_text("No lesson received yet.")
    lesson_form = panel.locator("#care-lesson-form")
    lesson_form.get_by_label("Lesson received").select_option(label="Meditation — 1. Breath")
    lesson_form.get_by_role("button", name="Record lesson").click()
    expect(page.locator("#care-lessons")).to_contain_text("Meditation — 1. Breath")

    practice_form = page.locator("#care-practice-form")
    practice_form.get_by_label("Practice").select_option(label="Irregular")
    practice_form.get_by_label("Notes").fill("Only on weekends")
    practice_form.get_by_role("button", name="Record practice").click()
    expect(page.locator("#care-practice")).to_contain_text("Irregular")
    expect(page.locator("#care-practice")).to_contain_text("Only on weekends")
    with tenant_scope(tenant):
        assert LessonProgress.objects.filter(contact=ana).count() == 1
        assert PracticeStatus.objects.get(contact=ana).regularity == "IRREGULAR"

    page.goto("/o/acme/community/attention/")
    row = page.locator("#attention-list tr", has_text="Ana Seeb")
    expect(row).to_have_attribute("data-clauses", "practice")
    expect(row).to_contain_text("Practice is irregular or absent")
    page.locator("#attention-filter").get_by_label("Unit").select_option(label="Seeb")
    page.locator("#attention-filter").get_by_role("button", name="Show").click()
    expect(page.locator("#attention-list tr", has_text="Ana Seeb")).to_have_count(1)

    # The secretary of Nizwa, limited to it, does not see Seeb's member.
    other = chromium.new_context(base_url=live_server.url, locale="en-US")
    other.set_default_timeout(10_000)
    try:
        second = other.new_page()
        second.goto("/login/")
        second.get_by_label("Email").fill("secretary@example.com")
        second.get_by_label("Password").fill("correct horse battery")
        second.get_by_role("button", name="Sign in").click()
        second.wait_for_load_state()
        second.goto("/o/acme/community/attention/")
        expect(second.locator("#attention-total")).to_be_visible()
        expect(second.locator("#attention-list")).not_to_contain_text("Ana Seeb")
        expect(second.locator("#attention-list")).to_contain_text("Nobody needs attention.")
        response = second.goto(f"/o/acme/people/contacts/{ana.pk}/")
        assert response is not None and response.status == 404
    finally:
        other.close()
