"""The rule language: validation with paths, normalization, the documented semantics (empty
values, `not` groups, relative dates in the organization's time zone, aggregates), and what a
rule depends on. Every membership check runs both back ends (`both`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tend.core.errors import ValidationFailed
from tend.core.models import Tag
from tend.people.models import Activity, Company, Consent, Contact, ContactTag, IdentityAlias
from tend.rules import (
    RuleProblem,
    rule_clean,
    rule_contacts,
    rule_dependencies,
    rule_matches,
    rule_segment_refs,
    rule_validate,
)
from tend.rules.tests.helpers import NOW, both, make_custom_fields, one

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(scoped):
    tenant = scoped
    make_custom_fields(tenant)
    ann = Contact.objects.create(tenant=tenant, first_name="Ann", city="Dubai",
                                 custom={"handicap": 12, "sports": ["golf"], "tier": "gold"})
    bob = Contact.objects.create(tenant=tenant, first_name="Bob", city="",
                                 custom={"sports": ["golf", "tennis"]})
    cy = Contact.objects.create(tenant=tenant, first_name="Cy", city="Abu Dhabi")
    gone = Contact.objects.create(tenant=tenant, first_name="Gone", city="Dubai",
                                  status="DELETED", deleted_at=NOW)
    return tenant, ann, bob, cy, gone


# --- validation -------------------------------------------------------------------------------


def test_validate_names_every_problem_with_its_path(people):
    tenant = people[0]
    rule = {"combinator": "xor", "rules": [
        {"field": "city", "operator": "equals", "value": "Dubai"},
        {"combinator": "or", "rules": [
            {"field": "nope", "operator": "equals", "value": 1},
            {"field": "city", "operator": "lessThan", "value": "a"},
            {"field": "custom.handicap", "operator": "greaterThan", "value": "many"},
        ]},
    ]}
    problems = rule_validate(tenant=tenant, rule=rule)
    assert [p.path for p in problems] == [
        "combinator", "rules[1].rules[0].field", "rules[1].rules[1].operator",
        "rules[1].rules[2].value"]
    assert problems[1] == RuleProblem(path="rules[1].rules[0].field",
                                      message="Unknown field “nope”.")
    assert problems[3].message == "Enter a number."


def test_validate_refuses_nesting_too_deep(people):
    tenant = people[0]
    rule: dict = {"combinator": "and", "rules": []}
    inner = rule
    for _ in range(5):
        child: dict = {"combinator": "and", "rules": []}
        inner["rules"].append(child)
        inner = child
    assert [p.path for p in rule_validate(tenant=tenant, rule=rule)] == [
        "rules[0].rules[0].rules[0].rules[0].rules[0]"]


def test_validate_accepts_a_valid_rule_and_rejects_a_non_rule(people):
    tenant = people[0]
    assert rule_validate(tenant=tenant, rule=one("city", "isNotNull")) == []
    assert [p.path for p in rule_validate(tenant=tenant, rule=[1])] == ["rule"]


def test_clean_normalizes_and_raises_with_fields(people):
    tenant = people[0]
    tag = Tag.objects.create(tenant=tenant, name="VIP", slug="vip")
    cleaned = rule_clean(tenant=tenant, rule={"combinator": "OR", "rules": [
        {"field": "custom.handicap", "operator": ">=", "value": "10"},
        {"field": "tags", "operator": "hasAny", "value": ["vip"]},
        {"field": "lastActivityAt", "operator": "withinLast", "value": 7},
        {"field": "city", "operator": "isNull", "value": "ignored"},
    ]})
    assert cleaned == {"combinator": "or", "not": False, "rules": [
        {"field": "custom.handicap", "operator": "greaterThanOrEqual", "value": 10},
        {"field": "tags", "operator": "hasAny", "value": [str(tag.pk)]},
        {"field": "lastActivityAt", "operator": "withinLast",
         "value": {"amount": 7, "unit": "days"}},
        {"field": "city", "operator": "isEmpty"},
    ]}
    with pytest.raises(ValidationFailed) as caught:
        rule_clean(tenant=tenant, rule=one("tags", "hasAny", ["nope"]))
    assert caught.value.fields == {"rules[0].value": ["Unknown tag: nope."]}


def test_a_tag_of_another_organization_is_unknown(people, make_tenant):
    tenant = people[0]
    other = make_tenant("Other", slug="other")
    from tend.core.tenancy import tenant_scope

    with tenant_scope(other):
        foreign = Tag.objects.create(tenant=other, name="x", slug="x")
    with tenant_scope(tenant):
        problems = rule_validate(tenant=tenant, rule=one("tags", "hasAny", [str(foreign.pk)]))
    assert [p.path for p in problems] == ["rules[0].value"]


# --- semantics --------------------------------------------------------------------------------


def test_not_equals_on_an_empty_value_is_true(people):
    tenant, ann, bob, cy, _gone = people
    assert both(tenant, one("city", "notEquals", "dubai")) == {bob.pk, cy.pk}
    assert both(tenant, one("city", "equals", "DUBAI")) == {ann.pk}
    assert both(tenant, one("custom.handicap", "notEquals", 12)) == {bob.pk, cy.pk}
    assert both(tenant, one("custom.handicap", "lessThan", 100)) == {ann.pk}


def test_a_not_group_negates_its_result_including_empty_values(people):
    tenant, ann, bob, cy, _gone = people
    rule = {"combinator": "and", "not": True, "rules": [
        {"field": "custom.handicap", "operator": "greaterThan", "value": 5}]}
    assert both(tenant, rule) == {bob.pk, cy.pk}
    empty_and = {"combinator": "and", "rules": []}
    empty_or = {"combinator": "or", "rules": []}
    assert both(tenant, empty_and) == {ann.pk, bob.pk, cy.pk}
    assert both(tenant, empty_or) == set()
    assert both(tenant, {**empty_or, "not": True}) == {ann.pk, bob.pk, cy.pk}


def test_deleted_and_merged_contacts_never_match(people):
    tenant, _ann, _bob, _cy, gone = people
    assert gone.pk not in both(tenant, one("city", "equals", "dubai"))
    assert rule_matches(tenant=tenant, rule={"combinator": "and", "rules": []},
                        contact=gone) is False


def test_text_operators(people):
    tenant, ann, bob, cy, _gone = people
    assert both(tenant, one("city", "contains", "dha")) == {cy.pk}
    assert both(tenant, one("city", "notContains", "dha")) == {ann.pk, bob.pk}
    assert both(tenant, one("city", "beginsWith", "du")) == {ann.pk}
    assert both(tenant, one("city", "endsWith", "BI")) == {cy.pk}
    assert both(tenant, one("city", "in", ["dubai", "x"])) == {ann.pk}
    assert both(tenant, one("city", "isEmpty")) == {bob.pk}
    assert both(tenant, one("city", "contains", "%")) == set()


def test_multi_choice_and_choice(people):
    tenant, ann, bob, cy, _gone = people
    assert both(tenant, one("custom.sports", "hasAny", ["tennis", "swim"])) == {bob.pk}
    assert both(tenant, one("custom.sports", "hasAll", ["golf", "tennis"])) == {bob.pk}
    assert both(tenant, one("custom.sports", "hasNone", ["tennis"])) == {ann.pk, cy.pk}
    assert both(tenant, one("custom.sports", "isEmpty")) == {cy.pk}
    assert both(tenant, one("custom.tier", "notIn", ["gold"])) == {bob.pk, cy.pk}


def test_relative_dates_count_days_in_the_organization_time_zone(people):
    tenant, ann, bob, cy, _gone = people
    tenant.time_zone = "Asia/Dubai"  # UTC+4: NOW (09:30 UTC) is 13:30 on 15 March
    tenant.save()
    # 20:30 UTC on 13 March is 00:30 on 14 March in Dubai: yesterday, so within the last day.
    ann.last_activity_at = NOW.replace(day=13, hour=20, minute=30)
    ann.save()
    # 19:30 UTC on 13 March is 23:30 on 13 March in Dubai: two days ago.
    bob.last_activity_at = NOW.replace(day=13, hour=19, minute=30)
    bob.save()
    assert both(tenant, one("lastActivityAt", "withinLast", 1)) == {ann.pk}
    assert both(tenant, one("lastActivityAt", "moreThanAgo", 1)) == {bob.pk}
    assert both(tenant, one("lastActivityAt", "equals", "2025-03-14")) == {ann.pk}
    assert both(tenant, one("lastActivityAt", "before", "2025-03-14")) == {bob.pk}
    assert both(tenant, one("lastActivityAt", "isEmpty")) == {cy.pk}
    assert both(tenant, one("lastActivityAt", "withinLast",
                            {"amount": 1, "unit": "months"})) == {ann.pk, bob.pk}


def test_tags_identities_consent_and_company(people):
    tenant, ann, bob, cy, _gone = people
    vip = Tag.objects.create(tenant=tenant, name="VIP", slug="vip")
    new = Tag.objects.create(tenant=tenant, name="New", slug="new")
    ContactTag.objects.create(tenant=tenant, contact=ann, tag=vip)
    ContactTag.objects.create(tenant=tenant, contact=ann, tag=new)
    ContactTag.objects.create(tenant=tenant, contact=bob, tag=new)
    assert both(tenant, one("tags", "hasAll", [str(vip.pk), str(new.pk)])) == {ann.pk}
    assert both(tenant, one("tags", "hasNone", [str(vip.pk)])) == {bob.pk, cy.pk}
    assert both(tenant, one("tags", "isEmpty")) == {cy.pk}
    IdentityAlias.objects.create(tenant=tenant, contact=bob, type="TELEGRAM", value="123")
    assert both(tenant, one("hasTelegram", "isNotEmpty")) == {bob.pk}
    assert both(tenant, one("hasTelegram", "isEmpty")) == {ann.pk, cy.pk}
    Consent.objects.create(tenant=tenant, contact=ann, channel="EMAIL", status="GRANTED")
    Consent.objects.create(tenant=tenant, contact=bob, channel="EMAIL", status="REVOKED")
    assert both(tenant, one("consent.email", "equals", "GRANTED")) == {ann.pk}
    assert both(tenant, one("consent.email", "notEquals", "GRANTED")) == {bob.pk, cy.pk}
    assert both(tenant, one("consent.email", "isEmpty")) == {cy.pk}
    cy.company = Company.objects.create(tenant=tenant, name="Falcon Golf", city="Dubai")
    cy.save()
    assert both(tenant, one("company.name", "contains", "golf")) == {cy.pk}
    assert both(tenant, one("company.name", "notEquals", "x")) == {ann.pk, bob.pk, cy.pk}


def test_activity_aggregates(people):
    tenant, ann, bob, cy, _gone = people
    for days in (1, 3, 40):
        Activity.objects.create(tenant=tenant, contact=ann, type="TICKET_PURCHASED",
                                category="EVENTS", occurred_at=NOW - timedelta(days=days))
    Activity.objects.create(tenant=tenant, contact=bob, type="TICKET_PURCHASED",
                            category="SALES", occurred_at=NOW - timedelta(days=2))
    count = {"type": "TICKET_PURCHASED", "days": 30}
    assert both(tenant, one("activityCount", ">=", {**count, "count": 2})) == {ann.pk}
    assert both(tenant, one("activityCount", ">=", {**count, "count": 1})) == {ann.pk, bob.pk}
    assert both(tenant, one("activityCount", "<", {**count, "count": 2})) == {bob.pk, cy.pk}
    assert both(tenant, one("activityCount", "equals", {**count, "count": 0})) == {cy.pk}
    assert both(tenant, one("activityCount", "between",
                            {"type": "TICKET_PURCHASED", "count": [2, 5]})) == {ann.pk}
    assert both(tenant, one("activityCount", ">=", {**count, "category": "events",
                                                     "count": 1})) == {ann.pk}
    last = {"type": "TICKET_PURCHASED"}
    assert both(tenant, one("lastActivity", "moreThanAgo",
                            {**last, "amount": 2})) == {ann.pk} - {ann.pk}
    assert both(tenant, one("lastActivity", "withinLast", {**last, "amount": 1})) == {ann.pk}
    assert both(tenant, one("lastActivity", "isEmpty", last)) == {cy.pk}
    assert both(tenant, one("lastActivity", "before", {**last, "date": "2025-03-14"})) == {
        bob.pk}


def test_rule_contacts_is_one_query_usable_as_a_subquery(people, django_assert_num_queries):
    tenant, ann, _bob, _cy, _gone = people
    Activity.objects.create(tenant=tenant, contact=ann, type="EMAIL_OPENED",
                            occurred_at=NOW - timedelta(days=1))
    rule = {"combinator": "and", "rules": [
        {"field": "city", "operator": "equals", "value": "dubai"},
        {"field": "lastActivity", "operator": "withinLast",
         "value": {"type": "EMAIL_OPENED", "amount": 7}},
        {"field": "tags", "operator": "isEmpty"}]}
    members = rule_contacts(tenant=tenant, rule=rule, now=NOW)
    with django_assert_num_queries(1):
        assert list(Contact.objects.filter(pk__in=members.values("pk"))) == [ann]


def test_dependencies_and_segment_refs(people):
    tenant = people[0]
    rule = {"combinator": "and", "rules": [
        {"field": "city", "operator": "equals", "value": "x"},
        {"combinator": "or", "rules": [
            {"field": "custom.handicap", "operator": "isEmpty"},
            {"field": "activityCount", "operator": ">=",
             "value": {"type": "EMAIL_OPENED", "days": 7, "count": 1}},
            {"field": "lastActivityAt", "operator": "withinLast", "value": 3},
            {"field": "hasEmail", "operator": "isNotEmpty"},
            {"field": "consent.sms", "operator": "isEmpty"},
            {"field": "company.city", "operator": "isEmpty"},
        ]}]}
    assert rule_dependencies(tenant=tenant, rule=rule) == {
        "contact:city", "custom:handicap", "activity:EMAIL_OPENED", "time",
        "contact:last_activity_at", "alias", "consent", "company"}
    assert rule_segment_refs({"rules": [
        {"field": "segment", "operator": "equals", "value": "a"},
        {"rules": [{"field": "segment", "operator": "notEquals", "value": "b"}]},
        {"field": "city", "operator": "equals", "value": "c"}]}) == {"a", "b"}
    assert rule_segment_refs({"rules": "junk"}) == set()


def test_many_rules_compile_and_match_together(people, django_assert_num_queries):
    from tend.rules import rule_contacts_many, rule_matcher, rule_matches_many

    tenant, ann, bob, cy, gone = people
    vip = Tag.objects.create(tenant=tenant, name="VIP", slug="vip")
    ContactTag.objects.create(tenant=tenant, contact=bob, tag=vip)
    rules = {"dubai": one("city", "equals", "dubai"),
             "vip": one("tags", "hasAny", ["vip"]),
             "no city": one("city", "isEmpty")}
    many = rule_contacts_many(tenant=tenant, rules=rules, now=NOW)
    assert {k: set(qs.values_list("pk", flat=True)) for k, qs in many.items()} == {
        "dubai": {ann.pk}, "vip": {bob.pk}, "no city": {bob.pk}}
    for contact in (ann, bob, cy, gone):
        matched = rule_matches_many(tenant=tenant, rules=rules, contact=contact, now=NOW)
        assert matched == {k: contact.pk in set(qs.values_list("pk", flat=True))
                           for k, qs in many.items()}
    # A contact's facts load once for every rule: its tags once, whatever the number of
    # rules reading them.
    matcher = rule_matcher(tenant=tenant, contact=bob.pk, now=NOW)
    stored = {k: rule_clean(tenant=tenant, rule=r) for k, r in rules.items()}
    trusted = rule_matcher(tenant=tenant, contact=bob.pk, now=NOW, trusted=True)
    with django_assert_num_queries(1):
        assert [trusted.matches(r) for r in stored.values()] == [False, True, True]
    assert matcher.live and not rule_matcher(tenant=tenant, contact=gone, now=NOW).live
    assert rule_matches_many(tenant=tenant, rules=stored, contact=None, now=NOW) == dict.fromkeys(
        stored, False)


def test_trusted_rules_skip_the_value_lookups_but_not_the_structure(people,
                                                                   django_assert_num_queries):
    from tend.rules import rule_contacts_many

    tenant = people[0]
    vip = Tag.objects.create(tenant=tenant, name="VIP", slug="vip")
    stored = rule_clean(tenant=tenant, rule=one("tags", "hasAny", ["vip"]))
    assert stored["rules"][0]["value"] == [str(vip.pk)]
    # The kept field registry's configuration token is read, the tag is not looked up again.
    with django_assert_num_queries(1):
        rule_contacts_many(tenant=tenant, rules={1: stored, 2: stored}, trusted=True)
    with django_assert_num_queries(3):
        rule_contacts_many(tenant=tenant, rules={1: stored, 2: stored})
    with pytest.raises(ValidationFailed) as exc:
        rule_contacts_many(tenant=tenant, rules={1: one("nope", "equals", 1)}, trusted=True)
    assert list(exc.value.fields) == ["rules[0].field"]


def test_conditions_as_select_list_flags_agree_with_the_sets(people):
    from django.db.models import BooleanField, ExpressionWrapper

    from tend.rules import rule_conditions_many, rule_population

    tenant = people[0]
    rules = {
        "dubai": one("city", "equals", "dubai"),
        "golf": one("custom.sports", "hasAny", ["golf"]),
        "no_handicap": one("custom.handicap", "isEmpty"),
        "not_over_5": {"combinator": "and", "not": True, "rules": [
            {"field": "custom.handicap", "operator": "greaterThan", "value": 5}]},
        "not_gold": one("custom.tier", "notEquals", "gold"),
    }
    conditions = rule_conditions_many(tenant=tenant, rules=rules, now=NOW)
    flags = {key: ExpressionWrapper(q, output_field=BooleanField())
             for key, q in conditions.items()}
    rows = list(rule_population(tenant).annotate(**flags).values("pk", *flags))
    assert len(rows) == 3  # the deleted contact is not live
    for key, rule in rules.items():
        assert {row["pk"] for row in rows if row[key]} == both(tenant, rule), key
