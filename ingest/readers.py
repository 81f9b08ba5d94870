"""Streaming readers of tabular files: CSV (any of , ; TAB, UTF-8 with or without BOM), JSON Lines, XLSX.

Each yields `(row_number, {column: value})` one row at a time, so a file of any size is read in constant
memory. Problems with the file as a whole (unknown format, bytes that are not UTF-8, a broken quote, a
missing header) raise `ImportFileError` naming the file and the row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

Row = dict[str, Any]
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
}


class ImportFileError(ValueError):
    """The file cannot be read as a table; nothing from it is imported."""


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ImportFileError(
            f"{path.name}: unknown file type {path.suffix!r}; use .csv, .jsonl or .xlsx"
        ) from None


def read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    """The header (column names as written) and an iterator over the data rows."""
    kind = file_format(path)
    if kind == "csv":
        return _read_csv(path)
    if kind == "jsonl":
        return _read_jsonl(path)
    return _read_xlsx(path)


def check_whole(path: Path) -> None:
    """Read the whole file once, keeping nothing, so that a file that breaks part-way (a line that is not
    UTF-8, a quote left open, a workbook's sheet damaged part-way) is refused before any of its rows is
    written: raises `ImportFileError`. Rows that are bad in themselves (not JSON, a missing cell) are the
    rows' problems, not the file's."""
    if file_format(path) == "jsonl":
        for _ in _decoded_lines(path):  # a line that is not JSON is its row's problem
            pass
        return
    _, rows = read_table(path)
    for _ in rows:
        pass


def _decoded_lines(path: Path) -> Iterator[str]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"{path.name}: line {number} is not UTF-8 (byte {exc.start + 1} of the line); "
                    "save the file as UTF-8"
                ) from None
            yield line.removeprefix("\ufeff") if number == 1 else line


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    lines = _decoded_lines(path)
    first = next(lines, None)
    if first is None or not first.strip():
        raise ImportFileError(f"{path.name}: the file is empty (a header row is needed)")
    # The delimiter is whichever of , ; TAB the header uses most: spreadsheets in much of Europe write ';'.
    delimiter = max((",", ";", "\t"), key=first.count)
    header = [h.strip() for h in next(csv.reader([first], delimiter=delimiter))]

    def rows() -> Iterator[tuple[int, Row]]:
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        try:
            for record in reader:
                number = reader.line_num + 1  # + the header line, read separately
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) != len(header):
                    yield number, {"__error__": f"has {len(record)} fields, the header has {len(header)}"}
                    continue
                yield number, dict(zip(header, record, strict=True))
        except csv.Error as exc:
            raise ImportFileError(
                f"{path.name}: line {reader.line_num + 1}: {exc} (truncated file?)"
            ) from None

    return header, rows()


def _read_jsonl(path: Path) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    lines = _decoded_lines(path)
    records: list[tuple[int, Row]] = []
    header: list[str] = []
    # Peek at the first record for the column list; the rest streams.
    for number, line in enumerate(lines, start=1):
        if line.strip():
            records.append((number, _json_object(path, number, line)))
            header = list(records[0][1])
            break

    def rows() -> Iterator[tuple[int, Row]]:
        yield from records
        start = records[0][0] + 1 if records else 1
        for number, line in enumerate(lines, start=start):
            if line.strip():
                yield number, _json_object(path, number, line)

    return header, rows()


def _json_object(path: Path, number: int, line: str) -> Row:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"__error__": f"is not valid JSON ({exc.msg} at column {exc.colno})"}
    if not isinstance(value, dict):
        return {"__error__": "is not a JSON object"}
    return value


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ImportFileError(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    sheet = workbook.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    first = next(values, None)
    if first is None:
        raise ImportFileError(f"{path.name}: the first sheet is empty (a header row is needed)")
    header = [str(h).strip() if h is not None else "" for h in first]

    def rows() -> Iterator[tuple[int, Row]]:
        number = 1
        try:
            for number, record in enumerate(values, start=2):
                if all(cell is None or str(cell).strip() == "" for cell in record):
                    continue
                yield number, {h: _cell(v) for h, v in zip(header, record, strict=False) if h}
        except Exception as exc:  # a sheet damaged part-way: the XML parser and openpyxl raise many types
            raise ImportFileError(
                f"{path.name}: row {number + 1} of the first sheet cannot be read ({exc})"
            ) from None
        finally:
            workbook.close()

    return header, rows()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else value
