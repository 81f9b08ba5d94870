"""Background jobs run without a worker in embedded mode and in the worker otherwise: invitations past their
date expire, expired sessions are purged and the languages an import left are identified either way."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from diaspora.platform.app import create_app
from diaspora.platform.db.models import AuthSession, CampaignMatch, MatchState, Profile, utcnow
from diaspora.platform.jobs import BackgroundJobs
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.notifications.mail import MailSender
from diaspora.platform.search.sync import SearchSync
from diaspora.platform.settings import Settings
from diaspora.platform.wiring import open_database
from tests.conftest import Api

pytestmark = pytest.mark.slow  # the housekeeping pass keeps embeddings current: it loads the model


def _past_due_world(client: TestClient[Any]) -> str:
    """An invitation whose answer date has passed, a session that has expired and a profile whose language
    is still to be identified (as an import leaves it); returns the invitation's match."""
    api = Api(client)
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    post = api.post(staff)
    ministry, _ = api.ministry(admin=admin)
    member = api.register("member")
    profile = api.profile(member, consent={"visible_fields": ["headline"], "open_to_contact": True})
    campaign = client.post("/api/campaigns", headers=ministry, json={"name": "Old", "post_ids": [post["id"]]})
    match_id = uuid.uuid4()
    url = client.app.state["settings"].effective_database_url

    async def backdate() -> None:
        engine = create_async_engine(url)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                session.add(
                    CampaignMatch(
                        id=match_id,
                        campaign_id=uuid.UUID(campaign.json()["id"]),
                        post_id=uuid.UUID(post["id"]),
                        profile_id=uuid.UUID(profile["id"]),
                        state=MatchState.INVITED.value,
                        invited_at=utcnow() - timedelta(days=20),
                        expires_at=utcnow() - timedelta(days=6),
                        components={},
                        explanation={},
                    )
                )
                await session.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(minutes=1)))
                await session.execute(update(Profile).values(text_language=None, text_language_pending=True))
        finally:
            await engine.dispose()

    asyncio.run(backdate())
    return str(match_id)


async def _state(url: str, match_id: str) -> tuple[str, int, int]:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session:
            state = await session.scalar(
                select(CampaignMatch.state).where(CampaignMatch.id == uuid.UUID(match_id))
            )
            sessions = await session.scalar(select(func.count()).select_from(AuthSession))
            pending = await session.scalar(
                select(func.count()).select_from(Profile).where(Profile.text_language_pending)
            )
            return str(state), int(sessions or 0), int(pending or 0)
    finally:
        await engine.dispose()


def test_embedded_mode_runs_the_jobs_without_a_worker(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="http://testserver.local") as setup:
        match_id = _past_due_world(setup)
    embedded = settings.model_copy(
        update={"search_sync_in_process": True, "housekeeping_interval_seconds": 0.2}
    )
    url = settings.effective_database_url
    with TestClient(create_app(embedded), base_url="http://testserver.local"):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and asyncio.run(_state(url, match_id)) != ("expired", 0, 0):
            time.sleep(0.2)
    assert asyncio.run(_state(url, match_id)) == ("expired", 0, 0)


def test_the_worker_runs_the_same_jobs(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="http://testserver.local") as setup:
        match_id = _past_due_world(setup)
    worker_settings = settings.model_copy(update={"housekeeping_interval_seconds": 0.2})

    async def run_worker_briefly() -> None:
        engine = open_database(worker_settings.effective_database_url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        search = SearchSync(worker_settings, engine)
        jobs = BackgroundJobs(
            worker_settings,
            sessions,
            MatchingEngine(worker_settings, sessions),
            search,
            MailSender(worker_settings, sessions),
        )
        stop = asyncio.Event()
        running = asyncio.create_task(jobs.run(stop))
        try:
            for _ in range(300):
                if await _state(worker_settings.effective_database_url, match_id) == ("expired", 0, 0):
                    break
                await asyncio.sleep(0.2)
        finally:
            stop.set()
            await running
            await search.close()
            await engine.dispose()

    asyncio.run(run_worker_briefly())
    assert asyncio.run(_state(settings.effective_database_url, match_id)) == ("expired", 0, 0)
