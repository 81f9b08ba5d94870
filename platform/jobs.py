"""Everything that runs in the background, in one scheduler: the outbox consumers (search index, mail)
and the periodic housekeeping (expired sessions purged, invitations past their date expired, embeddings
kept current).

The web process runs it in embedded mode (no worker to run), and the worker runs it otherwise: both call
`BackgroundJobs.run`, so the two can never drift apart again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.platform.accounts.services import purge_expired_sessions
from diaspora.platform.campaigns.invitations import expire_invitations
from diaspora.platform.db import outbox
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.notifications.mail import MailSender
from diaspora.platform.search.sync import SearchSync
from diaspora.platform.settings import Settings

log = logging.getLogger("diaspora.jobs")


class BackgroundJobs:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        matching: MatchingEngine,
        search: SearchSync,
        mail: MailSender,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.matching = matching
        self.search = search
        self.mail = mail

    async def housekeeping_once(self) -> dict[str, int]:
        """One pass of the periodic jobs; returns how much each did."""
        async with self.sessions() as session, session.begin():
            purged = await purge_expired_sessions(session)
            expired = await expire_invitations(session)
        # Keeping the embedding store current here means requests rarely have to encode anything.
        report = await self.matching.refresh()
        return {
            "expired_sessions_purged": purged,
            "invitations_expired": expired,
            "embeddings_encoded": report.encoded,
        }

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                report = await self.housekeeping_once()
                if any(report.values()):
                    log.info("housekeeping: %s", report)
            except Exception:  # keep going through a database blip; the next pass retries
                log.exception("housekeeping pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.housekeeping_interval_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every job until `stop` is set."""
        interval = self.settings.search_sync_interval_seconds
        await asyncio.gather(
            self.search.run(stop, interval_seconds=interval),
            outbox.consume_forever(self.mail.drain, stop, interval_seconds=interval, name="mail"),
            self._housekeeping(stop),
        )
