"""Concurrent writers: no lost or half-merged writes, and no server errors, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.platform.accounts import services as accounts
from diaspora.platform.accounts.schemas import RegistrationIn
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import Account, OutboxEvent, ProfileLanguage, ProfileSkill, Role
from diaspora.platform.profiles import services as profiles
from diaspora.platform.profiles.schemas import ProfileIn
from diaspora.platform.settings import Settings
from diaspora.platform.wiring import open_database
from tests.conftest import _empty_all_tables

T = TypeVar("T")


Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def database(database_url: str) -> Iterator[str]:
    yield database_url
    asyncio.run(_empty_all_tables(database_url))


def _run(url: str, scenario: Callable[[Sessions], Awaitable[T]]) -> T:
    """Run one scenario on one event loop with its own engine (pools are bound to their loop)."""

    async def main() -> T:
        engine = open_database(url)
        try:
            return await scenario(async_sessionmaker(engine, expire_on_commit=False))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_concurrent_registrations_with_one_email_create_one_account(database: str) -> None:
    data = msgspec.convert(
        {"email": "twice@example.org", "password": "long enough password", "display_name": "Twice"},
        RegistrationIn,
    )

    settings = Settings(database_url=database)

    async def scenario(sessions: Sessions) -> tuple[int, list[str]]:
        # Every attempt answers alike (no error escapes); the losers of the race notify the owner.
        await asyncio.gather(*(register(sessions) for _ in range(4)))
        async with sessions() as session:
            created = int(await session.scalar(select(func.count()).select_from(Account)) or 0)
            mail = await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "mail"))
            return created, [event.payload["subject"] for event in mail]

    async def register(sessions: Sessions) -> None:
        async with sessions() as session, session.begin():
            await accounts.register(session, settings, data)

    accounts_created, subjects = _run(database, scenario)
    assert accounts_created == 1
    assert subjects.count("Confirm your email address") == 1
    assert set(subjects) <= {"Confirm your email address", "You already have an account"}


def test_concurrent_profile_replacements_leave_one_whole_version(database: str) -> None:
    async def make_member(sessions: Sessions) -> Actor:
        data = msgspec.convert(
            {
                "email": f"{uuid.uuid4().hex[:8]}@example.org",
                "password": "long enough password",
                "display_name": "Racer",
            },
            RegistrationIn,
        )
        async with sessions() as session, session.begin():
            account = await accounts.create_account(session, data, role=Role.MEMBER, verified=True)
        return Actor(
            id=account.id,
            email=account.email,
            role=Role.MEMBER,
            organisation_id=None,
            session_id=uuid.uuid4(),
        )

    user = _run(database, make_member)
    versions = [
        msgspec.convert(
            {
                "headline": f"Version {n}",
                "skills": [{"name": f"skill {n}.{i}"} for i in range(5)],
                "languages": [{"code": "sq", "level": "native"}, {"code": "de", "level": "C1"}],
            },
            ProfileIn,
        )
        for n in range(6)
    ]

    async def save(sessions: Sessions, version: ProfileIn) -> None:
        async with sessions() as session, session.begin():
            await profiles.save_profile(session, user.id, version, actor_id=user.id)

    async def race(sessions: Sessions) -> None:
        await save(sessions, versions[0])  # the profile exists; now six writers replace it at once
        await asyncio.gather(*(save(sessions, v) for v in versions))

    _run(database, race)

    async def read(sessions: Sessions) -> tuple[str, list[str], int]:
        async with sessions() as session:
            profile = await profiles.load_own_profile(session, user.id)
            assert profile is not None
            skills = [s.name for s in profile.skills]
            languages = int(await session.scalar(select(func.count()).select_from(ProfileLanguage)) or 0)
            assert int(await session.scalar(select(func.count()).select_from(ProfileSkill)) or 0) == 5
            return profile.headline, skills, languages

    headline, skills, languages = _run(database, read)
    n = headline.removeprefix("Version ")
    assert skills == [f"skill {n}.{i}" for i in range(5)]  # one writer's skills, whole, not a mix
    assert languages == 2


def test_concurrent_post_replacements_do_not_merge_skills(database: str) -> None:
    from diaspora.platform.db.models import Organisation, PostSkill
    from diaspora.platform.posts import services as posts
    from diaspora.platform.posts.schemas import PostIn

    def version(n: int) -> PostIn:
        return msgspec.convert(
            {
                "kind": "skill_need",
                "title": f"Version {n}",
                "country": "AL",
                "required_skills": [{"name": f"skill {n}.{i}"} for i in range(3)],
            },
            PostIn,
        )

    async def race(sessions: Sessions) -> tuple[str, list[str]]:
        async with sessions() as session, session.begin():
            organisation = Organisation(name="Hospital", kind="hospital", country="AL", verified=True)
            session.add(organisation)
            await session.flush()
            account = Account(
                email="staff@example.org",
                password_hash="-",
                display_name="Staff",
                role=Role.ORGANISATION_STAFF.value,
                organisation_id=organisation.id,
            )
            session.add(account)
            await session.flush()
        staff = Actor(
            id=account.id,
            email=account.email,
            role=Role.ORGANISATION_STAFF,
            organisation_id=organisation.id,
            session_id=uuid.uuid4(),
        )
        async with sessions() as session, session.begin():
            post_id = (await posts.create_post(session, staff, version(0))).id

        async def replace(n: int) -> None:
            async with sessions() as session, session.begin():
                await posts.update_post(session, staff, post_id, version(n))

        await asyncio.gather(*(replace(n) for n in range(1, 6)))
        async with sessions() as session:
            post = await posts.get_post(session, staff, post_id)
            skills = [s.name for s in post.skills]
            assert int(await session.scalar(select(func.count()).select_from(PostSkill)) or 0) == 3
            return post.title, skills

    title, skills = _run(database, race)
    n = title.removeprefix("Version ")
    assert skills == [f"skill {n}.{i}" for i in range(3)]
