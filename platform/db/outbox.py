"""The transactional outbox: events written with the change that causes them, consumed later.

A consumer claims the events that are due, and either marks them done (deletes them) or puts them
back with an exponential backoff. Events are never dropped: an outage of what they feed only delays them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from diaspora.platform.db.models import OutboxEvent, utcnow

MAX_BACKOFF_SECONDS = 300.0
OUTBOX_TOUCHED = "outbox_touched"
log = logging.getLogger("diaspora.outbox")
_wakers: list[Callable[[], None]] = []


def enqueue(
    session: Session | AsyncSession, topic: str, entity_id: str, payload: dict[str, Any] | None = None
) -> None:
    """Add an event to the current transaction (it commits or rolls back with the change)."""
    session.add(OutboxEvent(topic=topic, entity_id=entity_id, payload=payload or {}))
    session.info[OUTBOX_TOUCHED] = True


def backoff(attempts: int) -> float:
    """Seconds before the next try: doubling from one second, capped, with jitter so that many
    failed events do not all come back at the same instant."""
    base: float = min(MAX_BACKOFF_SECONDS, 2.0 ** max(0, attempts - 1))
    return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security


async def due(
    session: AsyncSession,
    topics: Iterable[str],
    *,
    now: datetime | None = None,
    limit: int = 500,
    claim: bool = False,
) -> list[OutboxEvent]:
    """Events due now, oldest first. `claim` locks them for this transaction where the database can
    (PostgreSQL's SKIP LOCKED), so that concurrent consumers take different events."""
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.topic.in_(list(topics)), OutboxEvent.available_at <= (now or utcnow()))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if claim:
        query = query.with_for_update(skip_locked=True)
    return list((await session.scalars(query)).all())


async def done(session: AsyncSession, ids: Iterable[int]) -> None:
    await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(list(ids))))


async def retry_later(
    session: AsyncSession, events: Iterable[OutboxEvent], error: str, *, now: datetime | None = None
) -> None:
    moment = now or utcnow()
    for event in events:
        attempts = event.attempts + 1
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event.id)
            .values(
                attempts=attempts,
                available_at=moment + timedelta(seconds=backoff(attempts)),
                last_error=error[:1000],
            )
        )


async def pending(session: AsyncSession, topics: Iterable[str]) -> int:
    query = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic.in_(list(topics)))
    return int(await session.scalar(query) or 0)


# -- waking consumers in this process as soon as a transaction with events commits --------------------


def _after_commit(session: Session) -> None:
    if session.info.pop(OUTBOX_TOUCHED, False):
        for wake in list(_wakers):
            wake()


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(OUTBOX_TOUCHED, None)


def install_commit_hook() -> None:
    """Idempotent: every session of the process tells the consumers when it commits events."""
    if not sa_event.contains(Session, "after_commit", _after_commit):
        sa_event.listen(Session, "after_commit", _after_commit)
        sa_event.listen(Session, "after_soft_rollback", _after_rollback)


async def consume_forever(
    drain: Callable[[], Awaitable[Any]], stop: asyncio.Event, *, interval_seconds: float, name: str
) -> None:
    """Call `drain` until `stop` is set: at once when this process commits events, and every
    `interval_seconds` for events of other processes and retries coming due."""
    install_commit_hook()
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:
        loop.call_soon_threadsafe(woken.set)

    _wakers.append(wake)
    try:
        while not stop.is_set():
            woken.clear()
            try:
                await drain()
            except Exception:  # keep consuming through a database blip
                log.exception("%s: pass failed", name)
            waiter = asyncio.ensure_future(woken.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper}, timeout=interval_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            stopper.cancel()
    finally:
        _wakers.remove(wake)
