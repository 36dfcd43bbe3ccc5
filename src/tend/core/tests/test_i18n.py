"""Arabic: the catalog is complete and compiled, built-in role names and dates follow the
reader's language, and pages in Arabic are right-to-left."""

from __future__ import annotations

import ast
import gettext
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import formats, translation

from tend.core.tests.accounts_helpers import role_of

CATALOG = Path(settings.LOCALE_PATHS[0]) / "ar" / "LC_MESSAGES"


def _po_entries(path: Path) -> list[dict[str, object]]:
    """The entries of a .po file: msgid, msgid_plural, msgstr (or msgstr[n]) and flags."""
    entries: list[dict[str, object]] = []
    entry: dict[str, object] = {"flags": set()}
    key = ""

    def close() -> None:
        nonlocal entry
        if "msgid" in entry:
            entries.append(entry)
        entry = {"flags": set()}

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            close()
        elif line.startswith("#,"):
            entry["flags"] = {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] = str(entry[key]) + ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = [e for e in _po_entries(CATALOG / "django.po") if e["msgid"]]
    assert len(entries) > 400
    untranslated = [e["msgid"] for e in entries
                    if not all(v for k, v in e.items() if str(k).startswith("msgstr"))]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]  # type: ignore[operator]
    assert untranslated == []
    assert fuzzy == []
    plurals = [e for e in entries if "msgid_plural" in e]
    assert plurals and all(f"msgstr[{n}]" in e for e in plurals for n in range(6))


def test_compiled_catalog_matches_the_po_file():
    """CI has no gettext, so the .mo is committed: it must hold exactly what the .po says."""
    with (CATALOG / "django.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    catalog = compiled._catalog  # type: ignore[attr-defined]
    for entry in _po_entries(CATALOG / "django.po"):
        if not entry["msgid"]:
            continue
        # gettext keys a message with a context as "<context>\x04<msgid>"
        key = (f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry
               else entry["msgid"])
        if "msgid_plural" in entry:
            for n in range(6):
                assert catalog[(key, n)] == entry[f"msgstr[{n}]"]
        else:
            assert catalog[key] == entry["msgstr"], entry["msgid"]


def test_placeholders_survive_translation():
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    for entry in _po_entries(CATALOG / "django.po"):
        if not entry["msgid"] or "msgid_plural" in entry:
            continue
        assert sorted(placeholder.findall(str(entry["msgid"]))) == sorted(
            placeholder.findall(str(entry["msgstr"]))), entry["msgid"]


def test_builtin_role_names_follow_the_language(tenant):
    owner_role = role_of(tenant, "owner")
    assert owner_role.name == "Owner"
    with translation.override("ar"):
        assert owner_role.display_name == "مالك"
    with translation.override("en"):
        assert owner_role.display_name == "Owner"


def test_custom_role_names_are_shown_as_written(tenant):
    role = role_of(tenant, "viewer")
    role.is_builtin = False
    role.name = "Reader"
    with translation.override("ar"):
        assert role.display_name == "Reader"


def test_arabic_dates_put_the_day_first():
    moment = datetime(2026, 3, 4, 17, 5, tzinfo=UTC)
    with translation.override("ar"):
        short = formats.date_format(moment, "SHORT_DATETIME_FORMAT")
        assert short == "04\u200f/03\u200f/2026 5:05 م"
        assert formats.date_format(moment, "DATETIME_FORMAT") == "4 مارس، 2026 5:05 م"
    with translation.override("en"):
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "03/04/2026 5:05 p.m."


@pytest.mark.parametrize("path", ["/o/acme/", "/o/acme/settings/members/",
                                  "/o/acme/settings/roles/", "/profile/"])
def test_pages_in_arabic_are_right_to_left(client, tenant, owner, path):
    owner.language = "ar"
    owner.save(update_fields=["language"])
    client.force_login(owner)
    page = client.get(path).content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "لوحة التحكم" in page or path == "/profile/"
    assert ">Owner<" not in page


def test_service_errors_without_a_message_speak_the_readers_language():
    from tend.core.errors import Conflict, ValidationFailed

    with translation.override("ar"):
        assert ValidationFailed(fields={"name": ["x"]}).message == "المُدخلات غير صالحة."
        assert Conflict().message == "يتعارض الطلب مع الحالة الحالية."
    with translation.override("en"):
        assert ValidationFailed().message == "The input is not valid."
        assert ValidationFailed("Exact words.").message == "Exact words."


def test_owner_has_a_context_for_the_role_and_for_a_records_owner():
    with translation.override("ar"):
        assert translation.pgettext("role", "Owner") == "مالك"
        assert translation.pgettext("record owner", "Owner") == "المسؤول"
