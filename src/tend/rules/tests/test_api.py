"""The rules API: fields catalogue, validate, count with a sample; permissions and errors."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tend.core.models import Tag
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key, signed_in
from tend.people.models import Contact, ContactTag

pytestmark = pytest.mark.django_db


def post(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       headers=headers)


@pytest.fixture
def club(tenant):
    with tenant_scope(tenant):
        vip = Tag.objects.create(tenant=tenant, name="VIP", slug="vip")
        for index in range(12):
            contact = Contact.objects.create(tenant=tenant, display_name=f"P{index:02d}",
                                             city="Dubai" if index % 2 else "Doha")
            if index < 3:
                ContactTag.objects.create(tenant=tenant, contact=contact, tag=vip)
    return tenant, vip


def test_fields_are_grouped_typed_with_operators_and_choices(club, owner):
    tenant, _vip = club
    response = signed_in(owner, tenant).get("/api/v1/rules/fields")
    assert response.status_code == 200
    groups = {g["key"]: g for g in response.json()}
    assert list(groups)[:6] == ["contact", "tags", "identities", "consent", "activity",
                              "company"]
    city = next(f for f in groups["contact"]["fields"] if f["key"] == "city")
    assert city["type"] == "string"
    assert city["operators"][0] == {"key": "equals", "label": "is", "takes_value": True}
    assert {"key": "isEmpty", "label": "is empty", "takes_value": False} in city["operators"]
    stage = next(f for f in groups["contact"]["fields"] if f["key"] == "lifecycleStage")
    assert stage["choices"][0] == {"value": "SUBSCRIBER", "label": "Subscriber"}


def test_validate_answers_problems_with_paths_and_the_normalized_rule(club, owner):
    tenant, vip = club
    client = signed_in(owner, tenant)
    bad = post(client, "/api/v1/rules/validate", {"rule": {"combinator": "and", "rules": [
        {"field": "city", "operator": "lessThan", "value": 3}]}})
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert [p["path"] for p in bad.json()["problems"]] == ["rules[0].operator"]
    good = post(client, "/api/v1/rules/validate", {"rule": {"rules": [
        {"field": "tags", "operator": "hasAny", "value": ["vip"]}]}})
    assert good.json() == {"valid": True, "problems": [], "rule": {
        "combinator": "and", "not": False,
        "rules": [{"field": "tags", "operator": "hasAny", "value": [str(vip.pk)]}]}}


def test_count_gives_the_number_and_ten_by_name(club, owner):
    tenant, _vip = club
    response = post(signed_in(owner, tenant), "/api/v1/rules/count", {"rule": {"rules": [
        {"field": "city", "operator": "equals", "value": "dubai"}]}})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6
    assert [c["display_name"] for c in body["sample"]] == ["P01", "P03", "P05", "P07", "P09",
                                                          "P11"]


def test_count_of_an_invalid_rule_is_a_422_naming_the_paths(club, owner):
    tenant, _vip = club
    response = post(signed_in(owner, tenant), "/api/v1/rules/count", {"rule": {"rules": [
        {"field": "city", "operator": "equals", "value": "x"},
        {"field": "tags", "operator": "hasAll", "value": ["nope"]}]}})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("rules[1].value", "Unknown tag: nope.")]


def test_rules_need_contacts_view(club, owner):
    tenant, _vip = club
    with tenant_scope(tenant):
        _key, key = make_key(tenant, owner, ["organization.view"])
    for url in ("/api/v1/rules/count", "/api/v1/rules/validate"):
        assert post(Client(), url, {"rule": {}}, **bearer(key)).status_code == 403
    assert Client().get("/api/v1/rules/fields", headers=bearer(key)).status_code == 403
