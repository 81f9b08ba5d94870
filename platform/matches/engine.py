"""The matching engine of one app process: embedding store in the database, indexes in memory.

The database is the source of truth. Each profile's and post's canonical text is hashed; a stored embedding
whose hash and model id still match is reused, anything else is encoded (off the event loop) and stored.
The in-memory indexes are rebuilt from the store on first use and then kept current incrementally: each
refresh picks up rows changed since the last one, and drops rows that no longer exist.

The profile index is also saved as a snapshot in the data folder (by the process running the background
jobs, when enough has changed). A process that starts opens it memory-mapped and catches up from the
moment it was taken, instead of reading every profile's vector from the database: at a million profiles,
about a second instead of two minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import numpy as np
from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload, selectinload

from diaspora.matching import e5
from diaspora.matching.calibration import calibration_for
from diaspora.matching.documents import PostDocument, ProfileDocument
from diaspora.matching.encoder import Encoder, get_encoder
from diaspora.matching.index import PostIndex, ProfileIndex, SnapshotError
from diaspora.matching.lexical import packaged_scorer
from diaspora.matching.occupations import LabelVectors, OccupationLinker, linker_by_meaning, packaged_linker
from diaspora.matching.ranker import Ranker
from diaspora.matching.scoring import ScoringWeights
from diaspora.matching.texts import post_text, profile_text
from diaspora.platform.db.models import (
    Consent,
    Embedding,
    Post,
    Profile,
    ScoringWeightsOverride,
    utcnow,
)
from diaspora.platform.matches import changes
from diaspora.platform.matches.documents import (
    post_document,
    read_languages,
    read_profile_documents,
    read_windows,
)
from diaspora.platform.matches.store import EmbeddingStore
from diaspora.platform.settings import Settings

log = logging.getLogger("diaspora.matching")

# One row each (account, consent, organisation) comes joined; lists come by one query each. Each query more
# is a round trip through the database driver's thread and the ORM's loading: a matching request shows
# twenty profiles in full.
PROFILE_LOAD = (
    joinedload(Profile.account),
    joinedload(Profile.consent),
    selectinload(Profile.skills),
    selectinload(Profile.languages),
    selectinload(Profile.availability),
    selectinload(Profile.credentials),
)
POST_LOAD = (joinedload(Post.organisation), selectinload(Post.skills))
# Rows written by transactions still open when a refresh starts carry earlier timestamps than the refresh:
# looking back a little catches them; re-reading a row whose hash did not change costs no encoding.
_LOOKBACK = timedelta(seconds=60)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DOCUMENT_CACHE = 20_000  # scoring documents of recently ranked profiles kept in memory
CARD_CACHE = 5_000  # what a post's candidates list shows of recently shown profiles
POST_CACHE = 5_000  # documents and views of recently recommended posts kept in memory
V = TypeVar("V")


def row_version(updated_at: datetime) -> int:
    """A row's last change as the index records it: whole microseconds since the epoch (UTC)."""
    if updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=UTC)
    return (updated_at - _EPOCH) // timedelta(microseconds=1)


_BATCH = 512
# Profiles deleted by other processes are dropped from the index this often, at most: finding them costs a
# count of the whole table (a parallel scan taking both cores for 40 ms at 100,000 profiles on PostgreSQL,
# ten times that at a million), and a profile gone is never shown meanwhile, since each request reads its
# candidates' consent as of now. Deletions this process committed are dropped at its next refresh.
PROFILE_DELETIONS_EVERY = 30.0
_BULK = 10_000
# Indexed rows that no refresh linked to occupations (profiles loaded in bulk, or from an older snapshot)
# are linked by a task of its own, outside the refresh lock: this many read at a time, linked a few titles
# per call of the linker in a worker thread (a call holds the interpreter for about 15 ms when none of
# its titles was linked before), each followed by a pause as long as it took, so that requests keep at
# least half of the interpreter (about 500 new titles a second: minutes at 100,000 different ones).
LINKS_PER_PASS = 1024
_LINK_CALL = 16
LINK_PAUSE = 1.0
# A new snapshot is written once this many profiles changed since the last (or this share of them).
SNAPSHOT_MIN_CHANGES = 100
SNAPSHOT_SHARE = 0.05


