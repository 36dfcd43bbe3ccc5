"""Import services: upload, mapping, preview, run with modes, duplicates, errors, resume."""

from __future__ import annotations

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import AuditLog
from tend.core.services.customfields import customfield_create
from tend.core.services.tags import tag_create
from tend.people.models import Activity, Company, Contact, ContactImport, ContactTag, IdentityAlias
from tend.people.services.contacts import contact_create
from tend.people.services.imports import (
    contact_import_configure,
    contact_import_create,
    contact_import_preview,
    contact_import_run,
    contact_import_start,
    error_rows_csv,
)

SYSTEM = Actor.system()


def upload(text: str, name: str = "contacts.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding))


def make_import(tenant, text, *, mode=None, mapping=None, tag_ids=None, **kw):
    imp = contact_import_create(tenant=tenant, actor=SYSTEM, file=upload(text, **kw))
    return contact_import_configure(tenant=tenant, actor=SYSTEM, imp=imp,
                                    mapping=mapping or imp.mapping, mode=mode, tag_ids=tag_ids)


HUBSPOT_CSV = (
    "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Lifecycle Stage,"
    "Country/Region,Contact owner\n"
    "101,Lina,Haddad,LINA@example.com,+971 50 123 4567,Acme,customer,United Arab Emirates,x\n"
    "102,Omar,Saleh,omar@example.com,,Acme,marketingqualifiedlead,AE,y\n"
)


def test_hubspot_file_imports_with_auto_mapping(scoped):
    imp = make_import(scoped, HUBSPOT_CSV)
    assert imp.detected_preset == "hubspot"
    counts = contact_import_run(tenant=scoped, imp=imp)
    assert counts == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "merged": 0,
                      "errors": 0}
    lina = Contact.objects.get(primary_email="lina@example.com")
    assert (lina.display_name, lina.primary_phone, lina.lifecycle_stage, lina.country,
            lina.company.name, lina.external_ids) == (
        "Lina Haddad", "+971501234567", "CUSTOMER", "AE", "Acme", {"hubspot": "101"})
    assert Company.objects.count() == 1
    assert sorted(IdentityAlias.objects.filter(contact=lina).values_list(
        "type", "system", "value", "is_primary")) == [
        ("EMAIL", "", "lina@example.com", True), ("EXTERNAL", "hubspot", "101", False),
        ("PHONE", "", "+971501234567", True)]
    assert Contact.objects.get(primary_email="omar@example.com").lifecycle_stage == "LEAD"
    assert Activity.objects.filter(type="CONTACT_IMPORTED").count() == 2
    imp.refresh_from_db()
    assert (imp.status, imp.checkpoint, imp.total_rows) == ("SUCCEEDED", 2, 2)
    assert AuditLog.objects.filter(action="contact_import.finished").count() == 1


def test_per_row_errors_and_error_file(scoped):
    text = ("Email,Phone,Date of birth,Lifecycle stage\n"
            "good@example.com,,1990-05-01,lead\n"
            "not-an-email,,,\n"
            "ok2@example.com,12,31/02/1990,wizard\n"
            ",,,\n"
            "=HYPERLINK(1),,,\n")
    imp = make_import(scoped, text)
    preview = contact_import_preview(tenant=scoped, imp=imp)
    assert [(p.number, p.errors) for p in preview] == [
        (1, []),
        (2, ["email: “not-an-email” is not valid."]),
        (3, ["phone: “12” is not valid.", "Date of birth: not a date (use YYYY-MM-DD).",
             "Lifecycle stage: unknown lifecycle stage."]),
        (4, ["email: “=HYPERLINK(1)” is not valid."]),
    ]
    counts = contact_import_run(tenant=scoped, imp=imp)
    assert (counts["created"], counts["errors"]) == (1, 3)
    imp.refresh_from_db()
    data = b"".join(error_rows_csv(imp)).decode("utf-8-sig")
    assert data.splitlines() == [
        "row,Email,Phone,Date of birth,Lifecycle stage,errors",
        "2,not-an-email,,,,email: “not-an-email” is not valid.",
        "3,ok2@example.com,12,31/02/1990,wizard,phone: “12” is not valid.; Date of birth: not a "
        "date (use YYYY-MM-DD).; Lifecycle stage: unknown lifecycle stage.",
        "4,'=HYPERLINK(1),,,,email: “=HYPERLINK(1)” is not valid.",
    ]


