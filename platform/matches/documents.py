"""From ORM rows to the matcher's plain documents."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching.documents import PostDocument, ProfileDocument, Skill, Window
from diaspora.platform.db.models import (
    AvailabilityWindow,
    Consent,
    Post,
    PostStatus,
    Profile,
    ProfileLanguage,
    ProfileSkill,
)


def profile_document(profile: Profile) -> ProfileDocument:
    return ProfileDocument(
        id=str(profile.id),
        headline=profile.headline,
        summary=profile.summary,
        skills=tuple(Skill(s.name, s.taxonomy_id) for s in profile.skills),
        languages=tuple(lang.code for lang in profile.languages),
        sectors=tuple(profile.sectors),
        availability=tuple(Window(w.start_date, w.end_date, tuple(w.modes)) for w in profile.availability),
        open_to_matching=bool(profile.consent and profile.consent.open_to_matching),
        occupation_uri=profile.occupation_uri,
    )


async def read_languages(
    session: AsyncSession, ids: Collection[uuid.UUID] | None = None
) -> defaultdict[uuid.UUID, list[str]]:
    """The language codes of these profiles (None: of all), each profile's in code order."""
    query = select(ProfileLanguage.profile_id, ProfileLanguage.code).order_by(
        ProfileLanguage.profile_id, ProfileLanguage.code
    )
    if ids is not None:
        query = query.where(ProfileLanguage.profile_id.in_(list(ids)))
    languages: defaultdict[uuid.UUID, list[str]] = defaultdict(list)
    for profile_id, code in await session.execute(query):
        languages[profile_id].append(code)
    return languages


async def read_windows(
    session: AsyncSession, ids: Collection[uuid.UUID] | None = None
) -> defaultdict[uuid.UUID, list[Window]]:
    """The availability windows of these profiles (None: of all), each profile's by start date."""
    query = select(
        AvailabilityWindow.profile_id,
        AvailabilityWindow.start_date,
        AvailabilityWindow.end_date,
        AvailabilityWindow.modes,
    ).order_by(AvailabilityWindow.profile_id, AvailabilityWindow.start_date)
    if ids is not None:
        query = query.where(AvailabilityWindow.profile_id.in_(list(ids)))
    windows: defaultdict[uuid.UUID, list[Window]] = defaultdict(list)
    for profile_id, start, end, modes in await session.execute(query):
        windows[profile_id].append(Window(start, end, tuple(modes)))
    return windows


async def read_profile_documents(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> list[tuple[ProfileDocument, datetime]]:
    """`profile_document` of each of these profiles with its `updated_at`, from plain rows (four queries and
    no ORM objects: a post's first ranking reads up to a few hundred profiles). A profile gone is absent."""
    wanted = list(ids)
    skills: defaultdict[uuid.UUID, list[Skill]] = defaultdict(list)
    for profile_id, name, taxonomy_id in await session.execute(
        select(ProfileSkill.profile_id, ProfileSkill.name, ProfileSkill.taxonomy_id)
        .where(ProfileSkill.profile_id.in_(wanted))
        .order_by(ProfileSkill.profile_id, ProfileSkill.position)
    ):
        skills[profile_id].append(Skill(name, taxonomy_id))
    languages = await read_languages(session, wanted)
    windows = await read_windows(session, wanted)
    rows = await session.execute(
        select(
            Profile.id,
            Profile.headline,
            Profile.summary,
            Profile.sectors,
            Profile.occupation_uri,
            Profile.updated_at,
            Consent.open_to_matching,
        )
        .outerjoin(Consent, Consent.profile_id == Profile.id)
        .where(Profile.id.in_(wanted))
    )
    return [
        (
            ProfileDocument(
                id=str(profile_id),
                headline=headline,
                summary=summary,
                skills=tuple(skills.get(profile_id, ())),
                languages=tuple(languages.get(profile_id, ())),
                sectors=tuple(sectors),
                availability=tuple(windows.get(profile_id, ())),
                open_to_matching=bool(open_to_matching),
                occupation_uri=occupation_uri,
            ),
            updated_at,
        )
        for profile_id, headline, summary, sectors, occupation_uri, updated_at, open_to_matching in rows
    ]


def post_document(post: Post) -> PostDocument:
    return PostDocument(
        id=str(post.id),
        title=post.title,
        description=post.description,
        required_skills=tuple(Skill(s.name, s.taxonomy_id) for s in post.skills if s.required),
        nice_to_have_skills=tuple(Skill(s.name, s.taxonomy_id) for s in post.skills if not s.required),
        languages=tuple(post.languages),
        start=post.start_date,
        end=post.end_date,
        work_mode=post.mode,
        compensation=post.compensation,
        live=post.status == PostStatus.OPEN.value and bool(post.organisation.verified),
    )
