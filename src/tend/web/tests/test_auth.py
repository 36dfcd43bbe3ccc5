"""Sign-in, sign-out, lockout, password reset, session guard, landing, profile, language."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from tend.core.tests.accounts_helpers import add_member

PASSWORD = "correct horse battery"


def sign_in(client, email="owner@example.com", password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": email, "password": password, **extra})


def test_login_page_renders_accessible_form(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">Email' in html
    assert 'id="login-form"' in html
    assert 'dir="ltr"' in html


def test_login_rotates_session_key_and_lands_on_only_organization(client, tenant, owner):
    session = client.session  # an anonymous session, as a visitor would have one
    session["probe"] = 1
    session.save()
    before = client.cookies["sessionid"].value
    response = sign_in(client, email="OWNER@example.com")
    assert response.status_code == 302
    assert response.url == "/"
    after = client.cookies["sessionid"].value
    assert after != before
    assert client.get("/").url == "/o/acme/"


def test_login_with_several_organizations_goes_to_picker(client, tenant, owner, make_tenant):
    make_tenant("Beta", slug="beta", owner=owner)
    sign_in(client)
    response = client.get("/")
    assert response.url == "/organizations/"
    page = client.get("/organizations/").content.decode()
    assert page.count('data-org-slug="acme"') == 2  # picker and switcher
    assert 'data-org-slug="beta"' in page


def test_login_without_organization_shows_empty_picker(client, make_user):
    make_user("lonely@example.com")
    sign_in(client, email="lonely@example.com")
    response = client.get("/organizations/")
    assert response.status_code == 200
    assert b'id="no-organizations"' in response.content


def test_wrong_password_shows_error(client, owner):
    response = sign_in(client, password="nope")
    assert response.status_code == 200
    assert b'id="login-form-errors"' in response.content
    assert "_auth_user_id" not in client.session


def test_next_parameter_is_honoured(client, tenant, owner):
    response = sign_in(client, next="/o/acme/settings/members/")
    assert response.url == "/o/acme/settings/members/"


@override_settings(AXES_FAILURE_LIMIT=3)
def test_lockout_after_repeated_failures(client, owner, make_user):
    for _ in range(2):
        assert sign_in(client, password="wrong").status_code == 200
    locked = sign_in(client, password="wrong")
    assert locked.status_code == 429
    assert b'id="lockout-title"' in locked.content
    # Even the right password is refused while locked out.
    again = sign_in(client)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # The lock is per account (and address): someone else still signs in from here.
    make_user("colleague@example.com")
    assert sign_in(client, email="colleague@example.com").status_code == 302


def test_logout_needs_post(client, tenant, owner):
    sign_in(client)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response.url == "/login/"
    assert client.get("/o/acme/").status_code == 302


def test_idle_timeout_signs_out(client, tenant, owner, settings):
    settings.TEND_SESSION_IDLE_SECONDS = 60
    sign_in(client)
    assert client.get("/o/acme/").status_code == 200
    session = client.session
    session["tend_last_seen"] = int(time.time()) - 61
    session.save()
    response = client.get("/o/acme/")
    assert response.status_code == 302
    assert response.url == "/login/?next=/o/acme/"
    assert "_auth_user_id" not in client.session


def test_activity_within_idle_window_keeps_session(client, tenant, owner, settings):
    settings.TEND_SESSION_IDLE_SECONDS = 60
    sign_in(client)
    client.get("/o/acme/")
    session = client.session
    session["tend_last_seen"] = int(time.time()) - 59
    session.save()
    assert client.get("/o/acme/").status_code == 200


def test_password_reset_flow(client, owner, tenant):
    response = client.post("/password-reset/", {"email": "owner@example.com"})
    assert response.url == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Reset your Tend password"
    path = re.search(r"https?://[^/]+(/password-reset/[^\s]+/)", mail.outbox[0].body).group(1)
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert b'id="password-reset-confirm-form"' in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200
    assert b"This password is too short" in weak.content
    done = client.post(set_url, {"new_password1": "brand new secret 42",
                                 "new_password2": "brand new secret 42"})
    assert done.url == "/password-reset/done/"
    owner.refresh_from_db()
    assert owner.check_password("brand new secret 42")
    assert owner.session_epoch == 1
    assert client.get(path, follow=True).context["validlink"] is False


def test_password_reset_for_unknown_email_looks_the_same(client, db):
    response = client.post("/password-reset/", {"email": "nobody@example.com"})
    assert response.url == "/password-reset/sent/"
    assert mail.outbox == []


def test_password_change_ends_other_sessions_but_not_this_one(client, tenant, owner):
    from django.test import Client

    other = Client()
    sign_in(other)
    sign_in(client)
    assert other.get("/o/acme/").status_code == 200
    response = client.post("/profile/password/", {
        "old_password": PASSWORD, "new_password": "a fresh passphrase",
        "new_password_confirm": "a fresh passphrase",
    })
    assert response.status_code == 302
    assert client.get("/o/acme/").status_code == 200
    assert other.get("/o/acme/").status_code == 302


def test_password_change_errors_are_shown_next_to_fields(client, tenant, owner):
    sign_in(client)
    response = client.post("/profile/password/", {
        "old_password": "wrong", "new_password": "a fresh passphrase",
        "new_password_confirm": "different",
    })
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_new_password_confirm_error"' in html
    assert "The two passwords differ." in html
    response = client.post("/profile/password/", {
        "old_password": "wrong", "new_password": "a fresh passphrase",
        "new_password_confirm": "a fresh passphrase",
    })
    assert response.status_code == 422
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_old_password_error"' in html
    assert "Your current password is wrong." in html


def test_deactivated_user_is_signed_out(client, tenant, owner):
    from tend.core.actors import Actor
    from tend.core.services.accounts import user_deactivate

    sign_in(client)
    user_deactivate(actor=Actor.system(), user=owner)
    response = client.get("/o/acme/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_profile_saves_name_language_and_time_zone(client, tenant, owner):
    sign_in(client)
    page = client.get("/profile/")
    assert page.status_code == 200
    assert b'id="profile-form"' in page.content
    response = client.post("/profile/", {"full_name": "Olive Q", "language": "ar",
                                         "time_zone": "Asia/Riyadh"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.full_name, owner.language, owner.time_zone) == (
        "Olive Q", "ar", "Asia/Riyadh")
    arabic = client.get("/profile/")
    assert 'dir="rtl"' in arabic.content.decode()
    assert 'lang="ar"' in arabic.content.decode()


def test_profile_rejects_bad_values(client, tenant, owner):
    sign_in(client)
    response = client.post("/profile/", {"full_name": "", "language": "fr",
                                         "time_zone": "Nowhere"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_language_error"' in html
    assert 'id="id_time_zone_error"' in html


def test_language_switch_is_kept_on_the_account(client, tenant, owner):
    sign_in(client)
    response = client.post("/language/", {"language": "ar", "next": "/o/acme/"})
    assert response.status_code == 302
    assert response.url == "/o/acme/"
    owner.refresh_from_db()
    assert owner.language == "ar"
    page = client.get("/o/acme/").content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert client.post("/language/", {"language": "xx"}).status_code == 400


def test_anonymous_language_switch_uses_cookie(client, db):
    response = client.post("/language/", {"language": "ar", "next": "/login/"})
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "ar"
    page = client.get("/login/").content.decode()
    assert 'dir="rtl"' in page
    assert "<h1>تسجيل الدخول</h1>" in page


def test_shell_navigation_and_switcher(client, tenant, owner, make_tenant, make_user):
    make_tenant("Beta", slug="beta", owner=owner)
    sign_in(client)
    html = client.get("/o/acme/settings/members/").content.decode()
    assert 'id="sidebar"' in html
    assert 'data-nav="core:dashboard"' in html
    assert ('<a href="/o/acme/settings/members/" data-nav="core:members-list" '
            'aria-current="page">') in html
    assert 'href="/o/beta/" data-org-slug="beta"' in html
    assert 'id="logout-button"' in html


def test_viewer_sees_only_permitted_navigation(client, tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    sign_in(client, email="viewer@example.com")
    html = client.get("/o/acme/").content.decode()
    assert 'data-nav="core:organization-settings"' in html
    assert 'data-nav="core:members-list"' not in html
    assert 'data-nav="core:roles-list"' not in html


@pytest.mark.parametrize("path", ["/", "/profile/", "/organizations/", "/o/acme/"])
def test_pages_need_sign_in(client, tenant, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith("/login/?next=")


def test_times_are_shown_in_the_users_time_zone(client, tenant, owner):
    from datetime import UTC, datetime

    from tend.core.models import Invitation
    from tend.core.tenancy import tenant_scope
    from tend.core.tests.accounts_helpers import role_of

    owner.time_zone = "Asia/Dubai"
    owner.save()
    with tenant_scope(tenant):
        Invitation.objects.create(tenant=tenant, email="x@example.com",
                                  role=role_of(tenant, "agent"), token_hash="h",
                                  expires_at=datetime(2099, 1, 1, tzinfo=UTC))
    client.force_login(owner)
    html = client.get("/o/acme/settings/members/").content.decode()
    assert '<time datetime="2099-01-01T04:00:00+04:00">' in html