@pytest.fixture
def existing(scoped):
    return contact_create(tenant=scoped, actor=SYSTEM,
                          data={"first_name": "Lina", "last_name": "", "job_title": "CEO"},
                          emails=["lina@example.com"])


FILE = ("Email,First name,Last name,Job title\n"
        "lina@example.com,Lina,Haddad,CTO\n"
        "new@example.com,New,Person,\n")


@pytest.mark.parametrize("mode, job_title, last_name, counts", [
    ("UPDATE", "CTO", "Haddad", (1, 1, 0, 0)),
    ("FILL_BLANKS", "CEO", "Haddad", (1, 1, 0, 0)),
    ("SKIP", "CEO", "", (1, 0, 0, 1)),
])
def test_modes(scoped, existing, mode, job_title, last_name, counts):
    imp = make_import(scoped, FILE, mode=mode)
    result = contact_import_run(tenant=scoped, imp=imp)
    assert (result["created"], result["updated"], result["unchanged"],
            result["skipped"]) == counts
    existing.refresh_from_db()
    assert (existing.job_title, existing.last_name) == (job_title, last_name)
    assert Contact.objects.count() == 2


def test_unchanged_when_the_file_says_what_we_have(scoped, existing):
    imp = make_import(scoped, "Email,First name,Job title\nlina@example.com,Lina,CEO\n")
    assert contact_import_run(tenant=scoped, imp=imp)["unchanged"] == 1


def test_duplicates_in_the_file_merge_into_the_first(scoped):
    text = ("Email,Phone,First name,City\n"
            "a@example.com,,Ann,\n"
            "A@Example.com,+14155550100,Anna,Paris\n"
            "b@example.com,+14155550100,Bob,\n")
    imp = make_import(scoped, text)
    counts = contact_import_run(tenant=scoped, imp=imp)
    assert (counts["created"], counts["merged"]) == (1, 2)
    ann = Contact.objects.get()
    assert (ann.first_name, ann.city, ann.primary_phone) == ("Ann", "Paris", "+14155550100")
    assert sorted(IdentityAlias.objects.values_list("value", flat=True)) == [
        "+14155550100", "a@example.com", "b@example.com"]


def test_identities_of_two_contacts_is_a_row_error(scoped):
    contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "A"},
                   emails=["a@example.com"])
    contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "B"},
                   emails=["b@example.com"])
    imp = make_import(scoped, "Email,Other emails\na@example.com,b@example.com\n",
                      mapping={"Email": "email", "Other emails": "email"})
    counts = contact_import_run(tenant=scoped, imp=imp)
    assert (counts["errors"], counts["updated"]) == (1, 0)


def test_tags_from_options_and_column_and_custom_fields(scoped):
    vip = tag_create(tenant=scoped, actor=SYSTEM, name="VIP")
    customfield_create(tenant=scoped, actor=SYSTEM, entity_type="contact", key="shirt",
                       label="Shirt size", field_type="choice",
                       choices=[{"value": "s", "label": "S"}, {"value": "m", "label": "M"}])
    text = "Email,Tags,Shirt size\nx@example.com,\"golf, Tennis\",m\ny@example.com,,xl\n"
    imp = make_import(scoped, text, tag_ids=[vip.pk])
    assert imp.mapping == {"Email": "email", "Tags": "tags", "Shirt size": "custom.shirt"}
    counts = contact_import_run(tenant=scoped, imp=imp)
    assert (counts["created"], counts["errors"]) == (1, 1)
    x = Contact.objects.get()
    assert x.custom == {"shirt": "m"}
    assert sorted(ContactTag.objects.values_list("tag__name", flat=True)) == [
        "Tennis", "VIP", "golf"]


def test_resume_after_a_crash(scoped):
    contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Old"},
                   emails=["p3@example.com"])
    lines = ["Email,First name"]
    for n in range(1, 26):
        lines.append(f"p{n}@example.com,P{n}")
    lines.append("p5@example.com,Again")  # a duplicate in the file
    lines.append("broken,Bad")
    imp = make_import(scoped, "\n".join(lines) + "\n")

    def crash(batch: int) -> None:
        if batch == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        contact_import_run(tenant=scoped, imp=imp, batch_size=10, after_batch=crash)
    imp.refresh_from_db()
    assert (imp.status, imp.checkpoint) == ("FAILED", 20)
    assert Contact.objects.count() == 20  # 19 new + the old one: two whole batches
    counts = contact_import_run(tenant=scoped, imp=imp, batch_size=10)
    assert counts == {"created": 24, "updated": 1, "unchanged": 0, "skipped": 0, "merged": 1,
                      "errors": 1}
    assert Contact.objects.count() == 25
    assert IdentityAlias.objects.count() == 25
    imp.refresh_from_db()
    assert (imp.status, imp.checkpoint) == ("SUCCEEDED", 27)
    assert b"".join(error_rows_csv(imp)).decode("utf-8-sig").count("\n") == 2


