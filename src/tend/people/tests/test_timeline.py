from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.people.models import Activity
from tend.people.selectors.timeline import timeline_for
from tend.people.services.notes import note_create
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor
from tend.people.timeline import (
    DEFAULT_RENDERER,
    TimelineRenderer,
    register_timeline_renderer,
    render_activity,
    renderer_for,
)


def _activity(**fields):
    fields.setdefault("title", "")
    fields.setdefault("metadata", {})
    return Activity(**fields)


def test_exact_type_wins_over_prefix_and_longer_prefix_wins():
    exact = TimelineRenderer("star", "Exact %(title)s")
    short = TimelineRenderer("dot", "Short")
    longer = TimelineRenderer("ring", "Longer")
    register_timeline_renderer("ZZTEST_", short)
    register_timeline_renderer("ZZTEST_LONG*", longer)
    register_timeline_renderer("zztest_long_one", exact)
    assert renderer_for("ZZTEST_LONG_ONE") is exact
    assert renderer_for("ZZTEST_LONG_TWO") is longer
    assert renderer_for("ZZTEST_OTHER") is short
    assert renderer_for("UNKNOWN_THING") is DEFAULT_RENDERER


def test_titles_fill_from_fields_and_metadata_and_translate_choices():
    entry = render_activity(_activity(type="INTERACTION_LOGGED", title="Phone",
                                      metadata={"direction": "INBOUND"}))
    assert (entry.icon, entry.glyph, entry.title) == ("chat", "✆", "Phone (inbound)")
    consent = render_activity(_activity(type="CONSENT_CHANGED", title="Email",
                                        metadata={"status": "REVOKED"}))
    assert consent.title == "Consent for Email: revoked"
    register_timeline_renderer("ZZTEST_MISSING", TimelineRenderer("x", "Paid %(amount)s"))
    assert render_activity(_activity(type="ZZTEST_MISSING", title="t")).title == "Paid"
    unknown = render_activity(_activity(type="SOMETHING_NEW", title=""))
    assert (unknown.icon, unknown.glyph, unknown.title) == ("dot", "•", "Something new")


def test_people_types_are_registered():
    for type_ in ("CONTACT_CREATED", "CONTACT_UPDATED", "NOTE_ADDED", "INTERACTION_LOGGED",
                  "CONSENT_CHANGED", "CONTACT_MERGED", "SEGMENT_ENTERED"):
        assert renderer_for(type_) is not DEFAULT_RENDERER, type_


@pytest.fixture
def contact(tenant):
    return make_contact(tenant)


def test_timeline_filters_and_private_notes(scoped, owner, contact, make_user):
    now = timezone.now()
    for type_, category, days in [("EVENT_ATTENDED", "EVENTS", 1),
                                  ("DONATION_RECEIVED", "FINANCIAL", 10),
                                  ("EMAIL_OPENED", "MARKETING", 100)]:
        Activity.objects.create(tenant=scoped, contact=contact, type=type_, category=category,
                                occurred_at=now - timedelta(days=days))
    actor = member_actor(scoped, owner)
    note_create(tenant=scoped, actor=actor, contact=contact, body="mine", is_private=True)
    colleague = make_user("c@example.com")
    add_member(scoped, colleague, "manager")
    other = member_actor(scoped, colleague)

    def types(who, **filters):
        return [a.type for a in timeline_for(tenant=scoped, actor=who, contact=contact,
                                             filters=filters)]

    assert types(actor) == ["NOTE_ADDED", "EVENT_ATTENDED", "DONATION_RECEIVED",
                            "EMAIL_OPENED"]
    assert types(other) == ["EVENT_ATTENDED", "DONATION_RECEIVED", "EMAIL_OPENED"]
    assert types(Actor.system()) == ["EVENT_ATTENDED", "DONATION_RECEIVED", "EMAIL_OPENED"]
    assert types(other, category="FINANCIAL") == ["DONATION_RECEIVED"]
    assert types(other, type=["EMAIL_OPENED", "EVENT_ATTENDED"]) == [
        "EVENT_ATTENDED", "EMAIL_OPENED"]
    today = timezone.localdate()
    assert types(other, since=today - timedelta(days=30)) == ["EVENT_ATTENDED",
                                                              "DONATION_RECEIVED"]
    assert types(other, until=today - timedelta(days=5)) == ["DONATION_RECEIVED",
                                                             "EMAIL_OPENED"]
