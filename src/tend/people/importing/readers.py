"""Streaming row readers for contact files: CSV (any common encoding, `,` `;` or tab), XLSX and
vCard. Each reader yields one row at a time, so memory stays flat whatever the file's size.

A reader is opened on a binary file object (a Django `File`, an upload, an open path) and
gives `headers` (list of column names) and `rows()` (an iterator of lists of strings, one per
data row, as long as the headers). vCards have no columns: each card becomes a row under our
own export's headers, so the auto-mapping recognizes them.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from django.utils.translation import gettext as _

from tend.core.errors import ValidationFailed

SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t"
FORMATS = ("csv", "xlsx", "vcf")
# Columns a vCard row fills (the same names our CSV export writes).
VCARD_HEADERS = ["First name", "Last name", "Display name", "Email", "Phone", "Company",
                 "Job title", "Address", "City", "State", "Postal code", "Country",
                 "Date of birth", "Tags"]

csv.field_size_limit(1024 * 1024)


def _bad_file(message: str) -> ValidationFailed:
    return ValidationFailed(fields={"file": [message]})


def detect_format(name: str, head: bytes) -> str:
    """`csv`, `xlsx` or `vcf`, from the file's first bytes and then its extension.

    Content wins over the name: a zip that is not named .xlsx is still read as XLSX, a
    "contacts.csv" that is really a vCard is read as one. Raises ValidationFailed for files
    that are none of these (other binaries, empty files).
    """
    lower = name.lower()
    if not head:
        raise _bad_file(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _bad_file(_("Old Excel files (.xls) are not supported: save the sheet as .xlsx "
                          "or CSV."))
    text_head = _decode_sample(head)[0].lstrip("\ufeff").lstrip()
    if text_head[:11].upper() == "BEGIN:VCARD":
        return "vcf"
    if lower.endswith((".vcf", ".vcard")):
        raise _bad_file(_("This file is not a vCard."))
    if lower.endswith((".xlsx", ".xlsm")):
        raise _bad_file(_("This file is not an Excel (.xlsx) workbook."))
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _bad_file(_("This file is not a CSV, XLSX or vCard file."))
    return "csv"


def _decode_sample(head: bytes) -> tuple[str, str]:
    """Decode the file's first bytes; returns (text, encoding name for the whole file)."""
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith(codecs.BOM_UTF16_LE):
        encoding = "utf-16-le"
    elif head.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16-be"
    else:
        try:
            # An incremental decoder, so a character cut at the sample's end is not an error.
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            return text, "utf-8"
        except UnicodeDecodeError:
            try:
                return head.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                return head.decode("latin-1"), "latin-1"
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    return text.lstrip("\ufeff"), encoding


