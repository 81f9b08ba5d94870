"""The end of a campaign pair's life: an accepted invitation becomes a placement."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.campaigns.runs import pairs
from diaspora.platform.campaigns.setup import get_campaign
from diaspora.platform.core import audit
from diaspora.platform.core.errors import ConflictError, NotFoundError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    CampaignMatch,
    MatchState,
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
