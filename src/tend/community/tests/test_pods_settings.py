"""The pods settings: the weekly check-in's day and hour (organization time) — service, API,
page — and the tick sending it then, not on the default Sunday evening."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tend.community.services.pods_settings import pods_settings, pods_settings_update
from tend.community.services.pods_tick import pods_tick_tenant
from tend.community.tests.test_pods_bot import SUNDAY_EVENING, _member, _tick_bodies, say
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.tests.apitools import signed_in
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.people.tests.helpers_360 import add_member, member_actor

pytestmark = pytest.mark.django_db
API = "/api/v1"
__all__ = ["say"]


def test_defaults_update_and_field_errors(scoped, owner, make_user):
    actor = member_actor(scoped, owner)
    assert pods_settings(scoped) == {"weekly_day": 7, "weekly_hour": 18}
    assert pods_settings_update(tenant=scoped, actor=actor, data={"weekly_day": 1}) == {
        "weekly_day": 1, "weekly_hour": 18}
    scoped.refresh_from_db()
    assert pods_settings(scoped) == {"weekly_day": 1, "weekly_hour": 18}
    with pytest.raises(ValidationFailed) as err:
        pods_settings_update(tenant=scoped, actor=actor,
                             data={"weekly_day": 8, "weekly_hour": -1, "colour": 1})
    assert sorted(err.value.fields) == ["colour", "weekly_day", "weekly_hour"]
    with pytest.raises(ValidationFailed):
        pods_settings_update(tenant=scoped, actor=actor, data={"weekly_hour": True})
    viewer = make_user("viewer@example.com")
    add_member(scoped, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        pods_settings_update(tenant=scoped, actor=member_actor(scoped, viewer),
                             data={"weekly_day": 2})


def test_the_weekly_check_in_follows_the_settings(scoped, say, tenant, owner):
    contact, _pod, actor = _member(scoped, say, tenant, owner)
    monday_morning = SUNDAY_EVENING + timedelta(hours=14)  # Monday 09:00 UTC
    pods_settings_update(tenant=scoped, actor=actor, data={"weekly_day": 1, "weekly_hour": 9})
    pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING)  # the default: no longer
    pods_tick_tenant(tenant=scoped, now=monday_morning - timedelta(minutes=1))  # 08:59
    assert not any(k.startswith("pod-weekly:") for k in _tick_bodies())
    pods_tick_tenant(tenant=scoped, now=monday_morning)
    assert f"pod-weekly:{contact.pk}:2026-W49" in _tick_bodies()


def test_the_hour_is_the_organization_s(scoped, say, tenant, owner):
    contact, _pod, actor = _member(scoped, say, tenant, owner)
    scoped.time_zone = "Asia/Muscat"  # UTC+4
    scoped.save(update_fields=["time_zone"])
    pods_settings_update(tenant=scoped, actor=actor, data={"weekly_day": 7, "weekly_hour": 21})
    pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING - timedelta(hours=3))  # 20:00 Muscat
    assert not any(k.startswith("pod-weekly:") for k in _tick_bodies())
    pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING - timedelta(hours=2))  # 21:00 Muscat
    assert f"pod-weekly:{contact.pk}:2026-W48" in _tick_bodies()


def test_api_reads_and_changes_the_settings(tenant, owner, make_user):
    client = signed_in(owner, tenant)
    assert client.get(f"{API}/community/pods-settings").json() == {
        "weekly_day": 7, "weekly_hour": 18}
    response = client.patch(f"{API}/community/pods-settings", {"weekly_hour": 8},
                            content_type="application/json")
    assert response.json() == {"weekly_day": 7, "weekly_hour": 8}
    response = client.patch(f"{API}/community/pods-settings", {"weekly_day": 0},
                            content_type="application/json")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["weekly_day"]
    response = client.patch(f"{API}/community/pods-settings", {"weekly_day": "x"},
                            content_type="application/json")
    assert response.status_code == 422
    response = client.patch(f"{API}/community/pods-settings", {"other": 1},
                            content_type="application/json")
    assert response.status_code == 422
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    other = signed_in(viewer, tenant)
    assert other.patch(f"{API}/community/pods-settings", {"weekly_day": 1},
                       content_type="application/json").status_code == 403


@pytest.mark.parametrize("language", ["en", "ar"])
def test_settings_page(tenant, owner, language):
    owner.language = language
    owner.save(update_fields=["language"])
    client = signed_in(owner, tenant)
    page = client.get("/o/acme/community/pods/settings/").content.decode()
    assert 'name="weekly_day"' in page
    if language == "ar":
        assert '<html lang="ar" dir="rtl">' in page
    assert "/o/acme/community/pods/settings/" in client.get(
        "/o/acme/community/pods/").content.decode()
    response = client.post("/o/acme/community/pods/settings/",
                           {"weekly_day": "3", "weekly_hour": "7"})
    assert response.status_code == 302
    assert client.get(f"{API}/community/pods-settings").json() == {
        "weekly_day": 3, "weekly_hour": 7}
    response = client.post("/o/acme/community/pods/settings/",
                           {"weekly_day": "9", "weekly_hour": "x"})
    assert response.status_code == 422
    assert response.content.decode().count('class="error"') == 2
