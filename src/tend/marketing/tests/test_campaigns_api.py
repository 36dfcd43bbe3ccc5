"""The campaigns API and pages: create → audience count → preview → launch → report, field
errors as 422, permissions, and the wizard, report and promotion pages."""

import pytest
from django.test import Client

from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key, signed_in
from tend.marketing.models import Campaign
from tend.marketing.tests.campaign_helpers import account, person, segment_of
from tend.messaging.models import Message

API = "/api/v1"
J = "application/json"
PERMS = ["campaigns.view", "campaigns.add", "campaigns.change", "campaigns.send",
         "contacts.view"]


@pytest.fixture
def audience(scoped):
    account(scoped, "EMAIL")
    ada, bo = person(scoped, "Ada"), person(scoped, "Bo", opt_in=False)
    return segment_of(scoped, "Golfers", [ada, bo]), ada


@pytest.fixture
def api(tenant, owner):
    _key, secret = make_key(tenant, owner, PERMS)
    return Client(headers=bearer(secret))


def test_campaign_through_the_api(api, audience, django_capture_on_commit_callbacks):
    segment, ada = audience
    channels = [{"channel": "EMAIL", "subject": "Hi", "body": "Hello {{ contact.first_name }}"}]
    count = api.post(f"{API}/campaigns/audience", {"segment_ids": [str(segment.pk)],
                                                    "channels": channels}, content_type=J)
    assert count.json() == {"total": 2, "channels": {"EMAIL": 1}}
    preview = api.post(f"{API}/campaigns/preview", {"channel": channels[0],
                                                     "contact_id": str(ada.pk)}, content_type=J)
    assert preview.json() == {"subject": "Hi", "body": "Hello Ada"}
    created = api.post(f"{API}/campaigns", {"name": "Spring", "segment_ids": [str(segment.pk)],
                                            "channels": channels}, content_type=J)
    assert created.status_code == 201, created.content
    cid = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        launched = api.post(f"{API}/campaigns/{cid}/launch", content_type=J)
    assert launched.json()["status"] == "SCHEDULED"  # the run follows at once, after commit
    got = api.get(f"{API}/campaigns/{cid}").json()
    assert (got["status"], got["target_count"], got["run_count"]) == ("ACTIVE", 1, 1)
    assert api.post(f"{API}/campaigns/{cid}/pause").json()["status"] == "PAUSED"
    assert api.post(f"{API}/campaigns/{cid}/resume").json()["status"] == "ACTIVE"
    report = api.get(f"{API}/campaigns/{cid}/report").json()
    assert report["stats"]["target"] == 1 and report["series"] == [] and report["links"] == []
    runs = api.get(f"{API}/campaigns/{cid}/runs").json()["items"]
    assert [(r["number"], r["target_count"]) for r in runs] == [(1, 1)]
    assert api.patch(f"{API}/campaigns/{cid}", {"name": "x"}, content_type=J).status_code == 409
    cancelled = api.post(f"{API}/campaigns/{cid}/cancel", {"reason": "typo"}, content_type=J)
    assert cancelled.json()["status"] == "CANCELLED"
    assert api.post(f"{API}/campaigns/{cid}/resume").status_code == 409


def test_field_errors_are_422(api, audience):
    response = api.post(f"{API}/campaigns", {"name": "Bad", "cron": "nope",
                                             "channels": [{"channel": "EMAIL", "body": ""}]},
                        content_type=J)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"cron", "channels"}
    created = api.post(f"{API}/campaigns", {"name": "Empty"}, content_type=J).json()
    launch = api.post(f"{API}/campaigns/{created['id']}/launch")
    assert launch.status_code == 422
    assert {e["field"] for e in launch.json()["errors"]} == {"segment_ids", "channels"}


def test_viewer_cannot_send(tenant, owner, audience):
    _key, secret = make_key(tenant, owner, ["campaigns.view"])
    client = Client(headers=bearer(secret))
    assert client.get(f"{API}/campaigns").status_code == 200
    assert client.post(f"{API}/campaigns", {"name": "x"}, content_type=J).status_code == 403


