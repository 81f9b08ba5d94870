"""The transactional outbox: events written with the change that causes them, consumed later.

A consumer claims the events that are due, and either marks them done (deletes them) or puts them
back with an exponential backoff. Events are never dropped: an outage of what they feed only delays them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from diaspora.platform.db.models import OutboxEvent, utcnow

MAX_BACKOFF_SECONDS = 300.0
OUTBOX_TOUCHED = "outbox_touched"


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
    session: AsyncSession, topics: Iterable[str], *, now: datetime | None = None, limit: int = 500
) -> list[OutboxEvent]:
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.topic.in_(list(topics)), OutboxEvent.available_at <= (now or utcnow()))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
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
