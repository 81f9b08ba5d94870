"""Many new rows of one table at once: PostgreSQL's COPY where the driver offers it (asyncpg), SQLite's
own executemany of values converted once, a Core executemany elsewhere. COPY takes the import of 100,000
people from minutes to well under one; on SQLite, handing the driver converted values instead of
SQLAlchemy's per-row parameter processing saves about a tenth of an import.

The conversion (`records`) needs only the dialect, not a connection, so an import can convert its rows in
another process and hand this one values ready for the driver (`insert_records`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, Uuid, insert, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

Records = tuple[list[str], list[tuple[Any, ...]]]  # column names, and each row's values in that order


def takes_records(dialect: Dialect) -> bool:
    """Whether rows go to this dialect's driver as converted values (COPY or the driver's executemany)."""
    return dialect.name == "sqlite" or (dialect.name == "postgresql" and dialect.driver == "asyncpg")


def records(
    dialect: Dialect, table: Table, rows: Sequence[dict[str, Any]], *, to_pickle: bool = False
) -> Records:
    """`rows` (dicts with the same keys) as the driver takes them: each value through its column type's own
    conversion for the dialect, as SQLAlchemy's INSERT would convert it. A column left out must have no
    default computed in Python (neither COPY nor the driver would compute it). `to_pickle`: the values go
    to another process, so ids go as text, which asyncpg takes as well (unpickling a UUID object costs
    several microseconds, a third of what the importing process did per person)."""
    names = list(rows[0])
    left_out = _computed_left_out(table, rows[0])
    if left_out:
        raise ValueError(f"{table.name}: rows leave out {', '.join(left_out)}, whose default Python computes")
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    if to_pickle:
        processors = [
            _text if process is None and isinstance(table.c[name].type, Uuid) else process
            for name, process in zip(names, processors, strict=True)
        ]
    columns = [
        [row[name] for row in rows] if process is None else [process(row[name]) for row in rows]
        for name, process in zip(names, processors, strict=True)
    ]
    return names, list(zip(*columns, strict=True))


def _computed_left_out(table: Table, row: dict[str, Any]) -> list[str]:
    """The columns `row` leaves out whose default Python computes (an id, a time)."""
    return [c.name for c in table.columns if c.name not in row and c.default is not None]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the session's transaction, converted as
    `records` converts them; rows that leave out a column with a Python-side default take the Core INSERT
    path, which computes it."""
    if not rows:
        return
    connection = await session.connection()
    if _computed_left_out(table, rows[0]) or not takes_records(connection.dialect):
        await session.execute(insert(table), rows)
        return
    await insert_records(session, table, records(connection.dialect, table, rows))


async def insert_records(session: AsyncSession, table: Table, converted: Records) -> None:
    """Insert values already converted by `records` for this session's dialect (which `takes_records`)."""
    names, values = converted
    if not values:
        return
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name == "sqlite":  # the driver's own executemany
        quote = dialect.identifier_preparer
        listed = ", ".join(quote.quote(name) for name in names)
        marks = ", ".join("?" * len(names))
        statement = f"INSERT INTO {quote.format_table(table)} ({listed}) VALUES ({marks})"  # noqa: S608
        await connection.exec_driver_sql(statement, values)
        return
    await connection.execute(text("SELECT 1"))  # the transaction has begun before COPY joins it
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table.name, records=values, columns=names)
