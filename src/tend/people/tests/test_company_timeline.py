"""A company's timeline: its own activities and its people's, filtered, paged, on the page and
in the API."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key, signed_in
from tend.people.models import Activity, Company
from tend.people.tests.helpers_360 import make_contact


@pytest.fixture
def company(tenant):
    with tenant_scope(tenant):
        return Company.objects.create(tenant=tenant, name="Acme Trading")


@pytest.fixture
def people(tenant, company):
    return (make_contact(tenant, first_name="Lina", company=company),
            make_contact(tenant, first_name="Omar", company=company))


def _activity(tenant, days_ago, **fields):
    fields.setdefault("type", "EVENT_ATTENDED")
    fields.setdefault("category", "EVENTS")
    with tenant_scope(tenant):
        return Activity.objects.create(
            tenant=tenant, occurred_at=timezone.now() - timedelta(days=days_ago), **fields)


def _page_url(tenant, company):
    return reverse("people:companies-detail",
                   kwargs={"org_slug": tenant.slug, "company_id": company.pk})


def _timeline_url(tenant, company):
    return reverse("people:companies-timeline",
                   kwargs={"org_slug": tenant.slug, "company_id": company.pk})


def test_company_page_shows_own_and_peoples_activities_newest_first(tenant, owner, company,
                                                                    people):
    lina, omar = people
    stranger = make_contact(tenant, first_name="Stranger")
    _activity(tenant, 3, contact=lina, title="Lina at the gala")
    _activity(tenant, 1, company=company, type="DEAL_WON", category="SALES",
              title="Contract signed")
    _activity(tenant, 2, contact=omar, title="Omar at the workshop")
    _activity(tenant, 0, contact=stranger, title="Not about them")
    html = signed_in(owner, tenant).get(_page_url(tenant, company)).content.decode()
    assert 'id="timeline"' in html
    positions = [html.index(t) for t in ("Contract signed", "Omar at the workshop",
                                         "Lina at the gala")]
    assert positions == sorted(positions)
    assert "Not about them" not in html
    assert 'class="timeline-contact"' in html  # each person's entry names them


def test_filters_and_infinite_scroll(tenant, owner, company, people):
    lina, _omar = people
    for i in range(25):
        _activity(tenant, i + 1, contact=lina, title=f"Event {i:02d}")
    _activity(tenant, 40, company=company, category="FINANCIAL", type="PAYMENT_RECEIVED",
              title="Paid the invoice")
    client = signed_in(owner, tenant)
    first = client.get(_page_url(tenant, company)).content.decode()
    assert first.count('class="timeline-item"') == 20
    assert 'id="timeline-more"' in first and _timeline_url(tenant, company) in first
    response = client.get(_timeline_url(tenant, company), {"category": "EVENTS"},
                          headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.count('class="timeline-item"') == 20 and "Paid the invoice" not in html
    cursor = html.split("cursor=")[1].split('"')[0].replace("&amp;", "&")
    from urllib.parse import unquote

    more = client.get(_timeline_url(tenant, company),
                      {"category": "EVENTS", "cursor": unquote(cursor)}).content.decode()
    assert more.count('class="timeline-item"') == 5 and 'id="timeline-more"' not in more
    financial = client.get(_timeline_url(tenant, company), {"category": "FINANCIAL"})
    assert financial.content.decode().count('class="timeline-item"') == 1
    bad = client.get(_timeline_url(tenant, company), {"since": "not a day"})
    assert bad.status_code == 422


def test_query_count_does_not_grow_with_activities(tenant, owner, company, people,
                                                  django_assert_max_num_queries):
    lina, omar = people
    _activity(tenant, 1, contact=lina, title="one")
    client = signed_in(owner, tenant)
    client.get(_timeline_url(tenant, company))
    with django_assert_max_num_queries(30) as few:
        client.get(_timeline_url(tenant, company))
    for i in range(15):
        _activity(tenant, i + 2, contact=omar if i % 2 else lina, title=f"more {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(_timeline_url(tenant, company)).status_code == 200


def test_needs_activities_view_and_isolates_organizations(tenant, company, make_user,
                                                         make_tenant, owner):
    _key, secret = make_key(tenant, owner, ["companies.view", "contacts.view"])
    refused = Client().get(f"/api/v1/companies/{company.pk}/timeline", headers=bearer(secret))
    assert refused.status_code == 403
    other = make_tenant("Other", slug="other", owner=make_user("o@example.com"))
    with tenant_scope(other):
        foreign = Company.objects.create(tenant=other, name="Foreign")
    assert signed_in(owner, tenant).get(_timeline_url(tenant, foreign)).status_code == 404


def test_api_company_timeline(tenant, owner, company, people):
    lina, _omar = people
    _activity(tenant, 2, contact=lina, title="Lina at the gala")
    _activity(tenant, 1, company=company, type="DEAL_WON", category="SALES", title="Signed")
    api = signed_in(owner, tenant)
    response = api.get(f"/api/v1/companies/{company.pk}/timeline")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(i["title"], i["contact_id"]) for i in items] == [
        ("Signed", None), ("Lina at the gala", str(lina.pk))]
    sales = api.get(f"/api/v1/companies/{company.pk}/timeline", {"category": "SALES"}).json()
    assert [i["title"] for i in sales["items"]] == ["Signed"]
    bad = api.get(f"/api/v1/companies/{company.pk}/timeline",
                  {"since": "2030-01-02", "until": "2030-01-01"})
    assert bad.status_code == 422
