"""Return stories: after a placement, the member or the host tells what it was like. The story is
published only when both the member and the host have agreed to it and an admin has reviewed it; either
of them can withdraw it at any time, and it is gone from the site and the feed at once.

A story is shown in the language it was written in (detected, and named beside it); it is found by words
of its title and text in any script (Cyrillic folded to Latin) and without diacritics.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.matching import languages
from diaspora.matching.scripts import fold
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    Account,
    CampaignMatch,
    MatchState,
    Post,
    Profile,
    Story,
    StoryStatus,
    utcnow,
)
from diaspora.platform.stories import photos
from diaspora.platform.stories.schemas import StoryIn, StoryModerationIn, StoryOut

_LOAD = (
    selectinload(Story.match).selectinload(CampaignMatch.post).selectinload(Post.organisation),
    selectinload(Story.match).selectinload(CampaignMatch.profile).selectinload(Profile.account),
)


def story_out(story: Story, *, with_note: bool = False) -> StoryOut:
    match = story.match
    return StoryOut(
        id=story.id,
        title=story.title,
        body=story.body,
        language=story.language,
        person=match.profile.account.display_name,
        organisation=match.post.organisation.name,
        post_title=match.post.title,
        country=match.post.country,
        municipality=match.post.municipality,
        status=story.status,
        member_consented=story.member_consent_at is not None,
        host_consented=story.host_consent_at is not None,
        published_at=story.published_at,
        created_at=story.created_at,
        photo_alt=story.photo_alt,
        moderation_note=story.moderation_note if with_note else None,
    )


def _is_member(user: Actor | None, match: CampaignMatch) -> bool:
    return user is not None and match.profile.account_id == user.id


def _is_host(user: Actor | None, match: CampaignMatch) -> bool:
    return policy.acts_for(user, match.post.organisation_id)


def is_party(user: Actor | None, story: Story) -> bool:
    return _is_member(user, story.match) or _is_host(user, story.match)


async def _placement(session: AsyncSession, match_id: uuid.UUID) -> CampaignMatch:
    match = await session.scalar(
        select(CampaignMatch)
        .where(CampaignMatch.id == match_id, CampaignMatch.state == MatchState.PLACED.value)
        .options(
            selectinload(CampaignMatch.post).selectinload(Post.organisation),
            selectinload(CampaignMatch.profile).selectinload(Profile.account),
        )
    )
    if match is None:
        raise NotFoundError("No such placement.")
    return match


async def placement_to_tell(session: AsyncSession, user: Actor, match_id: uuid.UUID) -> CampaignMatch:
    """The placement, if the user is one of its two parties (404 if there is none, 403 if not theirs)."""
    match = await _placement(session, match_id)
    if not (_is_member(user, match) or _is_host(user, match)):
        raise PermissionDeniedError(
            "Only the person placed and the host organisation tell a placement's story."
        )
    return match


async def write_story(session: AsyncSession, user: Actor, data: StoryIn) -> Story:
    """The member placed or the host writes the placement's story; the writer's consent goes with it."""
    match = await placement_to_tell(session, user, data.match_id)
    member, host = _is_member(user, match), _is_host(user, match)
    if await session.scalar(select(Story.id).where(Story.match_id == match.id)):
        raise ConflictError("This placement has a story already: change or withdraw that one.")
    now = utcnow()
    body = data.body.strip()
    story = Story(
        match_id=match.id,
        author_id=user.id,
        title=data.title.strip(),
        body=body,
        language=languages.identify(f"{data.title}\n{body}"),
        search_text=fold(f"{data.title}\n{body}"),
        member_consent_at=now if member else None,
        host_consent_at=now if host else None,
        status=StoryStatus.AWAITING_CONSENT.value,
    )
    story.match = match
    session.add(story)
    await session.flush()
    audit.record(session, actor_id=user.id, action="story.written", entity_type="story", entity_id=story.id)
    return story


async def _load(session: AsyncSession, story_id: uuid.UUID, *, lock: bool = False) -> Story:
    query = select(Story).where(Story.id == story_id).options(*_LOAD)
    story = await session.scalar(query.with_for_update(of=Story) if lock else query)
    if story is None:
        raise NotFoundError("Story not found.")
    return story


async def get_story(session: AsyncSession, user: Actor | None, story_id: uuid.UUID) -> Story:
    """A published story is public; before that only its two parties and admins see it."""
    story = await _load(session, story_id)
    if story.status != StoryStatus.PUBLISHED.value and not (policy.is_admin(user) or is_party(user, story)):
        raise NotFoundError("Story not found.")
    return story


async def set_photo(session: AsyncSession, user: Actor, story_id: uuid.UUID, raw: bytes, alt: str) -> Story:
    """A party adds or replaces the photo while the story waits for agreement; the other party's agreement
    is asked again, since it was given to the story without this photo."""
    story = await _load(session, story_id, lock=True)
    member, host = _is_member(user, story.match), _is_host(user, story.match)
    if not (member or host):
        raise NotFoundError("Story not found.")
    if story.status != StoryStatus.AWAITING_CONSENT.value:
        raise ConflictError("The photo can change only while the story waits for agreement.", field="photo")
    alt = " ".join(alt.split())
    if not alt or len(alt) > 200:
        raise ValidationError(
            "Say in a few words what the photo shows (at most 200 characters).", field="photo_alt"
        )
    story.photo = photos.clean_photo(raw)
    story.photo_alt = alt
    now = utcnow()
    story.member_consent_at = now if member else None
    story.host_consent_at = now if host else None
    await session.flush()
    audit.record(session, actor_id=user.id, action="story.photo_set", entity_type="story", entity_id=story.id)
    return story


async def photo_of(session: AsyncSession, user: Actor | None, story_id: uuid.UUID) -> bytes:
    story = await get_story(session, user, story_id)
    photo = await session.scalar(select(Story.photo).where(Story.id == story.id))
    if not photo:
        raise NotFoundError("This story has no photo.")
    return bytes(photo)


async def consent(session: AsyncSession, user: Actor, story_id: uuid.UUID) -> Story:
    """The other party agrees; with both agreed, the story goes to an admin for review."""
    story = await _load(session, story_id, lock=True)
    member, host = _is_member(user, story.match), _is_host(user, story.match)
    if not (member or host):
        raise NotFoundError("Story not found.")
    if story.status != StoryStatus.AWAITING_CONSENT.value:
        raise ConflictError(f"This story is {story.status.replace('_', ' ')}: there is nothing to agree to.")
    now = utcnow()
    if member:
        story.member_consent_at = story.member_consent_at or now
    if host:
        story.host_consent_at = story.host_consent_at or now
    if story.member_consent_at and story.host_consent_at:
        story.status = StoryStatus.PENDING_REVIEW.value
    await session.flush()
    audit.record(session, actor_id=user.id, action="story.consented", entity_type="story", entity_id=story.id)
    return story


async def withdraw(session: AsyncSession, user: Actor, story_id: uuid.UUID) -> Story:
    """Either party takes the story back, published or not; it leaves the site and the feed at once."""
    story = await _load(session, story_id, lock=True)
    if not is_party(user, story):
        raise NotFoundError("Story not found.")
    story.status = StoryStatus.WITHDRAWN.value
    story.published_at = None
    story.member_consent_at = story.host_consent_at = None
    await session.flush()
    audit.record(session, actor_id=user.id, action="story.withdrawn", entity_type="story", entity_id=story.id)
    return story


async def moderate(
    session: AsyncSession, admin: Actor, story_id: uuid.UUID, data: StoryModerationIn
) -> Story:
    story = await _load(session, story_id, lock=True)
    if story.status != StoryStatus.PENDING_REVIEW.value:
        raise ConflictError(f"Only a story both parties agreed to is reviewed; this one is {story.status}.")
    if data.decision == "publish":
        story.status, story.published_at = StoryStatus.PUBLISHED.value, utcnow()
    else:
        story.status = StoryStatus.REJECTED.value
    story.moderation_note = (data.note or "").strip() or None
    await session.flush()
    audit.record(
        session, actor_id=admin.id, action=f"story.{data.decision}ed", entity_type="story", entity_id=story.id
    )
    return story


def _search(query: Select[Story], q: str | None, language: str | None) -> Select[Story]:
    if language:
        query = query.where(Story.language == language)
    for word in fold(q or "").split()[:8]:
        query = query.where(Story.search_text.contains(word, autoescape=True))
    return query


async def list_stories(
    session: AsyncSession,
    user: Actor | None,
    *,
    status: str | None = None,
    q: str | None = None,
    language: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Story], int]:
    """Published stories, newest first (admins may ask for another status: the review queue)."""
    wanted = status if status and policy.is_admin(user) else StoryStatus.PUBLISHED.value
    if status and status != StoryStatus.PUBLISHED.value and not policy.is_admin(user):
        raise PermissionDeniedError("Only admins see stories that are not published.")
    base = _search(select(Story).where(Story.status == wanted), q, language)
    total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = await session.scalars(
        base.options(*_LOAD)
        .order_by(Story.published_at.desc(), Story.created_at.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), total


async def stories_of(session: AsyncSession, user: Actor) -> list[Story]:
    """Stories the user is a party to (as the member placed, or as the host's staff), newest first."""
    query = select(Story).join(CampaignMatch, CampaignMatch.id == Story.match_id).options(*_LOAD)
    if policy.is_member(user):
        query = query.join(Profile, Profile.id == CampaignMatch.profile_id).where(
            Profile.account_id == user.id
        )
    elif policy.acts_for_verified_organisation(user):
        query = query.join(Post, Post.id == CampaignMatch.post_id).where(
            Post.organisation_id == user.organisation_id
        )
    else:
        return []
    return list((await session.scalars(query.order_by(Story.created_at.desc()))).all())


async def stories_about(session: AsyncSession, account_id: uuid.UUID) -> list[StoryOut]:
    """Every story of the account's placements, whoever wrote it (for the member's data export)."""
    rows = await session.scalars(
        select(Story)
        .join(CampaignMatch, CampaignMatch.id == Story.match_id)
        .join(Profile, Profile.id == CampaignMatch.profile_id)
        .where(Profile.account_id == account_id)
        .options(*_LOAD)
    )
    return [story_out(s, with_note=True) for s in rows.all()]


async def placements_of_member(session: AsyncSession, user: Actor) -> list[CampaignMatch]:
    """The member's own placements (to write their story from)."""
    rows = await session.scalars(
        select(CampaignMatch)
        .join(Profile, Profile.id == CampaignMatch.profile_id)
        .join(Account, Account.id == Profile.account_id)
        .where(Account.id == user.id, CampaignMatch.state == MatchState.PLACED.value)
        .options(selectinload(CampaignMatch.post).selectinload(Post.organisation))
    )
    return list(rows.all())
