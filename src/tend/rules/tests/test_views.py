"""The rule builder pages: the try page, editing through the htmx endpoint, errors placed at
the condition, the live count and sample."""

from __future__ import annotations

import pytest

from tend.core.models import Tag
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.models import Contact, ContactTag

pytestmark = pytest.mark.django_db


@pytest.fixture
def club(tenant):
    with tenant_scope(tenant):
        vip = Tag.objects.create(tenant=tenant, name="VIP", slug="vip")
        for name, city in (("Ann", "Dubai"), ("Bob", "Doha"), ("Cy", "Dubai")):
            contact = Contact.objects.create(tenant=tenant, display_name=name, city=city)
            if name == "Ann":
                ContactTag.objects.create(tenant=tenant, contact=contact, tag=vip)
    return tenant, vip


def builder(client, tenant, data):
    return client.post(f"/o/{tenant.slug}/rules/builder/", data, headers={"HX-Request": "true"})


def test_try_page_shows_an_empty_builder_matching_everyone(club, owner):
    tenant, _vip = club
    response = signed_in(owner, tenant).get(f"/o/{tenant.slug}/rules/try/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="r.combinator"' in html
    assert 'data-count="3"' in html


def test_adding_a_condition_then_filling_it_updates_the_count(club, owner):
    tenant, _vip = club
    client = signed_in(owner, tenant)
    added = builder(client, tenant, {"r.combinator": "and", "rule_action": "add-rule:r"})
    html = added.content.decode()
    assert 'name="r.0.field"' in html
    assert 'data-error-for="r.0"' in html  # the new condition has no value yet
    filled = builder(client, tenant, {
        "r.combinator": "and", "r.0.field": "city", "r.0.previous": "city",
        "r.0.operator": "equals", "r.0.value": "dubai"})
    html = filled.content.decode()
    assert 'data-count="2"' in html
    assert "Ann" in html and "Cy" in html and "Bob" not in html
    assert "data-error-for" not in html


def test_errors_are_shown_at_the_condition_they_belong_to(club, owner):
    tenant, _vip = club
    response = builder(signed_in(owner, tenant), tenant, {
        "r.combinator": "or", "r.0.combinator": "and",
        "r.0.0.field": "city", "r.0.0.previous": "city", "r.0.0.operator": "equals",
        "r.0.0.value": "x",
        "r.0.1.field": "engagementScore", "r.0.1.previous": "engagementScore",
        "r.0.1.operator": "greaterThan", "r.0.1.value": "lots"})
    html = response.content.decode()
    assert 'data-error-for="r.0.1">Enter a number.' in html
    assert 'data-error-for="r.0.0"' not in html
    assert "data-count=" not in html


def test_tags_offer_the_organization_tags_and_changing_the_field_resets(club, owner):
    tenant, vip = club
    client = signed_in(owner, tenant)
    response = builder(client, tenant, {
        "r.combinator": "and", "r.0.field": "tags", "r.0.previous": "tags",
        "r.0.operator": "hasAny", "r.0.value": [str(vip.pk)]})
    html = response.content.decode()
    assert f'<option value="{vip.pk}" selected>VIP</option>' in html
    assert 'data-count="1"' in html
    changed = builder(client, tenant, {
        "r.combinator": "and", "r.0.field": "hasEmail", "r.0.previous": "tags",
        "r.0.operator": "hasAny", "r.0.value": [str(vip.pk)]})
    assert 'data-count="0"' in changed.content.decode()  # "has an email": nobody has one


def test_removing_a_condition(club, owner):
    tenant, _vip = club
    response = builder(signed_in(owner, tenant), tenant, {
        "r.combinator": "and", "r.0.field": "city", "r.0.previous": "city",
        "r.0.operator": "equals", "r.0.value": "doha", "rule_action": "remove:r.0"})
    html = response.content.decode()
    assert 'name="r.0.field"' not in html
    assert 'data-count="3"' in html


def test_other_organizations_and_their_tags_stay_out(club, owner, make_user, make_tenant):
    tenant, vip = club
    outsider = make_user("outsider@example.com")
    other = make_tenant("Other Club", slug="other", owner=outsider)
    client = signed_in(outsider, other)
    assert client.get(f"/o/{tenant.slug}/rules/try/").status_code == 404
    assert builder(client, tenant, {"r.combinator": "and"}).status_code == 404
    # Naming the first organization's tag from the second is an unknown tag, not a count.
    response = builder(client, other, {
        "r.combinator": "and", "r.0.field": "tags", "r.0.previous": "tags",
        "r.0.operator": "hasAny", "r.0.value": [str(vip.pk)]})
    html = response.content.decode()
    assert f"Unknown tag: {vip.pk}." in html
    assert "data-count=" not in html