@dataclass(frozen=True)
class _Source:
    """One kind of matchable entity: where its rows live and how they become documents and texts."""

    entity_type: str
    model: Any
    # The documents of these rows, each with its `updated_at` (a row gone is absent).
    read: Callable[[AsyncSession, list[uuid.UUID]], Awaitable[list[tuple[Any, datetime]]]]
    to_text: Callable[[Any], str]
    # What its title is linked to occupations by: (id, title, the occupation its owner chose or None).
    titled: Callable[[Any], tuple[str, str, str | None]]


async def _read_posts(session: AsyncSession, ids: list[uuid.UUID]) -> list[tuple[PostDocument, datetime]]:
    rows = await session.scalars(select(Post).where(Post.id.in_(ids)).options(*POST_LOAD))
    read = [(post_document(row), row.updated_at) for row in rows.all()]
    session.expunge_all()
    return read


_PROFILES = _Source(
    "profile", Profile, read_profile_documents, profile_text, lambda d: (d.id, d.headline, d.occupation_uri)
)
_POSTS = _Source("post", Post, _read_posts, post_text, lambda d: (d.id, d.title, None))


def _remembered(
    cache: LRUCache[str, tuple[int, V]], versions: Mapping[str, int | None]
) -> tuple[dict[str, V], list[uuid.UUID]]:
    """What `cache` holds of these rows at these versions, and the ids of the others (to be read)."""
    found: dict[str, V] = {}
    missing: list[uuid.UUID] = []
    for key, version in versions.items():
        cached = cache.get(key)
        if cached is not None and cached[0] == version:
            found[key] = cached[1]
        else:
            missing.append(uuid.UUID(key))
    return found, missing


@dataclass
class SyncReport:
    encoded: int = 0
    reused: int = 0
    removed: int = 0
    restored: int = 0  # profiles opened from a snapshot


def scoring_weights(settings: Settings) -> ScoringWeights:
    return ScoringWeights(
        semantic=settings.match_weight_semantic,
        occupation=settings.match_weight_occupation,
        lexical=settings.match_weight_lexical,
        skills=settings.match_weight_skills,
        availability=settings.match_weight_availability,
        languages=settings.match_weight_languages,
        skill_threshold=settings.match_skill_threshold,
        calibration=calibration_for(settings.embedding_model),
    )


