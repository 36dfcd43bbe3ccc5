"""In a real browser: edit a note and a task, reopen a task, consent per purpose, a company's
timeline with infinite scroll, a background privacy export, and the retention settings."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.people.models import Activity, Company, Consent, Contact, Note, Task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _contact(tenant, first="Lina", **fields):
    with tenant_scope(tenant):
        return Contact.objects.create(tenant=tenant, first_name=first, last_name="Haddad",
                                      display_name=f"{first} Haddad", **fields)


def test_edit_a_note_and_a_task_and_reopen_it(page, login, tenant, owner):
    contact = _contact(tenant)
    other = _contact(tenant, "Omar")
    with tenant_scope(tenant):
        note = Note.objects.create(tenant=tenant, contact=contact, body="First *draft*",
                                   author=owner)
        task = Task.objects.create(tenant=tenant, contact=contact, title="Call back")
    login("owner@example.com")
    page.goto(f"/o/acme/people/contacts/{contact.pk}/")

    article = page.locator(f"#note-{note.pk}")
    article.get_by_text("Edit", exact=True).click()
    article.get_by_label("Note").fill("Final **version**")
    article.get_by_role("button", name="Save").click()
    expect(page.locator(f"#note-{note.pk} .note-body strong")).to_have_text("version")

    page.locator(f"#task-edit-{task.pk}").click()
    expect(page.get_by_role("heading", name="Edit task: Call back")).to_be_visible()
    form = page.locator("#task-edit-form")
    form.locator("#id_title").fill("Send the contract")
    form.locator("#id_due_on").fill("2030-03-01")
    page.locator("#task-contact-search").fill("Omar")
    expect(page.locator("#id_contact")).to_have_value(str(other.pk))
    form.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"/o/acme/people/contacts/{contact.pk}/")
    with tenant_scope(tenant):
        task.refresh_from_db()
        assert (task.title, task.contact_id) == ("Send the contract", other.pk)
        Task.objects.filter(pk=task.pk).update(status="DONE", completed_at=timezone.now(),
                                               contact=contact)
    page.reload()
    page.get_by_text("Recently done").click()
    page.locator(f"#task-reopen-{task.pk}").click()
    expect(page.locator(f"#task-{task.pk}")).to_contain_text("Send the contract")


def test_consent_per_channel_and_purpose(page, login, tenant, owner):
    contact = _contact(tenant)
    login("owner@example.com")
    page.goto(f"/o/acme/people/contacts/{contact.pk}/")
    cell = page.locator('#consent-table tr[data-channel="SMS"] td[data-purpose="TRANSACTIONAL"]')
    cell.get_by_role("button", name="Grant").click()
    expect(page.locator('#consent-table tr[data-channel="SMS"] '
                        'td[data-purpose="TRANSACTIONAL"] .badge')).to_have_text("Granted")
    expect(page.locator('#consent-table tr[data-channel="SMS"] '
                        'td[data-purpose="MARKETING"] .badge')).to_have_text("Not asked")
    page.get_by_text("History").click()
    expect(page.locator("#consent-history")).to_contain_text("Transactional")
    with tenant_scope(tenant):
        assert Consent.objects.get().purpose == "TRANSACTIONAL"


def test_company_timeline_filters_and_scrolls(page, login, tenant, owner):
    with tenant_scope(tenant):
        company = Company.objects.create(tenant=tenant, name="Acme Trading")
    person = _contact(tenant, company=company)
    now = timezone.now()
    with tenant_scope(tenant):
        Activity.objects.bulk_create([
            Activity(tenant=tenant, contact=person, type="EVENT_ATTENDED", category="EVENTS",
                     title=f"Event {i}", occurred_at=now - timedelta(hours=i + 1))
            for i in range(30)])
        Activity.objects.create(tenant=tenant, company=company, type="PAYMENT_RECEIVED",
                                category="FINANCIAL", title="Invoice paid", occurred_at=now)
    login("owner@example.com")
    page.goto(f"/o/acme/people/companies/{company.pk}/")
    items = page.locator("#timeline .timeline-item")
    expect(items.first).to_contain_text("Invoice paid")
    expect(items).to_have_count(20)
    page.locator("#timeline-more").scroll_into_view_if_needed()
    expect(items).to_have_count(31)
    expect(page.locator("#timeline .timeline-contact").first).to_have_text("Lina Haddad")
    page.locator("#timeline-filter select").select_option("FINANCIAL")
    expect(items).to_have_count(1)


def test_privacy_export_in_the_background(page, login, tenant, owner):
    contact = _contact(tenant)
    login("owner@example.com")
    page.goto(f"/o/acme/people/contacts/{contact.pk}/privacy/")
    page.get_by_role("button", name="Prepare the export").click()
    expect(page.get_by_role("heading", name="Personal data export")).to_be_visible()
    expect(page.locator("#privacy-export-progress")).to_have_attribute("value", "100")
    with page.expect_download() as download:
        page.locator("#privacy-export-download").click()
    assert download.value.suggested_filename == f"contact-{contact.pk}.zip"


def test_retention_from_the_settings_navigation(page, login, tenant, owner):
    old = _contact(tenant, "Old")
    with tenant_scope(tenant):
        Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    login("owner@example.com")
    page.goto("/o/acme/")
    page.locator('#sidebar [data-module="settings"]').get_by_role(
        "link", name="Data retention").click()
    expect(page.get_by_role("heading", name="Data retention", exact=True)).to_be_visible()
    expect(page.locator("#retention-preview")).to_have_attribute("data-count", "0")
    page.get_by_label("Inactive for (months)").fill("12")
    expect(page.locator("#retention-preview")).to_have_attribute("data-count", "1")
    expect(page.locator("#retention-preview")).to_contain_text("With 12 months")
