"""In a real browser: a staff member works their reminders (snooze, done) and adds a rule;
connects an X account and a LinkedIn page through the fake platforms, composes a post,
schedules it and sees it on the calendar, published; adds a webhook, copies its secret once,
sends a test event to a local receiver and redelivers it from the log."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.marketing.models import Reminder
from tend.marketing.services.reminders import reminder_rule_create, reminder_rule_run
from tend.marketing.social.fakes import FakeSocial
from tend.marketing.tests.webhook_receiver import FakeReceiver
from tend.people.models import Contact
from tend.people.services.contacts import contact_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system()


def test_reminders_page(page, login, tenant, owner):
    with tenant_scope(tenant):
        for name in ("Amal", "Badr"):
            contact = contact_create(tenant=tenant, actor=SYSTEM, data={"first_name": name})
            Contact.objects.filter(pk=contact.pk).update(
                owner=owner, last_contacted_at=timezone.now() - timedelta(days=45))
        rule = reminder_rule_create(tenant=tenant, actor=SYSTEM, data={
            "name": "Overdue", "type": "CONTACT_OVERDUE", "params": {"days": 30}})
        reminder_rule_run(tenant=tenant, rule=rule)
    login("owner@example.com")
    page.goto("/o/acme/marketing/reminders/")
    rows = page.locator("#reminders-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("No contact for 45 days")
    rows.first.locator(".reminder-snooze").click()
    expect(page.locator("#reminders-table tbody tr")).to_have_count(1)
    page.locator("#reminders-table tbody tr .reminder-done").click()
    expect(page.locator("#reminders-empty")).to_be_visible()
    page.locator("#reminders-status").select_option("ANY")
    expect(page.locator("#reminders-table tbody tr")).to_have_count(2)
    page.locator("#rule-name").fill("Follow-ups")
    page.locator("#rule-type").select_option("FOLLOW_UP_DUE")
    page.locator("#rule-save").click()
    expect(page.locator("#rules-table")).to_contain_text("Follow-ups")
    with tenant_scope(tenant):
        assert sorted(Reminder.objects.values_list("status", flat=True)) == ["DONE", "SNOOZED"]


def test_social_connect_compose_schedule_calendar(page, login, tenant, owner):
    with FakeSocial() as fake:
        login("owner@example.com")
        page.goto("/o/acme/marketing/social/")
        page.locator("#social-accounts").click()
        for platform in ("TWITTER", "LINKEDIN"):
            page.locator("#connect-platform").select_option(platform)
            page.locator("#connect-token").fill(fake.tokens[platform])
            page.locator("#connect-base").fill(fake.url)
            page.locator("#connect-save").click()
        expect(page.locator("#connections-table tbody tr")).to_have_count(2)
        expect(page.locator("#connections-table")).to_contain_text("fairwaygolf")

        page.goto("/o/acme/marketing/social/new/")
        page.locator("#post-content").fill("Course open all weekend")
        page.locator("#post-hashtags").fill("golf weekend")
        page.get_by_label("X (Twitter): fairwaygolf").check()
        page.get_by_label("LinkedIn: Fairway Golf Club").check()
        page.locator("#post-schedule").click()
        expect(page.locator("#post-status")).to_have_text("Published")
        expect(page.locator("#post-targets tbody tr")).to_have_count(2)
        assert [p.text for p in fake.published("TWITTER")] == [
            "Course open all weekend\n\n#golf #weekend"]

        page.goto("/o/acme/marketing/social/")
        expect(page.locator("#social-calendar .calendar-post")).to_contain_text(
            "Course open all weekend")

        # A draft planned on another day, then a field error when scheduling for Instagram.
        page.goto("/o/acme/marketing/social/new/")
        page.locator("#post-content").fill("x" * 300)
        page.get_by_label("X (Twitter): fairwaygolf").check()
        page.locator("#post-schedule").click()
        expect(page.locator("#post-errors")).to_contain_text("Too long for X (Twitter)")


def test_webhook_settings_test_event_and_redeliver(page, login, tenant, owner):
    with FakeReceiver() as receiver:
        login("owner@example.com")
        page.goto("/o/acme/marketing/webhooks/")
        page.locator("#webhook-name").fill("Booking system")
        page.locator("#webhook-url").fill(receiver.url + "/tend")
        page.get_by_label("Contact created contact.created").check()
        page.locator("#webhook-save").click()
        secret = page.locator("#webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        page.locator("#webhook-test").click()
        expect(page.locator("#deliveries-table tbody tr")).to_have_count(1)
        expect(page.locator("#deliveries-table")).to_contain_text("HTTP 200")
        assert FakeReceiver.signature_ok(receiver.requests()[0], secret)
        page.reload()
        expect(page.locator("#webhook-secret")).to_have_count(0)
        page.locator(".delivery-redeliver").click()
        expect(page.locator("#deliveries-table tbody tr td").nth(3)).to_have_text("2")
        assert len(receiver.requests()) == 2