class MatchingEngine:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        encoder: Encoder | None = None,
        *,
        bulk_load: bool = True,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.encoder = encoder or get_encoder(settings.embedding_model, settings.embedding_backend)
        self.store = EmbeddingStore(self.encoder)
        linker: OccupationLinker | None = None
        if settings.match_weight_occupation > 0:
            linker = (
                linker_by_meaning(self.encoder, e5.cache_dir())
                if settings.match_link_by_meaning
                else packaged_linker()
            )
        self.ranker = Ranker(
            self.encoder,
            scoring_weights(settings),
            settings.match_rerank_depth,
            linker=linker,
            lexical=packaged_scorer(),
            link_depth=settings.match_link_depth,
        )
        self._preparing_labels: threading.Thread | None = None
        self._links_made_with: str | None = None  # `_occupations_digest` as of the last refresh
        self._linking: asyncio.Task[None] | None = None
        self.linked_later = 0  # indexed profiles linked after they were indexed (bulk loads, snapshots)
        self.profiles: ProfileIndex | None = None
        self.posts: PostIndex | None = None
        self.bulk_load = bulk_load  # False forces the regular path (the cold-start benchmark's baseline)
        self._seen: dict[str, datetime] = {}  # entity type -> start of its last refresh
        self._lock = asyncio.Lock()
        self._asked = self._covered = 0  # refresh calls made, and those a finished refresh covered
        # The last finished refresh: this process's count of commits to the matched tables, and the
        # monotonic clock, both as of its start (None: none finished yet).
        self._fresh_as_of: tuple[int, float] | None = None
        self._changed_since_snapshot: int | None = None  # None: no snapshot of this process's index yet
        # When the refresh last looked for deleted profiles: this process's count of commits that deleted
        # profiles, and the monotonic clock.
        self._deletions_checked: tuple[int, float] | None = None
        self._compact_build: asyncio.Task[None] | None = None
        # The scoring documents of recently ranked profiles, each with the version it was read at: a
        # request reads from the database only the candidates it has not seen at their current version.
        self._documents: LRUCache[str, tuple[int, ProfileDocument]] = LRUCache(DOCUMENT_CACHE)
        # The same for posts, each with the view a recommendation shows of it.
        self._posts: LRUCache[str, tuple[int, tuple[PostDocument, Any]]] = LRUCache(POST_CACHE)
        # And what a post's candidates list shows of each profile (every part; the viewer's request picks
        # those the member shows, as of now), by the profile's version as of the request.
        self._cards: LRUCache[str, tuple[int, Any]] = LRUCache(CARD_CACHE)

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    async def refresh(self, *, progress: Callable[[int], None] | None = None) -> SyncReport:
        """Bring the indexes (and the embedding store) up to date with the database as of this call.

        Calls that arrive while a refresh runs wait for the next one, which serves them all: one refresh
        that starts after a caller asked covers everything committed before it asked."""
        self._asked += 1
        ticket = self._asked
        async with self._lock:
            if self._covered >= ticket:
                return SyncReport()  # a refresh that started after this call was made has finished
            covering = self._asked
            as_of = (changes.generation(), time.monotonic())
            report = await self._refresh_all(progress)
            self._covered = covering
            self._fresh_as_of = as_of
            return report

    async def refresh_if_stale(self) -> SyncReport:
        """What a request calls before ranking: a refresh when this process committed a write to a table
        the indexes are read from since the last refresh began, or when that began more than
        `match_refresh_seconds` ago (what other processes wrote); otherwise nothing, at no cost."""
        fresh = self._fresh_as_of
        if fresh is not None and fresh[0] == changes.generation():
            if time.monotonic() - fresh[1] < self.settings.match_refresh_seconds:
                return SyncReport()
            if self._lock.locked():
                return SyncReport()  # one is under way: what it brings is no more than the interval late
        return await self.refresh()

    @property
    def label_vectors(self) -> LabelVectors | None:
        """The occupation labels' vectors the linker links by meaning with (None: spelling only)."""
        linker = self.ranker.linker
        return None if linker is None else linker.by_meaning

    def start_preparing_label_vectors(self) -> bool:
        """Encode the occupation labels for links by meaning in a thread of their own, unless they are
        saved already (or being encoded); returns whether it started. Minutes on two cores, once per model
        and machine: the process running the background jobs does it, and until the vectors are saved
        every process links by spelling alone (each opens them at its next refresh)."""
        vectors = self.label_vectors
        if (
            vectors is None
            or vectors.open()
            or (self._preparing_labels and self._preparing_labels.is_alive())
        ):
            return False

        def prepare() -> None:
            try:
                vectors.prepare()
            except Exception:
                log.exception("encoding the occupation labels failed; titles are linked by spelling alone")

        # A daemon thread: a process that stops meanwhile does not wait for it (the file appears whole).
        self._preparing_labels = threading.Thread(target=prepare, name="occupation labels", daemon=True)
        self._preparing_labels.start()
        return True

    async def _refresh_all(self, progress: Callable[[int], None] | None) -> SyncReport:
        report = SyncReport()
        await self._apply_weights()
        if (vectors := self.label_vectors) is not None and not vectors.ready:
            await anyio.to_thread.run_sync(vectors.open)  # saved by another process meanwhile?
        if self.profiles is None or self.posts is None:
            restored = await anyio.to_thread.run_sync(self._open_snapshot)
            if restored is not None:
                self.profiles, self._seen[_PROFILES.entity_type] = restored
                self._changed_since_snapshot = 0
                report.restored = len(self.profiles)
                dimension = self.profiles.dimension
            else:
                dimension = await anyio.to_thread.run_sync(lambda: self.encoder.dimension)
                self.profiles = ProfileIndex(dimension, dtype=self.settings.match_index_dtype)
            self.posts = PostIndex(dimension, dtype=self.settings.match_index_dtype)
        if self.ranker.links_rows:
            links = await anyio.to_thread.run_sync(self._occupations_digest)
            if self._links_made_with not in (None, links):  # links by meaning have become ready
                self.profiles.forget_links()
                self.posts.forget_links()
            self._links_made_with = links
        self.profiles.compact_min_rows = self.settings.match_compact_min_rows
        self.posts.compact_min_rows = self.settings.match_compact_min_rows
        await self._refresh(_PROFILES, self.profiles, report, progress)
        await self._refresh(_POSTS, self.posts, report, progress)
        self._start_linking()
        return report

    async def _link(
        self,
        index: ProfileIndex | PostIndex,
        entries: list[tuple[str, str, str | None]],
        versions: list[int] | None = None,
        *,
        pause: float = 0.0,
    ) -> int:
        """Link these indexed entities' titles (id, title, chosen occupation URI or None each) to
        occupations, the linker's work in a worker thread a few titles at a time (after each, a pause of
        `pause` times as long as it took); with `versions`, only those still indexed at that version.
        Returns how many it linked."""
        if not self.ranker.links_rows:
            return 0
        linked = 0
        for start in range(0, len(entries), _LINK_CALL):
            chunk = entries[start : start + _LINK_CALL]
            titles = [(title, chosen) for _, title, chosen in chunk]
            began = time.monotonic()
            codes = await anyio.to_thread.run_sync(self.ranker.link_codes, titles)
            took = time.monotonic() - began
            for offset, ((entity_id, _, _), found) in enumerate(zip(chunk, codes, strict=True)):
                if versions is None or index.version_of(entity_id) == versions[start + offset]:
                    index.set_links(entity_id, found)
                    linked += 1
            if pause:
                await asyncio.sleep(pause * took)
        return linked

    def _start_linking(self) -> None:
        """Link, in a task of its own, the indexed rows no refresh linked (see `LINKS_PER_PASS`)."""
        if not self.ranker.links_rows or self._linking is not None:
            return
        if self.profiles is None or self.posts is None:
            return
        if self.profiles.unlinked(1) or self.posts.unlinked(1):
            self._linking = asyncio.create_task(self._link_unlinked(), name="occupation links")

    async def _link_unlinked(self) -> None:
        assert self.profiles is not None
        assert self.posts is not None
        profiles_linked = 0
        try:
            while True:
                linked = 0
                for index in (self.posts, self.profiles):
                    ids = index.unlinked(LINKS_PER_PASS)
                    if not ids:
                        continue
                    async with self.sessions() as session:
                        titled = await _titles(session, index is self.profiles, ids)
                    entries = [entry for entry, _ in titled]
                    versions = [version for _, version in titled]
                    done = await self._link(index, entries, versions, pause=LINK_PAUSE)
                    if index is self.profiles:
                        self.linked_later += done
                        profiles_linked += done
                    linked += done
                if not linked:  # done, or only rows a refresh will index (and link) again are left
                    return
        except Exception:
            log.exception("linking indexed titles to occupations failed; the next refresh tries again")
        finally:
            # Counted for the snapshot once done: one more snapshot keeps them, not one every 5%.
            self._count_changes(profiles_linked)
            self._linking = None

    async def links_done(self) -> None:
        """Wait until the rows left unlinked are linked (what `linked_later` counts)."""
        while self._linking is not None:
            await asyncio.shield(self._linking)

    async def _apply_weights(self) -> None:
        """Weights an admin applied (stored, so every process follows) override the configured ones."""
        async with self.sessions() as session:
            row = await session.get(ScoringWeightsOverride, 1)
        configured = scoring_weights(self.settings)
        if row is None:
            self.ranker.weights = configured
            return
        self.ranker.weights = ScoringWeights(
            semantic=row.semantic,
            occupation=row.occupation,
            lexical=row.lexical,
            skills=row.skills,
            availability=row.availability,
            languages=row.languages,
            skill_threshold=configured.skill_threshold,
            calibration=configured.calibration,
        )

    async def _refresh(
        self, source: _Source, index: Any, report: SyncReport, progress: Callable[[int], None] | None
    ) -> None:
        started = utcnow()
        seen = self._seen.get(source.entity_type)
        changed = changed_rows(source.model, None if seen is None else seen - _LOOKBACK)
        async with self.sessions() as session:
            # What the index already holds at the same version is left alone: after an import of many
            # people, every refresh within the look-back would otherwise read them all again.
            ids = sorted(
                entity_id
                for entity_id, updated_at in (await session.execute(changed)).all()
                if index.version_of(str(entity_id)) != row_version(updated_at)
            )
            if seen is None and source is _PROFILES and self.bulk_load:
                loaded = await self._bulk_load_profiles(session, index)
                report.reused += len(loaded)
                if progress:
                    progress(len(loaded))
                ids = [i for i in ids if i not in loaded]
                self._count_changes(len(loaded))
            for start in range(0, len(ids), _BATCH):
                chunk = ids[start : start + _BATCH]
                fetched = await source.read(session, chunk)
                documents = [document for document, _ in fetched]
                texts = [source.to_text(d) for d in documents]
                vectors, encoded = await self.store.vectors(
                    session,
                    source.entity_type,
                    [uuid.UUID(d.id) for d in documents],
                    texts,
                    as_of=[updated_at for _, updated_at in fetched],
                )
                report.encoded += len(encoded)
                report.reused += len(documents) - len(encoded)
                for (document, updated_at), vector in zip(fetched, vectors, strict=True):
                    index.upsert(document, vector, version=row_version(updated_at))
                await self._link(index, [source.titled(d) for d in documents])
                if source is _PROFILES:
                    self._count_changes(len(documents))
                if progress:
                    progress(len(chunk))
            if source is _POSTS or self._profile_deletions_due():
                removed = await _drop_missing(session, index, source.model)
                report.removed += removed
                if source is _PROFILES:
                    self._count_changes(removed)
        index.flush()
        index.code_appended()  # the compact code of a large index covers new rows at once (milliseconds)
        if index.compact_build_due() and self._compact_build is None:
            # From tens of thousands of rows, broad filters are served from a compact code of the rows; a
            # build takes seconds at a million, so it runs in a worker thread outside the refresh lock,
            # while requests go on (they score exactly whatever the code does not cover yet).
            self._compact_build = asyncio.create_task(self._build_compact(index), name="compact code")
        self._seen[source.entity_type] = started

    def _profile_deletions_due(self) -> bool:
        """Whether this refresh looks for deleted profiles (see `PROFILE_DELETIONS_EVERY`); if so, it is
        counted as done as of now."""
        now = (changes.deletions(), time.monotonic())
        last = self._deletions_checked
        if last is not None and last[0] == now[0] and now[1] - last[1] < PROFILE_DELETIONS_EVERY:
            return False
        self._deletions_checked = now
        return True

    async def profile_documents(
        self, session: AsyncSession, profile_ids: Collection[str]
    ) -> dict[str, ProfileDocument]:
        """The scoring documents of these indexed profiles as of their indexed version (the refresh that
        each request runs first keeps that current): from memory when read before at that version, else
        read from the database (and remembered)."""
        assert self.profiles is not None
        index = self.profiles
        found, missing = _remembered(self._documents, {i: index.version_of(i) for i in profile_ids})
        if missing:
            for document, updated_at in await read_profile_documents(session, missing):
                found[document.id] = document
                self._documents[document.id] = (row_version(updated_at), document)
        return found

    async def profile_cards(
        self, session: AsyncSession, versions: Mapping[str, int], card: Callable[[Profile], V]
    ) -> dict[str, V]:
        """`card` of each of these profiles at its version (`row_version` of its `updated_at`, which every
        change to what a profile shows stamps, its account's display name included): from memory when
        built before at that version, else read from the database in full (and remembered). A profile
        gone since is absent from the result."""
        found, missing = _remembered(self._cards, versions)
        if missing:
            rows = await session.scalars(
                select(Profile).where(Profile.id.in_(missing)).options(*PROFILE_LOAD)
            )
            for row in rows.all():
                key, shown = str(row.id), card(row)
                found[key] = shown
                self._cards[key] = (row_version(row.updated_at), shown)
        return found

    async def post_views(
        self, session: AsyncSession, post_ids: Collection[str], view: Callable[[Post], V]
    ) -> dict[str, tuple[PostDocument, V]]:
        """The documents of these indexed posts and `view` of each, as of their indexed version: from
        memory when built before at that version, else read from the database (and remembered). What a
        post shows of its organisation is current too: a change to it re-stamps the organisation's posts."""
        assert self.posts is not None
        index = self.posts
        found, missing = _remembered(self._posts, {i: index.version_of(i) for i in post_ids})
        if missing:
            rows = await session.scalars(select(Post).where(Post.id.in_(missing)).options(*POST_LOAD))
            for row in rows.all():
                document, shown = post_document(row), view(row)
                found[document.id] = (document, shown)
                self._posts[document.id] = (row_version(row.updated_at), (document, shown))
        return found

    async def _build_compact(self, index: ProfileIndex | PostIndex) -> None:
        try:
            await anyio.to_thread.run_sync(index.build_compact)
        except Exception:
            log.exception("building the compact code of the index failed; broad queries scan instead")
        finally:
            self._compact_build = None

    async def close(self) -> None:
        """Stop linking and wait for a compact code being built (a thread cannot be stopped halfway)."""
        if self._linking is not None:
            self._linking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._linking
        if self._compact_build is not None:
            await asyncio.shield(self._compact_build)

    # -- snapshots of the profile index ------------------------------------------------------------------

    def snapshot_folder(self) -> Path:
        model = hashlib.sha256(self.model_id.encode()).hexdigest()[:12]
        return self.settings.data_dir / "snapshots" / f"profiles-{model}-{self.settings.match_index_dtype}"

    def _occupations_digest(self) -> str | None:
        """What the index's occupation links were made with: the taxonomy their codes refer to, and whether
        titles no label spells were linked by meaning (None: rows are not linked)."""
        linker = self.ranker.linker
        if linker is None or not self.ranker.links_rows:
            return None
        meaning = linker.by_meaning is not None and linker.by_meaning.ready
        return f"{linker.digest}{'+meaning' if meaning else ''}"

    def _count_changes(self, count: int) -> None:
        if self._changed_since_snapshot is not None:
            self._changed_since_snapshot += count

    def _open_snapshot(self) -> tuple[ProfileIndex, datetime] | None:
        if not (self.settings.match_snapshots and self.bulk_load):
            return None
        folder = self.snapshot_folder()
        manifest = ProfileIndex.manifest(folder)
        if manifest is None:
            return None
        if (manifest.get("model_id"), manifest.get("dtype")) != (
            self.model_id,
            self.settings.match_index_dtype,
        ):
            return None
        try:
            index = ProfileIndex.load(folder)
            taken_at = datetime.fromisoformat(manifest["taken_at"])
        except (SnapshotError, KeyError, TypeError, ValueError) as exc:
            log.warning("snapshot %s not usable, building from the database: %s", folder, exc)
            return None
        if manifest.get("occupations") != self._occupations_digest():
            index.forget_links()  # linked with another taxonomy (or none): the codes mean other occupations
        log.info("profile index opened from %s (%d profiles, taken %s)", folder, len(index), taken_at)
        return index, taken_at

    async def save_snapshot(self, *, force: bool = False) -> bool:
        """Write the profile index as a snapshot when enough changed since the last one (or when there is
        none); returns whether it wrote one. The refresh lock is held while writing (about two seconds at
        a million profiles), so only the process running the background jobs does it."""
        if not self.settings.match_snapshots:
            return False
        async with self._lock:
            taken_at = self._seen.get(_PROFILES.entity_type)
            if self.profiles is None or taken_at is None:
                return False
            changed = self._changed_since_snapshot
            due = max(SNAPSHOT_MIN_CHANGES, int(len(self.profiles) * SNAPSHOT_SHARE))
            if not force and changed is not None and changed < due and self.snapshot_folder().exists():
                return False
            index, folder = self.profiles, self.snapshot_folder()
            await anyio.to_thread.run_sync(
                lambda: index.save(
                    folder,
                    model_id=self.model_id,
                    taken_at=taken_at.isoformat(),
                    occupations=self._occupations_digest(),
                )
            )
            self._changed_since_snapshot = 0
            return True

    async def _bulk_load_profiles(self, session: AsyncSession, index: ProfileIndex) -> set[uuid.UUID]:
        """First build: load every profile whose stored embedding is newer than the profile itself.

        Such a vector was computed from the profile's current text, so neither the text nor the ORM objects
        are needed: plain rows of vectors, consent flags, languages and availability windows suffice, which
        is what makes a cold start at registry scale take seconds rather than many minutes. Profiles changed
        after their embedding are left to the regular path, which checks hashes and encodes if needed.
        """
        languages = await read_languages(session)
        windows = await read_windows(session)
        fresh = (
            select(Embedding.entity_id, Embedding.vector, Consent.open_to_matching, Profile.updated_at)
            .join(Profile, Profile.id == Embedding.entity_id)
            .outerjoin(Consent, Consent.profile_id == Profile.id)
            .where(
                Embedding.entity_type == "profile",
                Embedding.model_id == self.model_id,
                Embedding.dimension == index.dimension,
                Embedding.updated_at >= Profile.updated_at,
            )
        )
        loaded: set[uuid.UUID] = set()
        result = await session.stream(fresh.execution_options(yield_per=_BULK))
        async for partition in result.partitions(_BULK):
            for profile_id, vector, open_to_matching, updated_at in partition:
                document = ProfileDocument(
                    str(profile_id),
                    languages=tuple(languages.get(profile_id, ())),
                    availability=tuple(windows.get(profile_id, ())),
                    open_to_matching=bool(open_to_matching),
                )
                vector_row = np.frombuffer(vector, dtype=np.float32)
                index.upsert(document, vector_row, version=row_version(updated_at))
                loaded.add(profile_id)
        return loaded


