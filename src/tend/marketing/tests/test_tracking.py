"""Campaign tracking: status callbacks and read receipts become interactions, the open pixel
and click redirects (signed, never a 500), conversions within the window, unsubscribes
through the one-click link, and the statistics and report computed from them."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tend.core.tenancy import tenant_scope
from tend.marketing.models import CampaignInteraction
from tend.marketing.selectors.campaigns import campaign_link_clicks, campaign_series
from tend.marketing.services import campaigns as svc
from tend.marketing.services.campaigns_fanout import campaign_messages
from tend.marketing.services.tracking import campaign_stats, campaign_stats_refresh, device_of
from tend.marketing.tests.campaign_helpers import SYSTEM, account, person, segment_of
from tend.messaging.models import Message
from tend.messaging.providers.base import StatusUpdate
from tend.messaging.services.inbound import message_apply_status
from tend.messaging.services.unsubscribe import unsubscribe_url


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.TEND_PUBLIC_URL = "https://crm.example"


@pytest.fixture
def sent(scoped, django_capture_on_commit_callbacks):
    """A launched campaign to Ada (email, HTML with a link) and Bo (WhatsApp)."""
    email, whatsapp = account(scoped, "EMAIL"), account(scoped, "WHATSAPP")
    ada, bo = person(scoped, "Ada"), person(scoped, "Bo", email=False, phone=True)
    golfers = segment_of(scoped, "Golfers", [ada, bo])
    campaign = svc.campaign_create(tenant=scoped, actor=SYSTEM, data={
        "name": "Open day", "segment_ids": [str(golfers.pk)],
        "conversion_activity_type": "TEETIME_BOOKED", "conversion_days": 3,
        "channels": [
            {"channel": "EMAIL", "subject": "Open day",
             "body": "<p>Hi {{ contact.first_name }}, see https://club.example/open and "
                     "https://club.example/map</p>"},
            {"channel": "WHATSAPP", "body": "Open day! https://club.example/open"}]})
    with django_capture_on_commit_callbacks(execute=True):
        svc.campaign_launch(tenant=scoped, actor=SYSTEM, campaign=campaign)
    campaign.refresh_from_db()
    messages = {m.channel: m for m in campaign_messages(tenant=scoped, campaign_id=campaign.pk)}
    for number, message in enumerate(messages.values()):
        message.provider_message_id = f"p{number}"
        message.status = "SENT"
        message.sent_at = timezone.now()
        message.save()
    return {"campaign": campaign, "email": messages["EMAIL"], "wa": messages["WHATSAPP"],
            "ada": ada, "bo": bo, "accounts": {"EMAIL": email, "WHATSAPP": whatsapp}}


def _status(tenant, sent, channel, status, capture):
    message = sent["email" if channel == "EMAIL" else "wa"]
    with capture(execute=True):
        message_apply_status(tenant=tenant, account=sent["accounts"][channel],
                             update=StatusUpdate(message.provider_message_id, status))


def _types(campaign):
    return sorted(CampaignInteraction.objects.filter(campaign=campaign)
                  .values_list("channel", "type"))


def test_read_receipt_counts_delivered_and_opened(scoped, sent,
                                                  django_capture_on_commit_callbacks):
    Message.objects.filter(pk=sent["wa"].pk).update(status="QUEUED")
    _status(scoped, sent, "WHATSAPP", "READ", django_capture_on_commit_callbacks)
    _status(scoped, sent, "WHATSAPP", "DELIVERED", django_capture_on_commit_callbacks)  # late
    assert _types(sent["campaign"]) == [("WHATSAPP", "DELIVERED"), ("WHATSAPP", "OPENED"),
                                        ("WHATSAPP", "SENT")]
    _status(scoped, sent, "EMAIL", "BOUNCED", django_capture_on_commit_callbacks)
    stats = campaign_stats(tenant=scoped, campaign=sent["campaign"])
    assert (stats["target"], stats["sent"], stats["delivered"], stats["opened"],
            stats["bounced"]) == (2, 1, 1, 1, 1)
    assert stats["open_rate"] == 100.0


def test_pixel_and_clicks(scoped, sent):
    body = sent["email"].body
    links = [w.split('"')[0] for w in body.replace("<", " ").split() if "/l/" in w]
    pixel = body.split('<img src="')[1].split('"')[0]
    assert len(links) == 2 and pixel.endswith("/o.gif")
    client = Client()
    path = pixel.removeprefix("https://crm.example")
    for _ in range(2):
        response = client.get(path, HTTP_USER_AGENT="Mozilla/5.0 (iPhone; Mobile)")
        assert (response.status_code, response["Content-Type"]) == (200, "image/gif")
    response = client.get(links[1].removeprefix("https://crm.example"))
    assert (response.status_code, response["Location"]) == (302, "https://club.example/map")
    client.get(links[1].removeprefix("https://crm.example"))
    with tenant_scope(scoped):
        opens = CampaignInteraction.objects.filter(type="OPENED")
        assert [(o.channel, o.device) for o in opens] == [("EMAIL", "mobile")]
        assert campaign_link_clicks(tenant=scoped, campaign=sent["campaign"]) == [
            {"link": "https://club.example/map", "clicks": 2, "people": 1}]
        series = campaign_series(tenant=scoped, campaign=sent["campaign"], bucket="hour")
        assert (series[0]["OPENED"], series[0]["CLICKED"]) == (1, 2)
        stats = campaign_stats_refresh(tenant=scoped, campaign=sent["campaign"])
        assert (stats["opened"], stats["clicked"]) == (1, 1)
        assert sent["campaign"].clicked_count == 1


def test_bad_tracking_links(scoped, sent):
    client = Client()
    link = next(w for w in sent["email"].body.split() if "/l/" in w)
    path = link.removeprefix("https://crm.example")
    token = path.split("/")[2]
    forged = path.replace(token, token[:-3] + "abc")
    assert client.get(forged).status_code == 404
    assert client.get(path.replace("/l/0/", "/l/9/")).status_code == 404
    assert client.get(path.replace("/EMAIL/", "/FAX/")).status_code == 404
    assert client.get(forged.replace("/l/0/", "/o.gif").rsplit("/", 1)[0] + "/o.gif"
                      ).status_code == 200
    with tenant_scope(scoped):
        assert not CampaignInteraction.objects.filter(type__in=["OPENED", "CLICKED"]).exists()


def test_conversion_within_the_window_once(scoped, sent, django_capture_on_commit_callbacks):
    from tend.people.services.activities import activity_record

    def book(contact, at):
        with django_capture_on_commit_callbacks(execute=True):
            activity_record(tenant=scoped, actor=SYSTEM, type="TEETIME_BOOKED",
                            contact=contact, occurred_at=at)

    now = timezone.now()
    book(sent["ada"], now + timedelta(hours=1))
    book(sent["ada"], now + timedelta(hours=2))
    book(sent["bo"], now + timedelta(days=5))  # after the window
    with tenant_scope(scoped):
        conversions = list(CampaignInteraction.objects.filter(type="CONVERTED"))
    assert [(c.contact_id, c.link) for c in conversions] == [(sent["ada"].pk,
                                                              "TEETIME_BOOKED")]


def test_one_click_unsubscribe_is_a_campaign_interaction(scoped, sent,
                                                         django_capture_on_commit_callbacks):
    url = unsubscribe_url(tenant_id=scoped.pk, contact_id=sent["ada"].pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with tenant_scope(scoped):
        row = CampaignInteraction.objects.get(type="UNSUBSCRIBED")
        assert (row.contact_id, row.channel, row.message_id) == (sent["ada"].pk, "EMAIL",
                                                                  sent["email"].pk)
        assert campaign_stats(tenant=scoped, campaign=sent["campaign"])["unsubscribed"] == 1


def test_device_of():
    assert [device_of(ua) for ua in ("", "GoogleImageProxy", "Mozilla (iPad)",
                                     "Mozilla (Android; Mobile)", "Mozilla (X11; Linux)")] == [
        "", "bot", "tablet", "mobile", "desktop"]
