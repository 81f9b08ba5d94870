"""Engine construction, with the SQLite settings the embedded default needs to be safe."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def build_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine with the settings each database needs. Processes of the platform open it through
    `diaspora.platform.wiring.open_database`, which also installs the outbox hooks."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            # ON DELETE CASCADE / SET NULL only work with foreign keys on; erasure depends on them.
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True)
