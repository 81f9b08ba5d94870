"""Test fixtures: every API test runs against SQLite and a real PostgreSQL, both migrated with Alembic."""

from __future__ import annotations

import asyncio
import gc
import mailbox
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from diaspora.platform.app import create_app
from diaspora.platform.db import migrate
from diaspora.platform.db.models import Base, OutboxEvent
from diaspora.platform.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "DIASPORA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("DIASPORA_REQUIRE_POSTGRES") == "1"


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def _postgres_available() -> str | None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database of each kind; PostgreSQL's is created and dropped by the test session."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        migrate.upgrade(url)
        yield url
        return
    problem = _postgres_available()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (DIASPORA_REQUIRE_POSTGRES=1) but unreachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {problem}")
    name = f"diaspora_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_all_tables(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            tables = [t.name for t in reversed(Base.metadata.sorted_tables)] + ["rate_limit_store"]
            # DELETE, children first: for a test's few rows it is several times quicker than TRUNCATE.
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))
    finally:
        await engine.dispose()


def make_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        migrate_on_start=False,
        debug=True,
        search_sync_in_process=False,  # tests drain the outbox themselves, deterministically
        # Tests sign in hundreds of times a minute from one address; tests/test_rate_limits.py sets
        # real limits of its own.
        auth_attempts_per_minute=1_000_000,
        login_failures_per_account=1_000_000,
        # Cheap hashing keeps the suite quick; production mode refuses these costs.
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        # Answer registration and reset at once; tests/test_security.py checks the floor itself.
        anonymous_answer_floor_ms=0,
        warm_up_on_start=False,  # tests/test_startup.py checks it; a full collection per test app is slow
        # Search by words alone unless a test is about meaning (those turn it on, and are marked slow):
        # otherwise every test that indexes a record would load the encoder and encode it.
        search_hybrid=False,
        # Links by meaning encode 33,416 occupation labels once per model (minutes): tests about them
        # turn them on with an encoder of their own.
        match_link_by_meaning=False,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    """The test's settings; whatever the test wrote to the database is gone after it, whether it went
    through the `client` fixture's app or through apps, workers and engines of its own."""
    yield make_settings(database_url, tmp_path)
    asyncio.run(_empty_all_tables(database_url))


@pytest.fixture
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[TestClient[Any]]:
    """A new app for the test, or, for a test marked `shared_app`, the module's one app (`shared_client`):
    building an app costs more than most tests, and a probe that is refused changes nothing in it."""
    if request.node.get_closest_marker("shared_app"):
        yield request.getfixturevalue("shared_client")
        return
    with TestClient(app_for(settings), base_url="http://testserver.local") as test_client:
        yield test_client  # the `settings` fixture empties the tables after the test


_apps: dict[str, Litestar] = {}


def app_for(settings: Settings) -> Litestar:
    """An app for these settings, started afresh by each test: the process keeps one app per set of
    settings that differ in more than their data directory. Building an app (about 290 handlers) costs
    more than most tests, while starting one builds its platform anew (matcher, search, mail) from the
    settings in its state, here the test's own with its own data directory; the tables are emptied after
    each test. So a test sees what a fresh app would show it."""
    # The database is part of the key even where it lies in the data directory (SQLite by default).
    key = settings.model_dump_json(exclude={"data_dir"}) + settings.effective_database_url
    app = _apps.get(key)
    if app is None:
        app = _apps[key] = create_app(settings)
    app.state["settings"] = settings
    return app


