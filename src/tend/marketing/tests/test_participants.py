"""Memberships through merges, privacy exports and erasure; the scheduled refresh tick; the
demo; timeline renderers."""

import io
import json
import random
import zipfile
from datetime import timedelta

from django.utils import timezone

from tend.core.actors import Actor
from tend.core.demo import DemoContext, load_core_demo
from tend.core.tenancy import system_scope
from tend.marketing.demo import load_segments_demo
from tend.marketing.models import Segment, SegmentMembership
from tend.marketing.services.membership import segment_add_members
from tend.marketing.services.segments import segment_create
from tend.marketing.tasks import refresh_due_tick
from tend.marketing.tests.helpers import city_rule, member_ids
from tend.people.models import Activity
from tend.people.tests.helpers_360 import make_contact

SYSTEM = Actor.system()


def test_merge_moves_memberships_without_doubling(scoped):
    from tend.people.services.merge import contact_merge

    winner = make_contact(scoped, first_name="Win")
    loser = make_contact(scoped, first_name="Lose")
    both = segment_create(tenant=scoped, actor=SYSTEM, data={"name": "Both"})
    only_loser = segment_create(tenant=scoped, actor=SYSTEM, data={"name": "Loser's"})
    segment_add_members(tenant=scoped, actor=SYSTEM, segment=both,
                        contact_ids=[winner.pk, loser.pk])
    segment_add_members(tenant=scoped, actor=SYSTEM, segment=only_loser,
                        contact_ids=[loser.pk])
    contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=loser)
    assert member_ids(both) == {str(winner.pk)}
    assert member_ids(only_loser) == {str(winner.pk)}
    both.refresh_from_db()
    assert both.member_count == 1


def test_privacy_export_lists_segments_and_erase_removes_them(scoped):
    from tend.people.services.privacy import contact_erase, privacy_export_build

    contact = make_contact(scoped, first_name="Rania")
    segment = segment_create(tenant=scoped, actor=SYSTEM, data={"name": "Donors"})
    segment_add_members(tenant=scoped, actor=SYSTEM, segment=segment, contact_ids=[contact.pk])
    archive = zipfile.ZipFile(io.BytesIO(
        privacy_export_build(tenant=scoped, actor=SYSTEM, contact=contact)))
    parts = json.loads(archive.read("segments.json"))
    assert [(p["segment"], p["type"], p["source"]) for p in parts] == [
        ("Donors", "STATIC", "MANUAL")]
    contact_erase(tenant=scoped, actor=SYSTEM, contact=contact, confirmation="ERASE")
    assert not SegmentMembership.objects.filter(contact=contact).exists()
    segment.refresh_from_db()
    assert segment.member_count == 0


def test_tick_refreshes_due_segments_only(scoped, django_capture_on_commit_callbacks):
    due = segment_create(tenant=scoped, actor=SYSTEM, data={
        "name": "Due", "type": "DYNAMIC", "rule": city_rule("dubai"),
        "refresh_frequency": "HOURLY"})
    manual = segment_create(tenant=scoped, actor=SYSTEM, data={
        "name": "Manual", "type": "DYNAMIC", "rule": city_rule("dubai"),
        "refresh_frequency": "MANUAL"})
    assert manual.next_refresh_at is None
    assert due.next_refresh_at is not None
    make_contact(scoped, first_name="Ada", city="dubai")
    later = timezone.now() + timedelta(hours=2)
    with system_scope(), django_capture_on_commit_callbacks(execute=True):
        Segment.objects.exclude(pk=due.pk).update(next_refresh_at=later + timedelta(days=9))
        assert refresh_due_tick(later) == 1
    assert len(member_ids(due)) == 1
    assert member_ids(manual) == set()


def test_demo_loads_lists_and_audiences(scoped, owner):
    from tend.people.demo_contact_page import load_contact_page_demo
    from tend.people.demo_contacts import load_contacts_demo

    ctx = DemoContext(tenant=scoped, owner=owner, actor=SYSTEM, password=None,
                      rng=random.Random(3))
    load_core_demo(ctx)
    load_contacts_demo(ctx)
    load_contact_page_demo(ctx)
    load_segments_demo(ctx)
    volunteers = Segment.objects.get(name="Retreat volunteers 2026")
    assert volunteers.member_count > 0
    donors = Segment.objects.get(name="Donors in the last 90 days")
    assert donors.type == "DYNAMIC" and donors.member_count > 0
    nested = Segment.objects.get(name="Newsletter readers who are volunteers")
    assert nested.segment_refs == [str(volunteers.pk)]
    assert set(member_ids(nested)) <= set(member_ids(volunteers))


def test_timeline_shows_entered_and_left(scoped):
    from tend.people.timeline import render_activity

    contact = make_contact(scoped)
    segment = segment_create(tenant=scoped, actor=SYSTEM, data={"name": "VIP"})
    segment_add_members(tenant=scoped, actor=SYSTEM, segment=segment, contact_ids=[contact.pk])
    entry = render_activity(Activity.objects.get(type="SEGMENT_ENTERED"))
    assert (entry.icon, entry.title) == ("segment", "Entered segment VIP")


def test_contact_page_lists_the_contacts_segments(scoped, owner):
    from tend.core.tests.apitools import signed_in

    contact = make_contact(scoped, first_name="Rania")
    segment = segment_create(tenant=scoped, actor=SYSTEM, data={"name": "Donors"})
    segment_add_members(tenant=scoped, actor=SYSTEM, segment=segment, contact_ids=[contact.pk])
    page = signed_in(owner, scoped).get(f"/o/acme/people/contacts/{contact.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="contact-segments"' in text and "Donors" in text
