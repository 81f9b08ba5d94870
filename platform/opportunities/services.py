"""Opportunities: written by staff of verified organisations (ministries included), published by admins."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.schemas import from_row
from diaspora.platform.db.models import Opportunity, OpportunityStatus, Organisation, new_id, utcnow
from diaspora.platform.opportunities.schemas import ModerationIn, OpportunityIn, OpportunityOut


def opportunity_out(row: Opportunity) -> OpportunityOut:
    return from_row(row, OpportunityOut)


def apply_opportunity(row: Opportunity, data: OpportunityIn) -> None:
    row.kind = data.kind.value
    row.title = data.title.strip()
    row.description = data.description
    row.sector = data.sector.value
    row.country = data.country
    row.municipality = data.municipality
    row.ticket_min, row.ticket_max, row.currency = data.ticket_min, data.ticket_max, data.currency
    row.hours_per_week, row.duration_weeks = data.hours_per_week, data.duration_weeks
    row.mode = data.mode.value if data.mode else None
    row.languages = list(data.languages)
    row.contact_email, row.contact_url = data.contact_email, data.contact_url
    row.seeking_partners = data.seeking_partners
    row.updated_at = utcnow()


async def _verified_organisation(session: AsyncSession, user: Actor) -> Organisation:
    if not policy.is_organisation_account(user) or user.organisation_id is None:
        raise PermissionDeniedError("Only staff of a registered organisation or ministry post opportunities.")
    organisation = await session.get(Organisation, user.organisation_id)
    if organisation is None:
        raise PermissionDeniedError("Your organisation no longer exists.")
    if not organisation.verified:
        raise ConflictError("Your organisation is not verified yet; opportunities can be posted once it is.")
    return organisation


async def create_opportunity(session: AsyncSession, user: Actor, data: OpportunityIn) -> Opportunity:
    organisation = await _verified_organisation(session, user)
    row = Opportunity(
        id=new_id(),
        organisation_id=organisation.id,
        created_by_id=user.id,
        status=OpportunityStatus.PENDING_REVIEW.value,
    )
    row.organisation = organisation
    apply_opportunity(row, data)
    session.add(row)
    await session.flush()
    audit.record(
        session, actor_id=user.id, action="opportunity.created", entity_type="opportunity", entity_id=row.id
    )
    return row


def _may_manage(user: Actor | None, row: Opportunity) -> bool:
    return policy.manages_organisation(user, row.organisation_id)


async def _load(
    session: AsyncSession, opportunity_id: uuid.UUID, *, lock: bool = False
) -> Opportunity | None:
    if lock:  # serialise concurrent changes of one opportunity (row lock; write lock on SQLite)
        await session.execute(
            update(Opportunity)
            .where(Opportunity.id == opportunity_id)
            .values(updated_at=Opportunity.updated_at)
        )
    return await session.scalar(
        select(Opportunity)
        .where(Opportunity.id == opportunity_id)
        .options(selectinload(Opportunity.organisation))
    )


def is_public(row: Opportunity) -> bool:
    return row.status == OpportunityStatus.PUBLISHED.value and bool(row.organisation.verified)


async def get_opportunity(
    session: AsyncSession, user: Actor | None, opportunity_id: uuid.UUID, *, lock: bool = False
) -> Opportunity:
    row = await _load(session, opportunity_id, lock=lock)
    if row is None or not (is_public(row) or _may_manage(user, row)):
        raise NotFoundError("Opportunity not found.")
    return row


async def update_opportunity(
    session: AsyncSession, user: Actor, opportunity_id: uuid.UUID, data: OpportunityIn
) -> Opportunity:
    row = await get_opportunity(session, user, opportunity_id, lock=True)
    if not _may_manage(user, row):
        raise PermissionDeniedError(
            "Only the organisation's own staff or an admin can change this opportunity."
        )
    if row.status == OpportunityStatus.CLOSED.value:
        raise ConflictError("This opportunity is closed; post a new one instead.")
    apply_opportunity(row, data)
    if not policy.is_admin(user):
        # What the admin approved has changed: it goes back to review (and out of search meanwhile).
        row.status = OpportunityStatus.PENDING_REVIEW.value
        row.published_at = None
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="opportunity.updated",
        entity_type="opportunity",
        entity_id=row.id,
        status=row.status,
    )
    return row


async def moderate(
    session: AsyncSession, admin: Actor, opportunity_id: uuid.UUID, data: ModerationIn
) -> Opportunity:
    if not policy.is_admin(admin):
        raise PermissionDeniedError("Only admins moderate opportunities.")
    row = await get_opportunity(session, admin, opportunity_id, lock=True)
    if row.status == OpportunityStatus.CLOSED.value:
        raise ConflictError("This opportunity is closed.")
    if data.decision == "publish":
        if not row.organisation.verified:
            raise ConflictError("Its organisation is not verified.")
        row.status = OpportunityStatus.PUBLISHED.value
        row.published_at = row.published_at or utcnow()
    else:
        row.status = OpportunityStatus.REJECTED.value
        row.published_at = None
    row.moderation_note = data.note
    row.updated_at = utcnow()
    await session.flush()
    audit.record(
        session,
        actor_id=admin.id,
        action=f"opportunity.{'published' if data.decision == 'publish' else 'rejected'}",
        entity_type="opportunity",
        entity_id=row.id,
    )
    return row


async def close_opportunity(session: AsyncSession, user: Actor, opportunity_id: uuid.UUID) -> Opportunity:
    row = await get_opportunity(session, user, opportunity_id, lock=True)
    if not _may_manage(user, row):
        raise PermissionDeniedError(
            "Only the organisation's own staff or an admin can close this opportunity."
        )
    row.status = OpportunityStatus.CLOSED.value
    row.updated_at = utcnow()
    await session.flush()
    audit.record(
        session, actor_id=user.id, action="opportunity.closed", entity_type="opportunity", entity_id=row.id
    )
    return row


async def delete_opportunity(session: AsyncSession, user: Actor, opportunity_id: uuid.UUID) -> None:
    row = await get_opportunity(session, user, opportunity_id)
    if not _may_manage(user, row):
        raise PermissionDeniedError(
            "Only the organisation's own staff or an admin can delete this opportunity."
        )
    await session.delete(row)
    audit.record(
        session,
        actor_id=user.id,
        action="opportunity.deleted",
        entity_type="opportunity",
        entity_id=opportunity_id,
    )


def _list_query(
    user: Actor | None, status: str | None, organisation_id: uuid.UUID | None
) -> Select[Opportunity]:
    query = select(Opportunity).join(Organisation, Organisation.id == Opportunity.organisation_id)
    public = (Opportunity.status == OpportunityStatus.PUBLISHED.value) & Organisation.verified.is_(True)
    if not policy.is_admin(user):
        own = user.organisation_id if policy.is_organisation_account(user) else None  # type: ignore[union-attr]
        query = query.where(or_(public, Opportunity.organisation_id == own) if own else public)
    if status:
        query = query.where(Opportunity.status == status)
    if organisation_id:
        query = query.where(Opportunity.organisation_id == organisation_id)
    return query


async def list_opportunities(
    session: AsyncSession,
    user: Actor | None,
    *,
    status: str | None,
    organisation_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[Opportunity], int]:
    """Published opportunities; staff also see their own organisation's, admins every one (the
    review queue is `status=pending_review`)."""
    query = _list_query(user, status, organisation_id)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(
        query.options(selectinload(Opportunity.organisation))
        .order_by(Opportunity.created_at.desc(), Opportunity.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), total
