"""The two shared helpers: an organization's (or any stored) time zone that never fails, and
this installation's public origin."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory
from django.utils import timezone

from tend.core.models import Tenant
from tend.core.origins import public_origin
from tend.core.tests.accounts_helpers import add_member
from tend.core.zones import UTC, tenant_zone, zone_named


@pytest.mark.parametrize("name", ["", None, "Mars/Olympus_Mons", "../../etc/passwd", "UTC"])
def test_an_empty_or_unknown_zone_is_utc(name):
    assert zone_named(name) == UTC


def test_a_known_zone_and_the_organizations_zone():
    assert zone_named("Asia/Dubai") == ZoneInfo("Asia/Dubai")
    assert tenant_zone(SimpleNamespace(time_zone="Europe/Berlin")) == ZoneInfo("Europe/Berlin")
    assert tenant_zone(SimpleNamespace(time_zone="Nowhere/Town")) == UTC
    assert tenant_zone(SimpleNamespace()) == UTC


def test_public_origin_prefers_the_setting_then_the_request_then_a_given_url(settings):
    request = RequestFactory().get("/x", HTTP_HOST="localhost:8000")
    settings.TEND_PUBLIC_URL = "https://crm.example.org/"
    assert public_origin(request) == "https://crm.example.org"
    assert public_origin(fallback_url="https://old.example/h") == "https://crm.example.org"
    settings.TEND_PUBLIC_URL = ""
    assert public_origin(request) == "http://localhost:8000"
    assert public_origin(fallback_url="https://old.example/hooks/k/") == "https://old.example"
    assert public_origin(fallback_url="not a url") == ""
    assert public_origin() == ""


@pytest.mark.django_db
def test_members_page_survives_an_unknown_stored_zone(client, tenant, owner, make_user):
    """An expiring grant is shown in the organization's zone; a zone name the system no
    longer knows falls back to UTC instead of failing the page."""
    Tenant.objects.filter(pk=tenant.pk).update(time_zone="Nowhere/Town")
    add_member(tenant, make_user(), "viewer", expires_at=timezone.now() + timedelta(days=3))
    client.force_login(owner)
    page = client.get(f"/o/{tenant.slug}/settings/members/")
    assert page.status_code == 200


@pytest.mark.django_db
def test_ingestion_source_url_is_on_the_public_origin(client, tenant, owner, settings):
    settings.TEND_PUBLIC_URL = "https://crm.example.org"
    client.force_login(owner)
    made = client.post(f"/o/{tenant.slug}/settings/ingestion/sources/add/",
                       {"name": "Booking system"})
    assert made.status_code == 200
    assert "https://crm.example.org/hooks/sources/" in made.content.decode()
    assert "http://testserver/hooks/" not in made.content.decode()