def test_batch_failure_leaves_nothing_half_written(scoped, monkeypatch):
    from tend.people.services import bulkwrite

    imp = make_import(scoped, "Email,Company\na@example.com,Acme\nb@example.com,Beta\n")

    real_insert = bulkwrite.bulk_insert

    def boom(model, objs, **kwargs):
        if model is Activity:
            raise RuntimeError("disk full")
        real_insert(model, objs, **kwargs)

    monkeypatch.setattr(bulkwrite, "bulk_insert", boom)
    with pytest.raises(RuntimeError):
        contact_import_run(tenant=scoped, imp=imp)
    assert (Contact.objects.count(), Company.objects.count(), IdentityAlias.objects.count()) == (
        0, 0, 0)
    assert ContactImport.objects.get().checkpoint == 0


def test_mapping_validation(scoped):
    imp = contact_import_create(tenant=scoped, actor=SYSTEM,
                                file=upload("Email,City,Town\na@example.com,X,Y\n"))
    with pytest.raises(ValidationFailed) as exc:
        contact_import_configure(tenant=scoped, actor=SYSTEM, imp=imp,
                                 mapping={"Nope": "email", "City": "city", "Town": "city",
                                          "Email": "favourite_colour"})
    assert exc.value.fields == {
        "mapping.Nope": ["The file has no such column."],
        "mapping.Town": ["Column “City” already goes into this field."],
        "mapping.Email": ["Choose a field to import this column into."],
    }
    with pytest.raises(ValidationFailed) as exc:
        contact_import_configure(tenant=scoped, actor=SYSTEM, imp=imp, mapping={"City": "city"})
    assert exc.value.fields == {"mapping": [
        "Map at least a name, an email, a phone or an id column."]}
    with pytest.raises(ValidationFailed) as exc:
        contact_import_configure(tenant=scoped, actor=SYSTEM, imp=imp, mode="SOMETIMES")
    assert exc.value.fields == {"mode": ["Choose how to treat existing contacts."]}
    with pytest.raises(ValidationFailed) as exc:
        contact_import_configure(tenant=scoped, actor=SYSTEM, imp=imp, tag_ids=["nope"])
    assert exc.value.fields == {"tag_ids": ["Choose tags of this organization."]}


def test_upload_checks(scoped, settings):
    viewer = Actor(kind="user", permissions=frozenset({"contacts.view"}))
    with pytest.raises(PermissionDenied):
        contact_import_create(tenant=scoped, actor=viewer, file=upload("Email\na@b.co\n"))
    settings.TEND_IMPORT_MAX_BYTES = 10
    with pytest.raises(ValidationFailed) as exc:
        contact_import_create(tenant=scoped, actor=SYSTEM, file=upload("Email\na@example.com\n"))
    assert exc.value.fields == {"file": ["The file is larger than 0 MB."]}


def test_utf16_upload(scoped):
    text = "Email\tFirst name\nzoe@example.com\tZoë\n"
    imp = make_import(scoped, text, encoding="utf-16")  # Python writes a LE BOM
    assert (imp.encoding, imp.delimiter) == ("utf-16-le", "\t")
    contact_import_run(tenant=scoped, imp=imp)
    assert Contact.objects.get().first_name == "Zoë"


def test_start_queues_a_job_once(scoped, django_capture_on_commit_callbacks):
    imp = make_import(scoped, "Email\na@example.com\n")
    with django_capture_on_commit_callbacks(execute=True):
        job = contact_import_start(tenant=scoped, actor=SYSTEM, imp=imp)
    job.refresh_from_db()
    imp.refresh_from_db()
    assert (job.kind, job.status, job.counts["created"], imp.status) == (
        "people.import", "succeeded", 1, "SUCCEEDED")
    with pytest.raises(Conflict):
        contact_import_start(tenant=scoped, actor=SYSTEM, imp=imp)
    assert codecs  # the module is used by other tests of this file


