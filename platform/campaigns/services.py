"""Matching campaigns of diaspora ministries: many posts matched at once under their places, invitations
answered by members, contact revealed on acceptance, every transition audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import anyio.to_thread
import msgspec
import numpy as np
from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.matching.assignment import Problem, greedy, optimal
from diaspora.matching.scoring import Match
from diaspora.platform.campaigns.schemas import (
    AnswerIn,
    CampaignIn,
    CampaignOut,
    InvitationOut,
    InviteIn,
    MatchChangeIn,
    MatchOut,
    PairIn,
    RunSummary,
)
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    Account,
    Campaign,
    CampaignMatch,
    CampaignPost,
    CampaignStatus,
    ContactGrant,
    MatchState,
    Organisation,
    Post,
    PostStatus,
    Profile,
    Role,
    utcnow,
)
from diaspora.platform.db.upsert import upsert
from diaspora.platform.matches.documents import post_document, profile_document
from diaspora.platform.matches.engine import PROFILE_LOAD, MatchingEngine
from diaspora.platform.matches.services import explanation_out, ranked_profiles
from diaspora.platform.notifications.mail import enqueue_mail
from diaspora.platform.profiles.services import decode_visible_fields, load_own_profile, profile_view

HELD = (MatchState.INVITED.value, MatchState.ACCEPTED.value, MatchState.PLACED.value)  # take a place
ENDED = (MatchState.DECLINED.value, MatchState.EXPIRED.value)  # never proposed again for that post
CANDIDATES_PER_PLACE = 10
MIN_CANDIDATES = 50


# -- campaigns -----------------------------------------------------------------------------------------


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


def _ensure_ministry(user: Actor) -> None:
    if not policy.may_manage_campaigns(user):
        raise PermissionDeniedError(policy.why_no_campaigns(user))


async def get_campaign(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, *, lock: bool = False
) -> Campaign:
    """A ministry sees only its own campaigns (others' are 'not found'); admins see all."""
    _ensure_ministry(user)
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


def _live_posts() -> Select[Post]:
    return (
        select(Post)
        .join(Organisation, Organisation.id == Post.organisation_id)
        .where(Post.status == PostStatus.OPEN.value, Organisation.verified.is_(True))
    )


async def _choose_posts(session: AsyncSession, data: CampaignIn) -> list[uuid.UUID]:
    if data.post_ids:
        wanted = list(dict.fromkeys(data.post_ids))
        found = set(
            (await session.scalars(_live_posts().where(Post.id.in_(wanted)).with_only_columns(Post.id))).all()
        )
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise ConflictError(f"Not live posts: {', '.join(missing)}", field="post_ids")
        return wanted
    query = _live_posts().with_only_columns(Post.id)
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
    campaign = Campaign(
        id=uuid.uuid4(), organisation_id=user.organisation_id, created_by_id=user.id, last_run={}
    )
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
    _ensure_ministry(user)
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


# -- the proposal --------------------------------------------------------------------------------------


def filtered_explanation(explanation: dict[str, Any], shown: set[str]) -> dict[str, Any]:
    """What a member shows of a stored explanation (their consent may have changed since the run)."""
    keep = {"semantic_similarity"}
    if "skills" in shown:
        keep |= {"skill_coverage", "covered_skills", "missing_skills"}
    if "availability" in shown:
        keep.add("availability_overlap_days")
    if "languages" in shown:
        keep |= {"languages_matched", "languages_missing"}
    out = {k: v for k, v in explanation.items() if k in keep}
    out["components"] = {
        k: v for k, v in explanation.get("components", {}).items() if k == "semantic" or k in shown
    }
    return out


def _stored(match: Match) -> tuple[dict[str, float], dict[str, Any]]:
    components = {k: float(v) for k, v in match.explanation.components.items()}
    return components, msgspec.to_builtins(explanation_out(match.explanation))


async def _campaign_posts(session: AsyncSession, campaign: Campaign) -> list[Post]:
    ids = [cp.post_id for cp in campaign.posts]
    if not ids:
        return []
    query = (
        _live_posts()
        .where(Post.id.in_(ids))
        .options(selectinload(Post.skills), selectinload(Post.organisation))
    )
    return list((await session.scalars(query)).all())


async def run_matching(
    session: AsyncSession, engine: MatchingEngine, user: Actor, campaign_id: uuid.UUID
) -> Campaign:
    """Propose the assignment of largest total score, keeping pinned and already invited pairs, never
    proposing excluded ones or people who declined or let an invitation expire for that post."""
    await engine.refresh()  # before the lock: the refresh writes embeddings through its own connection
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    if campaign.status == CampaignStatus.CLOSED.value:
        raise ConflictError("The campaign is closed.")
    posts = await _campaign_posts(session, campaign)
    rows = list(
        (await session.scalars(select(CampaignMatch).where(CampaignMatch.campaign_id == campaign.id))).all()
    )
    fixed = frozenset((str(r.post_id), str(r.profile_id)) for r in rows if r.pinned or r.state in HELD)
    excluded = frozenset((str(r.post_id), str(r.profile_id)) for r in rows if r.excluded or r.state in ENDED)
    scores: dict[tuple[str, str], float] = {}
    found: dict[tuple[str, str], Match] = {}
    for post in posts:
        depth = max(MIN_CANDIDATES, post.places * CANDIDATES_PER_PLACE)
        for profile, match in await ranked_profiles(session, engine, post, limit=depth, refresh=False):
            pair = (str(post.id), str(profile.id))
            scores[pair], found[pair] = match.score, match
    problem = Problem(
        places={str(p.id): p.places for p in posts},
        scores=scores,
        fixed=frozenset(pair for pair in fixed if pair[0] in {str(p.id) for p in posts}),
        excluded=excluded,
        one_post_per_person=campaign.one_post_per_person,
    )
    best, baseline = optimal(problem), greedy(problem)
    # The previous proposal's free pairs make way for the new one; pins, exclusions and answers stay.
    for row in rows:
        if row.state == MatchState.PROPOSED.value and not row.pinned and not row.excluded:
            await session.delete(row)
    await session.flush()
    for post_id, profile_id in best.pairs:
        components, explanation = _stored(found[(post_id, profile_id)])
        session.add(
            CampaignMatch(
                campaign_id=campaign.id,
                post_id=uuid.UUID(post_id),
                profile_id=uuid.UUID(profile_id),
                score=scores[(post_id, profile_id)],
                components=components,
                explanation=explanation,
            )
        )
    summary = RunSummary(
        places=sum(p.places for p in posts),
        fixed=len(problem.fixed),
        optimal_total=round(best.total_score, 4),
        optimal_filled=best.filled,
        greedy_total=round(baseline.total_score, 4),
        greedy_filled=baseline.filled,
        gain_total=round(best.total_score - baseline.total_score, 4),
        gain_filled=best.filled - baseline.filled,
        candidates=len(scores),
    )
    campaign.last_run = {**msgspec.to_builtins(summary), "ran_at": utcnow().isoformat()}
    if campaign.status == CampaignStatus.DRAFT.value:
        campaign.status = CampaignStatus.MATCHING.value
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="campaign.matched",
        entity_type="campaign",
        entity_id=campaign.id,
        proposed=best.filled,
        total=summary.optimal_total,
    )
    return campaign


