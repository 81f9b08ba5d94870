"""The background worker: the outbox consumers (search index, mail), and periodic housekeeping
(expired sessions and invitations, embeddings)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.platform.accounts.services import purge_expired_sessions
from diaspora.platform.campaigns.services import expire_invitations
from diaspora.platform.db import outbox
from diaspora.platform.db.engine import build_engine
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.notifications.mail import MailSender
from diaspora.platform.search.sync import SearchSync
from diaspora.platform.settings import Settings

log = logging.getLogger("diaspora.worker")


async def run_once(sessions: async_sessionmaker[AsyncSession], matching: MatchingEngine) -> dict[str, int]:
    """One pass of every job; returns how much each did."""
    async with sessions() as session, session.begin():
        purged = await purge_expired_sessions(session)
        expired = await expire_invitations(session)
    # Keeping the embedding store current here means API requests rarely have to encode anything.
    report = await matching.refresh()
    return {
        "expired_sessions_purged": purged,
        "invitations_expired": expired,
        "embeddings_encoded": report.encoded,
    }


async def run_forever(settings: Settings, *, interval_seconds: float = 30.0) -> None:
    engine = build_engine(settings.effective_database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    matching = MatchingEngine(settings, sessions)
    search = SearchSync(settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started")
    # The search outbox is consumed continuously, beside the slower housekeeping passes.
    interval = settings.search_sync_interval_seconds
    consumers = [
        asyncio.create_task(search.run(stop, interval_seconds=interval), name="search-sync"),
        asyncio.create_task(
            outbox.consume_forever(
                MailSender(settings, sessions).drain, stop, interval_seconds=interval, name="mail"
            ),
            name="mail",
        ),
    ]
    try:
        while not stop.is_set():
            try:
                report = await run_once(sessions, matching)
                if any(report.values()):
                    log.info("worker pass: %s", report)
            except Exception:  # keep the worker alive through a database blip; the next pass retries
                log.exception("worker pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
    finally:
        stop.set()
        await asyncio.gather(*consumers)
        await search.close()
        await engine.dispose()
        log.info("worker stopped")
