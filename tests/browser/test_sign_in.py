"""In a real browser: signing in through the form lands on the organization's dashboard with
its real figures; a wrong password keeps the person on the sign-in page with an error."""

import pytest
from playwright.sync_api import expect

from tend.core.actors import Actor
from tend.core.models import AuditLog
from tend.core.services.invitations import invitation_create
from tend.core.services.provisioning import member_grant
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import actor_of, role_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_lands_on_the_dashboard_with_real_counts(page, login, live_server, tenant,
                                                          owner, make_user):
    with tenant_scope(tenant):
        member_grant(tenant=tenant, actor=Actor.system(), user=make_user(), role_key="agent")
        member_grant(tenant=tenant, actor=Actor.system(), user=make_user(), role_key="viewer")
        invitation_create(tenant=tenant, actor=actor_of(tenant, owner),
                          email="newcomer@example.com", role=role_of(tenant, "viewer"))
        audit_entries = AuditLog.objects.filter(tenant=tenant).count()

    login("owner@example.com")

    expect(page).to_have_url(f"{live_server.url}/o/acme/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Club")
    expect(page.get_by_text("Welcome, Olive.")).to_be_visible()
    counts = page.locator("#dashboard-counts")
    expect(counts.locator("#count-members .stat-value")).to_have_text("3")
    expect(counts.locator("#count-invitations .stat-value")).to_have_text("1")
    expect(counts.locator("#count-roles .stat-value")).to_have_text("6")
    expect(counts.locator("#count-apikeys .stat-value")).to_have_text("0")
    expect(counts.locator("#count-jobs .stat-value")).to_have_text("0")
    expect(counts.locator("#count-audit .stat-value")).to_have_text(str(audit_entries))
    assert audit_entries > 0


def test_wrong_password_shows_an_error_and_stays_signed_out(page, login, live_server, tenant):
    login("owner@example.com", password="not the password")

    expect(page.get_by_role("alert")).to_have_text(
        "Please enter a correct email and password. Note that both fields may be "
        "case-sensitive."
    )
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_label("Email")).to_have_value("owner@example.com")
    expect(page.get_by_label("Password")).to_have_value("")

    page.goto("/o/acme/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
