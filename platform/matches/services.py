"""Ranked, explained, consent-filtered matches in both directions."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import and_, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching.occupations import OccupationLinker, packaged_linker
from diaspora.matching.scoring import Explanation, Match
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import DomainError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import Account, Consent, ContactGrant, Profile, Role
from diaspora.platform.matches.engine import MatchingEngine, row_version
from diaspora.platform.matches.schemas import (
    ExplanationOut,
    OccupationChoiceOut,
    OccupationMatchOut,
    OccupationOut,
    PostMatchList,
    PostMatchOut,
    ProfileMatchList,
    ProfileMatchOut,
    SkillMatchOut,
)
from diaspora.platform.posts.services import post_out, post_owner
from diaspora.platform.profiles.schemas import ContactOut
from diaspora.platform.profiles.services import (
    card_view,
    decode_visible_fields,
    ensure_may_see_profiles,
    load_own_profile,
    own_profile_id,
    profile_card,
)

_CONSENT_STEP = 20  # candidates whose consent now is read at once, at least
_ALL_PARTS = frozenset({"headline", "skills", "availability", "languages"})
# The profile part each score component is read from; one the member hides hides the component too.
_COMPONENT_PART = {"occupation": "headline", "lexical": "headline"}


def shown_components(components: Mapping[str, float], shown: Collection[str]) -> dict[str, float]:
    """The score components a viewer may see: the semantic one always, any other only with the profile
    part it is read from (the occupation link and the shared wording are read from the headline, each
    other from its namesake)."""
    return {k: v for k, v in components.items() if k == "semantic" or _COMPONENT_PART.get(k, k) in shown}


def explanation_out(
    explanation: Explanation, shown: frozenset[str] | set[str] = _ALL_PARTS
) -> ExplanationOut:
    """The explanation as the viewer may see it: `shown` lists the profile parts the member shows."""
    out = ExplanationOut(
        semantic_similarity=explanation.semantic_similarity,
        components=shown_components(explanation.components, shown),
    )
    if explanation.occupation is not None and _COMPONENT_PART["occupation"] in shown:
        o = explanation.occupation
        out.occupation = OccupationMatchOut(o.uri, o.label, o.isco, o.confidence, o.via, o.value, o.chosen)
    if explanation.shared_words and _COMPONENT_PART["lexical"] in shown:
        out.shared_words = list(explanation.shared_words)
    if "skills" in shown and explanation.skill_coverage is not None:
        out.skill_coverage = explanation.skill_coverage
        out.covered_skills = [
            SkillMatchOut(s.required, s.matched_by, s.similarity, s.via) for s in explanation.covered_skills
        ]
        out.missing_skills = list(explanation.missing_skills)
    if "availability" in shown:
        out.availability_overlap_days = explanation.availability_overlap_days
    if "languages" in shown and (explanation.languages_matched or explanation.languages_missing):
        out.languages_matched = list(explanation.languages_matched)
        out.languages_missing = list(explanation.languages_missing)
    return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """A ranked profile with its member's consent as of now (not as indexed)."""

    match: Match
    version: int  # the profile's last change (`row_version` of its `updated_at`)
    shown: frozenset[str]  # the profile parts the member shows
    open_to_contact: bool
    granted: bool = False  # the member granted their contact details to the viewer's organisation


async def _consent_now(
    session: AsyncSession, ids: list[uuid.UUID], organisation_id: uuid.UUID | None
) -> dict[str, tuple[int, str, bool, bool]]:
    """Of these profiles, those open to matching now: each with its version, the parts shown, whether it
    is open to contact, and whether it granted contact to the organisation (if one is given)."""
    granted = ContactGrant.id.is_not(None) if organisation_id is not None else false()
    query = (
        select(
            Consent.profile_id, Profile.updated_at, Consent.visible_fields, Consent.open_to_contact, granted
        )
        .join(Profile, Profile.id == Consent.profile_id)
        .where(Consent.profile_id.in_(ids), Consent.open_to_matching)
    )
    if organisation_id is not None:
        query = query.outerjoin(
            ContactGrant,
            and_(
                ContactGrant.profile_id == Consent.profile_id, ContactGrant.organisation_id == organisation_id
            ),
        )
    return {
        str(i): (row_version(at), shown, bool(contact), bool(grant))
        for i, at, shown, contact, grant in await session.execute(query)
    }


