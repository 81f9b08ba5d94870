"""The end of a campaign pair's life: an accepted invitation becomes a placement, and the host later
records what it left behind (local staff trained, what was transferred), which the campaign sums."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.platform.campaigns.runs import pairs
from diaspora.platform.campaigns.schemas import OutcomeIn, PlacementOut
from diaspora.platform.campaigns.setup import get_campaign
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    Account,
    Campaign,
    CampaignMatch,
    MatchState,
    Post,
    Profile,
    utcnow,
)


async def place(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, match_id: uuid.UUID
) -> CampaignMatch:
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    rows = await pairs(session, campaign.id, [match_id])
    if not rows:
        raise NotFoundError("No such pair in this campaign.")
    row = rows[0]
    if row.state != MatchState.ACCEPTED.value:
        raise ConflictError(f"Only an accepted invitation can be placed; this one is {row.state}.")
    row.state = MatchState.PLACED.value
    await session.flush()
    audit.record(
        session, actor_id=user.id, action="invitation.placed", entity_type="campaign_match", entity_id=row.id
    )
    return row


def _placements() -> Select[CampaignMatch, str, str]:
    return (
        select(CampaignMatch, Campaign.name, Account.display_name)
        .join(Campaign, Campaign.id == CampaignMatch.campaign_id)
        .join(Profile, Profile.id == CampaignMatch.profile_id)
        .join(Account, Account.id == Profile.account_id)
        .where(CampaignMatch.state == MatchState.PLACED.value)
        .options(selectinload(CampaignMatch.post))
    )


def placement_out(row: CampaignMatch, campaign_name: str, person: str) -> PlacementOut:
    return PlacementOut(
        id=row.id,
        campaign_id=row.campaign_id,
        campaign_name=campaign_name,
        post_id=row.post_id,
        post_title=row.post.title,
        person=person,
        local_staff_trained=row.local_staff_trained,
        transferred=row.transferred,
        outcome_recorded_at=row.outcome_recorded_at,
    )


async def host_placements(session: AsyncSession, user: Actor) -> list[PlacementOut]:
    """People placed in the posts of the user's organisation (every placement, for an admin), newest
    first. The host knows who they are: accepting an invitation shared their contact details with it."""
    query = _placements().order_by(CampaignMatch.updated_at.desc())
    if not policy.is_admin(user):
        query = query.join(Post, Post.id == CampaignMatch.post_id).where(
            Post.organisation_id == user.organisation_id
        )
    return [placement_out(row, name, person) for row, name, person in (await session.execute(query)).all()]


async def placement_to_record(
    session: AsyncSession, user: Actor, match_id: uuid.UUID
) -> tuple[CampaignMatch, str, str]:
    """The placement, locked, if the user may record its outcome (404 if there is none, 403 if not theirs)."""
    found = (
        await session.execute(
            _placements().where(CampaignMatch.id == match_id).with_for_update(of=CampaignMatch)
        )
    ).first()
    if found is None:
        raise NotFoundError("No such placement.")
    row, campaign_name, person = found
    if not (policy.is_admin(user) or policy.acts_for(user, row.post.organisation_id)):
        raise PermissionDeniedError("Only the staff of the post's organisation record what a placement left.")
    return row, campaign_name, person


async def record_outcome(
    session: AsyncSession, user: Actor, match_id: uuid.UUID, data: OutcomeIn
) -> PlacementOut:
    row, campaign_name, person = await placement_to_record(session, user, match_id)
    row.local_staff_trained = data.local_staff_trained
    row.transferred = data.transferred.strip()
    row.outcome_recorded_at = utcnow()
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="placement.outcome_recorded",
        entity_type="campaign_match",
        entity_id=row.id,
        local_staff_trained=data.local_staff_trained,
    )
    return placement_out(row, campaign_name, person)
