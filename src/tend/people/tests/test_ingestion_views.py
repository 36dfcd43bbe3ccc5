"""Settings → Ingestion: sources (create shows the secret once, rotate, deactivate) and the
ingestion log."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import add_member
from tend.people.models import IngestionSource
from tend.people.services.ingestion import activities_ingest
from tend.people.services.sources import source_actor, source_create
from tend.people.tests.ingesttools import deliver

URL = "/o/acme/settings/ingestion/"


@pytest.fixture
def owner_client(client, tenant, owner):
    client.force_login(owner)
    return client


def _secret(response) -> str:
    match = re.search(r'id="source-secret" dir="ltr">([^<]+)<', response.content.decode())
    assert match, response.content
    return match.group(1)


def test_create_shows_the_url_and_secret_once_and_they_work(owner_client, tenant):
    response = owner_client.post(URL + "sources/add/", {"name": "Booking system"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    with tenant_scope(tenant):
        source = IngestionSource.objects.get()
    secret = _secret(response)
    assert f"http://testserver/hooks/sources/{source.key}" in response.content.decode()
    page = owner_client.get(URL).content.decode()
    assert "Booking system" in page
    assert secret not in page
    hooked = deliver(Client(), source.key, secret,
                     {"identifiers": [{"type": "EMAIL", "value": "g@example.com"}],
                      "type": "BOOKED"})
    assert hooked.status_code == 200


def test_create_with_a_taken_name_shows_the_error(owner_client, tenant):
    with tenant_scope(tenant):
        source_create(tenant=tenant, actor=Actor.system(), name="Shop")
    response = owner_client.post(URL + "sources/add/", {"name": "shop"})
    assert response.status_code == 422
    assert "Another source has this name." in response.content.decode()
    response = owner_client.post(URL + "sources/add/", {"name": ""})
    assert response.status_code == 422
    with tenant_scope(tenant):
        assert IngestionSource.objects.count() == 1


def test_rotate_and_deactivate(owner_client, tenant):
    with tenant_scope(tenant):
        source, old_secret = source_create(tenant=tenant, actor=Actor.system(), name="Shop")
    response = owner_client.post(f"{URL}sources/{source.pk}/rotate/")
    assert response.status_code == 200
    new_secret = _secret(response)
    assert new_secret != old_secret
    body = {"contact_id": "0190a0a0-0000-7000-8000-000000000000", "type": "X"}
    assert deliver(Client(), source.key, old_secret, body).status_code == 403
    response = owner_client.post(f"{URL}sources/{source.pk}/deactivate/")
    assert response.status_code == 302
    with tenant_scope(tenant):
        source.refresh_from_db()
    assert source.is_active is False
    assert deliver(Client(), source.key, new_secret, body).status_code == 403
    owner_client.post(f"{URL}sources/{source.pk}/activate/")
    with tenant_scope(tenant):
        source.refresh_from_db()
    assert source.is_active is True


def test_log_with_status_filter(owner_client, tenant, django_assert_max_num_queries):
    with tenant_scope(tenant):
        source, _secret = source_create(tenant=tenant, actor=Actor.system(), name="Shop")
        activities_ingest(tenant=tenant, actor=source_actor(source), source=source, items=[
            {"identifiers": [{"type": "EMAIL", "value": "ok@example.com"}], "type": "A",
             "source_event_id": "ev-good"},
            {"identifiers": [{"type": "EMAIL", "value": "bad"}], "type": "A",
             "source_event_id": "ev-bad"},
        ])
    with django_assert_max_num_queries(20):
        page = owner_client.get(URL).content.decode()
    assert "ev-good" in page and "ev-bad" in page
    failed = owner_client.get(URL, {"status": "FAILED"}).content.decode()
    assert "ev-bad" in failed and "ev-good" not in failed
    assert 'data-status="FAILED"' in failed


def test_members_without_manage_are_refused(client, tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
    assert client.post(URL + "sources/add/", {"name": "X"}).status_code == 403
    with tenant_scope(tenant):
        assert IngestionSource.objects.count() == 0


def test_other_organizations_sources_are_not_found(owner_client, make_tenant, make_user):
    other = make_tenant("Other", slug="other", owner=make_user("o2@example.com"))
    with tenant_scope(other):
        source, _secret = source_create(tenant=other, actor=Actor.system(), name="Theirs")
    assert owner_client.post(f"{URL}sources/{source.pk}/rotate/").status_code == 404
    assert owner_client.post(f"{URL}sources/{source.pk}/deactivate/").status_code == 404


def test_page_in_arabic(owner_client, owner):
    owner.language = "ar"
    owner.save(update_fields=["language"])
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert 'dir="rtl"' in response.content.decode()


def test_demo_loader_adds_a_source_with_logged_deliveries(tenant, owner):
    import random

    from tend.core.demo import DemoContext, demo_loaders
    from tend.core.selectors.access import actor_for_membership
    from tend.core.tests.apitools import membership_of
    from tend.people.demo_ingestion import load_ingestion_demo
    from tend.people.models import Activity, IngestionLog

    assert load_ingestion_demo in demo_loaders()
    ctx = DemoContext(tenant=tenant, owner=owner,
                      actor=actor_for_membership(membership_of(tenant, owner)),
                      password=None, rng=random.Random(1))
    with tenant_scope(tenant):
        load_ingestion_demo(ctx)
        source = IngestionSource.objects.get()
        logs = sorted(IngestionLog.objects.values_list("source_event_id", "status", "attempts"))
        booked = Activity.objects.filter(type="BOOKING_CONFIRMED").count()
    assert source.name == "Booking system"
    assert logs == [("booking-1001", "PROCESSED", 2), ("booking-bad-1", "FAILED", 1)]
    assert booked == 1