async def _matches(
    session: AsyncSession, campaign_id: uuid.UUID, ids: Sequence[uuid.UUID] | None = None
) -> list[CampaignMatch]:
    query = (
        select(CampaignMatch)
        .where(CampaignMatch.campaign_id == campaign_id)
        .options(
            selectinload(CampaignMatch.post).selectinload(Post.organisation),
            selectinload(CampaignMatch.profile).options(*PROFILE_LOAD, selectinload(Profile.contact_grants)),
        )
        .order_by(CampaignMatch.post_id, CampaignMatch.score.desc(), CampaignMatch.id)
    )
    if ids is not None:
        query = query.where(CampaignMatch.id.in_(list(ids)))
    return list((await session.scalars(query)).all())


def match_out(row: CampaignMatch) -> MatchOut:
    consent = row.profile.consent
    shown = set(decode_visible_fields(consent.visible_fields)) if consent else set()
    # Contact details only once the member accepted, which granted them to the post's organisation, and
    # only while that grant stands: withdrawing it hides them here too (and in every export).
    revealed = row.state in (MatchState.ACCEPTED.value, MatchState.PLACED.value) and any(
        grant.organisation_id == row.post.organisation_id for grant in row.profile.contact_grants
    )
    return MatchOut(
        id=row.id,
        post_id=row.post_id,
        post_title=row.post.title,
        organisation_name=row.post.organisation.name,
        profile=profile_view(row.profile, contact_granted=revealed),
        state=row.state,
        score=round(row.score, 4),
        explanation=filtered_explanation(row.explanation, shown),
        pinned=row.pinned,
        excluded=row.excluded,
        invited_at=row.invited_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
    )


