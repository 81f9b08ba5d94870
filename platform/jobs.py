"""Everything that runs in the background, in one scheduler: the outbox consumers (search index, mail)
and the periodic housekeeping (expired sessions purged, invitations past their date expired, the languages
of imported profiles identified, embeddings kept current).

The web process runs it in embedded mode (no worker to run), and the worker runs it otherwise: both call
`BackgroundJobs.run`, so the two can never drift apart again. However many processes call it (several web
processes, several workers, on one host or many), one at a time runs the jobs: the holder of the
`background-jobs` lease (`db/leases.py`). The others wait, ready to take over when its lease lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.platform.accounts.services import purge_expired_sessions
from diaspora.platform.campaigns.invitations import expire_invitations
from diaspora.platform.db import leases, outbox
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.notifications.mail import MailSender
from diaspora.platform.profiles.services import identify_pending_languages
from diaspora.platform.search.sync import SearchSync
from diaspora.platform.settings import Settings

log = logging.getLogger("diaspora.jobs")
LEASE = "background-jobs"
# Work only during the first two thirds of a lease, counted from when it was asked for: another process
# takes it once it has lapsed in the database, and the last third absorbs a stalled event loop (a model
# loading holds the interpreter for seconds) or a slow database answer, so two never send the same mail.
LEASE_TRUST = 2 / 3


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
        self.holder = leases.holder_name()
        self._trusted_until = 0.0  # time.monotonic() before which this process may act on its lease

    async def housekeeping_once(self) -> dict[str, int]:
        """One pass of the periodic jobs; returns how much each did."""
        async with self.sessions() as session, session.begin():
            purged = await purge_expired_sessions(session)
            expired = await expire_invitations(session)
        identified = await identify_pending_languages(self.sessions)  # what an import left to do
        # Keeping the embedding store current here means requests rarely have to encode anything.
        report = await self.matching.refresh()
        snapshot = await self.matching.save_snapshot()
        labels = self.matching.start_preparing_label_vectors()  # once per model and machine
        return {
            "expired_sessions_purged": purged,
            "invitations_expired": expired,
            "profile_languages_identified": identified,
            "embeddings_encoded": report.encoded,
            "profile_snapshots_written": int(snapshot),
            "occupation_label_encodings_started": int(labels),
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
        """Run every job until `stop` is set, while this process holds the lease; wait for it otherwise."""
        ttl = timedelta(seconds=self.settings.job_lease_seconds)
        renew_every = self.settings.job_lease_seconds / 3
        while not stop.is_set():
            if not await self._acquire(ttl):
                await _wait(stop, renew_every)
                continue
            log.info("running the background jobs (%s)", self.holder)
            ended = asyncio.Event()  # set when this process stops, or no longer holds the lease
            running = asyncio.create_task(self._run_jobs(ended), name="jobs")
            try:
                while not stop.is_set() and not running.done():
                    await _wait(stop, renew_every)
                    if not stop.is_set() and not await self._acquire(ttl):
                        log.warning("lost the background jobs' lease; another process runs them now")
                        break
            finally:
                ended.set()
                await running
                self._trusted_until = 0.0
                if stop.is_set():
                    with contextlib.suppress(Exception):  # at shutdown: hand over at once if we can
                        await leases.release(self.sessions, LEASE, self.holder)

    def holds_lease(self) -> bool:
        """Whether this process may still act as the one running the jobs (checked before side effects
        that must not happen twice, such as sending mail)."""
        return time.monotonic() < self._trusted_until

    async def _acquire(self, ttl: timedelta) -> bool:
        asked = time.monotonic()
        try:
            held = await leases.acquire(self.sessions, LEASE, self.holder, ttl=ttl)
        except Exception:  # a database blip: not ours this time, asked again soon
            log.exception("could not take or renew the background jobs' lease")
            held = False
        self._trusted_until = asked + ttl.total_seconds() * LEASE_TRUST if held else 0.0
        return held

    async def _run_jobs(self, stop: asyncio.Event) -> None:
        interval = self.settings.search_sync_interval_seconds
        await asyncio.gather(
            self.search.run(stop, interval_seconds=interval),
            outbox.consume_forever(
                lambda: self.mail.drain(may_send=self.holds_lease),
                stop,
                interval_seconds=interval,
                name="mail",
            ),
            self._housekeeping(stop),
        )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