def test_wizard_pages(tenant, owner, audience, django_capture_on_commit_callbacks):
    segment, _ada = audience
    web = signed_in(owner, tenant)
    base = "/o/acme/marketing/campaigns/"
    assert web.get(base).status_code == 200
    assert web.get(f"{base}new/").status_code == 200
    count = web.post(f"{base}audience-count/", {"segment_ids": [str(segment.pk)]})
    assert b"2 people" in count.content
    bad = web.post(f"{base}new/", {"name": ""})
    assert bad.status_code == 422
    response = web.post(f"{base}new/", {"name": "Web", "segment_ids": [str(segment.pk)]})
    with tenant_scope(tenant):
        campaign = Campaign.objects.get(name="Web")
    assert response.status_code == 302 and response["Location"].endswith("/wizard/content/")
    preview = web.post(f"{base}preview/EMAIL/", {"EMAIL-on": "1", "EMAIL-body":
                                                 "Hi {{ contact.first_name|default:\"you\" }}"})
    assert b"Hi you" in preview.content
    wizard = f"{base}{campaign.pk}/wizard/"
    response = web.post(f"{wizard}content/", {"EMAIL-on": "1", "EMAIL-consent": "1",
                                              "EMAIL-subject": "S", "EMAIL-body": "B"})
    assert response.status_code == 302
    impossible = web.post(f"{wizard}schedule/", {"type": "ONE_TIME",
                                                 "scheduled_at": "2030-02-30T10:00"})
    assert impossible.status_code == 422
    response = web.post(f"{wizard}schedule/", {"type": "ONE_TIME", "conversion_days": "7"})
    assert response["Location"].endswith("/wizard/review/")
    review = web.get(f"{wizard}review/")
    assert b'id="review-total">2<' in review.content
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"{base}{campaign.pk}/launch/")
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert Message.objects.count() == 1
    page = web.get(f"{base}{campaign.pk}/")
    assert page.status_code == 200 and b'id="stat-target">1<' in page.content
    assert web.post(f"{base}{campaign.pk}/pause/").status_code == 302
    with tenant_scope(tenant):
        assert Message.objects.get().status == "HELD"


def test_promotion_page(tenant, owner, audience):
    web = signed_in(owner, tenant)
    base = "/o/acme/marketing/promotion/"
    response = web.post(f"{base}items/", {"title": "Open day",
                                          "starts_at": "2031-05-01T10:00"})
    assert response.status_code == 302
    page = web.get(base)
    assert page.status_code == 200 and b"Open day" in page.content


def test_demo_campaigns(scoped, owner):
    import random

    from tend.core.actors import Actor
    from tend.core.demo import DemoContext, demo_loaders
    from tend.marketing.demo_campaigns import load_campaigns_demo
    from tend.marketing.models import PromotedItem

    assert load_campaigns_demo in demo_loaders()
    ctx = DemoContext(tenant=scoped, owner=owner, actor=Actor.system(), password=None,
                      rng=random.Random(1))
    load_campaigns_demo(ctx)
    campaigns = {c.name: c for c in Campaign.objects.all()}
    assert sorted(campaigns) == ["May newsletter", "Spring retreat announcement"]
    assert {c.status for c in campaigns.values()} == {"DRAFT"}
    announcement = campaigns["Spring retreat announcement"]
    assert announcement.kind == "ANNOUNCEMENT" and announcement.segment_ids
    assert announcement.context["place"] == "Hatta mountain lodge"
    assert PromotedItem.objects.get().title == "Spring retreat"


def test_wizard_schedule_numbers_say_what_is_wrong(tenant, owner, audience):
    segment, _ada = audience
    web = signed_in(owner, tenant)
    base = "/o/acme/marketing/campaigns/"
    web.post(f"{base}new/", {"name": "Numbers", "segment_ids": [str(segment.pk)]})
    with tenant_scope(tenant):
        campaign = Campaign.objects.get(name="Numbers")
    wizard = f"{base}{campaign.pk}/wizard/schedule/"
    words = web.post(wizard, {"type": "ONE_TIME", "throttle_per_minute": "fast",
                              "conversion_days": "a week"})
    assert words.status_code == 422
    page = words.content.decode()
    assert page.count("Enter a whole number.") == 2
    assert "Give between 1 and 365 days." not in page
    assert "Give a number of messages per minute." not in page
    out_of_range = web.post(wizard, {"type": "ONE_TIME", "throttle_per_minute": "-5",
                                     "conversion_days": "0"})
    assert out_of_range.status_code == 422
    page = out_of_range.content.decode()
    assert "Give between 1 and 365 days." in page
    assert "Give a number of messages per minute." in page
    assert "Enter a whole number." not in page
    fine = web.post(wizard, {"type": "ONE_TIME", "throttle_per_minute": "60"})
    assert fine.status_code == 302
    with tenant_scope(tenant):
        campaign.refresh_from_db()
    assert (campaign.throttle_per_minute, campaign.conversion_days) == (60, 7)
