"""A campaign's matching run and its proposal: the assignment of largest total score over the posts'
ranked candidates, pairs the manager pins or excludes, and what a pair shows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import anyio.to_thread
import msgspec
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.matching.assignment import Problem, greedy, optimal
from diaspora.matching.scoring import Match
from diaspora.platform.campaigns.schemas import (
    MatchChangeIn,
    MatchOut,
    PairIn,
    RunSummary,
)
from diaspora.platform.campaigns.setup import ENDED, HELD, get_campaign, live_posts
from diaspora.platform.core import audit
from diaspora.platform.core.errors import ConflictError, NotFoundError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    Campaign,
    CampaignMatch,
    CampaignStatus,
    MatchState,
    Post,
    Profile,
    utcnow,
)
from diaspora.platform.matches.documents import post_document, profile_document
from diaspora.platform.matches.engine import PROFILE_LOAD, MatchingEngine
from diaspora.platform.matches.services import explanation_out, ranked_profiles, shown_components
from diaspora.platform.profiles.services import decode_visible_fields, profile_view

CANDIDATES_PER_PLACE = 10
MIN_CANDIDATES = 50


def filtered_explanation(explanation: dict[str, Any], shown: set[str]) -> dict[str, Any]:
    """What a member shows of a stored explanation (their consent may have changed since the run)."""
    keep = {"semantic_similarity"}
    if "skills" in shown:
        keep |= {"skill_coverage", "covered_skills", "missing_skills"}
    if "availability" in shown:
        keep.add("availability_overlap_days")
    if "languages" in shown:
        keep |= {"languages_matched", "languages_missing"}
    if "headline" in shown:
        keep |= {"occupation", "shared_words"}  # read from the headline
    out = {k: v for k, v in explanation.items() if k in keep}
    out["components"] = shown_components(explanation.get("components", {}), shown)
    return out


def _stored(match: Match) -> tuple[dict[str, float], dict[str, Any]]:
    components = {k: float(v) for k, v in match.explanation.components.items()}
    return components, msgspec.to_builtins(explanation_out(match.explanation))


async def campaign_posts(session: AsyncSession, campaign: Campaign) -> list[Post]:
    ids = [cp.post_id for cp in campaign.posts]
    if not ids:
        return []
    query = (
        live_posts()
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
    posts = await campaign_posts(session, campaign)
    rows = list(
        (await session.scalars(select(CampaignMatch).where(CampaignMatch.campaign_id == campaign.id))).all()
    )
    fixed = frozenset((str(r.post_id), str(r.profile_id)) for r in rows if r.pinned or r.state in HELD)
    excluded = frozenset((str(r.post_id), str(r.profile_id)) for r in rows if r.excluded or r.state in ENDED)
    scores: dict[tuple[str, str], float] = {}
    found: dict[tuple[str, str], Match] = {}
    for post in posts:
        depth = max(MIN_CANDIDATES, post.places * CANDIDATES_PER_PLACE)
        for candidate in await ranked_profiles(session, engine, post.id, limit=depth, refresh=False):
            pair = (str(post.id), candidate.match.id)
            scores[pair], found[pair] = candidate.match.score, candidate.match
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


async def pairs(
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
    return campaign, await pairs(session, campaign.id)


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
    (row,) = await pairs(session, campaign.id, [match_id]) or (None,)
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