@pytest.mark.parametrize("address", [
    "Ann.Lee@Example.COM", "a+b@sub.example.org", "x@y.co", "o'neil@example.ie",
    "a..b@example.com", ".a@example.com", "a@-example.com", "a@example", "a@ex_ample.com",
    "a@example.test", "a@localhost", "émile@example.fr", "a@exämple.de", "\"q\"@example.com",
    "a@b.c", "x" * 65 + "@example.com",
])
def test_fast_email_agrees_with_the_full_check(address):
    from tend.people.identities import normalize_email
    from tend.people.services.imports import fast_email

    try:
        full = normalize_email(address)
    except ValidationFailed:
        full = None
    fast = fast_email(address)
    assert fast is None or fast == full


def test_an_import_whose_worker_died_can_resume(scoped, django_capture_on_commit_callbacks):
    from tend.core.services.jobs import job_fail

    imp = make_import(scoped, "Email\na@example.com\nb@example.com\n")
    job = contact_import_start(tenant=scoped, actor=SYSTEM, imp=imp)  # never run: worker died
    with pytest.raises(Conflict):
        contact_import_start(tenant=scoped, actor=SYSTEM, imp=imp)
    job_fail(tenant=scoped, job=job, message="The worker running this job stopped.")
    with django_capture_on_commit_callbacks(execute=True):
        again = contact_import_start(tenant=scoped, actor=SYSTEM, imp=imp)
    imp.refresh_from_db()
    assert (again.pk != job.pk, imp.status, imp.counts["created"]) == (True, "SUCCEEDED", 2)


def test_xlsx_and_vcard_files_import(scoped):
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Email", "First name", "Date of birth"])
    sheet.append(["x@example.com", "Xena", "1990-02-03"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    imp = contact_import_create(tenant=scoped, actor=SYSTEM,
                                file=SimpleUploadedFile("people.xlsx", buffer.getvalue()))
    imp = contact_import_configure(tenant=scoped, actor=SYSTEM, imp=imp, mapping=imp.mapping)
    assert contact_import_run(tenant=scoped, imp=imp)["created"] == 1
    vcard = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Hopper;Grace;;;\r\nFN:Grace Hopper\r\n"
             "EMAIL:grace@example.com\r\nTEL:+14155550123\r\nORG:Navy\r\n"
             "CATEGORIES:pioneer\r\nEND:VCARD\r\n")
    imp = make_import(scoped, vcard, name="people.vcf")
    assert (imp.format, imp.detected_preset) == ("vcf", "tend")
    assert contact_import_run(tenant=scoped, imp=imp)["created"] == 1
    grace = Contact.objects.get(primary_email="grace@example.com")
    assert (grace.display_name, grace.primary_phone, grace.company.name) == (
        "Grace Hopper", "+14155550123", "Navy")
    assert list(ContactTag.objects.filter(contact=grace).values_list("tag__name", flat=True)) == [
        "pioneer"]
    x = Contact.objects.get(primary_email="x@example.com")
    assert (x.first_name, str(x.date_of_birth)) == ("Xena", "1990-02-03")


def test_new_contacts_need_required_custom_fields_known_ones_do_not(scoped):
    # Given a required custom field and one contact that exists already
    customfield_create(tenant=scoped, actor=SYSTEM, entity_type="contact", key="member_no",
                       label="Member number", field_type="text", required=True)
    known = contact_create(tenant=scoped, actor=SYSTEM, emails=["known@example.com"], data={
        "first_name": "Known", "custom": {"member_no": "M-1"}})
    text = ("Email,Member number\n"
            "known@example.com,\n"  # known: may lack it
            "new@example.com,\n"  # new without it: refused
            "other@example.com,M-7\n")  # new with it
    # When the file is imported
    counts = contact_import_run(tenant=scoped, imp=make_import(scoped, text))
    # Then the new row without the field is an error with a message naming the field
    assert (counts["created"], counts["errors"]) == (1, 1)
    assert not IdentityAlias.objects.filter(value="new@example.com").exists()
    assert IdentityAlias.objects.get(value="other@example.com").contact.custom == {
        "member_no": "M-7"}
    errors = b"".join(error_rows_csv(ContactImport.objects.get())).decode("utf-8-sig")
    assert "member_no: required for a new contact." in errors
    known.refresh_from_db()
    assert known.custom == {"member_no": "M-1"}
