"""In a real browser: build a campaign with the wizard (audience with its live count, content
with a preview, schedule, review), launch it on the in-app channel, then read its report
(numbers, chart, clicks per link) after deliveries and a click; pause, resume and cancel."""

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.marketing.tests.campaign_helpers import account, person, segment_of
from tend.messaging.models import Message
from tend.messaging.signals import message_status_changed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_campaign_wizard_launch_and_report(page, login, tenant, owner, live_server, settings):
    settings.TEND_PUBLIC_URL = live_server.url
    account(tenant, "WEB")
    segment_of(tenant, "Golfers", [person(tenant, "Amal"), person(tenant, "Badr")])
    login("owner@example.com")

    page.goto("/o/acme/marketing/campaigns/")
    page.locator("#campaign-add").click()
    page.locator("#campaign-name").fill("Spring open")
    page.get_by_label("Golfers (2)").check()
    expect(page.locator("#campaign-count")).to_contain_text("2 people")
    page.locator("#wizard-next").click()

    page.locator("#WEB-on").check()
    page.locator("#WEB-body").fill(
        'Hi {{ contact.first_name|default:"friend" }}, book at https://club.example/open')
    page.locator("#WEB-preview-button").click()
    expect(page.locator("#preview-WEB")).to_contain_text(
        "Hi friend, book at https://club.example/open")
    page.locator("#wizard-next").click()

    expect(page.locator("#type-ONE_TIME")).to_be_checked()
    page.locator("#wizard-next").click()
    expect(page.locator("#review-total")).to_have_text("2")
    page.locator("#campaign-launch").click()
    expect(page.locator("#campaign-status")).to_have_text("Active")
    expect(page.locator("#stat-target")).to_have_text("2")

    # The outbox delivers both; one person follows the link.
    with tenant_scope(tenant):
        messages = list(Message.objects.order_by("contact__first_name"))
        assert [m.body.split(",")[0] for m in messages] == ["Hi Amal", "Hi Badr"]
        for message in messages:
            for previous, status in (("QUEUED", "SENT"), ("SENT", "DELIVERED")):
                message_status_changed.send(sender=Message, tenant=tenant, message=message,
                                            status=status, previous=previous)
    link = messages[0].body.split("book at ")[1]
    response = page.request.get(link, max_redirects=0)
    assert (response.status, response.headers["location"]) == (302, "https://club.example/open")

    page.reload()
    expect(page.locator("#stat-sent")).to_have_text("2")
    expect(page.locator("#stat-delivered")).to_contain_text("2")
    expect(page.locator("#stat-clicked")).to_contain_text("1")
    expect(page.locator("#campaign-chart polyline[data-series=CLICKED]")).to_have_count(1)
    expect(page.locator("#campaign-links")).to_contain_text("https://club.example/open")
    page.locator("#bucket-hour").click()
    expect(page.locator("#campaign-series")).to_be_attached()

    page.locator("#campaign-pause").click()
    expect(page.locator("#campaign-status")).to_have_text("Paused")
    page.locator("#campaign-resume").click()
    expect(page.locator("#campaign-status")).to_have_text("Active")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#campaign-cancel").click()
    expect(page.locator("#campaign-status")).to_have_text("Cancelled")
