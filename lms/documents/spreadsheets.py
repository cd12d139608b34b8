"""Tables written as XLSX (typed cells, frozen bold header) or CSV (UTF-8 with a BOM, so that
Excel opens Vietnamese text right). Rows stream through, so memory stays flat for 100,000
rows; the tests read every file back with openpyxl.

Every CSV file the product writes goes through write_csv: it is the one place where a text
cell that a spreadsheet would run as a formula is made harmless (quote_formula)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"  # Werkzeug adds "; charset=utf-8" to text types

# OWASP "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection): Excel,
# LibreOffice and Google Sheets read a CSV cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def quote_formula(text: str) -> str:
    """A CSV text cell that a spreadsheet shows as text instead of running it as a formula:
    OWASP's single quote before a formula's first character."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unquote_formula(text: str) -> str:
    """The text quote_formula was given: a file we exported is imported as it was."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class Column:
    """A column: its header (already translated), the kind of its cells and its width."""

    header: str
    kind: str = "text"  # text, int, number, percent (a fraction: 0.5 = 50 %), date, datetime
    width: int = 14


def _local(value: datetime, timezone: str) -> datetime:
    """Excel has no time zones: datetimes are written as local wall-clock time."""
    return value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None, microsecond=0)


_EXCEL_EPOCH = datetime(1899, 12, 30)
# Style indexes in styles.xml below: 0 plain, 1 bold header, then one per number format.
_STYLE_OF = {"int": 2, "number": 3, "percent": 4, "date": 5, "datetime": 6}
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="5"><numFmt numFmtId="164" formatCode="#,##0"/><numFmt numFmtId="165" \
formatCode="0.0#"/><numFmt numFmtId="166" formatCode="0.0%"/><numFmt numFmtId="167" \
formatCode="dd/mm/yyyy"/><numFmt numFmtId="168" formatCode="dd/mm/yyyy hh:mm"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/>\
<name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill \
patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" \
applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="168" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
_PACKAGE = {
    "[Content_Types].xml": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>""",
    "_rels/.rels": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>""",
    "xl/_rels/workbook.xml.rels": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>""",
    "xl/styles.xml": _STYLES,
}
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text_cell(ref: str, value: str, style: int = 0) -> str:
    text = xml_escape(_INVALID_XML.sub("", value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    styled = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _cell(ref: str, value: Any, kind: str, timezone: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        local = _local(value, timezone)
        serial = (local - _EXCEL_EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="{_STYLE_OF["datetime"]}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        serial = (value - _EXCEL_EPOCH.date()).days
        return f'<c r="{ref}" s="{_STYLE_OF["date"]}"><v>{serial}</v></c>'
    if isinstance(value, int | float):
        style = _STYLE_OF.get(kind, 0)
        styled = f' s="{style}"' if style else ""
        return f'<c r="{ref}"{styled}><v>{value!r}</v></c>'
    return _text_cell(ref, str(value))


def write_xlsx(
    out: IO[bytes],
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    timezone: str,
) -> int:
    """Write a one-sheet workbook (typed cells, bold frozen header); returns the data rows.

    The sheet is streamed into the zip row by row, in the plain SpreadsheetML that openpyxl
    and Excel read: 122,000 learners x 16 columns take seconds, where openpyxl's own
    write-only mode needs about half a minute.
    """
    letters = [get_column_letter(i) for i in range(1, len(columns) + 1)]
    sheet_name = xml_escape(_INVALID_XML.sub("", title)[:31].translate(_SHEET_NAME) or "Sheet1")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        for name, content in _PACKAGE.items():
            package.writestr(name, content)
        package.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        count = 0
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            sheet = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            widths = "".join(
                f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>'
                for i, c in enumerate(columns, start=1)
            )
            sheet.write(
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                f"<cols>{widths}</cols><sheetData>"
            )
            header = "".join(
                _text_cell(f"{letters[i]}1", c.header, 1) for i, c in enumerate(columns)
            )
            sheet.write(f'<row r="1">{header}</row>')
            kinds = [c.kind for c in columns]
            for number, row in enumerate(rows, start=2):
                cells = "".join(
                    _cell(f"{letters[i]}{number}", value, kinds[i], timezone)
                    for i, value in enumerate(row)
                )
                sheet.write(f'<row r="{number}">{cells}</row>')
                count += 1
            sheet.write("</sheetData></worksheet>")
            sheet.flush()
            sheet.detach()
    return count


_SHEET_NAME = str.maketrans({c: " " for c in "[]:*?/\\"})


def _csv_value(value: Any, kind: str, timezone: str, decimal: str) -> str:
    if value is None:
        return ""
    if kind == "datetime" and isinstance(value, datetime):
        return _local(value, timezone).strftime("%d/%m/%Y %H:%M")
    if kind == "date" and isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if kind == "percent" and isinstance(value, int | float):
        return f"{100 * value:.1f}".replace(".", decimal) + " %"
    if kind == "number" and isinstance(value, int | float):
        return f"{value:g}".replace(".", decimal)
    if isinstance(value, int | float):
        return str(value)
    # Only text is quoted: a negative number (-1,5) stays a number in the spreadsheet.
    return quote_formula(str(value))


def write_csv(
    out: IO[bytes],
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    timezone: str,
    decimal: str = ",",
) -> int:
    """Write UTF-8 CSV with a BOM, text that looks like a formula quoted; returns the number
    of data rows."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([quote_formula(c.header) for c in columns])
    count = 0
    for row in rows:
        writer.writerow(
            [_csv_value(v, c.kind, timezone, decimal) for v, c in zip(row, columns, strict=True)]
        )
        count += 1
    text.flush()
    text.detach()
    return count


def table_bytes(
    fmt: str,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    timezone: str,
) -> tuple[bytes, str]:
    """A small table as XLSX or CSV bytes, with its MIME type."""
    buffer = io.BytesIO()
    if fmt == "xlsx":
        write_xlsx(buffer, title, columns, rows, timezone)
        return buffer.getvalue(), XLSX_MIMETYPE
    write_csv(buffer, columns, rows, timezone)
    return buffer.getvalue(), CSV_MIMETYPE