@pytest.fixture(scope="module")
def module_client(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Any]]:
    """One app for a whole module, for modules whose tests depend on nothing an app keeps between requests
    (input validation: every probe is refused before it changes anything). Tables are still emptied after
    each test. A module opts in with a `client` fixture that returns `shared_client`."""
    app = create_app(make_settings(database_url, tmp_path_factory.mktemp("data")))
    with TestClient(app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def shared_client(module_client: TestClient[Any]) -> Iterator[TestClient[Any]]:
    yield module_client
    asyncio.run(_empty_all_tables(module_client.app.state["settings"].effective_database_url))


@pytest.fixture
def api(client: TestClient[Any]) -> Api:
    return Api(client)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a test, collect what earlier tests left and freeze what is still alive, as a web process
    does once after start-up (`app.freeze_heap`): the models, modules and tables a test process loads
    would otherwise be walked by every full collection, a third of the suite's time. (Before a test, not
    after: by then pytest has let go of the last test's app, which freezing would keep for good.)"""
    gc.collect()
    gc.freeze()


SEARCH_EVENTS = "topic <> 'mail'"  # outbox rows for the search index, not registration's mail


def mail_to(url: str, email: str) -> list[dict[str, Any]]:
    """The mail the outbox still holds for `email`, oldest first (a sent message leaves it)."""

    async def run() -> list[dict[str, Any]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(OutboxEvent.payload).where(OutboxEvent.topic == "mail").order_by(OutboxEvent.id)
                )
                return [dict(p) for (p,) in rows if p.get("to") == email]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def count_rows(url: str, table: str, where: str = "TRUE") -> int:
    async def run() -> int:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                query = text(f'SELECT count(*) FROM "{table}" WHERE {where}')
                return int((await conn.execute(query)).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(run())


class Api:
    """Small helpers over the JSON API so that tests read as user journeys."""

    def __init__(self, client: TestClient[Any]) -> None:
        self.client = client
        self._n = 0

    def register(self, role: str = "member", *, email: str | None = None, **extra: Any) -> dict[str, str]:
        """Register, confirm the email with the link from the mail, and log in; returns the Authorization
        header."""
        self._n += 1
        email = email or f"{role}{self._n}-{uuid.uuid4().hex[:6]}@example.org"
        body = {
            "email": email,
            "password": "correct horse battery",
            "display_name": f"{role} {self._n}",
            "role": role,
            **extra,
        }
        response = self.client.post("/api/auth/register", json=body)
        assert response.status_code == 202, response.text
        token = self.link_token(email, "/verify-email")
        response = self.client.post(
            "/api/auth/verify-email", json={"token": token, "password": "correct horse battery"}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def load_demo(self, profiles: int = 80) -> None:
        """The demo data set (organisations, posts, opportunities and `profiles` members)."""
        from sqlalchemy.ext.asyncio import async_sessionmaker

        from diaspora.platform.demo.load import load_demo_data

        url = self.client.app.state["settings"].effective_database_url

        async def load() -> None:
            engine = create_async_engine(url)
            try:
                async with async_sessionmaker(engine)() as session, session.begin():
                    await load_demo_data(session, profiles=profiles)
            finally:
                await engine.dispose()

        self.client.blocking_portal.call(load)

    def mail_to(self, email: str) -> list[dict[str, Any]]:
        """The mail for `email`, delivered (in the mailbox file) or still queued, oldest first; each with
        `to`, `subject` and `body`. The queue is read first: a message leaves it only once it is in the
        mailbox, so one being delivered meanwhile is found in one place or both (counted once)."""
        settings = self.client.app.state["settings"]
        queued = mail_to(settings.effective_database_url, email)
        delivered = []
        if settings.effective_mailbox_path.exists():
            for message in mailbox.mbox(settings.effective_mailbox_path):
                if message["To"] == email:
                    body = message.get_payload(decode=True).decode()
                    unique = str(message["Message-ID"]).strip("<>").split("@", 1)[0]
                    delivered.append(
                        {"to": email, "subject": message["Subject"], "body": body, "message_uuid": unique}
                    )
        seen = {m["message_uuid"] for m in delivered}
        return delivered + [m for m in queued if m.get("message_uuid") not in seen]

    def link_token(self, email: str, page: str) -> str:
        """The token of the newest link to `page` mailed to `email`."""
        for message in reversed(self.mail_to(email)):
            found = re.search(re.escape(page) + r"\?token=([\w\-]+)", message["body"])
            if found:
                return found.group(1)
        raise AssertionError(f"no mail to {email} links to {page}")

    def login(self, email: str, password: str = "correct horse battery") -> dict[str, str]:
        response = self.client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def admin(self) -> dict[str, str]:
        """Admins cannot self-register; create one the way the CLI does, through the service."""
        import msgspec
        from sqlalchemy.ext.asyncio import async_sessionmaker

        from diaspora.platform.accounts import services
        from diaspora.platform.accounts.schemas import RegistrationIn
        from diaspora.platform.db.models import Role

        email = f"admin-{uuid.uuid4().hex[:6]}@example.org"
        data = msgspec.convert(
            {"email": email, "password": "correct horse battery", "display_name": "Admin"}, RegistrationIn
        )
        url = self.client.app.state["settings"].effective_database_url

        async def run() -> None:
            engine = create_async_engine(url)
            try:
                async with async_sessionmaker(engine)() as session, session.begin():
                    await services.create_account(session, data, role=Role.ADMIN, verified=True)
            finally:
                await engine.dispose()

        asyncio.run(run())
        return self.login(email)

    def organisation(
        self,
        *,
        verified: bool = True,
        kind: str = "hospital",
        country: str = "AL",
        admin: dict[str, str] | None = None,
    ) -> tuple[dict[str, str], str]:
        """A staff account with its organisation (verified by an admin unless told otherwise)."""
        body = {"name": f"Hospital {self._n + 1}", "kind": kind, "country": country, "municipality": "Tirana"}
        return self._account_with_organisation("organisation_staff", body, verified=verified, admin=admin)

    def ministry(
        self, *, verified: bool = True, country: str = "XK", admin: dict[str, str] | None = None
    ) -> tuple[dict[str, str], str]:
        """A ministry account with its ministry organisation (verified by an admin unless told otherwise)."""
        body = {"name": f"Ministry of the diaspora {self._n + 1}", "kind": "ministry", "country": country}
        return self._account_with_organisation("ministry", body, verified=verified, admin=admin)

    def _account_with_organisation(
        self, role: str, body: dict[str, str], *, verified: bool, admin: dict[str, str] | None
    ) -> tuple[dict[str, str], str]:
        headers = self.register(role)
        response = self.client.post("/api/organisations", headers=headers, json=body)
        assert response.status_code == 201, response.text
        organisation_id = str(response.json()["id"])
        if verified:
            response = self.client.post(
                f"/api/organisations/{organisation_id}/verify", headers=admin or self.admin()
            )
            assert response.status_code == 200, response.text
        return headers, organisation_id

    def profile(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        body = {
            "headline": "Interventional cardiologist",
            "skills": [{"name": "echocardiography"}],
            "languages": [{"code": "sq", "level": "native"}],
            "residence_country": "DE",
            "origin_country": "AL",
            **fields,
        }
        response = self.client.put("/api/profiles/me", headers=headers, json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def post(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        body = {
            "kind": "short_term_return",
            "title": "Cardiologist, two-week training mission",
            "country": "AL",
            "required_skills": [{"name": "echocardiography"}],
            "start_date": "2027-05-03",
            "end_date": "2027-05-17",
            "status": "open",
            **fields,
        }
        response = self.client.post("/api/posts", headers=headers, json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())
