"""Readers (CSV encodings and delimiters, XLSX, vCard) and the column auto-mapping."""

from __future__ import annotations

import codecs
import io

import pytest
from openpyxl import Workbook

from tend.core.errors import ValidationFailed
from tend.people.importing import auto_map, detect_format, detect_preset, open_reader, sniff_csv

ROWS = "Name;Email\nZoë Öztürk;zoe@example.com\nJosé Núñez;jose@example.com\n"


def _read(data: bytes, name: str = "f.csv"):
    fmt = detect_format(name, data[:65536])
    reader = open_reader(io.BytesIO(data), format=fmt)
    return fmt, reader.headers, list(reader.rows()), reader


@pytest.mark.parametrize("encoded, encoding", [
    (codecs.BOM_UTF8 + ROWS.encode("utf-8"), "utf-8-sig"),
    (codecs.BOM_UTF16_LE + ROWS.encode("utf-16-le"), "utf-16-le"),
    (codecs.BOM_UTF16_BE + ROWS.encode("utf-16-be"), "utf-16-be"),
    (ROWS.encode("utf-8"), "utf-8"),
    (ROWS.encode("cp1252"), "cp1252"),
])
def test_csv_encodings_and_semicolons(encoded, encoding):
    fmt, headers, rows, reader = _read(encoded)
    assert (fmt, reader.encoding, reader.delimiter) == ("csv", encoding, ";")
    assert headers == ["Name", "Email"]
    assert rows == [["Zoë Öztürk", "zoe@example.com"], ["José Núñez", "jose@example.com"]]


def test_csv_tabs_commas_quotes_and_short_rows():
    assert sniff_csv(b"a\tb\tc\n1\t2\t3\n") == ("utf-8", "\t")
    data = b'First,Last,Note\n"Smith, Jr",Ann,"two\nlines"\nBob\n\n,,\n'
    _fmt, _headers, rows, reader = _read(data)
    assert reader.delimiter == ","
    assert rows == [["Smith, Jr", "Ann", "two\nlines"], ["Bob", "", ""]]


def test_duplicate_and_blank_headers_get_names():
    _fmt, headers, _rows, _r = _read(b"Email,Email,,x\n1,2,3,4\n")
    assert headers == ["Email", "Email (2)", "Column 3", "x"]


def test_xlsx_rows():
    wb = Workbook()
    ws = wb.active
    ws.append(["First name", "Email", "Born", "Count"])
    ws.append(["Ann", "ann@example.com", None, 3])
    buf = io.BytesIO()
    wb.save(buf)
    fmt, headers, rows, _r = _read(buf.getvalue(), name="people.bin")
    assert fmt == "xlsx"
    assert headers == ["First name", "Email", "Born", "Count"]
    assert rows == [["Ann", "ann@example.com", "", "3"]]


VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lovelace;Ada;;;\r\nFN:Ada Lovelace\r\n"
    "EMAIL;TYPE=INTERNET:ada@example.com\r\nTEL:+44 20 7946 0958\r\nORG:Engines Ltd\r\n"
    "CATEGORIES:vip,math\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\n"
    "EMAIL:grace@example.com\r\nEMAIL:g2@example.com\r\nEND:VCARD\r\n"
)


def test_vcard_cards_become_rows():
    fmt, headers, rows, _r = _read(VCARDS.encode(), name="contacts.txt")
    assert fmt == "vcf"
    assert [dict(zip(headers, r, strict=True)) for r in rows] == [
        {"First name": "Ada", "Last name": "Lovelace", "Display name": "Ada Lovelace",
         "Email": "ada@example.com", "Phone": "+44 20 7946 0958", "Company": "Engines Ltd",
         "Job title": "", "Address": "", "City": "", "State": "", "Postal code": "",
         "Country": "", "Date of birth": "", "Tags": "vip,math"},
        {"First name": "Grace", "Last name": "Hopper", "Display name": "Grace Hopper",
         "Email": "grace@example.com;g2@example.com", "Phone": "", "Company": "",
         "Job title": "", "Address": "", "City": "", "State": "", "Postal code": "",
         "Country": "", "Date of birth": "", "Tags": ""},
    ]
    preset, mapping = auto_map(headers)
    assert preset == "tend"
    assert mapping["Email"] == "email" and mapping["Tags"] == "tags"


@pytest.mark.parametrize("name, data, message", [
    ("x.csv", b"", "The file is empty."),
    ("x.xls", b"\xd0\xcf\x11\xe0rest", "Old Excel files (.xls) are not supported"),
    ("x.xlsx", b"just text", "This file is not an Excel (.xlsx) workbook."),
    ("x.csv", b"\x00\x01\x02binary", "This file is not a CSV, XLSX or vCard file."),
])
def test_bad_files_are_refused(name, data, message):
    with pytest.raises(ValidationFailed) as exc:
        detect_format(name, data)
    assert exc.value.fields["file"][0].startswith(message)


