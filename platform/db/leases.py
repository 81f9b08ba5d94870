"""Leases: at most one holder of a named piece of work at a time, across processes and hosts, on SQLite and
PostgreSQL alike.

Taking a lease is one statement, `INSERT ... ON CONFLICT DO UPDATE ... WHERE` the current lease has expired
or is already ours, so two processes asking at once cannot both win; renewing is taking it again before it
expires. A holder that stops gives its lease back; one that dies lets it lapse after `ttl`.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.platform.db.models import JobLease, utcnow
from diaspora.platform.db.upsert import upsert


def holder_name() -> str:
    """Who this process is, readable in the table: host, process id and a random part (ids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire(
    sessions: async_sessionmaker[AsyncSession], name: str, holder: str, *, ttl: timedelta
) -> bool:
    """Take or renew the lease `name` for `ttl`; False when another holder's lease is still running."""
    now = utcnow()
    async with sessions() as session, session.begin():
        await upsert(
            session,
            JobLease,
            [{"name": name, "holder": holder, "expires_at": now + ttl}],
            key=["name"],
            update=["holder", "expires_at"],
            where=(JobLease.expires_at <= now) | (JobLease.holder == holder),
        )
        current = await session.scalar(select(JobLease.holder).where(JobLease.name == name))
    return current == holder


async def release(sessions: async_sessionmaker[AsyncSession], name: str, holder: str) -> None:
    """Give the lease back (if still ours), so that another process can take over at once."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(expires_at=utcnow())
        )


async def holder_of(sessions: async_sessionmaker[AsyncSession], name: str) -> str | None:
    """The holder of a running lease, or None."""
    async with sessions() as session:
        row = await session.get(JobLease, name)
    return row.holder if row is not None and row.expires_at > utcnow() else None
