"""The Meilisearch back end, through the official Python client (synchronous, so run in threads).

Settings come verbatim from `search_config/`; every write waits for its task and checks that it
succeeded, so that the outbox only lets go of an event once Meilisearch has really applied it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio.to_thread
import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchError

from diaspora.platform.search.backend import Document, Progress, SearchBackendError
from diaspora.platform.search.config import IndexConfig
from diaspora.platform.search.query import Between, Equals, SearchRequest, SearchResult, Semantic

T = TypeVar("T")
_TASK_TIMEOUT_MS = 120_000


def filter_expressions(config: IndexConfig, request: SearchRequest) -> list[str]:
    """Meilisearch filter syntax; the elements of the list are combined with AND."""
    expressions: list[str] = []
    for condition in request.filters:
        if isinstance(condition, Equals):
            if config.fields[condition.attribute] == "integer":
                values = ", ".join(str(int(v)) for v in condition.values)
            else:
                values = ", ".join(json.dumps(v, ensure_ascii=False) for v in condition.values)
            expressions.append(f"{condition.attribute} IN [{values}]")
        elif isinstance(condition, Between):
            if condition.gte is not None:
                expressions.append(f"{condition.attribute} >= {condition.gte}")
            if condition.lte is not None:
                expressions.append(f"{condition.attribute} <= {condition.lte}")
    return expressions


def _semantic_only(hit: dict[str, Any], semantic: Semantic) -> float | None:
    """The calibrated similarity of a hybrid hit that only its meaning found; None for a hit found by
    its words (or whose details say neither).

    Meilisearch returns every document its semantic search ranks, however unrelated; the hit's score
    details tell a keyword match (a `words` rule) from a semantic one (`vectorSort`, with the raw cosine
    `similarity`). Semantic-only hits below the index's bounds are dropped, as the embedded back end
    never finds them; the best similarity is taken among the hits of the page."""
    details = hit.get("_rankingScoreDetails") or {}
    vector = details.get("vectorSort")
    if "words" in details or not isinstance(vector, dict) or "similarity" not in vector:
        return None
    return semantic.score(float(vector["similarity"]))


class MeilisearchBackend:
    name = "meilisearch"

    def __init__(
        self, url: str, api_key: str | None = None, *, index_prefix: str = "", timeout: int = 10
    ) -> None:
        self.client = meilisearch.Client(url, api_key, timeout=timeout)
        self.index_prefix = index_prefix
        self._dimensions: dict[str, int | None] = {}

    def uid(self, config: IndexConfig) -> str:
        return f"{self.index_prefix}{config.uid}"

    async def _call(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return await anyio.to_thread.run_sync(func, *args)
        except MeilisearchError as exc:
            raise SearchBackendError(f"meilisearch: {exc}") from exc
        except OSError as exc:
            raise SearchBackendError(f"meilisearch unreachable: {exc}") from exc

    def _wait(self, task_info: Any) -> None:
        task = self.client.wait_for_task(
            task_info.task_uid, timeout_in_ms=_TASK_TIMEOUT_MS, interval_in_ms=20
        )
        if task.status != "succeeded":
            raise SearchBackendError(f"meilisearch task {task.uid} {task.status}: {task.error}")

    def _ensure(self, uid: str, config: IndexConfig) -> None:
        try:
            self.client.get_index(uid)
        except MeilisearchApiError as exc:
            if getattr(exc, "code", None) != "index_not_found":
                raise
            self._wait(self.client.create_index(uid, {"primaryKey": config.primary_key}))
        settings = config.meilisearch_settings(self._dimensions.get(config.uid))
        self._wait(self.client.index(uid).update_settings(settings))

    async def prepare(self, config: IndexConfig, *, dimensions: int | None = None) -> None:
        self._dimensions[config.uid] = dimensions
        await self._call(self._ensure, self.uid(config), config)

    async def upsert(self, config: IndexConfig, documents: list[Document]) -> None:
        if documents:
            index = self.client.index(self.uid(config))
            await self._call(lambda: self._wait(index.add_documents(documents, config.primary_key)))

    async def delete(self, config: IndexConfig, ids: list[str]) -> None:
        if ids:
            index = self.client.index(self.uid(config))
            await self._call(lambda: self._wait(index.delete_documents(list(ids))))

    def _search(self, config: IndexConfig, request: SearchRequest) -> SearchResult:
        params: dict[str, Any] = {
            "page": request.page,
            "hitsPerPage": request.per_page,
            "attributesToRetrieve": list(config.displayed),
            "matchingStrategy": "last",
        }
        expressions = filter_expressions(config, request)
        if expressions:
            params["filter"] = expressions
        if request.facets:
            params["facets"] = list(request.facets)
        if request.sort is not None:
            params["sort"] = [f"{request.sort[0]}:{request.sort[1]}"]
        semantic = request.semantic if self._dimensions.get(config.uid) else None
        if semantic is not None:
            params["vector"] = list(semantic.vector)
            params["hybrid"] = {"embedder": config.hybrid.embedder, "semanticRatio": semantic.ratio}
            params["showRankingScoreDetails"] = True
        response = self.client.index(self.uid(config)).search(request.q or "", params)
        facets = {
            name: {str(k): int(v) for k, v in response.get("facetDistribution", {}).get(name, {}).items()}
            for name in request.facets
        }
        hits = list(response["hits"])
        total = int(response.get("totalHits", 0))
        if semantic is not None:
            scores = [_semantic_only(hit, semantic) for hit in hits]
            least = semantic.least(max((x for x in scores if x is not None), default=0.0))
            kept = [hit for hit, score in zip(hits, scores, strict=True) if score is None or score >= least]
            total -= len(hits) - len(kept)
            hits = [{k: v for k, v in hit.items() if not k.startswith("_ranking")} for hit in kept]
        return SearchResult(
            hits=hits,
            total_hits=max(total, 0),
            page=request.page,
            per_page=request.per_page,
            facets=facets,
        )

    async def search(self, config: IndexConfig, request: SearchRequest) -> SearchResult:
        return await self._call(self._search, config, request)

    async def rebuild(
        self, config: IndexConfig, batches: AsyncIterator[list[Document]], progress: Progress | None = None
    ) -> int:
        live = self.uid(config)
        staging = f"{live}_rebuild_{time.time_ns()}"
        await self._call(self._ensure, live, config)
        await self._call(self._ensure, staging, config)
        count = 0
        try:
            index = self.client.index(staging)
            async for batch in batches:
                await self._call(
                    lambda batch=batch: self._wait(index.add_documents(batch, config.primary_key))
                )
                count += len(batch)
                if progress is not None:
                    progress(len(batch))
            # Atomic: searches hit the old documents until this task, and the new ones after it.
            await self._call(lambda: self._wait(self.client.swap_indexes([{"indexes": [live, staging]}])))
        finally:
            await self._call(lambda: self._wait(self.client.delete_index(staging)))
        return count

    def _ids(self, config: IndexConfig) -> set[str]:
        index = self.client.index(self.uid(config))
        ids: set[str] = set()
        offset = 0
        while True:
            page = index.get_documents({"fields": [config.primary_key], "limit": 1000, "offset": offset})
            ids.update(str(getattr(d, config.primary_key)) for d in page.results)
            offset += len(page.results)
            if not page.results or offset >= page.total:
                return ids

    async def document_ids(self, config: IndexConfig) -> set[str]:
        return await self._call(self._ids, config)

    async def drop(self, config: IndexConfig) -> None:
        """Delete the index (tests clean up their own)."""
        await self._call(lambda: self._wait(self.client.delete_index(self.uid(config))))

    async def close(self) -> None:
        return None
