"""Where the layers are connected: the one way every process of the platform (web, worker, command line)
opens the database, with the hooks that announce changes to searchable records installed first.

The database layer itself knows nothing of search; the hooks are wired here, above both.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from diaspora.platform.db.engine import build_engine
from diaspora.platform.search import tracking


def open_database(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine whose sessions write outbox events for every change search must learn about."""
    tracking.install()  # idempotent: one set of hooks per process
    return build_engine(url, echo=echo)
