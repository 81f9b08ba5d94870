"""Alembic migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from diaspora.platform.db import migrate
from diaspora.platform.db.models import Base
from diaspora.platform.db.store import ALL_METADATA


def _compare_type(
    context: Any, inspected: Any, metadata: Any, inspected_type: Any, metadata_type: Any
) -> Any:
    # advanced-alchemy's GUID is BINARY(16) on SQLite, which SQLite reflects as NUMERIC(16): the same column.
    if type(metadata_type).__name__ == "GUID":
        return False
    return None  # alembic's own comparison


def _include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    # The store's unique *index* is created only on Spanner (its unique constraint everywhere else).
    return not (kind == "index" and name == "ix_rate_limit_store_key_namespace_unique")


def _schema_differences(url: str) -> tuple[list[Any], set[str]]:
    async def run() -> tuple[list[Any], set[str]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn: Any) -> tuple[list[Any], set[str]]:
                    context = MigrationContext.configure(
                        sync_conn, opts={"compare_type": _compare_type, "include_object": _include}
                    )
                    return compare_metadata(context, ALL_METADATA), set(inspect(sync_conn).get_table_names())

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    differences, tables = _schema_differences(database_url)
    assert differences == []
    assert set(Base.metadata.tables) <= tables


def test_no_index_repeats_the_leading_columns_of_another_on_its_table() -> None:
    # An index on (a) beside a unique constraint on (a, b) serves no lookup the constraint's index does not,
    # and costs every insert one more index to write; five such were dropped (migration 0027).
    indexes: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for table in Base.metadata.tables.values():
        listed = [
            (i.name or "", tuple(c.name for c in i.columns)) for i in table.indexes if not i.dialect_kwargs
        ]
        listed += [
            (str(c.name), tuple(col.name for col in c.columns))
            for c in table.constraints
            if type(c).__name__ in {"UniqueConstraint", "PrimaryKeyConstraint"}
        ]
        indexes[table.name] = listed
    repeated = [
        (table, name, other)
        for table, listed in indexes.items()
        for name, columns in listed
        for other, longer in listed
        if name != other and name.startswith("ix_") and longer[: len(columns)] == columns
    ]
    assert repeated == []


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    migrate.downgrade(database_url, "base")
    _, tables = _schema_differences(database_url)
    assert not set(Base.metadata.tables) & tables
    migrate.upgrade(database_url)
    differences, tables = _schema_differences(database_url)
    assert differences == []
    assert set(Base.metadata.tables) <= tables


def test_accounts_from_before_confirmation_keep_working(database_url: str) -> None:
    """Migration 0013 counts every existing account as confirmed: nobody is locked out by the upgrade."""
    from sqlalchemy import text

    async def sql(statement: str) -> list[Any]:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(statement))
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    account_id = "00000000000000000000000000000001" if "sqlite" in database_url else str(uuid.UUID(int=1))
    migrate.downgrade(database_url, "0012")
    try:
        asyncio.run(
            sql(
                "INSERT INTO accounts (id, email, password_hash, display_name, role, is_active, created_at) "
                f"VALUES ('{account_id}', 'old@example.org', 'x', 'Old', 'member', TRUE, "
                "'2025-01-02 03:04:05+00:00')"
            )
        )
        migrate.upgrade(database_url)
        rows = asyncio.run(sql("SELECT email_verified_at FROM accounts WHERE email = 'old@example.org'"))
        assert len(rows) == 1
        assert str(rows[0][0]).startswith("2025-01-02")
    finally:
        migrate.upgrade(database_url)
        asyncio.run(sql("DELETE FROM accounts WHERE email = 'old@example.org'"))
