"""Unit-scoped staff beyond the contact pages: the attention list, mentor lists and unit
members (care pages and API), and the lists of other apps that show people — segment members,
inbox conversations, campaign recipients, everyone's reminders — never show another unit's
people. Unscoped staff
still see everyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.community.services.care_mentors import mentor_link_create
from tend.community.services.care_practice import practice_update
from tend.community.services.care_units import unit_create, unit_membership_add
from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.marketing.models import Campaign, CampaignInteraction
from tend.marketing.tests.campaign_helpers import account, segment_of
from tend.messaging.models import Conversation
from tend.people.models import IdentityAlias
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def world(tenant, owner, make_user):
    """Oman > Seeb and Oman > Nizwa. Sara is Seeb's secretary, limited to it, and mentors
    Ana (Seeb) and Omar (Nizwa); both need attention. Each has a conversation, is in one
    segment and received one campaign."""
    actor = member_actor(tenant, owner)
    secretary = make_user("secretary@example.com")
    add_member(tenant, secretary, "manager")
    with tenant_scope(tenant):
        oman = unit_create(tenant=tenant, actor=actor, name="Oman")
        seeb = unit_create(tenant=tenant, actor=actor, name="Seeb", parent=oman)
        nizwa = unit_create(tenant=tenant, actor=actor, name="Nizwa", parent=oman)
        sara = make_contact(tenant, first_name="Sara", last_name="Sec", display_name="Sara Sec")
        IdentityAlias.objects.create(tenant=tenant, contact=sara, type="AUTH_USER",
                                     value=str(secretary.pk))
        unit_membership_add(tenant=tenant, actor=actor, unit=seeb, contact=sara,
                            role="SECRETARY", scope_staff=True)
        ana = make_contact(tenant, first_name="Ana", last_name="Seeb", display_name="Ana Seeb")
        omar = make_contact(tenant, first_name="Omar", last_name="Nizwa",
                            display_name="Omar Nizwa")
        unit_membership_add(tenant=tenant, actor=actor, unit=seeb, contact=ana)
        unit_membership_add(tenant=tenant, actor=actor, unit=nizwa, contact=omar)
        for person in (ana, omar):
            mentor_link_create(tenant=tenant, actor=actor, mentor=sara, mentee=person,
                               started_at=timezone.now() - timedelta(days=90))
            practice_update(tenant=tenant, actor=actor, contact=person, regularity="NONE")
        email = account(tenant)
        conversations = {}
        for person in (ana, omar):
            conversations[person.first_name] = Conversation.objects.create(
                tenant=tenant, contact=person, account=email, last_message_at=timezone.now())
        campaign = Campaign.objects.create(tenant=tenant, name="Newsletter")
        for person in (ana, omar):
            CampaignInteraction.objects.create(tenant=tenant, campaign=campaign,
                                               contact=person, type="SENT", channel="EMAIL",
                                               occurred_at=timezone.now())
    segment = segment_of(tenant, "Everyone here", [ana, omar])
    return {"scoped": signed_in(secretary, tenant), "owner": signed_in(owner, tenant),
            "ana": ana, "omar": omar, "sara": sara, "seeb": seeb, "nizwa": nizwa, "oman": oman,
            "segment": segment, "campaign": campaign, "conversations": conversations}


def names(items, key="name"):
    return sorted(str(item[key]) for item in items)


def test_attention_list_page_and_api(world):
    scoped, owner = world["scoped"], world["owner"]
    assert names(scoped.get(f"{API}/community/attention").json()["items"]) == ["Ana Seeb"]
    assert names(owner.get(f"{API}/community/attention").json()["items"]) == [
        "Ana Seeb", "Omar Nizwa"]
    # Asking for the other unit gives nobody, not its people.
    other = scoped.get(f"{API}/community/attention", {"unit_id": str(world["nizwa"].pk)})
    assert other.json()["items"] == []
    page = scoped.get("/o/acme/community/attention/").content.decode()
    assert "Ana Seeb" in page and "Omar Nizwa" not in page
    assert "Omar Nizwa" in owner.get("/o/acme/community/attention/").content.decode()
    # Filtering by a mentor the scoped member cannot see is a 404.
    assert scoped.get(f"{API}/community/attention",
                      {"mentor_id": str(world["omar"].pk)}).status_code == 404


def test_mentor_lists_page_and_api(world):
    scoped = world["scoped"]
    mine = scoped.get(f"{API}/community/my-mentees").json()["items"]
    assert names(mine, "mentee_name") == ["Ana Seeb"]
    page = scoped.get("/o/acme/community/mentees/").content.decode()
    assert "Ana Seeb" in page and "Omar Nizwa" not in page
    # Sara's own contact: her mentees listed through the contact API.
    sara = world["sara"].pk
    links = scoped.get(f"{API}/contacts/{sara}/mentors").json()
    assert names(links, "mentee_name") == ["Ana Seeb"]
    assert scoped.get(f"{API}/contacts/{world['omar'].pk}/mentors").status_code == 404
    contact_page = scoped.get(f"/o/acme/people/contacts/{sara}/").content.decode()
    assert "Ana Seeb" in contact_page and "Omar Nizwa" not in contact_page


def test_unit_members_page_and_api(world):
    scoped, owner = world["scoped"], world["owner"]
    url = f"{API}/community/units/{world['oman'].pk}/members"
    assert names(scoped.get(url, {"subtree": "true"}).json()["items"], "contact_name") == [
        "Ana Seeb", "Sara Sec"]
    assert names(owner.get(url, {"subtree": "true"}).json()["items"], "contact_name") == [
        "Ana Seeb", "Omar Nizwa", "Sara Sec"]
    page = scoped.get(f"/o/acme/community/units/{world['nizwa'].pk}/").content.decode()
    assert "Omar Nizwa" not in page
    assert "Omar Nizwa" in owner.get(
        f"/o/acme/community/units/{world['nizwa'].pk}/").content.decode()


def test_segment_members_page_and_api(world):
    scoped, owner = world["scoped"], world["owner"]
    url = f"{API}/segments/{world['segment'].pk}/members"
    listed = scoped.get(url).json()["items"]
    assert [str(m["contact"]["id"]) for m in listed] == [str(world["ana"].pk)]
    assert len(owner.get(url).json()["items"]) == 2
    page = scoped.get(f"/o/acme/marketing/segments/{world['segment'].pk}/").content.decode()
    assert "Ana Seeb" in page and "Omar Nizwa" not in page
    assert "Omar Nizwa" in owner.get(
        f"/o/acme/marketing/segments/{world['segment'].pk}/").content.decode()


def test_inbox_conversations_page_and_api(world):
    scoped, owner = world["scoped"], world["owner"]
    listed = scoped.get(f"{API}/conversations").json()["items"]
    assert [str(c["contact"]["id"]) for c in listed] == [str(world["ana"].pk)]
    assert len(owner.get(f"{API}/conversations").json()["items"]) == 2
    assert scoped.get(f"{API}/conversations/counts").json()["all"] == 1
    omar_conv = world["conversations"]["Omar"]
    assert scoped.get(f"{API}/conversations/{omar_conv.pk}").status_code == 404
    assert scoped.get(f"{API}/conversations/{omar_conv.pk}/messages").status_code == 404
    assert owner.get(f"{API}/conversations/{omar_conv.pk}").status_code == 200
    page = scoped.get("/o/acme/messaging/inbox/").content.decode()
    assert "Ana Seeb" in page and "Omar Nizwa" not in page
    assert "Omar Nizwa" in owner.get("/o/acme/messaging/inbox/").content.decode()
    assert scoped.get(f"/o/acme/messaging/inbox/{omar_conv.pk}/").status_code == 404


def test_campaign_recipients_api(world):
    scoped, owner = world["scoped"], world["owner"]
    url = f"{API}/campaigns/{world['campaign'].pk}/interactions"
    listed = scoped.get(url).json()["items"]
    assert [str(i["contact_id"]) for i in listed] == [str(world["ana"].pk)]
    assert len(owner.get(url).json()["items"]) == 2


def test_reminders_everyone_page_and_api(world):
    from tend.marketing.services import reminders as svc

    tenant = world["ana"].tenant
    with tenant_scope(tenant):
        rule = svc.reminder_rule_create(tenant=tenant, actor=Actor.system(), data={
            "name": "Practice", "type": "PRACTICE_CHECKIN", "recipients": ["mentor"]})
        svc.reminder_rule_run(tenant=tenant, rule=rule)
    scoped, owner = world["scoped"], world["owner"]
    listed = scoped.get(f"{API}/reminders", {"scope": "all"}).json()["items"]
    assert [str(r["contact_id"]) for r in listed] == [str(world["ana"].pk)]
    assert len(owner.get(f"{API}/reminders", {"scope": "all"}).json()["items"]) == 2
    page = scoped.get("/o/acme/marketing/reminders/", {"scope": "all"}).content.decode()
    assert "Ana Seeb" in page and "Omar Nizwa" not in page


def test_a_scope_ends_on_the_organizations_day_not_the_servers(world, tenant):
    """Sara's Seeb membership ends on a day that is today in one calendar and tomorrow in the
    other (the organization's zone is a day away from UTC's right now): whether she is still
    limited to Seeb follows the organization's day."""
    from datetime import UTC, datetime

    from tend.community.models import UnitMembership
    from tend.core.zones import tenant_today

    tenant.time_zone = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Etc/GMT+12"
    tenant.save(update_fields=["time_zone"])
    utc_today, org_today = datetime.now(UTC).date(), tenant_today(tenant)
    assert utc_today != org_today
    until = max(utc_today, org_today)
    with tenant_scope(tenant):
        UnitMembership.objects.filter(contact=world["sara"]).update(until=until)
    seen = names(world["scoped"].get(f"{API}/community/attention").json()["items"])
    if until > org_today:  # still a member on the organization's day: limited to Seeb
        assert seen == ["Ana Seeb"]
    else:  # her membership ended today: no unit limits her
        assert seen == ["Ana Seeb", "Omar Nizwa"]
