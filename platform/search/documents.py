"""Search documents built from the database: what each index holds for an opportunity or a post.

Only public records become documents: published opportunities, and open posts of verified
organisations. Anything else (a draft, a rejected opportunity, a deleted row) is removed from the
index when its outbox event is processed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.platform.db.models import Opportunity, OpportunityStatus, Organisation, Post, PostStatus
from diaspora.platform.search.backend import Document
from diaspora.platform.search.config import IndexConfig
from diaspora.platform.search.query import transliterated

if TYPE_CHECKING:
    from diaspora.platform.matches.store import Fresh
    from diaspora.platform.search.vectors import SearchVectors


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _days(day: date | None) -> int | None:
    return day.toordinal() - date(1970, 1, 1).toordinal() if day is not None else None


def opportunity_document(row: Opportunity) -> Document:
    organisation = row.organisation
    return {
        "id": str(row.id),
        "kind": row.kind,
        "title": row.title,
        "description": row.description,
        "sector": row.sector,
        "country": row.country,
        "municipality": row.municipality,
        "organisation_id": str(row.organisation_id),
        "organisation_name": organisation.name,
        "organisation_kind": organisation.kind,
        "ticket_min": row.ticket_min,
        "ticket_max": row.ticket_max,
        "currency": row.currency,
        "hours_per_week": row.hours_per_week,
        "duration_weeks": row.duration_weeks,
        "mode": row.mode,
        "languages": list(row.languages),
        "contact_email": row.contact_email,
        "contact_url": row.contact_url,
        "published_at": _epoch(row.published_at or row.created_at),
        "transliterated": transliterated(row.title, row.description, organisation.name, row.municipality),
    }


def post_document(row: Post) -> Document:
    organisation = row.organisation
    return {
        "id": str(row.id),
        "kind": row.kind,
        "title": row.title,
        "description": row.description,
        "skills": [s.name for s in row.skills],
        "organisation_id": str(row.organisation_id),
        "organisation_name": organisation.name,
        "organisation_kind": organisation.kind,
        "country": row.country,
        "municipality": row.municipality,
        "mode": row.mode,
        "compensation": row.compensation,
        "languages": list(row.languages),
        "start_date": row.start_date.isoformat() if row.start_date else None,
        "end_date": row.end_date.isoformat() if row.end_date else None,
        "starts_on": _days(row.start_date),
        "places": row.places,
        "incentives": list(row.incentives or []),
        "subsidy_programme": row.subsidy_programme,
        "stipend_eur": row.stipend_eur,
        "published_at": _epoch(row.created_at),
        "transliterated": transliterated(
            row.title,
            row.description,
            organisation.name,
            row.municipality,
            row.subsidy_programme,
            *(s.name for s in row.skills),
        ),
    }


@dataclass(frozen=True)
class Source:
    """How one index is fed from the database."""

    index: str
    topic: str
    entity_type: str  # in the embedding store
    query: Callable[[], Select[Any]]
    document: Callable[[Any], Document]
    id_column: Any


def _public_opportunities() -> Select[Any]:
    return (
        select(Opportunity)
        .join(Organisation, Organisation.id == Opportunity.organisation_id)
        .where(Opportunity.status == OpportunityStatus.PUBLISHED.value, Organisation.verified.is_(True))
        .options(selectinload(Opportunity.organisation))
    )


def _live_posts() -> Select[Any]:
    return (
        select(Post)
        .join(Organisation, Organisation.id == Post.organisation_id)
        .where(Post.status == PostStatus.OPEN.value, Organisation.verified.is_(True))
        .options(selectinload(Post.organisation), selectinload(Post.skills))
    )


SOURCES: dict[str, Source] = {
    "opportunities": Source(
        "opportunities",
        "opportunity",
        "opportunity",
        _public_opportunities,
        opportunity_document,
        Opportunity.id,
    ),
    "posts": Source("posts", "post", "post", _live_posts, post_document, Post.id),
}
SOURCE_BY_TOPIC = {source.topic: source for source in SOURCES.values()}


@dataclass
class Vectorising:
    """Documents get their vectors from `vectors`; those it had to encode gather in `fresh`, to be
    stored once the reading transaction is over."""

    vectors: SearchVectors
    config: IndexConfig
    fresh: list[Fresh]


async def _documents(
    session: AsyncSession, source: Source, rows: Sequence[Any], vectorising: Vectorising | None
) -> list[Document]:
    documents = [source.document(row) for row in rows]
    if vectorising is not None:
        vectorising.fresh += await vectorising.vectors.attach(
            session, vectorising.config, source.entity_type, rows, documents
        )
    return documents


async def documents_for(
    session: AsyncSession, source: Source, ids: Sequence[str], vectorising: Vectorising | None = None
) -> tuple[list[Document], list[str]]:
    """The documents of those ids that are public now, and the ids that must leave the index."""
    wanted = [uuid.UUID(i) for i in ids]
    rows = (await session.scalars(source.query().where(source.id_column.in_(wanted)))).all()
    documents = await _documents(session, source, rows, vectorising)
    present = {d["id"] for d in documents}
    return documents, [i for i in ids if i not in present]


async def all_documents(
    session: AsyncSession, source: Source, batch_size: int = 1000, vectorising: Vectorising | None = None
) -> AsyncIterator[list[Document]]:
    """Every public record, in primary-key order, a batch at a time (keyset pagination: no OFFSET)."""
    last: uuid.UUID | None = None
    while True:
        query = source.query().order_by(source.id_column).limit(batch_size)
        if last is not None:
            query = query.where(source.id_column > last)
        rows = (await session.scalars(query)).all()
        if not rows:
            return
        yield await _documents(session, source, rows, vectorising)
        last = rows[-1].id
        session.expunge_all()


async def count_public(session: AsyncSession, source: Source) -> int:
    from sqlalchemy import func

    return int(await session.scalar(select(func.count()).select_from(source.query().subquery())) or 0)
