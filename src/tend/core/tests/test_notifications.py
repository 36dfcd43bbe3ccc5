"""Staff notifications: the service (dedupe, email after commit), the bell, the list page and
the API."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from tend.core.models import Notification
from tend.core.services.notifications import notification_create, notifications_mark_read
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in

pytestmark = pytest.mark.django_db


def _notify(tenant, user, title="Hello", **kw):
    with tenant_scope(tenant):
        return notification_create(tenant=tenant, user=user, kind="test", title=title, **kw)


def test_create_sends_one_email_after_commit_and_dedupes(tenant, owner,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _notify(tenant, owner, "Conversation assigned", body="Amal wrote",
                        url="/o/acme/x/", dedupe_key="k1")
        again = _notify(tenant, owner, "Conversation assigned", dedupe_key="k1")
    assert first is not None and again is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Acme Club] Conversation assigned"
    assert mail.outbox[0].to == ["owner@example.com"]
    assert "Amal wrote" in mail.outbox[0].body and "/o/acme/x/" in mail.outbox[0].body
    with tenant_scope(tenant):
        assert Notification.objects.get(pk=first.pk).emailed_at is not None
        assert Notification.objects.count() == 1


def test_no_email_when_switched_off(tenant, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _notify(tenant, owner, email=False)
    assert mail.outbox == []


def test_mark_read_touches_only_the_users_own(tenant, owner, make_user):
    other = make_user("other@example.com")
    add_member(tenant, other, "agent")
    mine = _notify(tenant, owner, email=False)
    theirs = _notify(tenant, other, email=False)
    with tenant_scope(tenant):
        assert notifications_mark_read(tenant=tenant, user=owner,
                                       ids=[theirs.pk, "not-a-uuid"]) == 0
        assert notifications_mark_read(tenant=tenant, user=owner) == 1
        mine.refresh_from_db()
        theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None


def test_bell_shows_the_unread_count_and_the_page_marks_read(tenant, owner):
    _notify(tenant, owner, "First", email=False)
    second = _notify(tenant, owner, "Second", email=False)
    client = signed_in(owner)
    bell = client.get(reverse("core:notifications-bell", kwargs={"org_slug": "acme"}))
    assert bell.status_code == 200
    assert '<span class="bell-count" id="notification-count">2</span>' in bell.content.decode()
    page = client.get(reverse("core:notifications", kwargs={"org_slug": "acme"}))
    assert "First" in page.content.decode() and "Second" in page.content.decode()
    response = client.post(reverse("core:notifications-read", kwargs={"org_slug": "acme"}),
                           {"id": str(second.pk)})
    assert response.status_code == 302
    bell = client.get(reverse("core:notifications-bell", kwargs={"org_slug": "acme"}))
    assert 'id="notification-count">1<' in bell.content.decode()
    client.post(reverse("core:notifications-read", kwargs={"org_slug": "acme"}))
    bell = client.get(reverse("core:notifications-bell", kwargs={"org_slug": "acme"}))
    assert "notification-count" not in bell.content.decode()


def test_base_page_loads_the_bell(tenant, owner):
    body = signed_in(owner).get(reverse("core:dashboard", kwargs={"org_slug": "acme"})
                                ).content.decode()
    assert reverse("core:notifications-bell", kwargs={"org_slug": "acme"}) in body


def test_api_lists_counts_and_marks_read(tenant, owner):
    first = _notify(tenant, owner, "First", email=False)
    _notify(tenant, owner, "Second", email=False)
    client = signed_in(owner, tenant)
    listing = client.get("/api/v1/notifications?limit=1").json()
    assert [n["title"] for n in listing["items"]] == ["Second"]
    assert listing["next_cursor"]
    assert client.get("/api/v1/notifications/unread").json() == {"unread": 2}
    marked = client.post("/api/v1/notifications/read", {"ids": [str(first.pk)]},
                         content_type="application/json").json()
    assert marked == {"marked": 1}
    unread = client.get("/api/v1/notifications?unread=true").json()["items"]
    assert [n["title"] for n in unread] == ["Second"]
    bad = client.post("/api/v1/notifications/read", {"ids": ["nope"]},
                      content_type="application/json")
    assert bad.status_code == 422
