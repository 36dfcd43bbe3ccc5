"""The privacy page's background export (job, progress, download) and the retention settings
(in the settings navigation, with a live preview of who would be erased)."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.models import AuditLog, Job
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.people.models import Consent, Contact
from tend.people.tests.helpers_merge import make


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


def _start(client, person, django_capture_on_commit_callbacks, execute=True):
    url = f"/o/acme/people/contacts/{person.pk}/privacy/export/start/"
    # the worker's task enters the tenant's scope itself; the test client leaves none behind
    with tenant_scope(person.tenant), django_capture_on_commit_callbacks(execute=execute):
        return client.post(url)


def test_export_runs_as_a_job_with_progress_and_download(client, tenant,
                                                         django_capture_on_commit_callbacks):
    person = make(tenant, "Rania", last="Khalil", email="rania@example.com")
    page = client.get(f"/o/acme/people/contacts/{person.pk}/privacy/").content.decode()
    assert 'id="privacy-export-start"' in page
    started = _start(client, person, django_capture_on_commit_callbacks)
    with tenant_scope(tenant):
        job = Job.objects.get(kind="people.privacy_export")
    assert started["Location"] == f"/o/acme/people/privacy/exports/{job.pk}/"
    job_page = client.get(started["Location"]).content.decode()
    assert 'id="privacy-export-progress"' in job_page and 'value="100"' in job_page
    assert 'data-status="succeeded"' in job_page and "hx-trigger" not in job_page.split(
        'id="privacy-export-job"')[1].split(">")[0]
    download = client.get(f"/o/acme/people/privacy/exports/{job.pk}/file/")
    assert download["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert "contact.json" in names and "manifest.json" in names
    with tenant_scope(tenant):
        assert AuditLog.objects.filter(action="contact.privacy_exported").count() == 1


def test_queued_job_polls_and_has_no_download_yet(client, tenant,
                                                 django_capture_on_commit_callbacks):
    person = make(tenant, "Rania")
    started = _start(client, person, django_capture_on_commit_callbacks, execute=False)
    fragment = client.get(started["Location"], headers={"HX-Request": "true"}).content.decode()
    assert 'data-status="queued"' in fragment and 'hx-trigger="every 1s"' in fragment
    assert "privacy-export-download" not in fragment
    job_id = started["Location"].rstrip("/").split("/")[-1]
    assert client.get(f"/o/acme/people/privacy/exports/{job_id}/file/").status_code == 409


def test_export_job_is_its_starters(client, tenant, make_user, make_tenant,
                                    django_capture_on_commit_callbacks):
    person = make(tenant, "Rania")
    started = _start(client, person, django_capture_on_commit_callbacks)
    colleague = make_user("manager@example.com")
    add_member(tenant, colleague, "manager")
    other = signed_in(colleague, tenant)
    # a member without the privacy permissions
    assert other.get(started["Location"]).status_code in (403, 404)
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    assert signed_in(viewer, tenant).post(
        f"/o/acme/people/contacts/{person.pk}/privacy/export/start/").status_code == 403
    foreign_owner = make_user("o@example.com")
    make_tenant("Other", slug="other", owner=foreign_owner)
    job_id = started["Location"].rstrip("/").split("/")[-1]
    assert signed_in(foreign_owner).get(
        f"/o/other/people/privacy/exports/{job_id}/").status_code == 404


def test_retention_is_in_the_settings_navigation(client):
    html = client.get("/o/acme/people/contacts/").content.decode()
    settings_group = html.split('data-module="settings"')[1].split("</div>")[0]
    assert 'href="/o/acme/people/privacy/retention/"' in settings_group


def test_retention_preview_counts_as_the_months_change(client, tenant):
    old = make(tenant, "Old")
    consenting = make(tenant, "Consenting")
    make(tenant, "Recent")
    with tenant_scope(tenant):
        Contact.objects.filter(pk__in=[old.pk, consenting.pk]).update(
            created_at=timezone.now() - timedelta(days=400))
        Consent.objects.create(tenant=tenant, contact=consenting, channel="EMAIL",
                               purpose="MARKETING", status="GRANTED")
    page = client.get("/o/acme/people/privacy/retention/").content.decode()
    assert 'hx-get="/o/acme/people/privacy/retention/preview/"' in page
    url = "/o/acme/people/privacy/retention/preview/"
    twelve = client.get(url, {"inactive_months": "12"}).content.decode()
    assert 'data-count="1"' in twelve and "With 12 months, 1 contact would be erased" in twelve
    assert 'data-count="0"' in client.get(url, {"inactive_months": "24"}).content.decode()
    # not a number: the saved rule's months (24 by default)
    assert "With 24 months" in client.get(url, {"inactive_months": "x"}).content.decode()
