"""The embedded back end: a tantivy index on local disk that honours the Meilisearch settings.

Why tantivy rather than SQLite FTS5: search-as-you-type needs typo tolerance, and FTS5 has no fuzzy
matching (only exact and prefix tokens; a spellfix table would be hand-built typo handling); tantivy
has Levenshtein automata with prefix mode, BM25, fast fields for filters and sorting, and term
aggregations for facet counts, all in one maintained library.

What the settings mean here, as Meilisearch defines them:
- a query word of `oneTypo` letters or more may carry one typo, of `twoTypos` or more two;
- the last query word also matches as a prefix (search as you type);
- `matchingStrategy: last`: a document must contain the first word; each further word it contains
  ranks it higher; earlier `searchableAttributes` weigh more than later ones;
- synonyms are exact alternatives of a word; stop words are ignored in documents and queries;
- filters and facet counts work on `filterableAttributes`, sorting on `sortableAttributes`.
Text is lower-cased and folded to ASCII on both sides, so "liječnik" finds "lijecnik"; Cyrillic is
transliterated to Latin before it reaches the index (`query.to_latin`).

Each index lives in a generation folder; a `CURRENT` file names the live one. A rebuild writes a new
generation and replaces `CURRENT` atomically, so searches never see a half-built index.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np
import tantivy

from diaspora.platform.search.backend import Document, Progress, SearchBackendError
from diaspora.platform.search.config import IndexConfig
from diaspora.platform.search.query import Between, Equals, Filter, SearchRequest, SearchResult, Semantic
from diaspora.platform.search.vectors import VECTORS

_ID = "_id"
_SOURCE = "_source"
_VECTOR = "_vector"  # the document's unit vector, float32 bytes (hybrid search)
_WRITER_HEAP = 64_000_000
_ANALYZER = "words"


def _text_field(name: str) -> str:
    return f"s__{name}"


def _filter_field(name: str) -> str:
    return f"f__{name}"


@dataclass
class _Open:
    generation: str
    index: tantivy.Index
    schema: tantivy.Schema
    analyzer: tantivy.TextAnalyzer


def _analyzer(config: IndexConfig) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if config.stop_words:
        builder = builder.filter(tantivy.Filter.custom_stopword(sorted(config.stop_words)))
    return builder.build()


def _schema(config: IndexConfig) -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(_ID, stored=True, tokenizer_name="raw", fast=True)
    builder.add_bytes_field(_SOURCE, stored=True)
    builder.add_bytes_field(_VECTOR, stored=True)
    for name in config.searchable:
        builder.add_text_field(_text_field(name), tokenizer_name=_ANALYZER)
    for name in sorted(config.filterable | config.sortable):
        if config.fields[name] == "integer":
            builder.add_integer_field(_filter_field(name), indexed=True, fast=True)
        else:
            builder.add_text_field(_filter_field(name), tokenizer_name="raw", fast=True)
    return builder.build()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _tantivy_document(config: IndexConfig, document: Document) -> tantivy.Document:
    vectors = document.get(VECTORS) or {}
    document = {k: v for k, v in document.items() if k != VECTORS}
    fields: dict[str, Any] = {
        _ID: str(document[config.primary_key]),
        _SOURCE: json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
    }
    vector = vectors.get(config.hybrid.embedder)
    if vector:
        fields[_VECTOR] = np.asarray(vector, dtype=np.float32).tobytes()
    for name in config.searchable:
        texts = [str(v) for v in _as_list(document.get(name)) if v not in (None, "")]
        if texts:
            fields[_text_field(name)] = " \n ".join(texts)
    for name in config.filterable | config.sortable:
        values = _as_list(document.get(name))
        if not values:
            continue
        if config.fields[name] == "integer":
            fields[_filter_field(name)] = [int(v) for v in values]
        else:
            fields[_filter_field(name)] = [str(v) for v in values]
    return tantivy.Document(**fields)


class _QueryBuilder:
    def __init__(self, config: IndexConfig, opened: _Open) -> None:
        self.config = config
        self.schema = opened.schema
        self.analyzer = opened.analyzer
        self._synonyms: dict[str, list[list[str]]] = {}
        for word, alternatives in config.synonyms.items():
            key = self.analyzer.analyze(word)
            if len(key) != 1:
                continue  # multi-word keys would need phrase matching of the query itself
            self._synonyms.setdefault(key[0], []).extend(
                terms for terms in (self.analyzer.analyze(a) for a in alternatives) if terms
            )

    def _word(self, term: str, *, is_last: bool) -> tantivy.Query:
        typos = self.config.typo.allowed(term)
        searchable = self.config.searchable
        alternatives: list[tantivy.Query] = []
        for rank, name in enumerate(searchable):
            field = _text_field(name)
            weight = 1.0 / (1 + rank)  # earlier attributes weigh more ("attribute" ranking rule)
            alternatives.append(
                tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, field, term), 2.0 * weight)
            )
            distance = 0 if name in self.config.typo.disabled_attributes else typos
            if distance or is_last:
                fuzzy = tantivy.Query.fuzzy_term_query(
                    self.schema, field, term, distance=distance, transposition_cost_one=True, prefix=is_last
                )
                alternatives.append(tantivy.Query.boost_query(fuzzy, 0.5 * weight))
            for synonym in self._synonyms.get(term, []):
                exact = (
                    tantivy.Query.term_query(self.schema, field, synonym[0])
                    if len(synonym) == 1
                    else tantivy.Query.phrase_query(self.schema, field, list[str | tuple[int, str]](synonym))
                )
                alternatives.append(tantivy.Query.boost_query(exact, 1.5 * weight))
        return tantivy.Query.disjunction_max_query(alternatives, 0.1)

    def text(self, q: str) -> tantivy.Query | None:
        terms = self.analyzer.analyze(q)
        if not terms:
            return None
        last_is_prefix = not q.endswith(" ")
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for position, term in enumerate(terms):
            is_last = last_is_prefix and position == len(terms) - 1
            occur = tantivy.Occur.Must if position == 0 else tantivy.Occur.Should
            clauses.append((occur, self._word(term, is_last=is_last)))
        return tantivy.Query.boolean_query(clauses)

    def filter(self, condition: Filter) -> tantivy.Query:
        field = _filter_field(condition.attribute)
        if isinstance(condition, Between):
            return tantivy.Query.range_query(
                self.schema, field, tantivy.FieldType.Integer, condition.gte, condition.lte
            )
        assert isinstance(condition, Equals)
        if self.config.fields[condition.attribute] == "integer":
            return tantivy.Query.boolean_query(
                [
                    (
                        tantivy.Occur.Should,
                        tantivy.Query.range_query(
                            self.schema, field, tantivy.FieldType.Integer, int(v), int(v)
                        ),
                    )
                    for v in condition.values
                ]
            )
        return tantivy.Query.term_set_query(self.schema, field, list(condition.values))


class EmbeddedBackend:
    """Indexes under `root/<uid>/<generation>/`; safe for one writing process at a time (the outbox
    lock sees to that) and any number of reading threads."""

    name = "embedded"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[str, _Open] = {}
        self._write_lock = threading.Lock()

    # -- index folders -------------------------------------------------------------------------------

    def _pointer(self, config: IndexConfig) -> Path:
        return self.root / config.uid / "CURRENT"

    def _new_generation(self, config: IndexConfig) -> tuple[str, tantivy.Index]:
        generation = f"g{time.time_ns()}-{uuid.uuid4().hex[:6]}"
        path = self.root / config.uid / generation
        path.mkdir(parents=True)
        index = tantivy.Index(_schema(config), path=str(path))
        index.register_tokenizer(_ANALYZER, _analyzer(config))
        return generation, index

    def _publish(self, config: IndexConfig, generation: str) -> None:
        pointer = self._pointer(config)
        staging = pointer.with_suffix(f".{uuid.uuid4().hex[:6]}")
        staging.write_text(generation)
        os.replace(staging, pointer)  # atomic: readers see the old generation or the new one
        keep = {generation}
        for child in pointer.parent.iterdir():
            if child.is_dir() and child.name not in keep and child.name != self._previous(config):
                shutil.rmtree(child, ignore_errors=True)

    def _previous(self, config: IndexConfig) -> str | None:
        opened = self._open.get(config.uid)
        return opened.generation if opened else None

    def _opened(self, config: IndexConfig) -> _Open:
        pointer = self._pointer(config)
        try:
            generation = pointer.read_text().strip()
        except FileNotFoundError:
            generation, _ = self._new_generation(config)
            self._publish(config, generation)
        current = self._open.get(config.uid)
        if current is not None and current.generation == generation:
            return current
        schema = _schema(config)
        index = tantivy.Index(schema, path=str(pointer.parent / generation), reuse=True)
        analyzer = _analyzer(config)
        index.register_tokenizer(_ANALYZER, analyzer)
        opened = _Open(generation, index, schema, analyzer)
        self._open[config.uid] = opened
        return opened

    # -- writes --------------------------------------------------------------------------------------

    def _write(self, config: IndexConfig, documents: list[Document], ids: list[str]) -> None:
        with self._write_lock:
            opened = self._opened(config)
            try:
                writer = opened.index.writer(_WRITER_HEAP, 1)
            except ValueError as exc:  # another process holds the writer lock
                raise SearchBackendError(f"embedded index {config.uid!r} is locked: {exc}") from exc
            try:
                for doc_id in ids:
                    writer.delete_documents_by_term(_ID, doc_id)
                for document in documents:
                    writer.delete_documents_by_term(_ID, str(document[config.primary_key]))
                    writer.add_document(_tantivy_document(config, document))
                writer.commit()
            except Exception:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            opened.index.reload()

    async def prepare(self, config: IndexConfig, *, dimensions: int | None = None) -> None:
        await anyio.to_thread.run_sync(self._opened, config)

    async def upsert(self, config: IndexConfig, documents: list[Document]) -> None:
        if documents:
            await anyio.to_thread.run_sync(self._write, config, documents, [])

    async def delete(self, config: IndexConfig, ids: list[str]) -> None:
        if ids:
            await anyio.to_thread.run_sync(self._write, config, [], ids)

    async def rebuild(
        self, config: IndexConfig, batches: AsyncIterator[list[Document]], progress: Progress | None = None
    ) -> int:
        generation, index = await anyio.to_thread.run_sync(self._new_generation, config)
        writer = index.writer(_WRITER_HEAP, 0)
        count = 0
        try:
            async for batch in batches:

                def add(batch: list[Document] = batch) -> None:
                    for document in batch:
                        writer.add_document(_tantivy_document(config, document))

                await anyio.to_thread.run_sync(add)
                count += len(batch)
                if progress is not None:
                    progress(len(batch))
            await anyio.to_thread.run_sync(writer.commit)
            await anyio.to_thread.run_sync(writer.wait_merging_threads)
        except BaseException:
            writer.rollback()
            shutil.rmtree(self.root / config.uid / generation, ignore_errors=True)
            raise
        with self._write_lock:
            self._publish(config, generation)
        return count

    # -- reads ---------------------------------------------------------------------------------------

    def _search(self, config: IndexConfig, request: SearchRequest) -> SearchResult:
        opened = self._opened(config)
        opened.index.reload()
        builder = _QueryBuilder(config, opened)
        text = builder.text(request.q) if request.q else None
        filters = [builder.filter(f) for f in request.filters]
        searcher = opened.index.searcher()
        if text is not None and request.semantic is not None:
            return self._hybrid(config, searcher, text, filters, request, request.semantic)
        clauses = [(tantivy.Occur.Must, q) for q in ([text] if text is not None else []) + filters]
        query = tantivy.Query.boolean_query(clauses) if clauses else tantivy.Query.all_query()
        limit = max(0, min(request.per_page, config.max_total_hits - request.offset))
        order: dict[str, Any] = {}
        if request.sort is not None:
            attribute, direction = request.sort
            order = {
                "order_by_field": _filter_field(attribute),
                "order": tantivy.Order.Asc if direction == "asc" else tantivy.Order.Desc,
            }
        result = searcher.search(query, limit=max(limit, 1), count=True, offset=request.offset, **order)
        hits = [json.loads(bytes(searcher.doc(address)[_SOURCE][0])) for _, address in result.hits[:limit]]
        return SearchResult(
            hits=_displayed(config, hits),
            total_hits=min(int(getattr(result, "count", 0) or 0), config.max_total_hits),
            page=request.page,
            per_page=request.per_page,
            facets=_facets(config, searcher, query, request.facets),
        )

    def _hybrid(
        self,
        config: IndexConfig,
        searcher: tantivy.Searcher,
        text: tantivy.Query,
        filters: list[tantivy.Query],
        request: SearchRequest,
        semantic: Semantic,
    ) -> SearchResult:
        """Words and meaning fused. A document is found by its words, or by its calibrated similarity
        (at least the index's `minSemanticScore`, and `relativeSemanticScore` of the best), and ranked
        by (1 - ratio) * keyword + ratio * semantic, the keyword score being BM25 relative to the best
        text match. Every document the filters keep is compared with the query: the indexes hold
        posts and opportunities, thousands, not millions."""
        kept = (
            tantivy.Query.boolean_query([(tantivy.Occur.Must, f) for f in filters])
            if filters
            else tantivy.Query.all_query()
        )
        total_docs = max(int(searcher.num_docs), 1)
        candidates = searcher.search(kept, limit=total_docs).hits
        docs = {_key(address): searcher.doc(address) for _, address in candidates}
        query_vector = np.asarray(semantic.vector, dtype=np.float32)
        similarity: dict[tuple[int, int], float] = {}
        for key, doc in docs.items():
            raw = doc.get_first(_VECTOR)
            if raw and len(raw) == query_vector.nbytes:
                similarity[key] = semantic.score(
                    float(np.frombuffer(bytes(raw), dtype=np.float32) @ query_vector)
                )
        with_words = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, text), *((tantivy.Occur.Must, f) for f in filters)]
        )
        keyword = {
            _key(address): score
            for score, address in searcher.search(with_words, limit=config.max_total_hits).hits
        }
        best = max(keyword.values(), default=0.0) or 1.0
        least = semantic.least(max(similarity.values(), default=0.0))
        found = set(keyword) | {key for key, score in similarity.items() if score >= least}
        fused = {
            key: (1 - semantic.ratio) * keyword.get(key, 0.0) / best
            + semantic.ratio * similarity.get(key, 0.0)
            for key in found
        }
        sources = {key: json.loads(bytes(docs[key][_SOURCE][0])) for key in found}
        ranked = sorted(found, key=lambda key: (-fused[key], sources[key].get(config.primary_key, "")))
        if request.sort is not None:
            attribute, direction = request.sort
            present = [k for k in ranked if sources[k].get(attribute) is not None]
            present.sort(key=lambda k: sources[k][attribute], reverse=direction == "desc")
            ranked = present + [k for k in ranked if sources[k].get(attribute) is None]
        ranked = ranked[: config.max_total_hits]
        page = ranked[request.offset : request.offset + request.per_page]
        union = tantivy.Query.boolean_query(
            [
                *((tantivy.Occur.Must, f) for f in filters),
                (
                    tantivy.Occur.Must,
                    tantivy.Query.boolean_query(
                        [
                            (tantivy.Occur.Should, text),
                            (
                                tantivy.Occur.Should,
                                tantivy.Query.term_set_query(
                                    self._opened(config).schema,
                                    _ID,
                                    [str(sources[k][config.primary_key]) for k in found],
                                ),
                            ),
                        ]
                    ),
                ),
            ]
        )
        return SearchResult(
            hits=_displayed(config, [sources[k] for k in page]),
            total_hits=len(ranked),
            page=request.page,
            per_page=request.per_page,
            facets=_facets(config, searcher, union, request.facets)
            if found
            else {n: {} for n in request.facets},
        )

    async def search(self, config: IndexConfig, request: SearchRequest) -> SearchResult:
        return await anyio.to_thread.run_sync(self._search, config, request)

    def _ids(self, config: IndexConfig) -> set[str]:
        opened = self._opened(config)
        opened.index.reload()
        searcher = opened.index.searcher()
        live = searcher.terms_with_prefix(_ID, "", filter_query=tantivy.Query.all_query())
        return {term for term, count in live if count > 0}

    async def document_ids(self, config: IndexConfig) -> set[str]:
        return await anyio.to_thread.run_sync(self._ids, config)

    async def close(self) -> None:
        self._open.clear()


def _key(address: tantivy.DocAddress) -> tuple[int, int]:
    return (address.segment_ord, address.doc)


def _displayed(config: IndexConfig, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    displayed = set(config.displayed)
    return [{k: v for k, v in hit.items() if k in displayed} for hit in hits]


def _facets(
    config: IndexConfig, searcher: tantivy.Searcher, query: tantivy.Query, names: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    if not names:
        return {}
    spec = {
        name: {"terms": {"field": _filter_field(name), "size": config.max_values_per_facet}} for name in names
    }
    aggregated = searcher.aggregate(query, spec)
    return {
        name: {_facet_key(b["key"]): int(b["doc_count"]) for b in aggregated.get(name, {}).get("buckets", [])}
        for name in names
    }


def _facet_key(key: Any) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)
