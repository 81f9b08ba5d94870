"""Where the layers are connected: every process of the platform (web, worker, command line) opens the
database here, with the hooks that announce changes to searchable records installed first, and the web
process and the worker build their long-lived parts with the one function `build_platform`.

The database layer itself knows nothing of search; the hooks are wired here, above both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from diaspora.platform.db.engine import build_engine
from diaspora.platform.jobs import BackgroundJobs
from diaspora.platform.matches import changes
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.notifications.mail import MailSender
from diaspora.platform.search import tracking
from diaspora.platform.search.sync import SearchSync
from diaspora.platform.settings import Settings


def open_database(url: str, *, echo: bool = False) -> AsyncEngine:
    """An engine whose sessions write outbox events for every change search must learn about, and
    count their commits to what the matcher ranks (`matches.changes`)."""
    tracking.install()  # idempotent: one set of hooks per process
    changes.install()  # the matcher learns at once of this process's writes to what it ranks
    return build_engine(url, echo=echo)


@dataclass(frozen=True)
class Platform:
    """The long-lived parts of a process: one engine, the matcher, the search index's sync, the mail
    sender and the scheduler that runs the background jobs over them."""

    settings: Settings
    engine: AsyncEngine
    matcher_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    matching: MatchingEngine
    search: SearchSync
    mail: MailSender
    jobs: BackgroundJobs

    async def close(self) -> None:
        await self.matching.close()
        await self.search.close()
        await self.matcher_engine.dispose()
        await self.engine.dispose()


def build_platform(settings: Settings, engine: AsyncEngine | None = None) -> Platform:
    """What the web process and the worker both run on, built the same way for both; over `engine` when
    one is given (the web app opens its engine when it is built, its platform each time it starts)."""
    engine = engine or open_database(settings.effective_database_url, echo=settings.database_echo)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    # The matcher reads through a pool of its own: each request refreshes it first while holding a
    # connection of the main pool, so under load the requests waiting for a refresh could otherwise hold
    # every connection the refresh needs.
    matcher_engine = open_database(settings.effective_database_url, echo=settings.database_echo)
    matching = MatchingEngine(settings, async_sessionmaker(matcher_engine, expire_on_commit=False))
    search = SearchSync(settings, engine, encoder=matching.encoder)
    mail = MailSender(settings, sessions)
    jobs = BackgroundJobs(settings, sessions, matching, search, mail)
    return Platform(settings, engine, matcher_engine, sessions, matching, search, mail, jobs)
