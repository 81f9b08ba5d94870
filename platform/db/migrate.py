"""Programmatic Alembic: the CLI, the app's start-up and the tests all migrate through here."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _in_fresh_thread(func: object, *args: object) -> None:
    # env.py drives the async engine with asyncio.run, which cannot nest inside a running loop
    # (the app's lifespan, async tests); a short-lived thread gives it a loop of its own.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            func(*args)  # type: ignore[operator]
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        target()
    else:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    if errors:
        raise errors[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the newest)."""
    _in_fresh_thread(command.upgrade, alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database schema back to `revision` ('base' drops everything)."""
    _in_fresh_thread(command.downgrade, alembic_config(database_url), revision)


def make_revision(database_url: str, message: str) -> None:
    """Autogenerate a new migration by comparing the models with the database at `database_url`."""
    _in_fresh_thread(command.revision, alembic_config(database_url), message, True)
