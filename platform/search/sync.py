"""Keeps the search indexes equal to the database by consuming the outbox, and rebuilds them.

One consumer at a time: an in-process lock, plus a PostgreSQL advisory lock (or a lock file next to
the embedded index on SQLite) shared by every process, so that the worker and a `reindex` command
never write the same index at once. While a rebuild runs, events wait in the outbox and are applied
to the new index once it is live; nothing written meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import anyio.to_thread
import filelock
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from diaspora.matching.encoder import Encoder, get_encoder
from diaspora.platform.db import outbox
from diaspora.platform.db.models import OutboxEvent
from diaspora.platform.search.backend import Progress, SearchBackend, SearchBackendError, build_backend
from diaspora.platform.search.config import IndexConfig, load_all
from diaspora.platform.search.documents import (
    SOURCE_BY_TOPIC,
    SOURCES,
    Vectorising,
    all_documents,
    documents_for,
)
from diaspora.platform.search.query import SearchRequest, SearchResult
from diaspora.platform.search.vectors import SearchVectors
from diaspora.platform.settings import Settings

log = logging.getLogger("diaspora.search")
_ADVISORY_KEY = 0x5EA2C4  # any constant shared by every process of the platform
TOPICS = tuple(SOURCE_BY_TOPIC)


@dataclass
class SyncReport:
    indexed: int = 0
    removed: int = 0
    failed: int = 0
    skipped: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def worked(self) -> bool:
        return bool(self.indexed or self.removed or self.failed)


class SearchSync:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        backend: SearchBackend | None = None,
        *,
        encoder: Encoder | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.backend = backend or build_backend(settings)
        self.configs: dict[str, IndexConfig] = load_all()
        # Hybrid search shares the matcher's encoder (one model per process: `get_encoder` caches).
        self.vectors = (
            SearchVectors(encoder or get_encoder(settings.embedding_model, settings.embedding_backend))
            if settings.search_hybrid
            else None
        )
        self._prepared = False
        self._lock = asyncio.Lock()

    # -- mutual exclusion across processes -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _exclusive(self, *, wait: bool) -> AsyncIterator[bool]:
        async with self._lock:
            if self.engine.dialect.name == "postgresql":
                async with self.engine.connect() as conn:
                    if wait:
                        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_KEY})
                        got = True
                    else:
                        got = bool(
                            (
                                await conn.execute(
                                    text("SELECT pg_try_advisory_lock(:k)"), {"k": _ADVISORY_KEY}
                                )
                            ).scalar()
                        )
                    await conn.commit()
                    try:
                        yield got
                    finally:
                        if got:
                            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
                            await conn.commit()
                return
            path = Path(self.settings.data_dir) / "search" / ".sync.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = filelock.FileLock(str(path))
            try:
                await anyio.to_thread.run_sync(lambda: lock.acquire(timeout=-1 if wait else 0))
            except filelock.Timeout:
                yield False
                return
            try:
                yield True
            finally:
                lock.release()

    # -- consuming the outbox ------------------------------------------------------------------------

    async def _dimensions(self) -> int | None:
        if self.vectors is None:
            return None
        vectors = self.vectors
        return await anyio.to_thread.run_sync(lambda: vectors.dimension)

    def _vectorising(self, config: IndexConfig) -> Vectorising | None:
        return Vectorising(self.vectors, config, []) if self.vectors is not None else None

    async def _keep(self, source_entity: str, vectorising: Vectorising | None) -> None:
        if vectorising is not None and vectorising.fresh:
            await vectorising.vectors.keep(self.sessions, source_entity, vectorising.fresh)

    async def prepare(self) -> None:
        """Apply settings; an index the back end found in an older layout is rebuilt from the database
        (the caller holds the consumer lock)."""
        dimensions = await self._dimensions()
        for name, config in self.configs.items():
            await self.backend.prepare(config, dimensions=dimensions)
            outdated: set[str] = getattr(self.backend, "outdated", set())
            if config.uid in outdated:
                log.warning("search index %s was in an older layout: rebuilding it from the database", name)
                await self._rebuild(name)
                outdated.discard(config.uid)
        self._prepared = True

    async def process_once(self, *, limit: int = 500) -> SyncReport:
        """Apply the events that are due; a failing index keeps its events for a later try."""
        report = SyncReport()
        async with self._exclusive(wait=False) as got:
            if not got:
                report.skipped = True
                return report
            if not self._prepared:
                try:
                    await self.prepare()
                except SearchBackendError as exc:
                    report.errors.append(str(exc))
                    log.warning("search back end %s not ready: %s", self.backend.name, exc)
                    return report
            encoded: list[tuple[str, Vectorising]] = []
            async with self.sessions() as session, session.begin():
                events = await outbox.due(session, TOPICS, limit=limit)
                grouped: dict[str, list[OutboxEvent]] = defaultdict(list)
                for event in events:
                    grouped[event.topic].append(event)
                for topic, topic_events in grouped.items():
                    source = SOURCE_BY_TOPIC[topic]
                    config = self.configs[source.index]
                    ids = list(dict.fromkeys(e.entity_id for e in topic_events))
                    vectorising = self._vectorising(config)
                    documents, gone = await documents_for(session, source, ids, vectorising)
                    if vectorising is not None:
                        encoded.append((source.entity_type, vectorising))
                    try:
                        await self.backend.upsert(config, documents)
                        await self.backend.delete(config, gone)
                    except Exception as exc:  # any failure of the back end: keep the events, retry later
                        report.failed += len(topic_events)
                        report.errors.append(f"{config.uid}: {exc}")
                        log.warning(
                            "search index %s (%s) failed, %d events kept for retry: %s",
                            config.uid,
                            self.backend.name,
                            len(topic_events),
                            exc,
                        )
                        await outbox.retry_later(session, topic_events, f"{type(exc).__name__}: {exc}")
                        continue
                    await outbox.done(session, [e.id for e in topic_events])
                    report.indexed += len(documents)
                    report.removed += len(gone)
            for entity_type, vectorising in encoded:  # stored once the outbox transaction is over
                await self._keep(entity_type, vectorising)
        return report

    async def drain(self, *, max_passes: int = 1000) -> SyncReport:
        """Process until nothing is due (events waiting for a backoff are left for later)."""
        total = SyncReport()
        for _ in range(max_passes):
            report = await self.process_once()
            total.indexed += report.indexed
            total.removed += report.removed
            total.failed += report.failed
            total.errors += report.errors
            if report.skipped or not report.worked or report.failed:
                total.skipped = report.skipped
                break
        return total

    async def run(self, stop: asyncio.Event, *, interval_seconds: float) -> None:
        """Consume the outbox until `stop` is set."""

        async def drain() -> None:
            report = await self.drain()
            if report.worked:
                log.info(
                    "search sync: %d indexed, %d removed, %d failed",
                    report.indexed,
                    report.removed,
                    report.failed,
                )

        await outbox.consume_forever(drain, stop, interval_seconds=interval_seconds, name="search sync")

    # -- rebuilding and searching --------------------------------------------------------------------

    async def count_public(self, name: str) -> int:
        from diaspora.platform.search.documents import count_public

        async with self.sessions() as session:
            return await count_public(session, SOURCES[name])

    async def reindex(self, name: str, progress: Progress | None = None) -> int:
        """Rebuild one index from the database and swap it in; searches go on meanwhile."""
        config = self.configs[name]
        started = time.perf_counter()
        async with self._exclusive(wait=True):
            await self.backend.prepare(config, dimensions=await self._dimensions())
            count = await self._rebuild(name, progress)
        log.info("reindexed %s: %d documents in %.1f s", name, count, time.perf_counter() - started)
        return count

    async def _rebuild(self, name: str, progress: Progress | None = None) -> int:
        config, source = self.configs[name], SOURCES[name]
        vectorising = self._vectorising(config)
        async with self.sessions() as session:
            count = await self.backend.rebuild(
                config, all_documents(session, source, vectorising=vectorising), progress
            )
        await self._keep(source.entity_type, vectorising)
        return count

    async def search(self, name: str, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        config = self.configs[name]
        if self.vectors is not None and request.q and request.semantic is None:
            vectors, q = self.vectors, request.q
            try:
                semantic = await anyio.to_thread.run_sync(lambda: vectors.semantic(config, q))
            except Exception:  # the words still answer if the encoder cannot
                log.exception("search %s: the query could not be encoded; searching by words only", name)
            else:
                request = replace(request, semantic=semantic)
        result = await self.backend.search(config, request)
        log.debug(
            "search %s answered by %s in %.1f ms: %d hits",
            name,
            self.backend.name,
            (time.perf_counter() - started) * 1000,
            result.total_hits,
        )
        return result

    async def pending(self) -> int:
        async with self.sessions() as session:
            return await outbox.pending(session, TOPICS)

    async def close(self) -> None:
        await self.backend.close()