async def ranked_profiles(
    session: AsyncSession,
    engine: MatchingEngine,
    post_id: uuid.UUID,
    *,
    limit: int,
    refresh: bool = True,
    viewer_organisation: uuid.UUID | None = None,
) -> list[Candidate]:
    """The best profiles for a post, best first, among those open to matching now; no permission checks
    (callers do them) and explanations unfiltered (callers filter them by what each member shows). With
    `viewer_organisation`, each says whether its member granted their contact details to it.

    The post is ranked as the matcher indexed it (its document and its vector agree). A caller holding a
    write lock (SQLite: the database's) refreshes the engine before taking it and passes `refresh=False`,
    since a refresh writes the embedding store through its own connection."""
    if refresh:
        await engine.refresh_if_stale()
    assert engine.profiles is not None
    assert engine.posts is not None
    key = str(post_id)
    vector = engine.posts.vector_of(key)
    if vector is None and refresh:  # written by another process since the last refresh
        await engine.refresh()
        vector = engine.posts.vector_of(key)
    if vector is None:  # created after the refresh began; the next request will have it
        return []
    found = (await engine.post_views(session, [key], post_out)).get(key)
    if found is None:  # deleted since
        return []
    document = found[0]
    mask = engine.profiles.filter_mask(document)
    codes = await anyio.to_thread.run_sync(engine.ranker.query_codes, document.title)
    candidates = engine.ranker.candidates(engine.profiles, vector, mask, limit, codes)
    documents = await engine.profile_documents(session, [i for i, _ in candidates])
    matches = await anyio.to_thread.run_sync(
        lambda: engine.ranker.score_profiles(document, candidates, documents, len(candidates))
    )
    # Consent as of now, read for as many as are shown: the index's filters saw it as indexed, and a
    # member who withdrew since makes way for the next best.
    ranked: list[Candidate] = []
    step = max(limit, _CONSENT_STEP)
    for start in range(0, len(matches), step):
        chunk = matches[start : start + step]
        now = await _consent_now(session, [uuid.UUID(m.id) for m in chunk], viewer_organisation)
        for match in chunk:
            if match.id in now:
                version, visible, open_to_contact, granted = now[match.id]
                shown = frozenset(decode_visible_fields(visible))
                ranked.append(Candidate(match, version, shown, open_to_contact, granted))
        if len(ranked) >= limit:
            break
    return ranked[:limit]


async def matches_for_post(
    session: AsyncSession, engine: MatchingEngine, user: Actor, post_id: uuid.UUID, *, limit: int
) -> ProfileMatchList:
    """The best profiles for a post, for the post's own organisation staff, ministries and admins.

    What is shown of each profile is read as of now: its card (every part) from the engine's memory at
    the profile's current version, the parts shown and contact details from the database on each request
    (contact details only of the members who granted them to the viewer's organisation)."""
    ensure_may_see_profiles(user)
    organisation_id = await post_owner(session, user, post_id)
    if policy.is_verified_staff(user) and not policy.acts_for(user, organisation_id):
        raise PermissionDeniedError("Only the post's own organisation sees its candidates.")

    ranked = await ranked_profiles(
        session, engine, post_id, limit=limit, viewer_organisation=user.organisation_id
    )
    reachable = [uuid.UUID(c.match.id) for c in ranked if c.granted and c.open_to_contact]
    contacts = {
        str(profile_id): ContactOut(email=email, phone=phone)
        for profile_id, email, phone in (
            await session.execute(
                select(Profile.id, Account.email, Account.phone)
                .join(Account, Account.id == Profile.account_id)
                .where(Profile.id.in_(reachable))
            )
            if reachable
            else ()
        )
    }
    cards = await engine.profile_cards(session, {c.match.id: c.version for c in ranked}, profile_card)
    items = [
        ProfileMatchOut(
            profile=card_view(
                cards[c.match.id],
                c.shown,
                open_to_contact=c.open_to_contact,
                contact=contacts.get(c.match.id),
            ),
            score=round(c.match.score, 4),
            explanation=explanation_out(c.match.explanation, c.shown),
        )
        for c in ranked
        if c.match.id in cards
    ]
    return ProfileMatchList(post_id=str(post_id), model_id=engine.model_id, items=items)


