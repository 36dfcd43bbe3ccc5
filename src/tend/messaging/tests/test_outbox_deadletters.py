"""Dead letters through the API and the page: list and filter failed and dead-lettered
messages, retry and discard one or many, the outbox's figures, and quiet hours."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.models import AuditLog
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.messaging.models import ChannelAccount, Message
from tend.people.tests.helpers_360 import make_contact


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def rows(tenant):
    with tenant_scope(tenant):
        sms = ChannelAccount.objects.create(tenant=tenant, kind="SMS", name="SMS", status="ACTIVE")
        tg = ChannelAccount.objects.create(tenant=tenant, kind="TELEGRAM", name="Bot",
                                           status="ACTIVE")
    contact = make_contact(tenant)
    now = timezone.now()

    def make(status, account, code, **kw):
        with tenant_scope(tenant):
            return Message.objects.create(
                tenant=tenant, contact=contact, account=account, channel=account.kind,
                direction="OUTBOUND", status=status, body=kw.pop("body", "Hello"),
                attempts=kw.pop("attempts", 8), error_code=code, error=f"error {code}",
                failed_at=now, queued_at=kw.pop("queued_at", now), **kw)

    return {
        "dead": make("DEAD", sms, "http_503"),
        "failed": make("FAILED", tg, "http_403", queued_at=now - timedelta(minutes=1)),
        "sent": make("SENT", tg, "", sent_at=now),
        "queued": make("QUEUED", tg, "", attempts=0, next_attempt_at=now),
    }


def call(client, method, path, data=None):
    return getattr(client, method)(f"/api/v1{path}", data=json.dumps(data or {}),
                                   content_type="application/json")


def test_dead_letters_list_and_filter(api, rows):
    items = api.get("/api/v1/outbox/dead-letters").json()["items"]
    assert [i["id"] for i in items] == [str(rows["dead"].pk), str(rows["failed"].pk)]
    assert items[0]["error_code"] == "http_503" and items[0]["account_name"] == "SMS"
    by_channel = api.get("/api/v1/outbox/dead-letters?channel=TELEGRAM").json()["items"]
    assert [i["id"] for i in by_channel] == [str(rows["failed"].pk)]
    by_code = api.get("/api/v1/outbox/dead-letters?error_code=http_503").json()["items"]
    assert [i["id"] for i in by_code] == [str(rows["dead"].pk)]
    by_account = api.get(
        f"/api/v1/outbox/dead-letters?account_id={rows['failed'].account_id}").json()["items"]
    assert [i["id"] for i in by_account] == [str(rows["failed"].pk)]
    assert api.get("/api/v1/outbox/dead-letters?status=DEAD").json()["items"][0]["status"] \
        == "DEAD"


def test_stats(api, rows):
    assert api.get("/api/v1/outbox/stats").json() == {
        "queued": 1, "sending": 0, "sent_last_hour": 1, "failed": 1, "dead": 1}


def test_bulk_retry_requeues_only_dead_letters(api, rows, tenant):
    ids = [str(rows[k].pk) for k in ("dead", "failed", "sent")]
    response = call(api, "post", "/outbox/retry", {"ids": ids})
    assert response.json() == {"count": 2}
    with tenant_scope(tenant):
        dead = Message.objects.get(pk=rows["dead"].pk)
        assert (dead.status, dead.attempts, dead.error_code) == ("QUEUED", 0, "")
        assert dead.next_attempt_at <= timezone.now()
        assert Message.objects.get(pk=rows["sent"].pk).status == "SENT"
        assert AuditLog.objects.filter(action="outbox.retried").count() == 1


def test_single_discard(api, rows, tenant):
    response = call(api, "post", f"/outbox/messages/{rows['dead'].pk}/discard")
    assert response.json() == {"count": 1}
    with tenant_scope(tenant):
        assert Message.objects.get(pk=rows["dead"].pk).status == "DISCARDED"
    # Discarding again changes nothing; a sent message cannot be discarded.
    assert call(api, "post", f"/outbox/messages/{rows['dead'].pk}/discard").json() == {
        "count": 0}
    assert call(api, "post", "/outbox/discard", {"ids": [str(rows["sent"].pk)]}).json() == {
        "count": 0}


def test_bad_ids_are_field_errors(api, rows):
    response = call(api, "post", "/outbox/retry", {"ids": ["nope"]})
    assert response.status_code in (400, 422)
    assert "ids" in response.content.decode()
    assert call(api, "post", "/outbox/retry", {"ids": []}).status_code in (400, 422)


def test_viewers_cannot_retry(rows, tenant, make_user):
    viewer = make_user()
    add_member(tenant, viewer, role="viewer")
    client = signed_in(viewer, tenant)
    assert call(client, "post", "/outbox/retry",
                {"ids": [str(rows["dead"].pk)]}).status_code == 403


def test_quiet_hours_api(api, tenant):
    assert api.get("/api/v1/outbox/quiet-hours").json() == {"start": "", "end": ""}
    response = call(api, "put", "/outbox/quiet-hours", {"start": "21:00", "end": "08:00"})
    assert response.json() == {"start": "21:00", "end": "08:00"}
    tenant.refresh_from_db()
    assert tenant.settings["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    bad = call(api, "put", "/outbox/quiet-hours", {"start": "25:00", "end": "8"})
    assert bad.status_code in (400, 422)
    assert "start" in bad.content.decode() and "end" in bad.content.decode()
    assert call(api, "put", "/outbox/quiet-hours", {"start": "", "end": ""}).json() == {
        "start": "", "end": ""}
    tenant.refresh_from_db()
    assert "quiet_hours" not in tenant.settings


def test_outbox_page_lists_filters_and_acts(api, rows, tenant):
    url = f"/o/{tenant.slug}/messaging/outbox/"
    page = api.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="message-{rows["dead"].pk}"' in html and f'id="message-{rows["failed"].pk}"' in html
    assert f'id="message-{rows["sent"].pk}"' not in html
    assert 'id="stat-dead">1<' in html
    filtered = api.get(url, {"channel": "SMS"}).content.decode()
    assert f'id="message-{rows["failed"].pk}"' not in filtered
    response = api.post(f"{url}bulk/", {"action": "discard", "ids": [str(rows["dead"].pk),
                                                                      str(rows["failed"].pk)]})
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert set(Message.objects.filter(status="DISCARDED").values_list("pk", flat=True)) == {
            rows["dead"].pk, rows["failed"].pk}


def test_quiet_hours_page(api, tenant):
    url = f"/o/{tenant.slug}/settings/quiet-hours/"
    assert api.get(url).status_code == 200
    bad = api.post(url, {"start": "21:00", "end": "21:00"})
    assert bad.status_code == 400 and "qh-end-error" in bad.content.decode()
    assert api.post(url, {"start": "22:30", "end": "06:00"}).status_code == 302
    tenant.refresh_from_db()
    assert tenant.settings["quiet_hours"] == {"start": "22:30", "end": "06:00"}


def test_dead_letters_keep_to_the_contacts_the_member_may_see(api, rows, tenant):
    from django.db.models import Q

    from tend.people.visibility import register_contact_scope, unregister_contact_scope

    hidden_person = make_contact(tenant, first_name="Hidden")
    with tenant_scope(tenant):
        hidden = Message.objects.create(
            tenant=tenant, contact=hidden_person, account=rows["dead"].account, channel="SMS",
            direction="OUTBOUND", status="DEAD", body="Secret", attempts=8,
            error_code="http_503", error="error", failed_at=timezone.now(),
            queued_at=timezone.now() + timedelta(minutes=1))

    def hide_hidden(*, tenant, actor):
        return ~Q(first_name="Hidden")

    listed = api.get("/api/v1/outbox/dead-letters").json()["items"]
    assert [i["id"] for i in listed] == [str(hidden.pk), str(rows["dead"].pk),
                                         str(rows["failed"].pk)]
    register_contact_scope(hide_hidden)
    try:
        listed = api.get("/api/v1/outbox/dead-letters").json()["items"]
        assert [i["id"] for i in listed] == [str(rows["dead"].pk), str(rows["failed"].pk)]
        assert api.get(f"/api/v1/outbox/messages/{hidden.pk}").status_code == 404
        assert call(api, "post", f"/outbox/messages/{hidden.pk}/retry").status_code == 404
        assert call(api, "post", "/outbox/retry",
                    {"ids": [str(hidden.pk), str(rows["dead"].pk)]}).json() == {"count": 1}
        assert call(api, "post", "/outbox/discard", {"ids": [str(hidden.pk)]}
                    ).status_code == 422
        page = api.get(f"/o/{tenant.slug}/messaging/outbox/").content.decode()
        assert str(rows["failed"].pk) in page and str(hidden.pk) not in page
        api.post(f"/o/{tenant.slug}/messaging/outbox/bulk/",
                 {"action": "discard", "ids": [str(hidden.pk), str(rows["failed"].pk)]})
    finally:
        unregister_contact_scope(hide_hidden)
    with tenant_scope(tenant):
        assert Message.objects.get(pk=hidden.pk).status == "DEAD"
        assert Message.objects.get(pk=rows["failed"].pk).status == "DISCARDED"