async def proposal(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID
) -> tuple[Campaign, list[CampaignMatch]]:
    campaign = await get_campaign(session, user, campaign_id)
    return campaign, await _matches(session, campaign.id)


async def add_pair(
    session: AsyncSession, engine: MatchingEngine, user: Actor, campaign_id: uuid.UUID, data: PairIn
) -> CampaignMatch:
    """The manager pins a person to a post (scored like any proposal), or excludes the pair."""
    await engine.refresh()  # before the lock, as in run_matching
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    if data.post_id not in {cp.post_id for cp in campaign.posts}:
        raise NotFoundError("That post is not part of the campaign.", field="post_id")
    profile = await session.scalar(
        select(Profile).where(Profile.id == data.profile_id).options(*PROFILE_LOAD)
    )
    if profile is None or profile.consent is None or not profile.consent.open_to_matching:
        raise NotFoundError("No profile open to matching has that id.", field="profile_id")
    row = await session.scalar(
        select(CampaignMatch).where(
            CampaignMatch.campaign_id == campaign.id,
            CampaignMatch.post_id == data.post_id,
            CampaignMatch.profile_id == data.profile_id,
        )
    )
    if row is None:
        post = await session.scalar(
            select(Post)
            .where(Post.id == data.post_id)
            .options(selectinload(Post.skills), selectinload(Post.organisation))
        )
        assert post is not None
        match = await _score(engine, post, profile)
        components, explanation = _stored(match)
        row = CampaignMatch(
            campaign_id=campaign.id,
            post_id=data.post_id,
            profile_id=data.profile_id,
            score=match.score,
            components=components,
            explanation=explanation,
        )
        session.add(row)
    if data.action == "pin":
        row.pinned, row.excluded = True, False
    else:
        if row.state in HELD:
            raise ConflictError(f"This person is already {row.state}; an invitation is not withdrawn here.")
        row.pinned, row.excluded = False, True
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action=f"campaign.pair_{data.action}",
        entity_type="campaign_match",
        entity_id=row.id,
    )
    return row


async def _score(engine: MatchingEngine, post: Post, profile: Profile) -> Match:
    assert engine.profiles is not None
    assert engine.posts is not None
    post_vector = engine.posts.vector_of(str(post.id))
    profile_vector = engine.profiles.vector_of(str(profile.id))
    similarity = 0.0
    if post_vector is not None and profile_vector is not None:
        similarity = float(np.dot(post_vector.astype(np.float32), profile_vector.astype(np.float32)))
    post_doc, profile_doc = post_document(post), profile_document(profile)
    matches = await anyio.to_thread.run_sync(
        lambda: engine.ranker.score_profiles(
            post_doc, [(profile_doc.id, similarity)], {profile_doc.id: profile_doc}, 1
        )
    )
    return matches[0]


async def change_match(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, match_id: uuid.UUID, data: MatchChangeIn
) -> CampaignMatch:
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    (row,) = await _matches(session, campaign.id, [match_id]) or (None,)
    if row is None:
        raise NotFoundError("No such pair in this campaign.")
    if data.excluded and row.state in HELD:
        raise ConflictError(f"This person is already {row.state}.")
    if data.pinned is not None:
        row.pinned = data.pinned
    if data.excluded is not None:
        row.excluded = data.excluded
        if data.excluded:
            row.pinned = False
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="campaign.pair_changed",
        entity_type="campaign_match",
        entity_id=row.id,
    )
    return row


# -- invitations ---------------------------------------------------------------------------------------


async def invite(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, data: InviteIn
) -> list[CampaignMatch]:
    """Invite proposed people; all or nothing: one refused pair refuses the whole request."""
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    if campaign.status == CampaignStatus.CLOSED.value:
        raise ConflictError("The campaign is closed.")
    wanted = list(dict.fromkeys(data.match_ids))
    rows = await _matches(session, campaign.id, wanted)
    if len(rows) != len(wanted):
        raise NotFoundError("Some of these pairs are not part of the campaign.", field="match_ids")
    everything = await _matches(session, campaign.id)
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
                    "id": uuid.uuid4(),
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


async def place(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, match_id: uuid.UUID
) -> CampaignMatch:
    campaign = await get_campaign(session, user, campaign_id, lock=True)
    rows = await _matches(session, campaign.id, [match_id])
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
