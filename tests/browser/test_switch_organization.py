"""In a real browser: a person in two organizations moves between them with the switcher in
the top bar and sees each organization's own name and figures."""

import pytest
from playwright.sync_api import expect

from tend.core.actors import Actor
from tend.core.services.provisioning import member_grant
from tend.core.tenancy import tenant_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_switcher_moves_to_the_other_organization(page, login, live_server, tenant, owner,
                                                  make_tenant, make_user):
    birch = make_tenant("Birch Guild", slug="birch", owner=make_user("birch@example.com"))
    with tenant_scope(birch):
        member_grant(tenant=birch, actor=Actor.system(), user=owner, role_key="admin")
        for _ in range(2):
            member_grant(tenant=birch, actor=Actor.system(), user=make_user(),
                         role_key="viewer")

    login("owner@example.com")
    # Two organizations: the picker comes first.
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose an organization")
    page.get_by_role("link", name="Acme Club").click()
    expect(page).to_have_url(f"{live_server.url}/o/acme/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Club")
    expect(page.locator("#count-members .stat-value")).to_have_text("1")

    switcher = page.locator("#org-switcher")
    page.get_by_label("Switch organization").click()
    menu = switcher.get_by_role("menu")
    expect(menu.get_by_role("menuitem")).to_have_count(2)
    expect(menu.get_by_role("menuitem", name="Acme Club")).to_have_attribute(
        "aria-current", "true")
    menu.get_by_role("menuitem", name="Birch Guild").click()

    expect(page).to_have_url(f"{live_server.url}/o/birch/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Birch Guild")
    expect(page.locator("#count-members .stat-value")).to_have_text("4")
    expect(switcher.locator(".menu-label")).to_have_text("Birch Guild")
    # The sidebar now leads into Birch Guild.
    members_link = page.get_by_role("navigation", name="Main").get_by_role("link",
                                                                           name="Members")
    expect(members_link).to_have_attribute("href", "/o/birch/settings/members/")
    members_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Members")
    rows = page.locator("#members-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text="birch@example.com")).to_have_count(1)
    expect(rows.filter(has_text="Olive Owner")).to_have_count(1)