def sniff_csv(head: bytes) -> tuple[str, str]:
    """(encoding, delimiter) of a CSV file from its first bytes.

    Encoding: a UTF-8 or UTF-16 (LE/BE) byte order mark decides; otherwise UTF-8 if the sample
    decodes, else cp1252 (Windows Excel's default), else Latin-1. Delimiter: `csv.Sniffer`
    among `,` `;` and tab on the sample, falling back to the most frequent of the three on the
    header line.
    """
    text, encoding = _decode_sample(head)
    sample = text[: SNIFF_BYTES // 2]
    # The sniffer reads whole lines: drop a last line cut by the sample's end.
    if "\n" in sample.rstrip("\n"):
        sample = sample[: sample.rstrip("\n").rfind("\n") + 1]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        delimiter = max(DELIMITERS, key=first_line.count) if first_line else ","
        if first_line.count(delimiter) == 0:
            delimiter = ","
    return encoding, delimiter


@dataclass
class Reader:
    """An open file's header row and its data rows (read lazily, one at a time)."""

    headers: list[str]
    _rows: Iterator[list[str]]
    encoding: str = ""
    delimiter: str = ""
    closers: list[Any] = field(default_factory=list)

    def rows(self) -> Iterator[list[str]]:
        width = len(self.headers)
        for row in self._rows:
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not rows
            if len(row) < width:
                row = row + [""] * (width - len(row))
            yield row[:width] if len(row) > width else row

    def release(self) -> None:
        """Stop reading but leave the underlying binary file open (the caller owns it)."""
        for closer in self.closers:
            if isinstance(closer, io.TextIOWrapper):
                closer.detach()
            else:
                closer.close()

    def close(self) -> None:
        for closer in self.closers:
            with contextlib.suppress(Exception):
                closer.close()


def _clean_headers(raw: list[Any]) -> list[str]:
    headers = [str(h if h is not None else "").strip().lstrip("\ufeff") for h in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not headers or not any(headers):
        raise _bad_file(_("The first row must name the columns."))
    seen: dict[str, int] = {}
    unique = []
    for index, header in enumerate(headers):
        header = header or _("Column %(number)d") % {"number": index + 1}
        if header in seen:
            seen[header] += 1
            header = f"{header} ({seen[header]})"
        else:
            seen[header] = 1
        unique.append(header)
    return unique


def open_csv(binary: IO[bytes], *, encoding: str = "", delimiter: str = "") -> Reader:
    """Read a CSV file; sniffs encoding and delimiter unless given."""
    head = binary.read(SNIFF_BYTES)
    binary.seek(0)
    if not encoding or not delimiter:
        sniffed_encoding, sniffed_delimiter = sniff_csv(head)
        encoding = encoding or sniffed_encoding
        delimiter = delimiter or sniffed_delimiter
    # A bad byte deep in a large file must not stop the import: it becomes U+FFFD.
    text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")
    if encoding in ("utf-16-le", "utf-16-be"):
        first = text.read(1)
        if first != "\ufeff":
            text.seek(0)
    rows = csv.reader(text, delimiter=delimiter)
    try:
        headers = _clean_headers(next(rows))
    except StopIteration:
        raise _bad_file(_("The file is empty.")) from None
    except csv.Error as exc:
        raise _bad_file(_("This CSV file cannot be read: %(error)s") % {"error": exc}) from None
    return Reader(headers=headers, _rows=_csv_rows(rows), encoding=encoding,
                  delimiter=delimiter, closers=[text])


def _csv_rows(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    try:
        yield from rows
    except csv.Error as exc:
        raise _bad_file(_("This CSV file cannot be read: %(error)s") % {"error": exc}) from None


def _xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != datetime.min.time() else (
            value.date().isoformat())
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# Above this much sheet XML, the workbook is streamed (openpyxl, read-only) instead of loaded
# whole (calamine: fast, but its memory grows with the sheet, about one byte per XML byte).
XLSX_STREAM_ABOVE = 32 * 1024 * 1024


def _first_sheet_size(binary: IO[bytes]) -> int:
    """The uncompressed size of the workbook's first sheet (its XML), 0 if not found."""
    try:
        with zipfile.ZipFile(binary) as archive:
            sheets = sorted((i for i in archive.infolist()
                             if i.filename.startswith("xl/worksheets/sheet")),
                            key=lambda i: (len(i.filename), i.filename))
            return sheets[0].file_size if sheets else 0
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0
    finally:
        binary.seek(0)


def open_xlsx(binary: IO[bytes], *, stream_above: int | None = None) -> Reader:
    """Read the first sheet of an XLSX workbook row by row: python-calamine for ordinary
    files, openpyxl's read-only streaming for very large sheets (memory stays flat)."""
    limit = XLSX_STREAM_ABOVE if stream_above is None else stream_above
    if _first_sheet_size(binary) > limit:
        return _open_xlsx_streaming(binary)
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(binary)  # type: ignore[arg-type]
        sheet = workbook.get_sheet_by_index(0)
        rows = iter(sheet.iter_rows())
        first = next(rows, None)
    except Exception as exc:
        raise _bad_file(_("This Excel file cannot be read: %(error)s") % {"error": exc}) from None
    if first is None:
        raise _bad_file(_("The file is empty."))
    headers = _clean_headers([_xlsx_cell(v) for v in first])
    return Reader(headers=headers, _rows=([_xlsx_cell(v) for v in row] for row in rows),
                  closers=[workbook])


def _open_xlsx_streaming(binary: IO[bytes]) -> Reader:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(binary, read_only=True, data_only=True)
        rows = iter(workbook.worksheets[0].iter_rows(values_only=True))
        first = next(rows, None)
    except Exception as exc:
        raise _bad_file(_("This Excel file cannot be read: %(error)s") % {"error": exc}) from None
    if first is None:
        workbook.close()
        raise _bad_file(_("The file is empty."))
    headers = _clean_headers([_xlsx_cell(v) for v in first])
    return Reader(headers=headers, _rows=([_xlsx_cell(v) for v in row] for row in rows),
                  closers=[workbook])


def _vcard_value(card: Any, name: str) -> list[Any]:
    return [item.value for item in card.contents.get(name, [])]


def _flat(part: Any) -> str:
    return part if isinstance(part, str) else " ".join(str(p) for p in part)


def _vcard_row(card: Any) -> list[str]:
    first = last = ""
    names = _vcard_value(card, "n")
    if names:
        first, last = _flat(names[0].given), _flat(names[0].family)
    display = (_vcard_value(card, "fn") or [""])[0]
    emails = ";".join(v.strip() for v in _vcard_value(card, "email") if v.strip())
    phones = ";".join(v.strip() for v in _vcard_value(card, "tel") if v.strip())
    org = _vcard_value(card, "org")
    company = (org[0][0] if org and isinstance(org[0], list) and org[0] else
               (org[0] if org else ""))
    title = (_vcard_value(card, "title") or [""])[0]
    street = city = region = code = country = ""
    addresses = _vcard_value(card, "adr")
    if addresses:
        adr = addresses[0]
        street, city, region = _flat(adr.street), _flat(adr.city), _flat(adr.region)
        code, country = _flat(adr.code), _flat(adr.country)
    bday = (_vcard_value(card, "bday") or [""])[0]
    categories = _vcard_value(card, "categories")
    tags = ",".join(t for group in categories for t in (group if isinstance(group, list)
                                                         else [group]))
    return [first, last, display, emails, phones, str(company), title, street, city, region,
            code, country, str(bday), tags]


def open_vcard(binary: IO[bytes]) -> Reader:
    """Read vCards (2.1, 3.0, 4.0) one card at a time (vobject)."""
    import vobject

    head = binary.read(SNIFF_BYTES)
    binary.seek(0)
    encoding = _decode_sample(head)[1]
    text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")

    def cards() -> Iterator[list[str]]:
        try:
            for card in vobject.readComponents(text, ignoreUnreadable=True):
                if card.name.upper() == "VCARD":
                    yield _vcard_row(card)
        except Exception as exc:
            raise _bad_file(_("This vCard file cannot be read: %(error)s")
                            % {"error": exc}) from None

    return Reader(headers=list(VCARD_HEADERS), _rows=cards(), encoding=encoding,
                  closers=[text])


def open_reader(binary: IO[bytes], *, format: str, encoding: str = "",
                delimiter: str = "") -> Reader:
    """A reader for `binary` in `format` (`csv`, `xlsx` or `vcf`)."""
    if format == "csv":
        return open_csv(binary, encoding=encoding, delimiter=delimiter)
    if format == "xlsx":
        return open_xlsx(binary)
    if format == "vcf":
        return open_vcard(binary)
    raise _bad_file(_("Unknown file format."))
