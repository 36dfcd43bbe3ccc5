"""Event promotion: an announcement and reminders as scheduled campaigns that follow the
item — moved, they are rescheduled (past ones cancelled); cancelled, they are cancelled."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.errors import ValidationFailed
from tend.marketing.models import Campaign
from tend.marketing.services import campaigns as svc
from tend.marketing.services.promotion import (
    promoted_item_create,
    promoted_item_update,
    promotion_create,
    promotion_stop,
)
from tend.marketing.tests.campaign_helpers import SYSTEM, account, person, segment_of

EMAIL = [{"channel": "EMAIL", "subject": "{{ item.title }}",
          "body": "{{ item.title }} on {{ item.date }} at {{ item.place|default:\"the club\" }}"}]


@pytest.fixture
def item(scoped):
    account(scoped, "EMAIL")
    segment = segment_of(scoped, "Members", [person(scoped, "Ada")])
    item = promoted_item_create(tenant=scoped, actor=SYSTEM, data={
        "title": "Club championship", "starts_at": timezone.now() + timedelta(days=10)})
    return item, segment


def _open(scoped):
    return {c.promotion_key: c for c in Campaign.objects.filter(
        tenant=scoped, status__in=["SCHEDULED", "DRAFT"]).order_by("scheduled_at")}


def test_promotion_schedules_announcement_and_reminders(scoped, item):
    thing, segment = item
    announce = timezone.now() + timedelta(hours=2)
    promotion = promotion_create(tenant=scoped, actor=SYSTEM, item_type="marketing.item",
                                 item_id=str(thing.pk), data={
                                     "segment_ids": [str(segment.pk)], "channels": EMAIL,
                                     "announce_at": announce})
    campaigns = _open(scoped)
    assert list(campaigns) == ["announce", "remind:7", "remind:3", "remind:1"]
    assert campaigns["announce"].scheduled_at == announce
    assert campaigns["remind:3"].scheduled_at == thing.starts_at - timedelta(days=3)
    assert all(c.kind == "PROMOTION" and c.status == "SCHEDULED" and c.promotion == promotion
               for c in campaigns.values())
    assert campaigns["remind:1"].context["title"] == "Club championship"
    # Moved four days earlier: the 7-day reminder is now in the past and is cancelled.
    promoted_item_update(tenant=scoped, actor=SYSTEM, item=thing,
                         data={"starts_at": timezone.now() + timedelta(days=6)})
    campaigns = _open(scoped)
    assert list(campaigns) == ["announce", "remind:3", "remind:1"]
    assert campaigns["remind:1"].next_run_at == thing.starts_at - timedelta(days=1)
    assert Campaign.objects.get(promotion_key="remind:7").status == "CANCELLED"
    # Cancelled: everything still to come is cancelled.
    promoted_item_update(tenant=scoped, actor=SYSTEM, item=thing, data={"is_cancelled": True})
    assert _open(scoped) == {}
    promotion.refresh_from_db()
    assert promotion.is_active is False


def test_reminder_renders_the_item(scoped, item, django_capture_on_commit_callbacks):
    thing, segment = item
    promotion_create(tenant=scoped, actor=SYSTEM, item_type="marketing.item",
                     item_id=str(thing.pk), data={"segment_ids": [str(segment.pk)],
                                                  "channels": EMAIL, "reminder_days": [1]})
    campaign = Campaign.objects.get(promotion_key="remind:1")
    svc.campaign_run(tenant=scoped, campaign_id=campaign.pk, now=campaign.next_run_at)
    from tend.messaging.models import Message

    message = Message.objects.get()
    assert message.subject == "Club championship"
    assert message.body.startswith("Club championship on ") and message.body.endswith(
        "at the club")


def test_stop_and_validation(scoped, item):
    thing, segment = item
    with pytest.raises(ValidationFailed) as exc:
        promotion_create(tenant=scoped, actor=SYSTEM, item_type="marketing.item",
                         item_id=str(thing.pk), data={"segment_ids": [], "channels": [],
                                                      "reminder_days": [-1]})
    assert set(exc.value.fields) == {"segment_ids", "channels"}
    promotion = promotion_create(tenant=scoped, actor=SYSTEM, item_type="marketing.item",
                                 item_id=str(thing.pk),
                                 data={"segment_ids": [str(segment.pk)], "channels": EMAIL})
    assert len(_open(scoped)) == 3
    promotion_stop(tenant=scoped, actor=SYSTEM, promotion=promotion)
    assert _open(scoped) == {}
