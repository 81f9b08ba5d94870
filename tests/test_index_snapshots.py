"""The profile index is saved as a snapshot and opened again by a starting process, which catches up from the
moment it was taken: what it serves is what a process built from the database alone would serve."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from diaspora.matching.documents import PostDocument, ProfileDocument, Window
from diaspora.matching.encoder import Encoder
from diaspora.matching.index import PostIndex, ProfileIndex, SnapshotError
from diaspora.platform.db.models import Account, Post, Profile, utcnow
from diaspora.platform.imports.services import import_file
from diaspora.platform.matches.documents import profile_document, read_profile_documents
from diaspora.platform.matches.engine import PROFILE_LOAD, MatchingEngine, changed_rows
from diaspora.platform.settings import Settings
from diaspora.platform.wiring import open_database
from tests.conftest import Api, _empty_all_tables

DIMENSION = 16


class HashedEncoder(Encoder):
    """Deterministic vectors from a text's hash: the engine's bookkeeping without loading a model."""

    def __init__(self, model_name: str = "test:hashed") -> None:
        super().__init__(model_name)

    @property
    def dimension(self) -> int:
        return DIMENSION

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        rows = [
            np.frombuffer(hashlib.sha256(t.encode()).digest()[:DIMENSION], dtype=np.uint8).astype(np.float32)
            - 127.5
            for t in texts
        ]
        matrix = np.array(rows, dtype=np.float32).reshape(len(texts), DIMENSION)
        return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-6)


def _vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _profiles(count: int) -> list[ProfileDocument]:
    window = Window(date(2027, 1, 1), date(2027, 6, 30), ("remote",))
    return [
        ProfileDocument(
            f"p{i}",
            languages=(("sq", "de", "sr")[i % 3],),
            availability=(window,) if i % 2 else (),
            open_to_matching=i % 5 != 0,
        )
        for i in range(count)
    ]


POST = PostDocument(
    "post", languages=("de",), start=date(2027, 2, 1), end=date(2027, 2, 20), work_mode="remote"
)


def _same(a: ProfileIndex, b: ProfileIndex, query: np.ndarray) -> None:
    assert sorted(a.ids()) == sorted(b.ids())
    rows_a, scores_a = a.top_k(query, 10, a.filter_mask(POST))
    rows_b, scores_b = b.top_k(query, 10, b.filter_mask(POST))
    assert [a.id_at(int(r)) for r in rows_a] == [b.id_at(int(r)) for r in rows_b]
    assert np.allclose(scores_a, scores_b)


def test_a_saved_index_opens_as_it_was_and_keeps_changing(tmp_path: Path) -> None:
    index = ProfileIndex(DIMENSION)
    for i, profile in enumerate(_profiles(300)):
        index.upsert(profile, _vector(i))
    index.remove("p7")
    index.save(tmp_path / "snapshot", taken_at="then")
    opened = ProfileIndex.load(tmp_path / "snapshot")
    _same(index, opened, _vector(3))
    assert ProfileIndex.manifest(tmp_path / "snapshot")["taken_at"] == "then"

    # Changes after opening: a new language column, an update, a removal, and growth past the spare rows.
    changes = [(ProfileDocument("new", languages=("mk",)), _vector(1000))]
    changes += [(ProfileDocument(f"more{i}", languages=("de",)), _vector(2000 + i)) for i in range(1500)]
    changes.append((ProfileDocument("p3", languages=("de",), open_to_matching=True), _vector(3000)))
    for target in (index, opened):
        for profile, vector in changes:
            target.upsert(profile, vector)
        target.remove("p11")
    _same(index, opened, _vector(3000))
    assert opened.languages_mask(["mk"]).sum() == 1


def test_posts_snapshot_and_broken_or_foreign_snapshots_are_refused(tmp_path: Path) -> None:
    posts = PostIndex(DIMENSION)
    posts.upsert(POST, _vector(1))
    posts.save(tmp_path / "posts")
    assert PostIndex.load(tmp_path / "posts").ids() == ["post"]
    with pytest.raises(SnapshotError):
        ProfileIndex.load(tmp_path / "posts")  # another kind of index
    with pytest.raises(SnapshotError):
        ProfileIndex.load(tmp_path / "nothing here")
    (tmp_path / "posts" / "ids.npy").write_bytes(b"not numpy")
    with pytest.raises(SnapshotError):
        PostIndex.load(tmp_path / "posts")


def _with_sessions(api: Api, settings: Settings, body: Any) -> Any:
    """Run `body(sessions)` on the test client's event loop over an engine of its own."""

    async def run() -> Any:
        database = open_database(settings.effective_database_url)
        try:
            return await body(async_sessionmaker(database, expire_on_commit=False))
        finally:
            await database.dispose()

    return api.client.blocking_portal.call(run)


