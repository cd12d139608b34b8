"""Tables written as XLSX (typed cells, frozen bold header) or CSV (UTF-8 with a BOM, so that
Excel opens Vietnamese text right). Rows stream through: openpyxl's write-only mode keeps
memory flat for 100,000 rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"

_FORMATS = {
    "int": "#,##0",
    "number": "0.0#",
    "percent": "0.0%",
    "date": "dd/mm/yyyy",
    "datetime": "dd/mm/yyyy hh:mm",
}


@dataclass(frozen=True)
class Column:
    """A column: its header (already translated), the kind of its cells and its width."""

    header: str
    kind: str = "text"  # text, int, number, percent (a fraction: 0.5 = 50 %), date, datetime
    width: int = 14


def _local(value: datetime, timezone: str) -> datetime:
    """Excel has no time zones: datetimes are written as local wall-clock time."""
    return value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None, microsecond=0)


def write_xlsx(
    out: IO[bytes],
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    timezone: str,
) -> int:
    """Write a one-sheet workbook; returns the number of data rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    sheet.append(header)
    formats = [_FORMATS.get(c.kind) for c in columns]
    count = 0
    for row in rows:
        cells = []
        for value, number_format in zip(row, formats, strict=True):
            if isinstance(value, datetime):
                value = _local(value, timezone)
            if number_format and value is not None and value != "":
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
        count += 1
    book.save(out)
    return count


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
    return str(value)


def write_csv(
    out: IO[bytes],
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    timezone: str,
    decimal: str = ",",
) -> int:
    """Write UTF-8 CSV with a BOM; returns the number of data rows."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([c.header for c in columns])
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
