"""Campaigns: status transitions, validation, the set-based fan-out (dedupe, consent,
exclusions, rendering per language, throttle, local time), pause/resume/cancel, recurring
runs and triggered sends."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.errors import Conflict, ValidationFailed
from tend.marketing.models import Campaign, CampaignRun, CampaignStatus
from tend.marketing.services import campaigns as svc
from tend.marketing.services.campaigns_fanout import audience_count, campaign_messages
from tend.marketing.tests.campaign_helpers import SYSTEM, account, person, segment_of
from tend.messaging.models import Message

S = CampaignStatus


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.TEND_PUBLIC_URL = "https://crm.example"


@pytest.fixture
def world(scoped):
    account(scoped, "EMAIL")
    account(scoped, "SMS")
    ada = person(scoped, "Ada", phone=True, language="ar")
    bo = person(scoped, "Bo", phone=True)
    cy = person(scoped, "Cy", opt_in=False)
    di = person(scoped, "Di")
    golfers = segment_of(scoped, "Golfers", [ada, bo, cy, di])
    blocked = segment_of(scoped, "Blocked", [di])
    return {"ada": ada, "bo": bo, "cy": cy, "di": di, "golfers": golfers, "blocked": blocked}


@pytest.fixture
def launch(django_capture_on_commit_callbacks):
    def run(tenant, campaign):
        with django_capture_on_commit_callbacks(execute=True):
            return svc.campaign_launch(tenant=tenant, actor=SYSTEM, campaign=campaign)
    return run


def make(tenant, world, **extra):
    data = {"name": "Spring open", "segment_ids": [str(world["golfers"].pk)],
            "exclude_segment_ids": [str(world["blocked"].pk)],
            "channels": [{"channel": "EMAIL", "subject": "Hi {{ contact.first_name }}",
                          "body": "Dear {{ contact.first_name|default:\"golfer\" }}, book at "
                                  "https://club.example/book now. {{ organization.name }}"}]}
    data.update(extra)
    return svc.campaign_create(tenant=tenant, actor=SYSTEM, data=data)


def test_transitions_follow_the_table():
    allowed = {(a, b) for a, targets in svc.ALLOWED_TRANSITIONS.items() for b in targets}
    assert ("DRAFT", "SCHEDULED") in allowed and ("PAUSED", "ACTIVE") in allowed
    assert not svc.can_transition("COMPLETED", "ACTIVE")
    assert not svc.can_transition("CANCELLED", "DRAFT")
    assert not svc.can_transition("DRAFT", "PAUSED")
    assert not svc.can_transition("ACTIVE", "SCHEDULED")
    assert svc.ALLOWED_TRANSITIONS["COMPLETED"] == frozenset()


def test_transition_refuses_and_stamps(world, scoped, launch):
    campaign = make(scoped, world)
    with pytest.raises(Conflict):
        svc.campaign_transition(campaign=campaign, to=S.PAUSED)
    svc.campaign_transition(campaign=campaign, to=S.ACTIVE)
    campaign.refresh_from_db()
    assert campaign.status == "ACTIVE" and campaign.launched_at is not None


def test_validation_names_fields(world, scoped, launch):
    with pytest.raises(ValidationFailed) as exc:
        svc.campaign_create(tenant=scoped, actor=SYSTEM, data={
            "name": "", "segment_ids": ["not-a-uuid"], "cron": "every day",
            "channels": [{"channel": "FAX"}], "time_zone": "Mars/Base",
            "context": {"secret": "x"}})
    assert set(exc.value.fields) == {"name", "segment_ids", "cron", "channels", "time_zone",
                                     "context"}


def test_audience_count_after_consent_and_exclusions(world, scoped, launch):
    campaign = make(scoped, world, channels=[
        {"channel": "EMAIL", "body": "x"}, {"channel": "SMS", "body": "y"}])
    # Di is excluded, Cy has no consent; SMS needs a phone.
    assert audience_count(tenant=scoped, campaign=campaign) == {"total": 3, "EMAIL": 2,
                                                                "SMS": 2}


def test_fan_out_renders_dedupes_and_never_sends_twice(world, scoped, launch):
    campaign = make(scoped, world)
    launch(scoped, campaign)
    campaign.refresh_from_db()
    assert campaign.status == "ACTIVE" and campaign.run_count == 1
    messages = {m.contact_id: m for m in campaign_messages(tenant=scoped,
                                                           campaign_id=campaign.pk)}
    assert set(messages) == {world["ada"].pk, world["bo"].pk}
    ada = messages[world["ada"].pk]
    assert ada.subject == "Hi Ada"
    assert ada.status == "QUEUED" and ada.purpose == "MARKETING" and ada.source == "campaign"
    assert ada.metadata == {"campaign": str(campaign.pk), "run": "1"}
    assert ada.body.startswith("Dear Ada, book at https://crm.example/t/")
    assert ada.body.split()[4].endswith(f"/EMAIL/1/{world['ada'].pk.hex}/l/0/")
    assert ada.body.endswith(f"now. {scoped.name}")
    assert campaign.links == ["https://club.example/book"]
    assert ada.dedupe_key == (f"campaign:{campaign.pk.hex}:1:{world['ada'].pk.hex}:EMAIL")
    run = CampaignRun.objects.get(campaign=campaign)
    assert (run.number, run.target_count, run.status) == (1, 2, "DONE")
    # Running the same run again (a retried task) queues nothing new.
    campaign.next_run_at = timezone.now()
    campaign.run_count = 0
    campaign.save()
    CampaignRun.objects.all().delete()
    again = svc.campaign_run(tenant=scoped, campaign_id=campaign.pk)
    assert again.target_count == 0
    assert Message.objects.count() == 2


def test_default_applies_to_empty_fields(world, scoped, launch):
    world["bo"].first_name = "  "
    world["bo"].save()
    campaign = make(scoped, world, channels=[{"channel": "EMAIL", "body":
                                              "Dear {{ contact.first_name|default:\"golfer\" }}"}])
    launch(scoped, campaign)
    bodies = sorted(campaign_messages(tenant=scoped, campaign_id=campaign.pk)
                    .values_list("body", flat=True))
    assert bodies == ["Dear Ada", "Dear golfer"]


def test_templates_resolve_per_language(world, scoped, launch):
    from tend.messaging.services.templates import template_create, template_publish

    en = template_create(tenant=scoped, actor=SYSTEM, key="spring", channel="EMAIL",
                         language="en", subject="Spring", body="Hello {{ contact.first_name }}")
    ar = template_create(tenant=scoped, actor=SYSTEM, key="spring", channel="EMAIL",
                         language="ar", subject="الربيع", body="مرحبا {{ contact.first_name }}")
    template_publish(tenant=scoped, actor=SYSTEM, template=en)
    template_publish(tenant=scoped, actor=SYSTEM, template=ar)
    campaign = make(scoped, world, channels=[{"channel": "EMAIL", "template_key": "spring"}])
    launch(scoped, campaign)
    rows = {m.contact_id: (m.subject, m.body, m.template_id)
            for m in campaign_messages(tenant=scoped, campaign_id=campaign.pk)}
    assert rows[world["ada"].pk] == ("الربيع", "مرحبا Ada", ar.pk)
    assert rows[world["bo"].pk] == ("Spring", "Hello Bo", en.pk)
    run = CampaignRun.objects.get(campaign=campaign)
    assert run.template_versions == {"EMAIL": {"ar": 1, "en": 1, "*": 1}}


def test_throttle_spreads_and_local_time_moves(world, scoped, launch):
    at = timezone.now() + timedelta(hours=30)
    campaign = make(scoped, world, throttle_per_minute=1, scheduled_at=at)
    launch(scoped, campaign)
    assert svc.campaign_run(tenant=scoped, campaign_id=campaign.pk) is None  # not due yet
    svc.campaign_run(tenant=scoped, campaign_id=campaign.pk, now=at)
    times = sorted(campaign_messages(tenant=scoped, campaign_id=campaign.pk)
                   .values_list("next_attempt_at", flat=True))
    assert [round((t - times[0]).total_seconds()) for t in times] == [0, 60]
    assert abs((times[0] - at).total_seconds()) < 1


def test_local_time_sends_at_each_contacts_wall_clock(world, scoped, launch):
    world["ada"].time_zone = "Asia/Dubai"
    world["ada"].save()
    world["bo"].time_zone = "UTC"
    world["bo"].save()
    at = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0,
                                                      microsecond=0)
    campaign = make(scoped, world, send_local_time=True, time_zone="UTC", scheduled_at=at)
    launch(scoped, campaign)
    svc.campaign_run(tenant=scoped, campaign_id=campaign.pk, now=at - timedelta(hours=5))
    due = {m.contact_id: m.next_attempt_at
           for m in campaign_messages(tenant=scoped, campaign_id=campaign.pk)}
    assert due[world["bo"].pk] == at
    assert due[world["ada"].pk] == at - timedelta(hours=4)


def test_pause_holds_resume_releases_cancel_discards(world, scoped, launch):
    campaign = make(scoped, world)
    launch(scoped, campaign)
    first = list(Message.objects.order_by("pk").values_list("pk", flat=True))
    Message.objects.filter(contact=world["bo"]).update(status="SENT")
    svc.campaign_pause(tenant=scoped, actor=SYSTEM, campaign=campaign)
    assert dict(Message.objects.values_list("contact_id", "status")) == {
        world["ada"].pk: "HELD", world["bo"].pk: "SENT"}
    campaign.refresh_from_db()
    svc.campaign_resume(tenant=scoped, actor=SYSTEM, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == "ACTIVE"
    assert list(Message.objects.order_by("pk").values_list("pk", flat=True)) == first
    assert Message.objects.get(contact=world["ada"]).status == "QUEUED"
    svc.campaign_cancel(tenant=scoped, actor=SYSTEM, campaign=campaign)
    assert Message.objects.get(contact=world["ada"]).status == "DISCARDED"
    assert Message.objects.get(contact=world["bo"]).status == "SENT"
    with pytest.raises(Conflict):
        svc.campaign_resume(tenant=scoped, actor=SYSTEM, campaign=campaign)


def test_paused_campaign_does_not_run(world, scoped, launch):
    campaign = make(scoped, world, scheduled_at=timezone.now() + timedelta(hours=1))
    launch(scoped, campaign)
    svc.campaign_pause(tenant=scoped, actor=SYSTEM, campaign=campaign)
    later = timezone.now() + timedelta(hours=2)
    assert svc.campaign_run(tenant=scoped, campaign_id=campaign.pk, now=later) is None
    campaign.refresh_from_db()
    svc.campaign_resume(tenant=scoped, actor=SYSTEM, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == "SCHEDULED"
    assert svc.campaign_run(tenant=scoped, campaign_id=campaign.pk, now=later).target_count == 2


def test_recurring_runs_until_the_end(world, scoped, launch):
    first = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0)
    if first <= timezone.now():
        first += timedelta(days=1)
    campaign = make(scoped, world, type="RECURRING", cron="0 9 * * *", time_zone="UTC",
                    end_at=first + timedelta(days=1, hours=1))
    launch(scoped, campaign)
    campaign.refresh_from_db()
    runs = 0
    assert campaign.next_run_at == first
    while campaign.next_run_at is not None and runs < 5:
        assert campaign.next_run_at.hour == 9
        svc.campaign_run(tenant=scoped, campaign_id=campaign.pk, now=campaign.next_run_at)
        campaign.refresh_from_db()
        runs += 1
    assert runs == 2 and Message.objects.count() == 4
    Message.objects.update(status="SENT")
    svc.campaigns_complete_drained(tenant=scoped)
    campaign.refresh_from_db()
    assert campaign.status == "COMPLETED"


def test_triggered_campaign_sends_once_per_activity(world, scoped, launch,
                                                    django_capture_on_commit_callbacks):
    from tend.people.services.activities import activity_record

    campaign = make(scoped, world, type="TRIGGERED", segment_ids=[],
                    exclude_segment_ids=[], trigger_activity_type="TEETIME_BOOKED",
                    trigger_rule={"combinator": "and", "rules": [
                        {"field": "firstName", "operator": "equals", "value": "Ada"}]})
    launch(scoped, campaign)
    for who in ("ada", "bo", "ada"):
        with django_capture_on_commit_callbacks(execute=True):
            activity_record(tenant=scoped, actor=SYSTEM, type="TEETIME_BOOKED",
                            contact=world[who])
    assert list(Message.objects.values_list("contact_id", flat=True)) == [world["ada"].pk] * 2
    campaign.refresh_from_db()
    assert campaign.target_count == 2


def test_tick_runs_due_campaigns_and_completes_drained_ones(world, scoped, launch,
                                                            django_capture_on_commit_callbacks):
    from tend.core.tenancy import system_scope
    from tend.marketing.tasks_campaigns import campaigns_due_tick

    campaign = make(scoped, world, scheduled_at=timezone.now() + timedelta(minutes=5))
    launch(scoped, campaign)
    assert Message.objects.count() == 0
    with system_scope(), django_capture_on_commit_callbacks(execute=True):
        assert campaigns_due_tick(timezone.now()) == 0
    Campaign.objects.filter(pk=campaign.pk).update(
        next_run_at=timezone.now() - timedelta(seconds=1))  # its time has come
    with system_scope(), django_capture_on_commit_callbacks(execute=True):
        assert campaigns_due_tick(timezone.now()) == 1
    campaign.refresh_from_db()
    assert (campaign.status, campaign.run_count, Message.objects.count()) == ("ACTIVE", 1, 2)
    Message.objects.update(status="DELIVERED")
    with system_scope(), django_capture_on_commit_callbacks(execute=True):
        campaigns_due_tick(timezone.now())
    campaign.refresh_from_db()
    assert campaign.status == "COMPLETED" and campaign.stats_at is not None
