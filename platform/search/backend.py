"""One search interface, two back ends: Meilisearch in production, an embedded tantivy index by default."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from diaspora.platform.search.config import IndexConfig
from diaspora.platform.search.query import SearchRequest, SearchResult
from diaspora.platform.settings import Settings

Document = dict[str, Any]
Progress = Callable[[int], None]


class SearchBackendError(RuntimeError):
    """The back end could not do what was asked (unreachable, refused, timed out): worth retrying."""


class SearchBackend(Protocol):
    name: str

    async def prepare(self, config: IndexConfig, *, dimensions: int | None = None) -> None:
        """Create the index if needed and apply its settings; safe to repeat. `dimensions`: documents
        carry vectors of that size (hybrid search); None: words only."""

    async def upsert(self, config: IndexConfig, documents: list[Document]) -> None:
        """Add or replace documents by primary key; done once this returns."""

    async def delete(self, config: IndexConfig, ids: list[str]) -> None:
        """Remove documents by primary key; ids that are absent are ignored."""

    async def search(self, config: IndexConfig, request: SearchRequest) -> SearchResult: ...

    async def rebuild(
        self, config: IndexConfig, batches: AsyncIterator[list[Document]], progress: Progress | None = None
    ) -> int:
        """Build a fresh index from `batches`, then swap it in for the live one; searches keep being
        answered by the old index until the swap. Returns the number of documents indexed."""

    async def document_ids(self, config: IndexConfig) -> set[str]:
        """Every primary key in the index (for checks and tests)."""

    async def close(self) -> None: ...


def build_backend(settings: Settings) -> SearchBackend:
    if settings.search_backend == "meilisearch":
        from diaspora.platform.search.meili import MeilisearchBackend

        if not settings.meili_url:
            raise ValueError("DIASPORA_SEARCH_BACKEND=meilisearch needs MEILI_URL.")
        return MeilisearchBackend(settings.meili_url, settings.meili_master_key or None)
    from diaspora.platform.search.embedded import EmbeddedBackend

    return EmbeddedBackend(settings.data_dir / "search")
