"""In a real browser: upload a small CSV through the import wizard, fix the mapping, run it,
and read the report."""

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = ("Email Address,First Name,Last Name,Stadt\n"
       "lina@example.com,Lina,Haddad,Dubai\n"
       "not-an-email,Bad,Row,Cairo\n"
       "omar@example.com,Omar,Saleh,Amman\n")


def test_upload_map_run_and_report(page, login, tenant, owner, tmp_path):
    upload = tmp_path / "people.csv"
    upload.write_text(CSV, encoding="utf-8")
    login("owner@example.com")
    page.goto("/o/acme/people/imports/")
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("heading", name="2. Map columns")).to_be_visible()
    expect(page.locator("#col_0")).to_have_value("email")
    expect(page.locator("#col_3")).to_have_value("")
    page.locator("#col_3").select_option("city")
    page.get_by_label("Only fill empty fields").check()
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_role("heading", name="3. Preview")).to_be_visible()
    expect(page.locator("#import-preview-summary")).to_contain_text("Rows with errors: 1.")
    expect(page.locator("#import-preview-table")).to_contain_text(
        "email: “not-an-email” is not valid.")
    page.get_by_role("button", name="Run the import").click()

    expect(page.get_by_role("heading", name="4. Report")).to_be_visible()
    expect(page.locator("#import-status")).to_have_text("Succeeded")
    expect(page.locator('[data-count="created"] dd')).to_have_text("2")
    expect(page.locator('[data-count="errors"] dd')).to_have_text("1")
    with page.expect_download() as download:
        page.locator("#import-errors-download").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[1] == (
        "2,not-an-email,Bad,Row,Cairo,email: “not-an-email” is not valid.")
    with tenant_scope(tenant):
        assert sorted(Contact.objects.values_list("primary_email", "city")) == [
            ("lina@example.com", "Dubai"), ("omar@example.com", "Amman")]
