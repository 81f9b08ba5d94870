"""A campaign at a glance: the funnel, fill rates, the skill-gap map, and what outcomes teach the scorer."""

from __future__ import annotations

import io
import uuid
from collections import Counter, defaultdict
from typing import Any

import anyio.to_thread
import msgspec
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching.encoder import Encoder
from diaspora.platform.campaigns.runs import campaign_posts
from diaspora.platform.campaigns.setup import HELD, get_campaign
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.spreadsheet import SafeWriter
from diaspora.platform.db.models import CampaignMatch, Consent, MatchState, Profile, ProfileSkill
from diaspora.platform.matches.engine import MatchingEngine

MAX_SUPPLY_ROWS = 25


class FunnelOut(msgspec.Struct):
    posts: int
    places: int
    proposed: int
    invited: int
    accepted: int
    declined: int
    expired: int
    placed: int


class FillOut(msgspec.Struct):
    name: str
    places: int
    filled: int
    fill_rate: float


class GapGroupOut(msgspec.Struct):
    label: str
    skills: list[str]
    posts: int


class SupplyOut(msgspec.Struct):
    skill: str
    profiles: int


class TransferOut(msgspec.Struct):
    post_title: str
    organisation: str
    local_staff_trained: int
    transferred: str


class CapacityOut(msgspec.Struct):
    """What the campaign's placements left behind, as the hosts recorded it."""

    placements: int
    outcomes_recorded: int
    local_staff_trained: int
    transfers: list[TransferOut]


class DashboardOut(msgspec.Struct):
    campaign_id: uuid.UUID
    funnel: FunnelOut
    fill_by_organisation: list[FillOut]
    fill_by_sector: list[FillOut]
    unmet_skills: list[GapGroupOut]
    unasked_supply: list[SupplyOut]
    consenting_profiles: int
    capacity: CapacityOut


def _fill(groups: dict[str, list[int]]) -> list[FillOut]:
    return sorted(
        (
            FillOut(
                name=name,
                places=places,
                filled=filled,
                fill_rate=round(filled / places, 4) if places else 0.0,
            )
            for name, (places, filled) in groups.items()
        ),
        key=lambda f: (f.fill_rate, f.name),
    )


def _cluster(names: list[str], vectors: np.ndarray[Any, Any], threshold: float) -> list[list[int]]:
    """Groups of similar unmet skills (agglomerative, average cosine distance under `threshold`)."""
    if len(names) < 2:
        return [[i] for i in range(len(names))]
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average"
    ).fit_predict(vectors)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[int(label)].append(i)
    return list(groups.values())


def _gap_map(
    encoder: Encoder,
    required: dict[str, set[str]],
    supply: Counter[str],
    threshold: float,
) -> tuple[list[GapGroupOut], list[SupplyOut]]:
    """Required skills nobody consenting covers (grouped), and offered skills nobody asks for."""
    needed = sorted(required)
    offered = sorted(supply)
    if not needed:
        return [], [SupplyOut(s, n) for s, n in supply.most_common(MAX_SUPPLY_ROWS)]
    need_vectors = encoder.encode_cached(needed)
    if offered:
        offer_vectors = encoder.encode_cached(offered)
        similarity = need_vectors @ offer_vectors.T
        offered_folded = {s.casefold() for s in offered}
        covered = [
            n.casefold() in offered_folded or float(similarity[i].max()) >= threshold
            for i, n in enumerate(needed)
        ]
        asked = similarity.max(axis=0) >= threshold
    else:
        covered = [False] * len(needed)
        asked = np.zeros(0, dtype=bool)
    unmet = [i for i, ok in enumerate(covered) if not ok]
    groups = []
    for members in _cluster([needed[i] for i in unmet], need_vectors[unmet], threshold=1 - threshold):
        indexes = [unmet[m] for m in members]
        centre = need_vectors[indexes].mean(axis=0)
        label = needed[indexes[int(np.argmax(need_vectors[indexes] @ centre))]]
        posts = set().union(*(required[needed[i]] for i in indexes))
        groups.append(GapGroupOut(label=label, skills=sorted(needed[i] for i in indexes), posts=len(posts)))
    groups.sort(key=lambda g: (-g.posts, g.label))
    unasked = [SupplyOut(offered[j], supply[offered[j]]) for j in range(len(offered)) if not asked[j]]
    unasked.sort(key=lambda s: (-s.profiles, s.skill))
    return groups, unasked[:MAX_SUPPLY_ROWS]


