"""The background worker: the same background jobs the web process runs in embedded mode (see `jobs`),
in a process of its own for deployments with a worker."""

from __future__ import annotations

import asyncio
import logging
import signal

from sqlalchemy.ext.asyncio import async_sessionmaker

from diaspora.platform.jobs import BackgroundJobs
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.notifications.mail import MailSender
from diaspora.platform.search.sync import SearchSync
from diaspora.platform.settings import Settings
from diaspora.platform.wiring import open_database

log = logging.getLogger("diaspora.worker")


async def run_forever(settings: Settings, *, interval_seconds: float | None = None) -> None:
    if interval_seconds is not None:
        settings = settings.model_copy(update={"housekeeping_interval_seconds": interval_seconds})
    engine = open_database(settings.effective_database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    matching = MatchingEngine(settings, sessions)
    search = SearchSync(settings, engine, encoder=matching.encoder)
    jobs = BackgroundJobs(settings, sessions, matching, search, MailSender(settings, sessions))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started")
    try:
        await jobs.run(stop)
    finally:
        stop.set()
        await search.close()
        await engine.dispose()
        log.info("worker stopped")
