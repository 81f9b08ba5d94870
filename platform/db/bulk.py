"""Many new rows of one table at once: PostgreSQL's COPY where the driver offers it (asyncpg), a Core
executemany elsewhere. COPY takes the import of 100,000 people from minutes to well under one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the session's transaction. Each value goes
    through its column type's own conversion for the dialect, as SQLAlchemy's INSERT would convert it; a
    column left out must have no default computed in Python (COPY would not compute it), or the rows take
    the INSERT path."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    defaults_left_out = any(c.default is not None for c in table.columns if c.name not in rows[0])
    if dialect.name != "postgresql" or dialect.driver != "asyncpg" or defaults_left_out:
        await session.execute(insert(table), rows)
        return
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    records = [
        tuple(
            value if process is None else process(value)
            for value, process in zip((row[name] for name in names), processors, strict=True)
        )
        for row in rows
    ]
    await connection.execute(text("SELECT 1"))  # the transaction has begun before COPY joins it
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table.name, records=records, columns=names)
