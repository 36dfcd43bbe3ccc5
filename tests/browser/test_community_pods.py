"""In a real browser: create a pod, add a member, schedule meetings and record attendance;
propose pods for the people waiting, move one, confirm; see the KPI dashboard."""

import pytest
from playwright.sync_api import expect

from tend.community.models import PodMembership, PodsProfile
from tend.core.tenancy import tenant_scope
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pods_from_creation_to_matching(page, login, tenant, owner):
    with tenant_scope(tenant):
        nadia = Contact.objects.create(tenant=tenant, display_name="Nadia",
                                       time_zone="Europe/Berlin")
        for name in ("Omar", "Lea"):
            person = Contact.objects.create(tenant=tenant, display_name=name,
                                            time_zone="Europe/Paris")
            PodsProfile.objects.create(tenant=tenant, contact=person, waiting=True,
                                       goals_category="health")
    login("owner@example.com")

    page.goto("/o/acme/community/pods/")
    form = page.locator("#pod-form")
    form.get_by_label("Name").fill("Morning Movers")
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_label("Capacity").fill("4")
    form.get_by_role("button", name="Create pod").click()
    expect(page.locator("h1")).to_have_text("Morning Movers")
    expect(page.locator("#pod-schedule")).to_contain_text("Europe/Berlin")

    page.locator("#member-form").get_by_label("Contact id").fill(str(nadia.pk))
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#pod-members")).to_contain_text("Nadia")
    page.get_by_role("button", name="Schedule the next four weeks").click()
    first = page.locator("details.card").first
    first.locator("summary").click()
    first.get_by_label("present").check()
    first.get_by_role("button", name="Save attendance").click()
    expect(page.locator("#pod-members")).to_contain_text("1")

    page.goto("/o/acme/community/pods/matching/")
    page.get_by_role("button", name="Propose pods for everyone waiting").click()
    expect(page.locator("#proposal")).to_contain_text("Omar")
    expect(page.locator("#proposal")).to_contain_text("Lea")
    row = page.locator("#proposal tr", has_text="Lea")
    row.get_by_label("Pod").select_option(label="Morning Movers")
    row.get_by_role("button", name="Move").click()
    expect(page.locator("#proposal tr", has_text="Lea")).to_contain_text("moved by staff")
    page.get_by_role("button", name="Confirm and send intro cards").click()
    expect(page.locator("#proposal-heading")).to_have_text("Confirmed assignment")
    with tenant_scope(tenant):
        assert PodMembership.objects.filter(pod__name="Morning Movers").count() == 2
        assert PodMembership.objects.count() == 3

    page.goto("/o/acme/community/pods/kpis/")
    expect(page.locator("#kpi-new")).to_have_text("2")
