"""Property: for random rules over random contacts, the SQL back end (`rule_contacts`) and the
Python back end (`rule_matches`) select exactly the same contacts — on whichever database the
suite runs (SQLite, or PostgreSQL with row-level security)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.core.models import Tag
from tend.core.tenancy import tenant_scope
from tend.people.models import Activity, Company, Consent, Contact, ContactTag, IdentityAlias
from tend.rules import rule_clean
from tend.rules.tests.helpers import NOW, make_custom_fields, python_members, sql_members

pytestmark = pytest.mark.django_db

# Few, clashing values, so conditions often hit: case and spaces differ, one non-ASCII letter
# with a case, one Arabic word.
WORDS = ["", "dubai", "Dubai", "DUBAI", " dubai", "Éclair", "éclair", "عمان", "ab", "b"]
TEXT_VALUES = ["dubai", "DUBAI", "Dub", "ai", "b", "Éc", "éc", "عم", "x"]
DAYS = st.integers(min_value=-400, max_value=30)
TYPES = ["EMAIL_OPENED", "TICKET_PURCHASED"]
CATEGORIES = ["MARKETING", "EVENTS"]
ZONES = ["UTC", "Asia/Dubai", "America/Los_Angeles", "Pacific/Kiritimati"]


def iso_day(days: int) -> str:
    return (NOW + timedelta(days=days)).date().isoformat()


contact_st = st.fixed_dictionaries({
    "city": st.sampled_from(WORDS),
    "first_name": st.sampled_from(WORDS),
    "status": st.sampled_from(["ACTIVE", "ACTIVE", "INACTIVE", "MERGED", "DELETED"]),
    "gender": st.sampled_from(["", "FEMALE", "MALE"]),
    "dob": st.none() | DAYS,
    "last_activity": st.none() | st.integers(min_value=-400 * 24, max_value=48),
    "score": st.none() | st.integers(min_value=0, max_value=100),
    "custom": st.fixed_dictionaries({}, optional={
        "nickname": st.sampled_from(WORDS[1:]),
        "handicap": st.integers(min_value=-5, max_value=40),
        "balance": st.sampled_from(["12.50", "0.1", "-3", "100"]),
        "joined": DAYS.map(iso_day),
        "renewed_at": st.integers(min_value=-400 * 24, max_value=48).map(
            lambda h: (NOW + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")),
        "vip": st.booleans(),
        "tier": st.sampled_from(["gold", "silver"]),
        "sports": st.lists(st.sampled_from(["golf", "tennis", "swim"]), unique=True,
                           max_size=3),
    }),
    "tags": st.lists(st.integers(min_value=0, max_value=2), unique=True, max_size=3),
    "aliases": st.lists(st.sampled_from(["EMAIL", "PHONE", "TELEGRAM"]), unique=True),
    "consents": st.dictionaries(st.sampled_from(["EMAIL", "SMS"]),
                                st.sampled_from(["GRANTED", "REVOKED", "PENDING"])),
    "activities": st.lists(st.tuples(st.sampled_from(TYPES), st.sampled_from(CATEGORIES),
                                     st.integers(min_value=-120 * 24, max_value=24)),
                           max_size=5),
    "company": st.none() | st.sampled_from(WORDS),
})


def relative_st() -> Any:
    return st.fixed_dictionaries({"amount": st.integers(min_value=0, max_value=40),
                                  "unit": st.sampled_from(["days", "weeks", "months"])})


def date_value(op: str) -> Any:
    if op in ("withinLast", "moreThanAgo"):
        return relative_st()
    if op == "between":
        return st.tuples(DAYS, DAYS).map(lambda p: [iso_day(min(p)), iso_day(max(p))])
    return DAYS.map(iso_day)


def leaf_for(field: str, kind: str) -> Any:
    empties = ["isEmpty", "isNotEmpty"]
    if kind == "string":
        ops = ["equals", "notEquals", "contains", "notContains", "beginsWith", "endsWith"]
        return st.one_of(
            st.tuples(st.sampled_from(ops), st.sampled_from(TEXT_VALUES)),
            st.tuples(st.sampled_from(["in", "notIn"]),
                      st.lists(st.sampled_from(TEXT_VALUES), min_size=1, max_size=3)),
            st.tuples(st.sampled_from(empties), st.none()),
        ).map(lambda p: {"field": field, "operator": p[0], "value": p[1]})
    if kind == "number":
        ops = ["equals", "notEquals", "lessThan", "lessThanOrEqual", "greaterThan",
               "greaterThanOrEqual"]
        numbers = st.sampled_from([0, 12.5, 0.1, -3, 10, 40, 100])
        return st.one_of(
            st.tuples(st.sampled_from(ops), numbers),
            st.tuples(st.just("between"), st.tuples(numbers, numbers).map(sorted)),
            st.tuples(st.sampled_from(empties), st.none()),
        ).map(lambda p: {"field": field, "operator": p[0], "value": p[1]})
    if kind == "date":
        ops = ["equals", "notEquals", "before", "after", "between", "withinLast",
               "moreThanAgo"]
        return st.one_of(
            st.sampled_from(ops).flatmap(
                lambda o: date_value(o).map(lambda v: {"field": field, "operator": o,
                                                        "value": v})),
            st.sampled_from(empties).map(lambda o: {"field": field, "operator": o}),
        )
    if kind == "boolean":
        return st.tuples(st.sampled_from(["equals", "notEquals", *empties]),
                         st.booleans()).map(
            lambda p: {"field": field, "operator": p[0],
                       **({} if p[0] in empties else {"value": p[1]})})
    if kind.startswith("choice:"):
        choices = kind.split(":")[1].split(",")
        return st.one_of(
            st.tuples(st.sampled_from(["equals", "notEquals"]), st.sampled_from(choices)),
            st.tuples(st.sampled_from(["in", "notIn"]),
                      st.lists(st.sampled_from(choices), min_size=1, max_size=2)),
            st.tuples(st.sampled_from(empties), st.none()),
        ).map(lambda p: {"field": field, "operator": p[0], "value": p[1]})
    if kind.startswith("set:"):
        choices = kind.split(":")[1].split(",")
        return st.one_of(
            st.tuples(st.sampled_from(["hasAny", "hasAll", "hasNone"]),
                      st.lists(st.sampled_from(choices), min_size=1, max_size=3)),
            st.tuples(st.sampled_from(empties), st.none()),
        ).map(lambda p: {"field": field, "operator": p[0], "value": p[1]})
    if kind == "exists":
        return st.sampled_from(empties).map(lambda o: {"field": field, "operator": o})
    if kind == "count":
        ops = ["equals", "notEquals", "lessThan", "lessThanOrEqual", "greaterThan",
               "greaterThanOrEqual"]
        return st.tuples(st.sampled_from(ops), st.sampled_from(TYPES),
                         st.none() | st.sampled_from(CATEGORIES),
                         st.none() | st.integers(min_value=1, max_value=60),
                         st.integers(min_value=0, max_value=3)).map(
            lambda p: {"field": field, "operator": p[0], "value": {
                "type": p[1], "category": p[2], "days": p[3], "count": p[4]}})
    if kind == "last":
        def value(o: str) -> Any:
            base = st.fixed_dictionaries({"type": st.sampled_from(TYPES),
                                          "category": st.none() | st.sampled_from(CATEGORIES)})
            if o in ("withinLast", "moreThanAgo"):
                return st.tuples(base, relative_st()).map(lambda p: {**p[0], **p[1]})
            if o in ("before", "after"):
                return st.tuples(base, st.integers(min_value=-120, max_value=2)).map(
                    lambda p: {**p[0], "date": iso_day(p[1])})
            return base
        return st.sampled_from(["withinLast", "moreThanAgo", "before", "after", *empties]
                               ).flatmap(lambda o: value(o).map(
                                   lambda v: {"field": field, "operator": o, "value": v}))
    raise AssertionError(kind)


FIELDS = [
    ("city", "string"), ("firstName", "string"), ("company.city", "string"),
    ("custom.nickname", "string"), ("gender", "choice:FEMALE,MALE,OTHER"),
    ("engagementScore", "number"), ("custom.handicap", "number"), ("custom.balance", "number"),
    ("dateOfBirth", "date"), ("lastActivityAt", "date"), ("custom.joined", "date"),
    ("custom.renewed_at", "date"), ("custom.vip", "boolean"),
    ("custom.tier", "choice:gold,silver"), ("custom.sports", "set:golf,tennis,swim"),
    ("tags", "set:t0,t1,t2"), ("hasEmail", "exists"), ("hasTelegram", "exists"),
    ("consent.email", "choice:GRANTED,REVOKED,PENDING"), ("activityCount", "count"),
    ("lastActivity", "last"),
]
leaf_st = st.one_of(*[leaf_for(f, k) for f, k in FIELDS])
rule_st = st.recursive(
    leaf_st,
    lambda children: st.fixed_dictionaries({
        "combinator": st.sampled_from(["and", "or"]), "not": st.booleans(),
        "rules": st.lists(children, max_size=4)}),
    max_leaves=8,
).map(lambda node: node if "rules" in node else {"combinator": "and", "rules": [node]})


def create(tenant: Any, people: list[dict[str, Any]]) -> None:
    tags = [Tag.objects.create(tenant=tenant, name=f"t{i}", slug=f"t{i}") for i in range(3)]
    for index, person in enumerate(people):
        company = (Company.objects.create(tenant=tenant, name="Co", city=person["company"])
                   if person["company"] is not None else None)
        contact = Contact.objects.create(
            tenant=tenant, city=person["city"], first_name=person["first_name"],
            status=person["status"], gender=person["gender"], custom=person["custom"],
            date_of_birth=(NOW + timedelta(days=person["dob"])).date()
            if person["dob"] is not None else None,
            last_activity_at=NOW + timedelta(hours=person["last_activity"])
            if person["last_activity"] is not None else None,
            engagement_score=person["score"], company=company,
            deleted_at=NOW if person["status"] == "DELETED" else None)
        for tag_index in person["tags"]:
            ContactTag.objects.create(tenant=tenant, contact=contact, tag=tags[tag_index])
        for alias in person["aliases"]:
            IdentityAlias.objects.create(tenant=tenant, contact=contact, type=alias,
                                         value=f"{alias.lower()}-{index}")
        for channel, status in person["consents"].items():
            Consent.objects.create(tenant=tenant, contact=contact, channel=channel,
                                   purpose="MARKETING", status=status)
        for kind, category, hours in person["activities"]:
            Activity.objects.create(tenant=tenant, contact=contact, type=kind,
                                    category=category,
                                    occurred_at=NOW + timedelta(hours=hours))


class Rollback(Exception):
    pass


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(people=st.lists(contact_st, min_size=1, max_size=6), rule=rule_st,
       zone=st.sampled_from(ZONES))
def test_sql_and_python_select_the_same_contacts(tenant, people, rule, zone):
    with tenant_scope(tenant):
        try:
            with transaction.atomic():
                tenant.time_zone = zone
                tenant.save(update_fields=["time_zone"])
                make_custom_fields(tenant)
                create(tenant, people)
                tags = {t.slug: str(t.pk) for t in Tag.objects.filter(tenant=tenant)}
                rule = _name_tags(rule, tags)
                cleaned = rule_clean(tenant=tenant, rule=rule)
                assert sql_members(tenant, cleaned) == python_members(tenant, cleaned)
                raise Rollback
        except Rollback:
            pass


def _name_tags(node: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    if "rules" in node:
        return {**node, "rules": [_name_tags(child, tags) for child in node["rules"]]}
    if node["field"] == "tags" and isinstance(node.get("value"), list):
        return {**node, "value": [tags[v] for v in node["value"]]}
    return node
