"""Reading account lists ("danh sách học viên") from CSV and XLSX files, as people make them.

Every byte is decoded knowingly or refused: UTF-8 (with or without BOM), UTF-16 (Excel's
"Unicode text") and Windows-1258 are accepted; a file that is none of them is refused with a
clear message instead of being shown with garbled letters. Delimiters: comma, semicolon, tab.
Headers may be Vietnamese or English, with or without diacritics, in any order.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from lms.documents.spreadsheets import unquote_formula
from lms.services.errors import N_, DomainError
from lms.services.text import fold

MAX_ROWS = 100_000

# Canonical field -> accepted headers (compared without diacritics, case or spaces).
HEADERS = {
    "full_name": ("Họ và tên", "Họ tên", "Full name", "Name"),
    "birth_date": ("Ngày sinh", "Birth date", "Date of birth"),
    "phone": ("Số điện thoại", "Điện thoại", "Phone", "Phone number"),
    "email": ("Email", "Thư điện tử", "E-mail"),
    "unit": ("Đơn vị", "Unit"),
    "username": ("Tên đăng nhập", "Username", "Login"),
    "batch": ("Đợt học", "Batch", "Cohort"),
    "issued_at": ("Ngày cấp tài khoản", "Ngày cấp", "Issued on", "Issue date"),
}
TEMPLATE_HEADERS = [names[0] for names in HEADERS.values()]
REQUIRED = ("full_name", "unit")
_KEYS = {
    re.sub(r"[^a-z0-9]", "", fold(name)): key for key, names in HEADERS.items() for name in names
}

# Characters Windows-1258 can hold that no Vietnamese name, unit or address would use: their
# presence means the file was in another code page, and guessing would garble it.
_FOREIGN = set("€‚ƒ„…†‡ˆ‰‹Œ‘’“”•–—˜™›œŸ¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷")
_VIETNAMESE_MARKS = set("ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323")


@dataclass
class Table:
    """The rows of a file: (line number, {field: text}); unknown columns are kept aside."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    # The file as it was, to give it back with an error column.
    header: list[str] = field(default_factory=list)
    raw: dict[int, list[str]] = field(default_factory=dict)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _text(cell) -> str:
    """A cell's text, without the quote our CSV files put before a formula-like text: a
    file exported from Hocvu (or its error file) is imported as it was."""
    return unquote_formula(_nfc(str(cell or "")))


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the name of its encoding; DomainError when unknowable."""
    if (
        data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"))
        or b"\x00" in data[:4000:2]
        and (not data.startswith((b"\xff\xfe", b"\xfe\xff")))
    ):
        raise DomainError(
            N_(
                "The file's encoding cannot be recognised. Save it from Excel as "
                '"CSV UTF-8" or as an Excel workbook (.xlsx) and upload it again.'
            )
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return _nfc(data[3:].decode("utf-8")), "UTF-8"
        except UnicodeDecodeError:
            raise DomainError(N_("The file says it is UTF-8 but is damaged.")) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _nfc(data.decode("utf-16")), "UTF-16"
        except UnicodeDecodeError:
            raise DomainError(N_("The file says it is UTF-16 but is damaged.")) from None
    try:
        return _nfc(data.decode("utf-8")), "UTF-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1258", errors="strict") if _cp1258_ok(data) else None
    if text is None:
        raise DomainError(
            N_(
                "The file's encoding cannot be recognised. Save it from Excel as "
                '"CSV UTF-8" or as an Excel workbook (.xlsx) and upload it again.'
            )
        )
    return _nfc(text), "Windows-1258"


def _cp1258_ok(data: bytes) -> bool:
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError:
        return False
    high = [ch for ch in text if ord(ch) > 127]
    if not high or any(ch in _FOREIGN for ch in high):
        return False
    return any(ch in _VIETNAMESE_MARKS for ch in high)


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        raise DomainError(N_("The first line has no column separator (comma, semicolon or tab)."))
    return delimiter


def _header_key(name: str) -> str | None:
    return _KEYS.get(re.sub(r"[^a-z0-9]", "", fold(name or "")))


def _table(lines: list[list[str]], first_line_number: int, encoding: str) -> Table:
    if not lines or not any(cell.strip() for cell in lines[0]):
        raise DomainError(N_("The file is empty."))
    header = [_text(cell).strip() for cell in lines[0]]
    keys = [_header_key(cell) for cell in header]
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        names = ", ".join(HEADERS[k][0] for k in missing)
        raise DomainError(
            N_("The first line must name the columns; missing: %(names)s."), names=names
        )
    table = Table(
        header=header,
        columns=[k for k in keys if k],
        encoding=encoding,
        unknown_columns=[h for h, k in zip(header, keys, strict=True) if not k and h],
    )
    for offset, cells in enumerate(lines[1:], start=1):
        if not any((cell or "").strip() for cell in cells):
            continue
        row = {}
        for key, cell in zip(keys, cells, strict=False):
            if key:
                row[key] = " ".join(_text(cell).split())
        table.rows.append((first_line_number + offset, row))
        table.raw[first_line_number + offset] = [_text(cell) for cell in cells]
        if len(table.rows) > MAX_ROWS:
            raise DomainError(
                N_("The file has more than %(max)d rows; split it into batches."), max=MAX_ROWS
            )
    return table


def read_csv(data: bytes) -> Table:
    """A CSV file in any accepted encoding and delimiter."""
    text, encoding = decode(data)
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = _sniff_delimiter(first_line)
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    table = _table(lines, 1, encoding)
    table.delimiter = delimiter
    return table


def read_xlsx(data: bytes) -> Table:
    """The first sheet of an Excel workbook; dates become dd/mm/yyyy text."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise DomainError(
            N_("The file is not an Excel workbook (.xlsx), or it is damaged.")
        ) from None
    sheet = book.worksheets[0]
    lines = []
    for values in sheet.iter_rows(values_only=True):
        lines.append([_cell(value) for value in values])
        if len(lines) > MAX_ROWS + 1:
            break
    book.close()
    return _table(lines, 1, "XLSX")


def _cell(value) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_file(filename: str, data: bytes) -> Table:
    """A CSV or XLSX file, chosen by its content (not only its name)."""
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        return read_xlsx(data)
    if filename.lower().endswith(".xls"):
        raise DomainError(
            N_("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV UTF-8.")
        )
    return read_csv(data)
