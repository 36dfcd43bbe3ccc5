"""The care rule fields: exact answers per field, and for random rules over random people the
SQL back end and the Python back end select the same contacts (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.community.models import (
    CareSummary,
    Initiation,
    MentorLink,
    Unit,
    UnitMembership,
    UserTrait,
)
from tend.core.tenancy import tenant_scope
from tend.people.models import Contact
from tend.rules import rule_clean
from tend.rules.tests.helpers import NOW, both, python_members, sql_members

pytestmark = pytest.mark.django_db

REGULARITIES = ["NONE", "IRREGULAR", "WEEKLY", "DAILY", "TWICE_DAILY"]
HOURS = st.one_of(st.none(), st.integers(min_value=-24 * 200, max_value=48))
ZONES = ["UTC", "Asia/Dubai", "America/Los_Angeles"]


def _tree(tenant: Any) -> list[Unit]:
    root = Unit(tenant=tenant, name="Country", depth=0)
    root.path = f"{root.pk.hex}/"
    root.save()
    region = Unit(tenant=tenant, name="Region", parent=root, depth=1)
    region.path = f"{root.path}{region.pk.hex}/"
    region.save()
    city = Unit(tenant=tenant, name="City", parent=region, depth=2)
    city.path = f"{region.path}{city.pk.hex}/"
    city.save()
    other = Unit(tenant=tenant, name="Elsewhere", depth=0)
    other.path = f"{other.pk.hex}/"
    other.save()
    return [root, region, city, other]


person_st = st.fixed_dictionaries({
    "summary": st.booleans(),
    "regularity": st.sampled_from(["", *REGULARITIES]),
    "contact": HOURS, "lessons": st.integers(min_value=0, max_value=6),
    "last_lesson": HOURS, "next_lesson": HOURS,
    "unit": st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    "unit_ended": st.booleans(),
    "traits": st.lists(st.sampled_from(["mentor", "acarya", "facilitator"]), unique=True,
                       max_size=2),
    "trait_expired": st.booleans(),
    "initiations": st.lists(st.sampled_from(["INITIATION", "NAMA_MANTRA"]), unique=True,
                            max_size=2),
    "mentor": st.booleans(),
})

NUMBERS = st.integers(min_value=0, max_value=8)


def _leaf(units: list[str]) -> Any:
    elapsed_ops = ["equals", "lessThan", "lessThanOrEqual", "greaterThan",
                   "greaterThanOrEqual"]
    return st.one_of(
        st.builds(lambda o, v: {"field": "care.regularity", "operator": o, "value": v},
                  st.sampled_from(["equals", "notEquals"]), st.sampled_from(REGULARITIES)),
        st.builds(lambda o, v: {"field": "care.regularity", "operator": o, "value": v},
                  st.sampled_from(["in", "notIn"]),
                  st.lists(st.sampled_from(REGULARITIES), min_size=1, max_size=3, unique=True)),
        st.builds(lambda o: {"field": "care.regularity", "operator": o},
                  st.sampled_from(["isEmpty", "isNotEmpty"])),
        st.builds(lambda f, o, v: {"field": f, "operator": o, "value": v},
                  st.sampled_from(["care.daysSinceContact", "care.monthsSinceLesson"]),
                  st.sampled_from(elapsed_ops), st.integers(min_value=0, max_value=200)),
        st.builds(lambda f, a, b: {"field": f, "operator": "between",
                                   "value": [min(a, b), max(a, b)]},
                  st.sampled_from(["care.daysSinceContact", "care.monthsSinceLesson"]),
                  st.integers(min_value=0, max_value=200), st.integers(min_value=0,
                                                                       max_value=200)),
        st.builds(lambda f, o: {"field": f, "operator": o},
                  st.sampled_from(["care.daysSinceContact", "care.monthsSinceLesson",
                                   "care.hasMentor", "care.unit", "care.traits",
                                   "care.initiation"]),
                  st.sampled_from(["isEmpty", "isNotEmpty"])),
        st.builds(lambda o, v: {"field": "care.lessonsReceived", "operator": o, "value": v},
                  st.sampled_from([*elapsed_ops, "notEquals"]), NUMBERS),
        st.builds(lambda o, v: {"field": "care.nextLessonEligible", "operator": o, "value": v},
                  st.sampled_from(["equals", "notEquals"]), st.booleans()),
        st.builds(lambda o, v: {"field": "care.unit", "operator": o, "value": v},
                  st.sampled_from(["equals", "notEquals"]), st.sampled_from(units)),
        st.builds(lambda o, v: {"field": "care.unit", "operator": o, "value": v},
                  st.sampled_from(["in", "notIn"]),
                  st.lists(st.sampled_from(units), min_size=1, max_size=2, unique=True)),
        st.builds(lambda f, o, v: {"field": f[0], "operator": o, "value": v[: f[1]]},
                  st.sampled_from([("care.traits", 3), ("care.initiation", 2)]),
                  st.sampled_from(["hasAny", "hasAll", "hasNone"]),
                  st.just(["mentor", "acarya", "facilitator"])),
    )


def _rule(units: list[str]) -> Any:
    return st.recursive(
        _leaf(units),
        lambda children: st.fixed_dictionaries({
            "combinator": st.sampled_from(["and", "or"]), "not": st.booleans(),
            "rules": st.lists(children, max_size=3)}),
        max_leaves=6,
    ).map(lambda node: node if "rules" in node else {"combinator": "and", "rules": [node]})


def _fix_initiations(node: dict[str, Any]) -> dict[str, Any]:
    if "rules" in node:
        return {**node, "rules": [_fix_initiations(child) for child in node["rules"]]}
    if node["field"] == "care.initiation" and isinstance(node.get("value"), list):
        kinds = ["INITIATION", "NAMA_MANTRA"]
        return {**node, "value": kinds[: max(1, len(node["value"]))]}
    return node


def _at(hours: int | None) -> Any:
    return NOW + timedelta(hours=hours) if hours is not None else None


def create(tenant: Any, people: list[dict[str, Any]], units: list[Unit]) -> None:
    mentor = Contact.objects.create(tenant=tenant, first_name="Mentor")
    for person in people:
        contact = Contact.objects.create(tenant=tenant, first_name="P")
        if person["summary"]:
            CareSummary.objects.create(
                tenant=tenant, contact=contact, regularity=person["regularity"],
                mentor_contact_at=_at(person["contact"]), lessons_received=person["lessons"],
                last_lesson_at=_at(person["last_lesson"]),
                next_lesson_at=_at(person["next_lesson"]))
        if person["unit"] is not None:
            UnitMembership.objects.create(
                tenant=tenant, contact=contact, unit=units[person["unit"]],
                since=date(2020, 1, 1),
                until=date(2021, 1, 1) if person["unit_ended"] else None)
        for trait in person["traits"]:
            UserTrait.objects.create(
                tenant=tenant, contact=contact, trait=trait,
                expires_at=NOW - timedelta(days=1) if person["trait_expired"] else None)
        for kind in person["initiations"]:
            Initiation.objects.create(tenant=tenant, contact=contact, kind=kind,
                                      date=date(2020, 5, 1))
        if person["mentor"]:
            MentorLink.objects.create(tenant=tenant, mentor=mentor, mentee=contact)


class Rollback(Exception):
    pass


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(people=st.lists(person_st, min_size=1, max_size=6), data=st.data(),
       zone=st.sampled_from(ZONES))
def test_sql_and_python_agree_on_care_fields(tenant, people, data, zone):
    with tenant_scope(tenant):
        try:
            with transaction.atomic():
                tenant.time_zone = zone
                tenant.save(update_fields=["time_zone"])
                units = _tree(tenant)
                create(tenant, people, units)
                rule = data.draw(_rule([str(u.pk) for u in units]))
                cleaned = rule_clean(tenant=tenant, rule=_fix_initiations(rule))
                assert sql_members(tenant, cleaned) == python_members(tenant, cleaned)
                raise Rollback
        except Rollback:
            pass


# --- exact answers per field --------------------------------------------------------------------


@pytest.fixture
def world(scoped):
    tenant = scoped
    units = _tree(tenant)
    root, region, city, other = units
    mentor = Contact.objects.create(tenant=tenant, first_name="Mentor")
    people = {}
    for name in ("ana", "ben", "cy", "dee"):
        people[name] = Contact.objects.create(tenant=tenant, first_name=name)
    CareSummary.objects.create(tenant=tenant, contact=people["ana"], regularity="DAILY",
                               mentor_contact_at=NOW - timedelta(days=40), lessons_received=2,
                               last_lesson_at=NOW - timedelta(days=120),
                               next_lesson_at=NOW - timedelta(days=100))
    CareSummary.objects.create(tenant=tenant, contact=people["ben"], regularity="IRREGULAR",
                               mentor_contact_at=NOW - timedelta(hours=2), lessons_received=6,
                               last_lesson_at=NOW - timedelta(days=10))
    CareSummary.objects.create(tenant=tenant, contact=people["cy"], regularity="NONE",
                               lessons_received=1, last_lesson_at=NOW - timedelta(days=20),
                               next_lesson_at=NOW + timedelta(days=5))
    UnitMembership.objects.create(tenant=tenant, contact=people["ana"], unit=city)
    UnitMembership.objects.create(tenant=tenant, contact=people["ben"], unit=region)
    UnitMembership.objects.create(tenant=tenant, contact=people["cy"], unit=other)
    UnitMembership.objects.create(tenant=tenant, contact=people["dee"], unit=root,
                                  until=date(2000, 1, 1), since=date(1999, 1, 1))
    UserTrait.objects.create(tenant=tenant, contact=people["ana"], trait="acarya")
    UserTrait.objects.create(tenant=tenant, contact=people["ben"], trait="mentor",
                             expires_at=NOW - timedelta(days=1))
    Initiation.objects.create(tenant=tenant, contact=people["ben"], kind="NAMA_MANTRA",
                              date=date(2020, 1, 1))
    MentorLink.objects.create(tenant=tenant, mentor=mentor, mentee=people["ana"])
    MentorLink.objects.create(tenant=tenant, mentor=mentor, mentee=people["cy"], active=False)
    return tenant, people, units, mentor


def _names(tenant, rule):
    members = both(tenant, rule_clean(tenant=tenant, rule=rule))
    return sorted(Contact.objects.filter(pk__in=members).values_list("first_name", flat=True))


def _one(field, operator, value=None):
    leaf = {"field": field, "operator": operator}
    if value is not None:
        leaf["value"] = value
    return {"combinator": "and", "rules": [leaf]}


def test_regularity(world):
    tenant = world[0]
    assert _names(tenant, _one("care.regularity", "in", ["NONE", "IRREGULAR"])) == ["ben", "cy"]
    assert _names(tenant, _one("care.regularity", "isEmpty")) == ["Mentor", "dee"]


def test_days_since_contact(world):
    tenant = world[0]
    assert _names(tenant, _one("care.daysSinceContact", "greaterThan", 30)) == ["ana"]
    assert _names(tenant, _one("care.daysSinceContact", "lessThan", 1)) == ["ben"]
    assert _names(tenant, _one("care.daysSinceContact", "isEmpty")) == ["Mentor", "cy", "dee"]


def test_lessons_and_months(world):
    tenant = world[0]
    assert _names(tenant, _one("care.lessonsReceived", "equals", 0)) == ["Mentor", "dee"]
    assert _names(tenant, _one("care.lessonsReceived", "greaterThanOrEqual", 2)) == ["ana",
                                                                                      "ben"]
    assert _names(tenant, _one("care.monthsSinceLesson", "greaterThan", 3)) == ["ana"]
    assert _names(tenant, _one("care.nextLessonEligible", "equals", True)) == ["ana"]
    assert _names(tenant, _one("care.nextLessonEligible", "equals", False)) == [
        "Mentor", "ben", "cy", "dee"]


def test_unit_subtree_mentor_traits_initiations(world):
    tenant, _people, units, _mentor = world
    root, region, city, _other = units
    assert _names(tenant, _one("care.unit", "equals", str(root.pk))) == ["ana", "ben"]
    assert _names(tenant, _one("care.unit", "equals", str(city.pk))) == ["ana"]
    assert _names(tenant, _one("care.unit", "notIn", [str(region.pk)])) == ["Mentor", "cy",
                                                                           "dee"]
    assert _names(tenant, _one("care.hasMentor", "isNotEmpty")) == ["ana"]
    assert _names(tenant, _one("care.traits", "hasAny", ["mentor", "acarya"])) == ["ana"]
    assert _names(tenant, _one("care.initiation", "hasAny", ["NAMA_MANTRA"])) == ["ben"]


def test_elapsed_values_must_be_whole_numbers(world):
    from tend.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        rule_clean(tenant=world[0], rule=_one("care.daysSinceContact", "greaterThan", 2.5))
    assert list(err.value.fields) == ["rules[0].value"]


