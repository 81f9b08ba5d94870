"""One process at a time runs the background jobs, on SQLite and PostgreSQL: a lease is held by one holder,
renewed by it, taken over when it lapses or is given back, and two processes asking at once do not both
win."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.platform.db import leases
from diaspora.platform.jobs import LEASE, BackgroundJobs
from diaspora.platform.settings import Settings
from diaspora.platform.wiring import open_database

MINUTE = timedelta(minutes=1)


def _run(settings: Settings, body: Any) -> Any:
    async def main() -> Any:
        engine = open_database(settings.effective_database_url)
        try:
            return await body(async_sessionmaker(engine, expire_on_commit=False))
        finally:
            await engine.dispose()

    return asyncio.run(main())


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    yield settings
    _run(settings, _forget)


async def _forget(sessions: async_sessionmaker[AsyncSession]) -> None:
    from sqlalchemy import delete

    from diaspora.platform.db.models import JobLease

    async with sessions() as session, session.begin():
        await session.execute(delete(JobLease))


def test_one_holder_at_a_time_until_it_gives_the_lease_back(settings: Settings) -> None:
    async def body(sessions: async_sessionmaker[AsyncSession]) -> None:
        assert await leases.acquire(sessions, "work", "a", ttl=MINUTE)
        assert not await leases.acquire(sessions, "work", "b", ttl=MINUTE)
        assert await leases.acquire(sessions, "work", "a", ttl=MINUTE)  # renewing
        assert await leases.holder_of(sessions, "work") == "a"
        assert await leases.acquire(sessions, "other work", "b", ttl=MINUTE)  # names are separate
        await leases.release(sessions, "work", "b")  # not b's to give back: nothing changes
        assert await leases.holder_of(sessions, "work") == "a"
        await leases.release(sessions, "work", "a")
        assert await leases.holder_of(sessions, "work") is None
        assert await leases.acquire(sessions, "work", "b", ttl=MINUTE)

    _run(settings, body)


def test_a_lapsed_lease_is_taken_over_and_its_old_holder_cannot_renew_it(settings: Settings) -> None:
    async def body(sessions: async_sessionmaker[AsyncSession]) -> None:
        assert await leases.acquire(sessions, "work", "a", ttl=timedelta(milliseconds=50))
        await asyncio.sleep(0.1)  # a dies, or hangs, without renewing
        assert await leases.acquire(sessions, "work", "b", ttl=MINUTE)
        assert not await leases.acquire(sessions, "work", "a", ttl=MINUTE)

    _run(settings, body)


def test_of_many_asking_at_once_exactly_one_wins(settings: Settings) -> None:
    async def body(sessions: async_sessionmaker[AsyncSession]) -> list[bool]:
        return list(
            await asyncio.gather(*(leases.acquire(sessions, "work", f"h{i}", ttl=MINUTE) for i in range(8)))
        )

    assert sorted(_run(settings, body)) == [False] * 7 + [True]


class _Search:
    """Stands in for the search sync: records whether it is running."""

    def __init__(self) -> None:
        self.running = False
        self.runs = 0

    async def run(self, stop: asyncio.Event, *, interval_seconds: float) -> None:
        self.running, self.runs = True, self.runs + 1
        try:
            await stop.wait()
        finally:
            self.running = False


class _Quiet:
    async def drain(self) -> None:
        return None

    async def refresh(self) -> Any:
        return type("Report", (), {"encoded": 0})()


def test_of_two_processes_one_runs_the_jobs_and_the_other_takes_over_when_it_stops(
    settings: Settings,
) -> None:
    quick = settings.model_copy(update={"job_lease_seconds": 1.0, "housekeeping_interval_seconds": 0.2})

    async def body(sessions: async_sessionmaker[AsyncSession]) -> None:
        searches = [_Search(), _Search()]
        runners = [BackgroundJobs(quick, sessions, _Quiet(), s, _Quiet()) for s in searches]  # type: ignore[arg-type]
        stops = [asyncio.Event(), asyncio.Event()]
        tasks = [asyncio.create_task(r.run(stop)) for r, stop in zip(runners, stops, strict=True)]
        await asyncio.sleep(1.0)
        assert [s.running for s in searches].count(True) == 1
        first = next(i for i, s in enumerate(searches) if s.running)
        assert await leases.holder_of(sessions, LEASE) == runners[first].holder
        stops[first].set()  # the first process shuts down: it gives the lease back
        await tasks[first]
        await asyncio.sleep(1.0)  # the other asks every third of the lease
        assert searches[1 - first].running
        assert searches[first].runs == 1
        stops[1 - first].set()
        await tasks[1 - first]
        assert await leases.holder_of(sessions, LEASE) is None

    _run(quick, body)