async def _titles(
    session: AsyncSession, profiles: bool, ids: list[str]
) -> list[tuple[tuple[str, str, str | None], int]]:
    """What these profiles' (or posts') titles are linked by, each with the row's version."""
    wanted = [uuid.UUID(i) for i in ids]
    found: list[tuple[tuple[str, str, str | None], int]] = []
    if profiles:
        query = select(Profile.id, Profile.headline, Profile.occupation_uri, Profile.updated_at)
        for entity_id, headline, chosen, updated_at in await session.execute(
            query.where(Profile.id.in_(wanted))
        ):
            found.append(((str(entity_id), headline or "", chosen), row_version(updated_at)))
    else:
        for entity_id, title, updated_at in await session.execute(
            select(Post.id, Post.title, Post.updated_at).where(Post.id.in_(wanted))
        ):
            found.append(((str(entity_id), title or "", None), row_version(updated_at)))
    return found


def changed_rows(model: type[Profile] | type[Post], since: datetime | None) -> Any:
    """Ids and versions of the rows changed since `since` (every row when None). Deliberately unordered:
    ordered by id, SQLite walks the whole table in id order instead of reading the few recent rows through
    the `updated_at` index (400 ms instead of 2 at 100,000 profiles, on every refresh)."""
    query = select(model.id, model.updated_at)
    return query if since is None else query.where(model.updated_at >= since)


async def _drop_missing(
    session: AsyncSession, index: ProfileIndex | PostIndex, model: type[Profile] | type[Post]
) -> int:
    count = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    if count == len(index):
        return 0
    existing = {str(i) for i in (await session.scalars(select(model.id))).all()}
    gone = [entity_id for entity_id in index.ids() if entity_id not in existing]
    for entity_id in gone:
        index.remove(entity_id)
    return len(gone)
