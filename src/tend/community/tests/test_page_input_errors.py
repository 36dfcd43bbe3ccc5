"""Unit and pod pages turn bad input into field messages (a 422) and nothing else: a
programming error inside a service is not dressed up as a form message."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tend.community.services.care_units import unit_create
from tend.community.services.pods_core import pod_create, pod_join
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.tests.helpers_360 import make_contact, member_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def unit(tenant, owner):
    with tenant_scope(tenant):
        return unit_create(tenant=tenant, actor=member_actor(tenant, owner), name="Oman")


@pytest.fixture
def pod(tenant, owner):
    actor = member_actor(tenant, owner)
    person = make_contact(tenant, first_name="Rana")
    with tenant_scope(tenant):
        made = pod_create(tenant=tenant, actor=actor, data={"name": "Runners", "time": "07:00"})
        pod_join(tenant=tenant, actor=actor, pod=made, contact=person)
    return made


def test_a_bad_start_day_is_a_field_message(client, tenant, unit):
    person = make_contact(tenant, first_name="Ana")
    response = client.post(f"/o/acme/community/units/{unit.pk}/", {
        "action": "member", "contact_id": str(person.pk), "since": "last spring"})
    assert response.status_code == 422
    assert response.context["errors"] == {"since": ["Enter a date like 2026-03-01."]}


def test_a_programming_error_adding_a_unit_member_is_not_a_form_message(
        client, tenant, unit, monkeypatch):
    from tend.community.views import care_units

    def broken(**kwargs):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(care_units, "unit_membership_add", broken)
    person = make_contact(tenant, first_name="Ana")
    with pytest.raises(ValueError, match="a bug"):
        client.post(f"/o/acme/community/units/{unit.pk}/", {
            "action": "member", "contact_id": str(person.pk)})


def test_a_file_that_is_not_utf8_is_a_field_message(client, pod):
    upload = SimpleUploadedFile("a.csv", "date,attended\n2026-03-23,ja\xff\n".encode("latin-1"))
    response = client.post(f"/o/acme/community/pods/{pod.pk}/",
                           {"action": "import", "file": upload})
    assert response.status_code == 422
    assert "Upload the CSV file saved as UTF-8." in response.content.decode()


def test_a_programming_error_importing_attendance_is_not_a_form_message(client, pod,
                                                                        monkeypatch):
    from tend.community.views import pods_core

    def broken(**kwargs):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(pods_core, "attendance_import", broken)
    upload = SimpleUploadedFile("a.csv", b"date,attended\n")
    with pytest.raises(ValueError, match="a bug"):
        client.post(f"/o/acme/community/pods/{pod.pk}/", {"action": "import", "file": upload})