async def recommendations_for_member(
    session: AsyncSession, engine: MatchingEngine, user: Actor, *, limit: int
) -> PostMatchList:
    """The live posts that fit a member best, with the reasons.

    The member's profile is read as the matcher indexed it (its document from the engine's memory at
    the indexed version), so that its filters and its vector agree: a change this process saved is
    indexed before ranking, one saved by another process within the refresh interval."""
    if user.role is not Role.MEMBER:
        raise PermissionDeniedError("Recommendations are for member accounts.")
    profile_id = str(await own_profile_id(session, user.id))
    await engine.refresh_if_stale()
    assert engine.profiles is not None
    assert engine.posts is not None
    vector = engine.profiles.vector_of(profile_id)
    if vector is None:  # written by another process since the last refresh
        await engine.refresh()
        vector = engine.profiles.vector_of(profile_id)
    document = (await engine.profile_documents(session, [profile_id])).get(profile_id)
    if vector is None or document is None:
        return PostMatchList(model_id=engine.model_id, items=[])
    mask = engine.posts.filter_mask(document)
    codes = await anyio.to_thread.run_sync(
        engine.ranker.query_codes, document.headline, document.occupation_uri
    )
    candidates = engine.ranker.candidates(engine.posts, vector, mask, limit, codes)
    posts = await engine.post_views(session, [i for i, _ in candidates], post_out)
    live = {i: d for i, (d, _) in posts.items() if d.live}
    matches = await anyio.to_thread.run_sync(
        lambda: engine.ranker.score_posts(document, candidates, live, limit)
    )
    return PostMatchList(
        model_id=engine.model_id,
        items=[
            PostMatchOut(
                post=posts[m.id][1],
                score=round(m.score, 4),
                explanation=explanation_out(m.explanation),
            )
            for m in matches
        ],
    )


def _linker(engine: MatchingEngine) -> OccupationLinker:
    """The engine's linker (by meaning too, where it links so), or the spelled one when links are off."""
    return engine.ranker.linker or packaged_linker()


async def occupation_choice(
    session: AsyncSession, engine: MatchingEngine, user: Actor
) -> OccupationChoiceOut:
    """The member's chosen occupation and what their headline is linked to without a choice."""
    profile = await load_own_profile(session, user.id)
    assert profile is not None
    linker = _linker(engine)
    links = await anyio.to_thread.run_sync(linker.link, profile.headline) if profile.headline else ()
    chosen = linker.occupation(profile.occupation_uri) if profile.occupation_uri else None
    return OccupationChoiceOut(
        chosen=None if chosen is None else OccupationOut(chosen.uri, chosen.label, chosen.isco),
        suggested=[
            OccupationOut(link.uri, link.label, link.isco, link.confidence, link.matched_label)
            for link in links
        ],
    )


async def choose_occupation(
    session: AsyncSession, engine: MatchingEngine, user: Actor, uri: str | None
) -> OccupationChoiceOut:
    """Set (or, with None, clear) the occupation the member's headline stands for; an occupation the
    taxonomy does not know is refused and nothing changes."""
    profile = await load_own_profile(session, user.id)
    assert profile is not None
    if uri is not None and _linker(engine).occupation(uri) is None:
        raise DomainError("Not an ESCO occupation: give the URI of one (see `suggested`).", field="uri")
    if profile.occupation_uri != uri:
        profile.occupation_uri = uri
        audit.record(
            session,
            actor_id=user.id,
            action="profile.occupation_chosen" if uri else "profile.occupation_cleared",
            entity_type="profile",
            entity_id=str(profile.id),
        )
        await session.flush()  # the matcher sees the write (`changes`) and ranks the profile anew
    return await occupation_choice(session, engine, user)