async def dashboard(
    session: AsyncSession, engine: MatchingEngine, user: Actor, campaign_id: uuid.UUID
) -> DashboardOut:
    campaign = await get_campaign(session, user, campaign_id)
    posts = await campaign_posts(session, campaign)
    rows = list(
        (
            await session.scalars(
                select(CampaignMatch).where(
                    CampaignMatch.campaign_id == campaign.id, CampaignMatch.excluded.is_(False)
                )
            )
        ).all()
    )
    states = Counter(r.state for r in rows)
    answered_or_invited = (*HELD, MatchState.DECLINED.value, MatchState.EXPIRED.value)
    funnel = FunnelOut(
        posts=len(posts),
        places=sum(p.places for p in posts),
        proposed=len(rows),
        invited=sum(states[s] for s in answered_or_invited),
        accepted=states[MatchState.ACCEPTED.value] + states[MatchState.PLACED.value],
        declined=states[MatchState.DECLINED.value],
        expired=states[MatchState.EXPIRED.value],
        placed=states[MatchState.PLACED.value],
    )
    filled_per_post = Counter(
        r.post_id for r in rows if r.state in (MatchState.ACCEPTED.value, MatchState.PLACED.value)
    )
    by_organisation: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_sector: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    required: dict[str, set[str]] = defaultdict(set)
    for post in posts:
        filled = min(filled_per_post[post.id], post.places)
        for groups, name in ((by_organisation, post.organisation.name), (by_sector, post.organisation.kind)):
            groups[name][0] += post.places
            groups[name][1] += filled
        for skill in post.skills:
            if skill.required:
                required[" ".join(skill.name.split())].add(str(post.id))

    # Supply: skills of members open to matching who show their skills.
    shows_skills = Consent.visible_fields.contains(",skills,", autoescape=True)
    skill_rows = await session.execute(
        select(ProfileSkill.name, ProfileSkill.profile_id)
        .join(Profile, Profile.id == ProfileSkill.profile_id)
        .join(Consent, Consent.profile_id == Profile.id)
        .where(Consent.open_to_matching.is_(True), shows_skills)
    )
    supply: Counter[str] = Counter()
    people: set[uuid.UUID] = set()
    for name, profile_id in skill_rows.all():
        supply[" ".join(name.split())] += 1
        people.add(profile_id)
    threshold = engine.ranker.weights.threshold
    unmet, unasked = await anyio.to_thread.run_sync(
        lambda: _gap_map(engine.encoder, dict(required), supply, threshold)
    )
    by_id = {post.id: post for post in posts}
    placed = [r for r in rows if r.state == MatchState.PLACED.value]
    recorded = [r for r in placed if r.outcome_recorded_at is not None]
    capacity = CapacityOut(
        placements=len(placed),
        outcomes_recorded=len(recorded),
        local_staff_trained=sum(r.local_staff_trained or 0 for r in recorded),
        transfers=[
            TransferOut(
                post_title=by_id[r.post_id].title if r.post_id in by_id else "",
                organisation=by_id[r.post_id].organisation.name if r.post_id in by_id else "",
                local_staff_trained=r.local_staff_trained or 0,
                transferred=r.transferred or "",
            )
            for r in sorted(recorded, key=lambda r: r.outcome_recorded_at or r.updated_at)
        ],
    )
    return DashboardOut(
        campaign_id=campaign.id,
        funnel=funnel,
        fill_by_organisation=_fill(by_organisation),
        fill_by_sector=_fill(by_sector),
        unmet_skills=unmet,
        unasked_supply=unasked,
        consenting_profiles=len(people),
        capacity=capacity,
    )


def dashboard_csv(data: DashboardOut) -> str:
    """The dashboard's tables, one after the other, for a spreadsheet."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["section", "name", "value", "detail"])
    for name, value in msgspec.to_builtins(data.funnel).items():
        writer.writerow(["funnel", name, value, ""])
    for section, rows in (
        ("fill_by_organisation", data.fill_by_organisation),
        ("fill_by_sector", data.fill_by_sector),
    ):
        for row in rows:
            writer.writerow([section, row.name, row.fill_rate, f"{row.filled}/{row.places}"])
    for group in data.unmet_skills:
        writer.writerow(["unmet_skills", group.label, group.posts, "; ".join(group.skills)])
    for supply in data.unasked_supply:
        writer.writerow(["unasked_supply", supply.skill, supply.profiles, ""])
    capacity = data.capacity
    for name in ("placements", "outcomes_recorded", "local_staff_trained"):
        writer.writerow(["capacity", name, getattr(capacity, name), ""])
    for transfer in capacity.transfers:
        writer.writerow(
            [
                "transfer",
                f"{transfer.organisation}: {transfer.post_title}",
                transfer.local_staff_trained,
                transfer.transferred,
            ]
        )
    return out.getvalue()
