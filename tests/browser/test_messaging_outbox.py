"""In a real browser: the outbox page lists a dead-lettered message with its error, a retry
puts it back in the queue, a bulk discard gives up on a failed one; quiet hours are saved
under Settings."""

import pytest
from django.utils import timezone

from tend.core.tenancy import tenant_scope
from tend.messaging.models import ChannelAccount, Message
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_retry_and_discard_dead_letters(page, login, make_tenant, make_user):
    owner = make_user("outbox-owner@example.com")
    tenant = make_tenant("Outbox Club", slug="outboxclub", owner=owner)
    with tenant_scope(tenant):
        account = ChannelAccount.objects.create(tenant=tenant, kind="SMS", name="Club SMS",
                                                status="ACTIVE")
        contact = Contact.objects.create(tenant=tenant, first_name="Rania",
                                         display_name="Rania Saleh")
        dead = Message.objects.create(
            tenant=tenant, contact=contact, account=account, channel="SMS",
            direction="OUTBOUND", status="DEAD", body="Your class starts at 6",
            attempts=8, error_code="http_503", error="Service unavailable",
            failed_at=timezone.now())
        failed = Message.objects.create(
            tenant=tenant, contact=contact, account=account, channel="SMS",
            direction="OUTBOUND", status="FAILED", body="Promo", attempts=1,
            error_code="http_400", error="Invalid number", failed_at=timezone.now())
    login("outbox-owner@example.com")

    page.goto("/o/outboxclub/messaging/outbox/")
    row = page.locator(f"#message-{dead.pk}")
    assert "Service unavailable" in row.inner_text()
    assert page.locator("#stat-dead").inner_text() == "1"
    page.locator(f"#retry-{dead.pk}").click()
    page.wait_for_load_state()
    assert page.locator(f"#message-{dead.pk}").count() == 0
    with tenant_scope(tenant):
        dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("QUEUED", 0)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#message-{failed.pk} input[name=ids]").check()
    page.locator("#bulk-discard").click()
    page.wait_for_load_state()
    with tenant_scope(tenant):
        failed.refresh_from_db()
    assert failed.status == "DISCARDED"
    assert page.locator(f"#message-{failed.pk}").count() == 0

    page.goto("/o/outboxclub/settings/quiet-hours/")
    page.locator("#qh-start").fill("21:00")
    page.locator("#qh-end").fill("08:00")
    page.locator("#quiet-hours-save").click()
    page.wait_for_load_state()
    tenant.refresh_from_db()
    assert tenant.settings["quiet_hours"] == {"start": "21:00", "end": "08:00"}
