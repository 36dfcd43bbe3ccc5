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


def test_cursor_bound_reads_only_aware_times():
    from datetime import UTC, datetime

    from tend.people.selectors.timeline import cursor_bound

    assert cursor_bound(None) is None
    assert cursor_bound(["2030-01-02T03:04:05.000006+00:00", "x"]) == datetime(
        2030, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert cursor_bound(["2030-01-02T03:04:05", "x"]) is None  # naive
    assert cursor_bound(["not a time", "x"]) is None


def test_next_pages_start_the_index_range_at_the_cursor(tenant, owner, contact,
                                                       django_assert_num_queries):
    """A next page bounds `occurred_at` by the cursor's (so the database reads from there,
    not from the newest entry), and still returns every row once, ties included."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tend.core.tenancy import tenant_scope
    from tend.core.tests.apitools import signed_in

    now = timezone.now()
    with tenant_scope(tenant):
        Activity.objects.bulk_create([
            Activity(tenant=tenant, contact=contact, type="EVENT_ATTENDED", title=f"E{i}",
                     occurred_at=now - timedelta(minutes=i // 3)) for i in range(30)])
    client = signed_in(owner, tenant)
    url = f"/api/v1/contacts/{contact.pk}/timeline"
    first = client.get(url, {"limit": 4}).json()
    seen, cursor = [i["title"] for i in first["items"]], first["next_cursor"]
    while cursor:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url, {"limit": 4, "cursor": cursor}).json()
        timeline_sql = [q["sql"] for q in queries.captured_queries
                        if 'FROM "people_activity"' in q["sql"]]
        assert len(timeline_sql) == 1 and '"occurred_at" <= ' in timeline_sql[0]
        seen += [i["title"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(f"E{i}" for i in range(30))
    assert len(seen) == 30
