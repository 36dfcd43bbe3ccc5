"""Reminders: rules produce reminders idempotently (one open per type, contact and
recipient; closed ones stay closed), causes that went away close them, done / snooze /
dismiss, the daily digest (in-app + email, Telegram through the outbox) in the user's time
zone, the API and the page."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import Notification
from tend.core.tests.apitools import add_member, bearer, make_key, signed_in
from tend.marketing.models import Reminder, ReminderDigest, ReminderStatus
from tend.marketing.services import reminders as svc
from tend.messaging.models import ChannelAccount, Message
from tend.people.models import Contact, IdentityAlias
from tend.people.services.contacts import contact_create
from tend.people.services.interactions import interaction_log

SYSTEM = Actor.system()
# Interactions cannot be logged in the future: the clock of these tests is a little before now.
NOW = datetime.now(tz=ZoneInfo("UTC")).replace(microsecond=0) - timedelta(minutes=10)
API = "/api/v1"
J = "application/json"


def person(tenant, name, owner, *, last=None, created=None):
    contact = contact_create(tenant=tenant, actor=SYSTEM,
                             data={"first_name": name, "owner": str(owner.pk)})
    Contact.objects.filter(pk=contact.pk).update(
        last_contacted_at=last, created_at=created or NOW - timedelta(days=400),
        owner=owner)
    contact.refresh_from_db()
    return contact


def overdue_rule(tenant, days=30, **extra):
    return svc.reminder_rule_create(tenant=tenant, actor=SYSTEM, data={
        "name": "Overdue", "type": "CONTACT_OVERDUE", "params": {"days": days}, **extra})


def test_contact_overdue_is_idempotent_and_closes_when_contacted(scoped, owner):
    ada = person(scoped, "Ada", owner, last=NOW - timedelta(days=40))
    person(scoped, "Bo", owner, last=NOW - timedelta(days=5))
    never = person(scoped, "Cy", owner, last=None, created=NOW - timedelta(days=90))
    rule = overdue_rule(scoped)
    assert svc.reminder_rule_run(tenant=scoped, rule=rule, now=NOW) == (2, 0)
    assert svc.reminder_rule_run(tenant=scoped, rule=rule, now=NOW) == (0, 0)
    got = {r.contact_id: r for r in Reminder.objects.filter(status=ReminderStatus.OPEN)}
    assert set(got) == {ada.pk, never.pk}
    assert got[ada.pk].recipient_id == owner.pk
    assert got[ada.pk].due_at == NOW - timedelta(days=10)
    assert got[ada.pk].reason == "No contact for 40 days"
    assert got[never.pk].reason.startswith("Never contacted")
    # Ada is contacted: her reminder closes as done on the next run.
    interaction_log(tenant=scoped, actor=SYSTEM, contact=ada, channel="PHONE",
                    summary="Called", occurred_at=NOW - timedelta(minutes=5))
    assert svc.reminder_rule_run(tenant=scoped, rule=rule, now=NOW) == (0, 1)
    assert Reminder.objects.get(contact=ada).status == ReminderStatus.DONE


def test_closed_reminders_do_not_come_back_but_a_new_occurrence_does(scoped, owner):
    ada = person(scoped, "Ada", owner, last=NOW - timedelta(days=40))
    rule = overdue_rule(scoped)
    svc.reminder_rule_run(tenant=scoped, rule=rule, now=NOW)
    first = Reminder.objects.get()
    svc.reminder_dismiss(tenant=scoped, actor=SYSTEM, reminder=first)
    assert svc.reminder_rule_run(tenant=scoped, rule=rule, now=NOW)[0] == 0
    # Contacted, then overdue again 31 days later: a new reminder.
    Contact.objects.filter(pk=ada.pk).update(last_contacted_at=NOW)
    later = NOW + timedelta(days=31)
    assert svc.reminder_rule_run(tenant=scoped, rule=rule, now=later)[0] == 1
    assert Reminder.objects.filter(status=ReminderStatus.OPEN).count() == 1


def test_rule_language_limits_the_contacts(scoped, owner):
    person(scoped, "Ada", owner, last=NOW - timedelta(days=40))
    dubai = person(scoped, "Bo", owner, last=NOW - timedelta(days=40))
    Contact.objects.filter(pk=dubai.pk).update(city="Dubai")
    rule = overdue_rule(scoped, rule={"combinator": "and", "rules": [
        {"field": "city", "operator": "equals", "value": "Dubai"}]})
    svc.reminder_rule_run(tenant=scoped, rule=rule, now=NOW)
    assert [r.contact_id for r in Reminder.objects.all()] == [dubai.pk]


def test_follow_up_due(scoped, owner):
    ada = person(scoped, "Ada", owner)
    bo = person(scoped, "Bo", owner)
    interaction_log(tenant=scoped, actor=SYSTEM, contact=ada, channel="PHONE",
                    summary="Asked about   lessons", follow_up_on=(NOW - timedelta(days=1)).date(),
                    occurred_at=NOW - timedelta(days=7))
    interaction_log(tenant=scoped, actor=SYSTEM, contact=bo, channel="PHONE",
                    summary="Later", follow_up_on=(NOW + timedelta(days=10)).date(),
                    occurred_at=NOW - timedelta(days=7))
    rule = svc.reminder_rule_create(tenant=scoped, actor=SYSTEM, data={
        "name": "Follow-ups", "type": "FOLLOW_UP_DUE"})
    assert svc.reminder_rule_run(tenant=scoped, rule=rule, now=NOW) == (1, 0)
    reminder = Reminder.objects.get()
    assert (reminder.contact_id, reminder.reason) == (ada.pk, "Follow up: Asked about lessons")
    # A later touch settles it.
    interaction_log(tenant=scoped, actor=SYSTEM, contact=ada, channel="EMAIL", summary="Sent",
                    occurred_at=NOW - timedelta(minutes=5))
    assert svc.reminder_rule_run(tenant=scoped, rule=rule, now=NOW) == (0, 1)


def test_rule_validation(scoped):
    with pytest.raises(ValidationFailed) as exc:
        svc.reminder_rule_create(tenant=scoped, actor=SYSTEM, data={
            "name": "", "type": "NOPE", "recipients": ["no-such-recipient"]})
    assert set(exc.value.fields) == {"name", "type", "recipients"}
    with pytest.raises(ValidationFailed) as exc:
        svc.reminder_rule_create(tenant=scoped, actor=SYSTEM, data={
            "name": "X", "type": "CONTACT_OVERDUE", "params": {"days": 0, "weeks": 2},
            "rule": {"combinator": "and", "rules": [{"field": "nope", "operator": "equals",
                                                     "value": 1}]}})
    assert {"params.days", "params.weeks"} <= set(exc.value.fields)
    assert any(k.startswith("rule") for k in exc.value.fields)


def test_snooze_reopens_and_others_cannot_touch(scoped, owner, make_user):
    person(scoped, "Ada", owner, last=NOW - timedelta(days=40))
    svc.reminder_rule_run(tenant=scoped, rule=overdue_rule(scoped), now=NOW)
    reminder = Reminder.objects.get()
    with pytest.raises(ValidationFailed):
        svc.reminder_snooze(tenant=scoped, actor=SYSTEM, reminder=reminder,
                            until=NOW - timedelta(days=1))
    from django.utils import timezone

    until = timezone.now() + timedelta(hours=1)
    svc.reminder_snooze(tenant=scoped, actor=SYSTEM, reminder=reminder, until=until)
    svc.reminders_generate(tenant=scoped, now=until - timedelta(minutes=1))
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SNOOZED
    svc.reminders_generate(tenant=scoped, now=until + timedelta(minutes=1))
    reminder.refresh_from_db()
    assert (reminder.status, reminder.snoozed_until) == (ReminderStatus.OPEN, None)
    other = make_user("agent@example.com")
    membership = add_member(scoped, other, "agent")
    from tend.core.selectors.access import actor_for_membership

    with pytest.raises(PermissionDenied):
        svc.reminder_done(tenant=scoped, actor=actor_for_membership(membership),
                          reminder=reminder)


def test_digest_in_app_email_and_telegram_once_per_local_day(scoped, owner):
    owner.time_zone = "Asia/Dubai"
    owner.save(update_fields=["time_zone"])
    person(scoped, "Ada", owner, last=NOW - timedelta(days=40))
    svc.reminder_rule_run(tenant=scoped, rule=overdue_rule(scoped), now=NOW)
    ChannelAccount.objects.create(tenant=scoped, kind="TELEGRAM", name="Bot", status="ACTIVE",
                                  is_default=True)
    me = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Olive"})
    IdentityAlias.objects.create(tenant=scoped, contact=me, type="AUTH_USER",
                                 value=str(owner.pk))
    IdentityAlias.objects.create(tenant=scoped, contact=me, type="TELEGRAM", value="4242")
    # 07:30 in Dubai (03:30 UTC): before the digest hour (8).
    early = datetime(2030, 3, 11, 3, 30, tzinfo=ZoneInfo("UTC"))
    assert svc.reminder_digest_send(tenant=scoped, user=owner, now=early) is None
    at = datetime(2030, 3, 11, 4, 5, tzinfo=ZoneInfo("UTC"))  # 08:05 in Dubai
    with django_capture():
        digest = svc.reminder_digest_send(tenant=scoped, user=owner, now=at)
    assert digest is not None and digest.day == date(2030, 3, 11)
    assert digest.channels == ["in_app", "email", "telegram"]
    note = Notification.objects.get(user=owner, kind="reminders.digest")
    assert note.title == "1 reminders for today"
    assert note.body.startswith("- Ada: No contact for 40 days")
    message = Message.objects.get(contact=me)
    assert (message.channel, message.purpose) == ("TELEGRAM", "TRANSACTIONAL")
    assert "Ada" in message.body
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert svc.reminder_digest_send(tenant=scoped, user=owner,
                                    now=at + timedelta(hours=3)) is None
    assert ReminderDigest.objects.count() == 1
    assert svc.reminders_digest_run(tenant=scoped, now=at + timedelta(hours=4)) == 0


class django_capture:
    """Run on-commit callbacks (the notification email) at the end of the block."""

    def __enter__(self):
        from django.test import TestCase

        self._cm = TestCase.captureOnCommitCallbacks(execute=True)
        return self._cm.__enter__()

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def test_digest_hour_setting(scoped):
    assert svc.digest_hour(scoped) == 8
    svc.reminders_settings_update(tenant=scoped, actor=SYSTEM, digest_hour=6)
    assert svc.digest_hour(scoped) == 6
    with pytest.raises(ValidationFailed):
        svc.reminders_settings_update(tenant=scoped, actor=SYSTEM, digest_hour=24)


def test_api_mine_and_all(tenant, owner, make_user):
    from tend.core.tenancy import tenant_scope

    with tenant_scope(tenant):
        person(tenant, "Ada", owner, last=NOW - timedelta(days=40))
        svc.reminder_rule_run(tenant=tenant, rule=overdue_rule(tenant), now=NOW)
    _k, secret = make_key(tenant, owner, ["reminders.view"])
    api = Client(headers=bearer(secret))
    mine = api.get(f"{API}/reminders").json()["items"]
    assert [r["contact_name"] for r in mine] == ["Ada"]
    assert api.get(f"{API}/reminders?scope=all").status_code == 403
    rid = mine[0]["id"]
    bad = api.post(f"{API}/reminders/{rid}/snooze", {"until": "2000-01-01T00:00:00Z"},
                   content_type=J)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "until"
    done = api.post(f"{API}/reminders/{rid}/done").json()
    assert done["status"] == "DONE"
    assert api.get(f"{API}/reminders").json()["items"] == []
    assert len(api.get(f"{API}/reminders?status=ANY").json()["items"]) == 1
    _k, secret = make_key(tenant, owner, ["reminders.view", "reminders.manage"])
    admin = Client(headers=bearer(secret))
    made = admin.post(f"{API}/reminders/rules", {"name": "Follow-ups",
                                                 "type": "FOLLOW_UP_DUE"}, content_type=J)
    assert made.status_code == 201
    assert made.json()["params"] == {"lookback_days": 90}
    assert admin.get(f"{API}/reminders?scope=all&status=ANY").json()["items"][0]["id"] == rid
    assert {t["key"] for t in admin.get(f"{API}/reminders/types").json()} >= {
        "CONTACT_OVERDUE", "FOLLOW_UP_DUE"}


def test_page(tenant, owner):
    from tend.core.tenancy import tenant_scope

    with tenant_scope(tenant):
        person(tenant, "Ada", owner, last=NOW - timedelta(days=40))
        svc.reminder_rule_run(tenant=tenant, rule=overdue_rule(tenant), now=NOW)
        reminder = Reminder.objects.get()
    client = signed_in(owner)
    base = f"/o/{tenant.slug}/marketing/reminders/"
    page = client.get(base)
    assert page.status_code == 200 and b"No contact for" in page.content
    refused = client.post(f"{base}{reminder.pk}/snooze/", {"until": "2030-02-30T10:00"})
    assert refused.status_code == 302
    with tenant_scope(tenant):
        reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.OPEN
    client.post(f"{base}{reminder.pk}/snooze/", {"for": "1d"})
    with tenant_scope(tenant):
        reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SNOOZED
    made = client.post(f"{base}rules/", {"name": "Follow", "type": "FOLLOW_UP_DUE",
                                         "recipients": ["owner"], "is_active": "1"})
    assert made.status_code == 302
    assert client.get(base + "?scope=all").status_code == 200


def test_demo_loader(scoped, owner):
    import random

    from tend.core.demo import DemoContext
    from tend.marketing.demo_automation import load_automation_demo
    from tend.marketing.models import ReminderRule, SocialPost, WebhookSubscription

    person(scoped, "Ada", owner, last=timezone_now() - timedelta(days=90))
    ctx = DemoContext(tenant=scoped, owner=owner, actor=SYSTEM, password=None,
                      rng=random.Random(1))
    load_automation_demo(ctx)
    load_automation_demo(ctx)  # a second run adds nothing
    assert ReminderRule.objects.count() == 2
    assert Reminder.objects.filter(status=ReminderStatus.OPEN).count() == 1
    assert SocialPost.objects.filter(status="DRAFT", scheduled_at__isnull=False).count() == 5
    assert WebhookSubscription.objects.get().is_active is False


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def test_list_queries_do_not_grow(tenant, owner):
    from tend.core.tenancy import tenant_scope

    _k, secret = make_key(tenant, owner, ["reminders.view", "reminders.manage", "social.view",
                                          "webhooks.view"])
    api = Client(headers=bearer(secret))

    def counts():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        out = []
        for url in ("/reminders?scope=all", "/social/posts", "/webhooks"):
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(API + url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    def add(n):
        from tend.marketing.services.social import social_post_create
        from tend.marketing.services.webhooks_out import webhook_subscription_create

        with tenant_scope(tenant):
            for i in range(n):
                contact = person(tenant, f"P{i}{n}", owner, last=NOW - timedelta(days=40))
                Reminder.objects.create(tenant=tenant, type="CONTACT_OVERDUE", contact=contact,
                                        recipient=owner, subject_key=f"k{i}{n}", due_at=NOW)
                social_post_create(tenant=tenant, actor=SYSTEM, data={"content": f"p{i}"})
                webhook_subscription_create(tenant=tenant, actor=SYSTEM, data={
                    "name": f"w{i}{n}", "url": "https://example.org", "event_types": ["*"]})

    add(1)
    counts()  # the first request of a key records its use
    few = counts()
    add(5)
    assert counts() == few


@pytest.mark.parametrize("target, lands", [
    ("https://evil.example/o/acme/", "list"), ("//evil.example/o/acme/", "list"),
    ("/\\evil.example/", "list"), ("https:evil.example", "list"),
    ("javascript:alert(1)", "list"),
    ("/o/acme/marketing/reminders/?status=ANY", "same"),
    ("http://testserver/o/acme/marketing/reminders/?scope=all", "same"),
])
def test_acting_on_a_reminder_goes_back_only_to_this_site(tenant, owner, target, lands):
    from tend.core.tenancy import tenant_scope

    with tenant_scope(tenant):
        person(tenant, "Ada", owner, last=NOW - timedelta(days=40))
        svc.reminder_rule_run(tenant=tenant, rule=overdue_rule(tenant), now=NOW)
        reminder = Reminder.objects.get()
    base = f"/o/{tenant.slug}/marketing/reminders/"
    done = signed_in(owner).post(f"{base}{reminder.pk}/done/", {"next": target})
    assert done.status_code == 302
    assert done["Location"] == (base if lands == "list" else target)
