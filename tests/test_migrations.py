"""Alembic migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
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


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    migrate.downgrade(database_url, "base")
    _, tables = _schema_differences(database_url)
    assert not set(Base.metadata.tables) & tables
    migrate.upgrade(database_url)
    differences, tables = _schema_differences(database_url)
    assert differences == []
    assert set(Base.metadata.tables) <= tables