def test_broken_xlsx_is_a_field_error():
    with pytest.raises(ValidationFailed) as exc:
        open_reader(io.BytesIO(b"PK\x03\x04broken zip"), format="xlsx")
    assert exc.value.fields["file"][0].startswith("This Excel file cannot be read")


HUBSPOT = ["Record ID", "First Name", "Last Name", "Email", "Phone Number",
           "Mobile Phone Number", "Company Name", "Lifecycle Stage", "City", "State/Region",
           "Country/Region", "Postal Code", "Street Address", "Contact owner", "Create Date"]
MAILCHIMP = ["Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday",
             "MEMBER_RATING", "OPTIN_TIME", "CONFIRM_TIME", "GMTOFF", "LEID", "EUID", "TAGS"]
GOOGLE = ["First Name", "Middle Name", "Last Name", "Phonetic First Name", "Name Prefix",
          "Nickname", "File As", "Organization Name", "Organization Title", "Birthday", "Notes",
          "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label",
          "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Address 1 - Label",
          "Address 1 - Formatted", "Address 1 - Street", "Address 1 - City",
          "Address 1 - Region", "Address 1 - Postal Code", "Address 1 - Country"]


def test_hubspot_preset():
    preset, mapping = auto_map(HUBSPOT)
    assert preset == "hubspot"
    assert mapping == {
        "Record ID": "external.hubspot", "First Name": "first_name", "Last Name": "last_name",
        "Email": "email", "Phone Number": "phone", "Mobile Phone Number": "phone",
        "Company Name": "company", "Lifecycle Stage": "lifecycle_stage", "City": "city",
        "State/Region": "state", "Country/Region": "country", "Postal Code": "postal_code",
        "Street Address": "address_line1",
    }


def test_mailchimp_preset():
    preset, mapping = auto_map(MAILCHIMP)
    assert preset == "mailchimp"
    assert mapping == {
        "Email Address": "email", "First Name": "first_name", "Last Name": "last_name",
        "Address": "address_line1", "Phone Number": "phone", "TAGS": "tags",
        "LEID": "external.mailchimp", "Birthday": "date_of_birth",
    }


def test_google_preset():
    preset, mapping = auto_map(GOOGLE)
    assert preset == "google"
    assert mapping == {
        "First Name": "first_name", "Last Name": "last_name", "Organization Name": "company",
        "Organization Title": "job_title", "Birthday": "date_of_birth", "Labels": "tags",
        "E-mail 1 - Value": "email", "E-mail 2 - Value": "email", "Phone 1 - Value": "phone",
        "Address 1 - Street": "address_line1", "Address 1 - City": "city",
        "Address 1 - Region": "state", "Address 1 - Postal Code": "postal_code",
        "Address 1 - Country": "country",
    }


def test_fuzzy_headers_without_a_preset():
    assert detect_preset(["Surname", "E-Mail", "Mobile"]) is None
    preset, mapping = auto_map(["Surname", "Given name", "E-Mail", "Mobile", "Zip code",
                                "Emial adress", "Shoe size", "custom.vip"])
    assert preset == ""
    assert mapping == {"Surname": "last_name", "Given name": "first_name", "E-Mail": "email",
                       "Mobile": "phone", "Zip code": "postal_code",
                       "Emial adress": "email"}  # no custom field "vip": not mapped


def test_large_xlsx_sheets_are_streamed_with_the_same_rows():
    from datetime import date

    from tend.people.importing.readers import open_xlsx

    wb = Workbook()
    ws = wb.active
    ws.append(["First name", "Email", "Born", "Count"])
    ws.append(["Ann", "ann@example.com", date(1990, 5, 17), 3])
    ws.append([None, None, None, None])
    ws.append(["Bob", "bob@example.com", None, 2.5])
    buf = io.BytesIO()
    wb.save(buf)
    loaded = open_xlsx(io.BytesIO(buf.getvalue()))
    streamed = open_xlsx(io.BytesIO(buf.getvalue()), stream_above=0)
    assert type(streamed.closers[0]).__module__.startswith("openpyxl")
    assert type(loaded.closers[0]).__module__.startswith("python_calamine") or (
        "Calamine" in type(loaded.closers[0]).__name__)
    expected = [["Ann", "ann@example.com", "1990-05-17", "3"],
                ["Bob", "bob@example.com", "", "2.5"]]
    assert (streamed.headers, list(streamed.rows())) == (loaded.headers, expected)
    assert list(loaded.rows()) == expected
    streamed.close()
    loaded.close()
