"""The attention page's kept statement: a page is one query once its statement is kept, it
agrees with the list's query, and a change of the thresholds, of the rule configuration, of
the instant or of the viewer's unit scope shows at the very next page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tend.community.models import CareSummary, UnitMembership
from tend.community.selectors.care_attention import Attention, attention_list
from tend.community.selectors.care_attention_page import forget_statements, kept_statements
from tend.community.services.care_attention import attention_settings_update
from tend.community.services.care_mentors import mentor_link_create
from tend.community.services.care_practice import practice_update
from tend.community.services.care_units import (
    unit_create,
    unit_membership_add,
    unit_membership_end,
)
from tend.core.actors import Actor
from tend.core.api.base import encode_cursor
from tend.core.tests.apitools import signed_in
from tend.people.models import IdentityAlias
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor
from tend.rules.registry import bump_fields_version

pytestmark = pytest.mark.django_db
API = "/api/v1"
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh():
    forget_statements()
    yield
    forget_statements()


@pytest.fixture
def world(scoped, owner):
    """Oman > Seeb and Oman > Nizwa; Ana (Seeb, no practice), Ben (Seeb, daily practice,
    a lesson due at noon and the last one half a year ago), Cy (Nizwa, irregular), Dee
    (nowhere, no practice)."""
    actor = member_actor(scoped, owner)
    oman = unit_create(tenant=scoped, actor=actor, name="Oman")
    seeb = unit_create(tenant=scoped, actor=actor, name="Seeb", parent=oman)
    nizwa = unit_create(tenant=scoped, actor=actor, name="Nizwa", parent=oman)
    people = {}
    for name, unit, regularity in (("Ana", seeb, "NONE"), ("Ben", seeb, "DAILY"),
                                   ("Cy", nizwa, "IRREGULAR"), ("Dee", None, "NONE")):
        person = make_contact(scoped, first_name=name, last_name="", display_name=name)
        if unit is not None:
            unit_membership_add(tenant=scoped, actor=actor, unit=unit, contact=person)
        practice_update(tenant=scoped, actor=actor, contact=person, regularity=regularity)
        people[name] = person
    CareSummary.objects.filter(contact=people["Ben"]).update(
        next_lesson_at=NOON, last_lesson_at=NOON - timedelta(days=180), lessons_received=1)
    return {"actor": actor, "oman": oman, "seeb": seeb, "nizwa": nizwa, **people}


def page(tenant, now=NOON, **kwargs):
    return [(str(r.contact), r.clauses) for r in Attention(tenant, now).page(**kwargs)]


def orm_page(tenant, now=NOON, **kwargs):
    attention = Attention(tenant, now)
    rows = attention.reasons(list(attention.people(**kwargs)[:100]))
    return [(str(r.contact), r.clauses) for r in rows]


def test_a_kept_page_is_one_query_and_agrees_with_the_list(scoped, world):
    for kwargs in ({}, {"unit": world["oman"]}, {"unit": world["seeb"]},
                   {"unit": world["nizwa"]}):
        first = page(scoped, **kwargs)
        assert first == orm_page(scoped, **kwargs)
        with CaptureQueriesContext(connection) as queries:
            assert page(scoped, **kwargs) == first
        assert len(queries) == 1
    assert page(scoped) == [("Ana", ["practice"]), ("Ben", ["lesson"]),
                            ("Cy", ["practice"]), ("Dee", ["practice"])]
    assert page(scoped, unit=world["seeb"]) == [("Ana", ["practice"]), ("Ben", ["lesson"])]
    assert kept_statements() == 2  # with and without a unit: the unit is a parameter


def test_the_instant_is_a_parameter_of_the_kept_statement(scoped, world):
    # Ben's next lesson is allowed from noon: before it, he does not need attention.
    assert page(scoped, now=NOON - timedelta(hours=1)) == [
        ("Ana", ["practice"]), ("Cy", ["practice"]), ("Dee", ["practice"])]
    with CaptureQueriesContext(connection) as queries:
        assert ("Ben", ["lesson"]) in page(scoped, now=NOON + timedelta(hours=1))
    assert len(queries) == 1


def test_a_threshold_change_shows_at_the_next_page(scoped, world):
    assert ("Ben", ["lesson"]) in page(scoped)
    attention_settings_update(tenant=scoped, actor=world["actor"],
                              data={"months_since_lesson": 12})
    assert [name for name, _ in page(scoped)] == ["Ana", "Cy", "Dee"]
    mentor = make_contact(scoped, first_name="Mo", display_name="Mo")
    mentor_link_create(tenant=scoped, actor=world["actor"], mentor=mentor, mentee=world["Ana"],
                       started_at=NOON - timedelta(days=40))
    assert page(scoped, mentor=mentor) == [("Ana", ["contact", "practice"])]
    attention_settings_update(tenant=scoped, actor=world["actor"],
                              data={"days_since_contact": 60})
    assert page(scoped, mentor=mentor) == [("Ana", ["practice"])]


def test_a_configuration_change_compiles_the_statement_afresh(scoped, world):
    page(scoped)
    with CaptureQueriesContext(connection) as queries:
        page(scoped)
    assert len(queries) == 1
    bump_fields_version(scoped.pk)
    with CaptureQueriesContext(connection) as queries:
        assert page(scoped) == orm_page(scoped)
    # The kept statement ran, saw another token, and the page was compiled and run again.
    assert len(queries) > 2
    with CaptureQueriesContext(connection) as queries:
        page(scoped)
    assert len(queries) == 1


def test_a_statement_is_kept_for_an_organization_without_a_token_row(scoped, world):
    from tend.rules.models import FieldsVersion

    FieldsVersion.objects.filter(tenant_id=scoped.pk).delete()
    first = page(scoped)
    assert first == orm_page(scoped)
    with CaptureQueriesContext(connection) as queries:
        assert page(scoped) == first
    assert len(queries) == 1


def test_pages_follow_the_cursor(scoped, world):
    first = Attention(scoped, NOON).page(limit=2)
    last = first[-1].contact
    rest = Attention(scoped, NOON).page(limit=2, after=(last.display_name, last.pk))
    assert [str(r.contact) for r in first + rest] == ["Ana", "Ben", "Cy", "Dee"]


def test_api_pages_with_a_cursor_and_rejects_a_bad_one(tenant, owner, world):
    client = signed_in(owner, tenant)
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"{API}/community/attention", query).json()
        seen += [item["name"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [c.display_name for c in attention_list(tenant=tenant)]
    for bad in ("nope", encode_cursor(["Ana", "not-a-uuid"]), encode_cursor([1, 2]),
                encode_cursor(["A\x00", "0190a000-0000-7000-8000-000000000000"]),
                encode_cursor(["\ud800", "0190a000-0000-7000-8000-000000000000"])):
        response = client.get(f"{API}/community/attention", {"cursor": bad})
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "cursor", "loc": ["cursor"], "message": "Not a cursor from this list."}]


def test_a_unit_scoped_secretary_stays_limited_when_the_scope_changes(
        tenant, owner, make_user, world):
    secretary = make_user("secretary@example.com")
    membership = add_member(tenant, secretary, "manager")
    sara = make_contact(tenant, first_name="Sara", display_name="Sara")
    IdentityAlias.objects.create(tenant=tenant, contact=sara, type="AUTH_USER",
                                 value=str(secretary.pk))
    role = unit_membership_add(tenant=tenant, actor=world["actor"], unit=world["seeb"],
                               contact=sara, role="SECRETARY", scope_staff=True)
    actor = Actor(kind="user", user=secretary, membership=membership,
                  permissions=membership.role.permission_set())
    assert page(tenant, actor=actor) == [("Ana", ["practice"]), ("Ben", ["lesson"])]
    assert page(tenant, actor=actor) == orm_page(tenant, actor=actor)
    # The limit as last seen is checked by the page's own statement: one query.
    with CaptureQueriesContext(connection) as queries:
        assert page(tenant, actor=actor) == [("Ana", ["practice"]), ("Ben", ["lesson"])]
    assert len(queries) == 1
    assert page(tenant, actor=actor, unit=world["nizwa"]) == []
    # Moved to Nizwa: the next page is Nizwa's (and Sara's own unit membership there).
    unit_membership_end(tenant=tenant, actor=world["actor"], membership=role,
                        until=timezone.localdate())
    unit_membership_add(tenant=tenant, actor=world["actor"], unit=world["nizwa"],
                        contact=sara, role="SECRETARY", scope_staff=True)
    assert page(tenant, actor=actor) == [("Cy", ["practice"])]
    # Nizwa moved under Seeb: the scope (Nizwa's subtree) has a new path.
    from tend.community.services.care_units import unit_update

    unit_update(tenant=tenant, actor=world["actor"], unit=world["nizwa"], parent=world["seeb"],
                move=True)
    assert page(tenant, actor=actor) == [("Cy", ["practice"])]
    # Seeb under Nizwa instead: Seeb's people join the scope at the next page.
    unit_update(tenant=tenant, actor=world["actor"], unit=world["nizwa"], parent=world["oman"],
                move=True)
    unit_update(tenant=tenant, actor=world["actor"], unit=world["seeb"], parent=world["nizwa"],
                move=True)
    assert page(tenant, actor=actor) == [("Ana", ["practice"]), ("Ben", ["lesson"]),
                                         ("Cy", ["practice"])]
    # No longer a scoping secretary: everyone.
    UnitMembership.objects.filter(contact=sara).update(scope_staff=False)
    assert [name for name, _ in page(tenant, actor=actor)] == ["Ana", "Ben", "Cy", "Dee"]
    client = signed_in(secretary, tenant)
    assert [i["name"] for i in client.get(f"{API}/community/attention").json()["items"]] == [
        "Ana", "Ben", "Cy", "Dee"]
    # A secretary again, of Seeb (now inside Nizwa): limited again at the next page.
    UnitMembership.objects.filter(contact=sara, unit=world["nizwa"]).update(scope_staff=True)
    unit_membership_add(tenant=tenant, actor=world["actor"], unit=world["seeb"],
                        contact=sara, role="LEADER", scope_staff=True)
    assert page(tenant, actor=actor) == [("Ana", ["practice"]), ("Ben", ["lesson"]),
                                         ("Cy", ["practice"])]
    UnitMembership.objects.filter(contact=sara, unit=world["nizwa"]).update(scope_staff=False)
    assert page(tenant, actor=actor) == [("Ana", ["practice"]), ("Ben", ["lesson"])]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Muscat"])
def test_the_statement_is_kept_in_the_organization_s_time_zone(scoped, world, zone):
    scoped.time_zone = zone
    scoped.save(update_fields=["time_zone"])
    for now in (NOON - timedelta(hours=11), NOON - timedelta(hours=1), NOON + timedelta(hours=1),
                NOON + timedelta(hours=11)):
        first = page(scoped, now=now, unit=world["oman"])
        assert first == orm_page(scoped, now=now, unit=world["oman"])
        with CaptureQueriesContext(connection) as queries:
            assert page(scoped, now=now, unit=world["oman"]) == first
        assert len(queries) == 1
