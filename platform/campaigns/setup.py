"""A ministry's campaigns before and around matching: creation, editing, the status machine, listing;
and the states of a pair that hold a place or end it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.platform.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
)
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    Campaign,
    CampaignPost,
    CampaignStatus,
    MatchState,
    Organisation,
    Post,
    PostStatus,
    new_id,
    utcnow,
)

HELD = (MatchState.INVITED.value, MatchState.ACCEPTED.value, MatchState.PLACED.value)  # take a place
ENDED = (MatchState.DECLINED.value, MatchState.EXPIRED.value)  # never proposed again for that post


def campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        organisation_id=campaign.organisation_id,
        name=campaign.name,
        description=campaign.description,
        sectors=list(campaign.sectors),
        countries=list(campaign.countries),
        start_date=campaign.start_date,
        end_date=campaign.end_date,
        status=campaign.status,
        one_post_per_person=campaign.one_post_per_person,
        invitation_days=campaign.invitation_days,
        post_ids=sorted((cp.post_id for cp in campaign.posts), key=str),
        last_run=dict(campaign.last_run),
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def ensure_ministry(user: Actor) -> None:
    if not policy.may_manage_campaigns(user):
        raise PermissionDeniedError(policy.why_no_campaigns(user))


async def get_campaign(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, *, lock: bool = False
) -> Campaign:
    """A ministry sees only its own campaigns (others' are 'not found'); admins see all."""
    ensure_ministry(user)
    if lock:  # one change of a campaign at a time (row lock; write lock on SQLite)
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(updated_at=Campaign.updated_at)
        )
    campaign = await session.scalar(
        select(Campaign).where(Campaign.id == campaign_id).options(selectinload(Campaign.posts))
    )
    if campaign is None or (not policy.is_admin(user) and campaign.organisation_id != user.organisation_id):
        raise NotFoundError("Campaign not found.")
    return campaign


def live_posts() -> Select[Post]:
    return (
        select(Post)
        .join(Organisation, Organisation.id == Post.organisation_id)
        .where(Post.status == PostStatus.OPEN.value, Organisation.verified.is_(True))
    )


async def _choose_posts(session: AsyncSession, data: CampaignIn) -> list[uuid.UUID]:
    if data.post_ids:
        wanted = list(dict.fromkeys(data.post_ids))
        found = set(
            (await session.scalars(live_posts().where(Post.id.in_(wanted)).with_only_columns(Post.id))).all()
        )
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise ConflictError(f"Not live posts: {', '.join(missing)}", field="post_ids")
        return wanted
    query = live_posts().with_only_columns(Post.id)
    if data.countries:
        query = query.where(Post.country.in_(data.countries))
    if data.start_date is not None:
        query = query.where((Post.end_date.is_(None)) | (Post.end_date >= data.start_date))
    if data.end_date is not None:
        query = query.where((Post.start_date.is_(None)) | (Post.start_date <= data.end_date))
    return list((await session.scalars(query.order_by(Post.created_at, Post.id).limit(500))).all())


def _apply(campaign: Campaign, data: CampaignIn, post_ids: Sequence[uuid.UUID]) -> None:
    campaign.name = data.name.strip()
    campaign.description = data.description
    campaign.sectors = [s.value for s in data.sectors]
    campaign.countries = list(data.countries)
    campaign.start_date, campaign.end_date = data.start_date, data.end_date
    campaign.one_post_per_person = data.one_post_per_person
    campaign.invitation_days = data.invitation_days
    campaign.posts = [CampaignPost(post_id=post_id) for post_id in post_ids]
    campaign.updated_at = utcnow()


async def create_campaign(session: AsyncSession, user: Actor, data: CampaignIn) -> Campaign:
    if not policy.is_verified_ministry(user):
        raise PermissionDeniedError(policy.why_no_campaigns(user))
    assert user.organisation_id is not None
    campaign = Campaign(id=new_id(), organisation_id=user.organisation_id, created_by_id=user.id, last_run={})
    _apply(campaign, data, await _choose_posts(session, data))
    session.add(campaign)
    await session.flush()
    audit.record(
        session, actor_id=user.id, action="campaign.created", entity_type="campaign", entity_id=campaign.id
    )
    return campaign


async def update_campaign(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, data: CampaignIn
) -> Campaign:
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    if campaign.status == CampaignStatus.CLOSED.value:
        raise ConflictError("The campaign is closed.")
    post_ids = await _choose_posts(session, data)
    await session.refresh(campaign, ["posts"])
    campaign.posts = []
    await session.flush()
    _apply(campaign, data, post_ids)
    await session.flush()
    audit.record(
        session, actor_id=user.id, action="campaign.updated", entity_type="campaign", entity_id=campaign.id
    )
    return campaign


_NEXT = {
    CampaignStatus.DRAFT.value: {CampaignStatus.MATCHING.value, CampaignStatus.CLOSED.value},
    CampaignStatus.MATCHING.value: {CampaignStatus.INVITING.value, CampaignStatus.CLOSED.value},
    CampaignStatus.INVITING.value: {CampaignStatus.MATCHING.value, CampaignStatus.CLOSED.value},
    CampaignStatus.CLOSED.value: set(),
}


async def set_status(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, status: CampaignStatus
) -> Campaign:
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    if status.value != campaign.status and status.value not in _NEXT[campaign.status]:
        raise ConflictError(f"A {campaign.status} campaign cannot become {status.value}.", field="status")
    campaign.status = status.value
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action=f"campaign.{status.value}",
        entity_type="campaign",
        entity_id=campaign.id,
    )
    return campaign


async def list_campaigns(
    session: AsyncSession, user: Actor, *, limit: int = 100, offset: int = 0
) -> tuple[list[Campaign], int]:
    """A ministry's own campaigns (admins: all), newest first, one page of them, and how many in all."""
    ensure_ministry(user)
    query = select(Campaign)
    if not policy.is_admin(user):
        query = query.where(Campaign.organisation_id == user.organisation_id)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(
        query.options(selectinload(Campaign.posts))
        .order_by(Campaign.created_at.desc(), Campaign.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), total
