"""Invitations of a campaign: sent to proposed people, answered once by the member (accepting grants
contact to the post's organisation), expired when their date passes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.platform.campaigns.runs import pairs
from diaspora.platform.campaigns.schemas import (
    AnswerIn,
    InvitationOut,
    InviteIn,
)
from diaspora.platform.campaigns.setup import HELD, get_campaign
from diaspora.platform.core import audit
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    Account,
    Campaign,
    CampaignMatch,
    CampaignStatus,
    ContactGrant,
    MatchState,
    Post,
    Role,
    new_id,
    utcnow,
)
from diaspora.platform.db.upsert import upsert
from diaspora.platform.notifications.mail import enqueue_mail
from diaspora.platform.profiles.services import load_own_profile


async def invite(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, data: InviteIn
) -> list[CampaignMatch]:
    """Invite proposed people; all or nothing: one refused pair refuses the whole request."""
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    if campaign.status == CampaignStatus.CLOSED.value:
        raise ConflictError("The campaign is closed.")
    wanted = list(dict.fromkeys(data.match_ids))
    rows = await pairs(session, campaign.id, wanted)
    if len(rows) != len(wanted):
        raise NotFoundError("Some of these pairs are not part of the campaign.", field="match_ids")
    everything = await pairs(session, campaign.id)
    held_per_post: dict[uuid.UUID, int] = {}
    held_people: set[uuid.UUID] = set()
    for other in everything:
        if other.state in HELD:
            held_per_post[other.post_id] = held_per_post.get(other.post_id, 0) + 1
            held_people.add(other.profile_id)
    for row in rows:
        consent = row.profile.consent
        if row.excluded or row.state != MatchState.PROPOSED.value:
            raise ConflictError(
                f"Pair {row.id} is {'excluded' if row.excluded else row.state}, not proposed."
            )
        if consent is None or not consent.open_to_matching or not consent.open_to_contact:
            raise ConflictError(f"Pair {row.id}: this member is not open to contact; they cannot be invited.")
        if campaign.one_post_per_person and row.profile_id in held_people:
            raise ConflictError(f"Pair {row.id}: this member already holds a place in the campaign.")
        held_people.add(row.profile_id)
        held_per_post[row.post_id] = held_per_post.get(row.post_id, 0) + 1
        if held_per_post[row.post_id] > row.post.places:
            raise ConflictError(
                f"Pair {row.id}: '{row.post.title}' has {row.post.places} place(s), all invited or filled."
            )
    now = utcnow()
    for row in rows:
        row.state = MatchState.INVITED.value
        row.invited_at, row.expires_at = now, now + timedelta(days=campaign.invitation_days)
        audit.record(
            session,
            actor_id=user.id,
            action="invitation.sent",
            entity_type="campaign_match",
            entity_id=row.id,
        )
        enqueue_mail(
            session,
            to=row.profile.account.email,
            key=f"invitation:{row.id}",
            subject=f"Invitation: {row.post.title}",
            body=(
                f"Hello {row.profile.account.display_name},\n\n"
                f"{row.post.organisation.name} would like you for '{row.post.title}' ({campaign.name}).\n"
                "Your skills and availability fit well.\n\n"
                f"Please accept or decline in your dashboard before {row.expires_at:%d %B %Y}. Your contact "
                "details are shared with the organisation only if you accept.\n"
            ),
        )
    if campaign.status in (CampaignStatus.DRAFT.value, CampaignStatus.MATCHING.value):
        campaign.status = CampaignStatus.INVITING.value
    await session.flush()
    return rows


async def my_invitations(session: AsyncSession, user: Actor) -> list[InvitationOut]:
    if user.role is not Role.MEMBER:
        raise PermissionDeniedError("Invitations are for member accounts.")
    profile = await load_own_profile(session, user.id, required=False)
    if profile is None:
        return []
    rows = (
        await session.execute(
            select(CampaignMatch, Campaign.name)
            .join(Campaign, Campaign.id == CampaignMatch.campaign_id)
            .where(CampaignMatch.profile_id == profile.id, CampaignMatch.state != MatchState.PROPOSED.value)
            .options(selectinload(CampaignMatch.post).selectinload(Post.organisation))
            .order_by(CampaignMatch.invited_at.desc())
        )
    ).all()
    return [
        InvitationOut(
            id=row.id,
            campaign_name=name,
            post_id=row.post_id,
            post_title=row.post.title,
            organisation_name=row.post.organisation.name,
            country=row.post.country,
            municipality=row.post.municipality,
            start_date=row.post.start_date,
            end_date=row.post.end_date,
            state=row.state,
            score=round(row.score, 4),
            invited_at=row.invited_at,
            expires_at=row.expires_at,
            answered_at=row.answered_at,
        )
        for row, name in rows
    ]


async def answer(session: AsyncSession, user: Actor, match_id: uuid.UUID, data: AnswerIn) -> CampaignMatch:
    """Accept or decline one's own invitation, once. The state change is a conditional update, so two
    answers sent at once (two tabs, a double click) leave exactly one of them standing."""
    if user.role is not Role.MEMBER:
        raise PermissionDeniedError("Invitations are answered by the invited member.")
    profile = await load_own_profile(session, user.id)
    assert profile is not None
    row = await session.scalar(
        select(CampaignMatch).where(CampaignMatch.id == match_id, CampaignMatch.profile_id == profile.id)
    )
    if row is None or row.state == MatchState.PROPOSED.value:
        raise NotFoundError("Invitation not found.")
    now = utcnow()
    new_state = MatchState.ACCEPTED.value if data.answer == "accept" else MatchState.DECLINED.value
    result = await session.execute(
        update(CampaignMatch)
        .where(
            CampaignMatch.id == match_id,
            CampaignMatch.profile_id == profile.id,
            CampaignMatch.state == MatchState.INVITED.value,
            CampaignMatch.expires_at > now,
        )
        .values(state=new_state, answered_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.refresh(row)
        if row.state == MatchState.INVITED.value:
            raise ConflictError("This invitation has expired.")
        raise ConflictError(f"This invitation was already answered ({row.state}).")
    await session.refresh(row, ["state", "answered_at"])
    post = await session.scalar(
        select(Post).where(Post.id == row.post_id).options(selectinload(Post.organisation))
    )
    campaign = await session.get(Campaign, row.campaign_id)
    assert post is not None
    assert campaign is not None
    if new_state == MatchState.ACCEPTED.value:
        # Accepting is the member's consent that the post's organisation may contact them.
        await upsert(
            session,
            ContactGrant,
            [
                {
                    "id": new_id(),
                    "profile_id": profile.id,
                    "organisation_id": post.organisation_id,
                    "granted_at": now,
                }
            ],
            key=["profile_id", "organisation_id"],
            update=["granted_at"],
        )
    audit.record(
        session,
        actor_id=user.id,
        action=f"invitation.{new_state}",
        entity_type="campaign_match",
        entity_id=row.id,
    )
    manager = await session.get(Account, campaign.created_by_id) if campaign.created_by_id else None
    if manager is not None:
        enqueue_mail(
            session,
            to=manager.email,
            key=f"answer:{row.id}",
            subject=f"{'Accepted' if new_state == 'accepted' else 'Declined'}: {post.title}",
            body=f"An invited member has {new_state} '{post.title}' in the campaign '{campaign.name}'.\n",
        )
    return row


async def expire_invitations(session: AsyncSession) -> int:
    """Invitations past their date become expired (run by the worker)."""
    now = utcnow()
    ids = list(
        (
            await session.scalars(
                select(CampaignMatch.id).where(
                    CampaignMatch.state == MatchState.INVITED.value, CampaignMatch.expires_at <= now
                )
            )
        ).all()
    )
    if ids:
        await session.execute(
            update(CampaignMatch)
            .where(CampaignMatch.id.in_(ids), CampaignMatch.state == MatchState.INVITED.value)
            .values(state=MatchState.EXPIRED.value, updated_at=now)
        )
        for match_id in ids:
            audit.record(
                session,
                actor_id=None,
                action="invitation.expired",
                entity_type="campaign_match",
                entity_id=match_id,
            )
    return len(ids)