def _engine(settings: Settings, sessions: Any, **changes: Any) -> MatchingEngine:
    return MatchingEngine(settings.model_copy(update=changes), sessions, encoder=HashedEncoder())


def _count_refreshes(engine: MatchingEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A one-item list holding how many refreshes the engine has run since (the caller reads `[0]`)."""
    runs = [0]
    original = engine._refresh_all

    async def counted(progress: Any) -> Any:
        runs[0] += 1
        return await original(progress)

    monkeypatch.setattr(engine, "_refresh_all", counted)
    return runs


def test_a_starting_process_opens_the_snapshot_and_catches_up(api: Api, settings: Settings) -> None:
    members = [api.register("member") for _ in range(4)]
    for i, member in enumerate(members):
        api.profile(member, headline=f"Profile {i}", languages=[{"code": "de", "level": "C1"}])
    me = [uuid.UUID(api.client.get("/api/profiles/me", headers=m).json()["id"]) for m in members]

    def phase(body: Any) -> Any:
        return _with_sessions(api, settings, body)

    async def take_snapshot(sessions: Any) -> None:
        first = _engine(settings, sessions)
        assert (await first.refresh()).restored == 0
        assert await first.save_snapshot()
        assert not await first.save_snapshot()  # nothing changed since
        # After the snapshot: one profile changes (below, one is erased and one is new).
        async with sessions() as session, session.begin():
            await session.execute(
                update(Profile).where(Profile.id == me[0]).values(headline="Changed", updated_at=utcnow())
            )

    async def start_again(sessions: Any) -> None:
        starting = _engine(settings, sessions)
        report = await starting.refresh()
        assert report.restored == 4
        scratch = _engine(settings, sessions, match_snapshots=False)
        assert (await scratch.refresh()).restored == 0
        assert starting.profiles is not None
        assert scratch.profiles is not None
        assert len(starting.profiles) == len(scratch.profiles) == 4
        for profile_id in scratch.profiles.ids():
            assert np.array_equal(
                starting.profiles.vector_of(profile_id), scratch.profiles.vector_of(profile_id)
            )
        assert str(me[1]) not in starting.profiles
        # A snapshot of another model's vectors is never opened.
        other = MatchingEngine(settings, sessions, encoder=HashedEncoder("test:another"))
        assert (await other.refresh()).restored == 0

    phase(take_snapshot)
    assert api.client.delete("/api/me", headers=members[1]).status_code == 204
    api.profile(api.register("member"), headline="Newcomer")
    phase(start_again)


@pytest.mark.slow  # imports a registry of 1,200 people
def test_a_large_registry_gets_a_compact_code_built_beside_the_requests(
    settings: Settings, tmp_path: Path
) -> None:
    """From `match_compact_min_rows` profiles, the engine builds the compact code in a worker thread
    after a refresh (not holding the refresh lock), codes profiles added later at the next refresh, and
    its broad queries are then served from it."""
    rows = 1_200
    csv = tmp_path / "people.csv"
    lines = ["external_id,email,display_name,headline,residence_country,origin_country,languages"]
    lines += [f"r{i},person{i}@example.org,P {i},Engineer number {i},DE,AL,de:C1" for i in range(rows)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")

    async def body() -> None:
        database = open_database(settings.effective_database_url)
        sessions = async_sessionmaker(database, expire_on_commit=False)
        try:
            report = await import_file(sessions, "profiles", csv, source="test")
            assert report.created == rows, report.summary()
            engine = _engine(settings, sessions, match_compact_min_rows=1_000)
            await engine.refresh()
            assert engine.profiles is not None
            await engine.close()  # waits for the build under way
            assert engine.profiles.compact_rows == rows
            assert not engine.profiles.compact_build_due()
            extra = tmp_path / "more.csv"
            extra.write_text(lines[0] + "\nnew,new@example.org,N,Newcomer,DE,AL,de:C1\n", encoding="utf-8")
            await import_file(sessions, "profiles", extra, source="test")
            await engine.refresh()
            assert engine.profiles.compact_rows == rows + 1  # coded at once, no build
            query = HashedEncoder().encode(["anything"])[0]
            broad = engine.profiles.filter_mask(PostDocument("broad"))
            engine.profiles.similarities = _no_scan  # type: ignore[method-assign]
            found, _ = engine.profiles.top_k(query, 10, broad)
            assert len(found) == 10
        finally:
            await database.dispose()
            await _empty_all_tables(settings.effective_database_url)  # the database is the session's

    asyncio.run(body())


def _no_scan(_: np.ndarray) -> np.ndarray:
    raise AssertionError("scanned the whole matrix")


def test_a_refresh_reads_again_only_what_changed_since_it_was_indexed(api: Api, settings: Settings) -> None:
    """A refresh looks back a minute for rows committed late; what the index already holds at the same
    version is not read again (after an import of 100,000 people, each refresh within that minute would
    otherwise read them all through the ORM)."""
    members = [api.register("member") for _ in range(3)]
    for i, member in enumerate(members):
        api.profile(member, headline=f"Profile {i}")
    first = uuid.UUID(api.client.get("/api/profiles/me", headers=members[0]).json()["id"])

    async def body(sessions: Any) -> None:
        engine = _engine(settings, sessions, match_snapshots=False)
        await engine.refresh()
        assert engine.profiles is not None
        assert len(engine.profiles) == 3
        again = await engine.refresh()  # within the look-back: every profile is "recent"
        assert (again.reused, again.encoded) == (0, 0)
        async with sessions() as session, session.begin():
            await session.execute(
                update(Profile).where(Profile.id == first).values(headline="Changed", updated_at=utcnow())
            )
        changed = await engine.refresh()
        assert (changed.reused, changed.encoded) == (0, 1)
        assert (await engine.refresh()).encoded == 0

    _with_sessions(api, settings, body)


def test_scoring_documents_are_remembered_until_their_profile_changes(api: Api, settings: Settings) -> None:
    member = api.register("member")
    api.profile(member, headline="Cardiologist")
    profile_id = api.client.get("/api/profiles/me", headers=member).json()["id"]

    async def body(sessions: Any) -> None:
        engine = _engine(settings, sessions, match_snapshots=False)
        await engine.refresh()
        async with sessions() as session:
            first = await engine.profile_documents(session, [profile_id])
            again = await engine.profile_documents(session, [profile_id])
        assert again[profile_id] is first[profile_id]  # not read again
        async with sessions() as session, session.begin():
            await session.execute(
                update(Profile)
                .where(Profile.id == uuid.UUID(profile_id))
                .values(headline="Cardiac surgeon", updated_at=utcnow())
            )
        async with sessions() as session:
            # Until the index has the new version, the document it was ranked by stands...
            assert (await engine.profile_documents(session, [profile_id]))[profile_id] is first[profile_id]
            await engine.refresh()
            changed = await engine.profile_documents(session, [profile_id])
        assert changed[profile_id].headline == "Cardiac surgeon"  # ...then the change is read

    _with_sessions(api, settings, body)


def test_refreshes_asked_for_while_one_runs_are_served_by_the_next_one(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load every request asks for a refresh first; those that arrive while one runs wait for one
    more, not one each."""
    api.profile(api.register("member"), headline="Cardiologist")

    async def body(sessions: Any) -> None:
        engine = _engine(settings, sessions, match_snapshots=False)
        await engine.refresh()
        runs = _count_refreshes(engine, monkeypatch)
        await asyncio.gather(*(engine.refresh() for _ in range(10)))
        assert runs[0] == 2  # the first caller's, then one for the nine that asked meanwhile
        await engine.refresh()
        assert runs[0] == 3  # a call made after they finished gets its own

    _with_sessions(api, settings, body)


def test_a_request_refreshes_the_matcher_for_this_process_writes_at_once_and_for_others_within_the_interval(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matching requests no longer bring the matcher up to date on every call (five queries behind one lock,
    what kept them from 50 a second at registry scale): a write this process commits to what the matcher
    ranks is seen by the next request, a write of another process once the last refresh is older than
    `match_refresh_seconds`, and anything else costs a request no refresh at all."""
    member = api.register("member")
    api.profile(member, headline="Cardiologist")
    profile_id = uuid.UUID(api.client.get("/api/profiles/me", headers=member).json()["id"])
    clock = [1000.0]
    monkeypatch.setattr("diaspora.platform.matches.engine.time.monotonic", lambda: clock[0])

    async def body(sessions: Any) -> None:
        engine = _engine(settings, sessions, match_snapshots=False, match_refresh_seconds=5)
        runs = _count_refreshes(engine, monkeypatch)

        def indexed_version() -> int | None:
            assert engine.profiles is not None
            return engine.profiles.version_of(str(profile_id))

        await engine.refresh_if_stale()
        assert runs[0] == 1
        for _ in range(5):
            await engine.refresh_if_stale()
        assert runs[0] == 1  # nothing changed: no refresh

        # Writes to what the matcher does not read (accounts, sign-ins, audit records) do not count...
        async with sessions() as session, session.begin():
            await session.execute(update(Account).where(Account.id == uuid.uuid4()).values(display_name="x"))
        await engine.refresh_if_stale()
        assert runs[0] == 1
        # ...a statement on a table it reads does, run through a session of this process.
        async with sessions() as session, session.begin():
            await session.execute(update(Profile).where(Profile.id == uuid.uuid4()).values(headline="x"))
        await engine.refresh_if_stale()
        assert runs[0] == 2
        before = indexed_version()

        # An ORM change of this process, through a flush.
        async with sessions() as session, session.begin():
            profile = await session.get(Profile, profile_id)
            assert profile is not None
            profile.headline, profile.updated_at = "Interventional cardiologist", utcnow()
        await engine.refresh_if_stale()
        assert runs[0] == 3
        assert indexed_version() != before

        # A write no session of this process made (another process's) waits for the interval.
        before = indexed_version()
        database = open_database(settings.effective_database_url)
        try:
            async with database.begin() as connection:
                await connection.execute(
                    update(Profile)
                    .where(Profile.id == profile_id)
                    .values(headline="Surgeon", updated_at=utcnow())
                )
        finally:
            await database.dispose()
        clock[0] += 4
        await engine.refresh_if_stale()
        assert (runs[0], indexed_version()) == (3, before)
        clock[0] += 2
        await engine.refresh_if_stale()
        assert runs[0] == 4
        assert indexed_version() != before

    _with_sessions(api, settings, body)


def test_a_refresh_reads_the_recent_rows_through_their_index_not_the_whole_table(
    api: Api, settings: Settings
) -> None:
    """The refresh asks for the rows changed in the last minute; ordered by id, SQLite answered by walking
    every profile (a quarter of a second at 100,000, on every refresh), not the `updated_at` index."""
    if not settings.is_sqlite:
        pytest.skip("the query plan asked about is SQLite's (PostgreSQL plans the range scan either way)")

    async def body(sessions: Any) -> None:
        async with sessions() as session:
            for model in (Profile, Post):
                query = changed_rows(model, utcnow())
                compiled = query.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})
                plan = (await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
                details = " ".join(str(row[-1]) for row in plan)
                assert f"USING INDEX ix_{model.__tablename__}_updated_at" in details, details
                assert "SCAN" not in details, details

    _with_sessions(api, settings, body)


def test_an_index_whose_profiles_name_no_language_is_saved_and_opened(tmp_path: Path) -> None:
    """A filter column of no width (nobody named a language yet) is saved like any other."""
    index = ProfileIndex(DIMENSION)
    for i in range(5):
        index.upsert(ProfileDocument(f"p{i}"), _vector(i))
    index.save(tmp_path / "snapshot")
    opened = ProfileIndex.load(tmp_path / "snapshot")
    _same(index, opened, _vector(99))
    opened.upsert(ProfileDocument("new", languages=("sq",)), _vector(7))  # into a spare row
    assert opened.row_of("new") == 5
    assert np.allclose(opened.vector_of("new"), _vector(7), atol=1e-3)


def test_scoring_documents_read_from_plain_rows_are_those_of_the_orm(api: Api, settings: Settings) -> None:
    rich = api.register("member")
    api.profile(
        rich,
        headline="Interventional cardiologist",
        summary="Twelve years in a university hospital.",
        sectors=["health"],
        skills=[{"name": "echocardiography"}, {"name": "coronary angiography"}, {"name": "ecg"}],
        languages=[{"code": "sq", "level": "native"}, {"code": "de", "level": "C1"}],
        availability=[
            {"start_date": "2027-08-01", "end_date": "2027-08-31", "modes": ["remote"]},
            {"start_date": "2027-05-01", "end_date": "2027-05-31", "modes": ["onsite_return", "volunteer"]},
        ],
        consent={"open_to_matching": False},
    )
    bare = api.register("member")
    api.profile(bare, headline="Welder", skills=[], languages=[])
    ids = [uuid.UUID(api.client.get("/api/profiles/me", headers=h).json()["id"]) for h in (rich, bare)]

    async def body(sessions: Any) -> None:
        async with sessions() as session:
            plain = {d.id: (d, at) for d, at in await read_profile_documents(session, [*ids, uuid.uuid4()])}
            rows = await session.scalars(select(Profile).where(Profile.id.in_(ids)).options(*PROFILE_LOAD))
            orm = {str(p.id): (profile_document(p), p.updated_at) for p in rows}
        assert plain == orm
        document = plain[str(ids[0])][0]
        assert [s.name for s in document.skills] == ["echocardiography", "coronary angiography", "ecg"]
        assert document.languages == ("de", "sq")
        assert [w.start.month for w in document.availability] == [5, 8]
        assert not document.open_to_matching

    _with_sessions(api, settings, body)
