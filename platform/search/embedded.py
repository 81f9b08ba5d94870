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

import hashlib
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
import numpy.typing as npt
import tantivy

from diaspora.platform.search.backend import Document, Progress, SearchBackendError
from diaspora.platform.search.config import IndexConfig
from diaspora.platform.search.query import Between, Equals, Filter, SearchRequest, SearchResult, Semantic
from diaspora.platform.search.vectors import VECTORS

_ID = "_id"
_SOURCE = "_source"
_VECTOR = "_vector"  # the document's unit vector, float32 bytes (hybrid search)
_ROW = "_row"  # a 64-bit number derived from the id: a fast field, read without loading documents
_STAMP = "STAMP"  # changes with every write, so that other processes' caches know they are stale
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
    builder.add_integer_field(_ROW, fast=True)
    for name in config.searchable:
        builder.add_text_field(_text_field(name), tokenizer_name=_ANALYZER)
    for name in sorted(config.filterable | config.sortable):
        if config.fields[name] == "integer":
            builder.add_integer_field(_filter_field(name), indexed=True, fast=True)
        else:
            builder.add_text_field(_filter_field(name), tokenizer_name="raw", fast=True)
    return builder.build()


def _row_of(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big", signed=True)


def _vector_of(config: IndexConfig, document: Document) -> npt.NDArray[np.float32] | None:
    vector = (document.get(VECTORS) or {}).get(config.hybrid.embedder)
    return np.asarray(vector, dtype=np.float32) if vector is not None and len(vector) else None


class _Vectors:
    """The unit vectors of one index generation in memory (float32, for BLAS), by row number; `stamp`
    says which state of the index they reflect. Writes of this process update them in place; another
    process's write changes the index's stamp, and they are read again."""

    def __init__(self, generation: str, stamp: str) -> None:
        self.generation = generation
        self.stamp = stamp
        self.ids: dict[int, str] = {}
        self.slot: dict[int, int] = {}
        self.matrix: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self.size = 0
        self.free: list[int] = []

    def put(self, row: int, doc_id: str, vector: npt.NDArray[np.float32] | None) -> None:
        if vector is None or (self.matrix.shape[1] and vector.shape[0] != self.matrix.shape[1]):
            self.remove(row)
            return
        if not self.matrix.shape[1]:
            self.matrix = np.zeros((64, vector.shape[0]), dtype=np.float32)
        slot = self.slot.get(row)
        if slot is None:
            slot = self.free.pop() if self.free else self._append()
        self.matrix[slot] = vector
        self.slot[row] = slot
        self.ids[row] = doc_id

    def remove(self, row: int) -> None:
        self.ids.pop(row, None)
        slot = self.slot.pop(row, None)
        if slot is not None:
            self.free.append(slot)

    def _append(self) -> int:
        if self.size == self.matrix.shape[0]:
            grown = np.zeros((max(64, 2 * self.size), self.matrix.shape[1]), dtype=np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
        self.size += 1
        return self.size - 1


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _tantivy_document(config: IndexConfig, document: Document) -> tantivy.Document:
    vector = _vector_of(config, document)
    document = {k: v for k, v in document.items() if k != VECTORS}
    fields: dict[str, Any] = {
        _ID: str(document[config.primary_key]),
        _ROW: _row_of(str(document[config.primary_key])),
        _SOURCE: json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
    }
    if vector is not None:
        fields[_VECTOR] = vector.tobytes()
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
        self._open_lock = threading.Lock()  # taken after `_write_lock` where both are held
        self._write_lock = threading.Lock()
        self._vectors: dict[str, _Vectors] = {}
        self._vectors_lock = threading.Lock()
        self.outdated: set[str] = set()  # indexes found in an older layout, replaced by empty ones

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

    def _stamp(self, config: IndexConfig) -> str:
        try:
            return (self.root / config.uid / _STAMP).read_text().strip()
        except FileNotFoundError:
            return ""

    def _restamp(self, config: IndexConfig) -> str:
        stamp = uuid.uuid4().hex
        path = self.root / config.uid / _STAMP
        staging = path.with_suffix(f".{stamp[:6]}")
        staging.write_text(stamp)
        os.replace(staging, path)
        return stamp

    def _first_generation(self, config: IndexConfig) -> str:
        """Creates an index's first generation, unless another thread or process got there first."""
        pointer = self._pointer(config)
        generation, _ = self._new_generation(config)
        staging = pointer.with_suffix(f".{uuid.uuid4().hex[:6]}")
        staging.write_text(generation)
        try:
            os.link(staging, pointer)  # atomic, and refused when the pointer exists
        except FileExistsError:
            shutil.rmtree(pointer.parent / generation, ignore_errors=True)
            generation = pointer.read_text().strip()
        finally:
            staging.unlink()
        return generation

    def _opened(self, config: IndexConfig) -> _Open:
        # One thread at a time: readers arriving together at a new index would otherwise each create a
        # first generation and delete the others' (seen as a 500 on the first searches after start).
        with self._open_lock:
            return self._open_current(config)

    def _open_current(self, config: IndexConfig) -> _Open:
        pointer = self._pointer(config)
        try:
            generation = pointer.read_text().strip()
        except FileNotFoundError:
            generation = self._first_generation(config)
        current = self._open.get(config.uid)
        if current is not None and current.generation == generation:
            return current
        schema = _schema(config)
        try:
            index = tantivy.Index(schema, path=str(pointer.parent / generation), reuse=True)
        except ValueError as exc:
            if "schema does not match" not in str(exc):
                raise
            # Written by an earlier version with other fields: start an empty generation, and say so,
            # so that the search service rebuilds it from the database.
            generation, index = self._new_generation(config)
            self._publish(config, generation)
            self.outdated.add(config.uid)
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
            before, after = self._stamp(config), self._restamp(config)
            with self._vectors_lock:
                cached = self._vectors.get(config.uid)
                if cached is not None and (cached.generation, cached.stamp) == (opened.generation, before):
                    for doc_id in ids:
                        cached.remove(_row_of(doc_id))
                    for document in documents:
                        doc_id = str(document[config.primary_key])
                        cached.put(_row_of(doc_id), doc_id, _vector_of(config, document))
                    cached.stamp = after

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
        with self._write_lock, self._open_lock:
            self._publish(config, generation)
            self._restamp(config)
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
            return self._hybrid(config, opened, searcher, text, filters, request, request.semantic)
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

    def _cached_vectors(self, config: IndexConfig, opened: _Open, searcher: tantivy.Searcher) -> _Vectors:
        stamp = self._stamp(config)
        with self._vectors_lock:
            cached = self._vectors.get(config.uid)
            if cached is not None and (cached.generation, cached.stamp) == (opened.generation, stamp):
                return cached
            fresh = _Vectors(opened.generation, stamp)
            everything = searcher.search(tantivy.Query.all_query(), limit=max(int(searcher.num_docs), 1))
            for _, address in everything.hits:
                doc = searcher.doc(address)
                doc_id, raw = doc.get_first(_ID), doc.get_first(_VECTOR)
                vector = np.frombuffer(bytes(raw), dtype=np.float32) if raw else None
                fresh.put(_row_of(str(doc_id)), str(doc_id), vector)
            self._vectors[config.uid] = fresh
            return fresh

    def _hybrid(
        self,
        config: IndexConfig,
        opened: _Open,
        searcher: tantivy.Searcher,
        text: tantivy.Query,
        filters: list[tantivy.Query],
        request: SearchRequest,
        semantic: Semantic,
    ) -> SearchResult:
        """Words and meaning fused. A document is found by its words, or by its calibrated similarity
        (at least the index's `minSemanticScore`, and `relativeSemanticScore` of the best), and ranked
        by (1 - ratio) * keyword + ratio * semantic, the keyword score being BM25 relative to the best
        text match. The vectors live in memory (float16, by a row number that is a fast field), so
        comparing the query with every document the filters keep reads no stored document."""
        vectors = self._cached_vectors(config, opened, searcher)
        total_docs = max(int(searcher.num_docs), 1)
        kept_rows: list[int] | None = None
        if filters:
            kept = tantivy.Query.boolean_query([(tantivy.Occur.Must, f) for f in filters])
            addresses = [address for _, address in searcher.search(kept, limit=total_docs).hits]
            kept_rows = _rows(searcher, addresses)
        rows: list[int] = []
        cosines: npt.NDArray[np.float32] | None = None
        query = np.asarray(semantic.vector, dtype=np.float32)
        with self._vectors_lock:  # this process's writes change the vectors in place
            if vectors.size and vectors.matrix.shape[1] == query.shape[0]:
                if kept_rows is None:
                    rows = list(vectors.slot)
                    slots = list(vectors.slot.values())
                    cosines = (vectors.matrix[: vectors.size] @ query)[slots]
                else:
                    rows = [r for r in kept_rows if r in vectors.slot]
                    cosines = vectors.matrix[[vectors.slot[r] for r in rows]] @ query
        with_words = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, text), *((tantivy.Occur.Must, f) for f in filters)]
        )
        text_hits = searcher.search(with_words, limit=config.max_total_hits).hits
        text_rows = _rows(searcher, [address for _, address in text_hits])
        keyword = {row: score for row, (score, _) in zip(text_rows, text_hits, strict=True)}
        address_of = {row: address for row, (_, address) in zip(text_rows, text_hits, strict=True)}
        best = max(keyword.values(), default=0.0) or 1.0
        # The semantic scores stay in numpy: only the documents found, and those found by words, are
        # looked at one by one.
        similarity: dict[int, float] = {}
        by_meaning: set[int] = set()
        if cosines is not None and rows:
            spread = semantic.same - semantic.unrelated
            scores = np.clip((cosines - semantic.unrelated) / spread, 0.0, 1.0)
            ordered = np.asarray(rows, dtype=np.int64)
            chosen = np.flatnonzero(scores >= semantic.least(float(scores.max())))
            similarity = dict(zip(ordered[chosen].tolist(), scores[chosen].tolist(), strict=True))
            by_meaning = set(similarity) - set(keyword)
            if keyword:  # the semantic score of what words found, wherever it ranks by meaning
                sorter = np.argsort(ordered)
                wanted = np.asarray(list(keyword), dtype=np.int64)
                at = np.clip(np.searchsorted(ordered, wanted, sorter=sorter), 0, len(ordered) - 1)
                hit = ordered[sorter[at]] == wanted
                similarity.update(zip(wanted[hit].tolist(), scores[sorter[at][hit]].tolist(), strict=True))
        found = set(keyword) | by_meaning
        fused = {
            row: (1 - semantic.ratio) * keyword.get(row, 0.0) / best
            + semantic.ratio * similarity.get(row, 0.0)
            for row in found
        }
        ranked = sorted(found, key=lambda row: (-fused[row], row))[: config.max_total_hits]
        with self._vectors_lock:
            meaning_ids = [doc_id for doc_id in map(vectors.ids.get, by_meaning) if doc_id is not None]
        if meaning_ids:  # where the documents found by meaning alone are
            located = searcher.search(
                tantivy.Query.term_set_query(opened.schema, _ID, meaning_ids), limit=len(meaning_ids)
            ).hits
            for row, (_, address) in zip(_rows(searcher, [a for _, a in located]), located, strict=True):
                address_of[row] = address
        ranked = [row for row in ranked if row in address_of]
        if request.sort is not None:
            ranked = self._sorted(config, searcher, ranked, address_of, request.sort)
        page = ranked[request.offset : request.offset + request.per_page]
        hits = [json.loads(bytes(searcher.doc(address_of[row])[_SOURCE][0])) for row in page]
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
                                tantivy.Query.term_set_query(opened.schema, _ID, meaning_ids),
                            ),
                        ]
                    ),
                ),
            ]
        )
        return SearchResult(
            hits=_displayed(config, hits),
            total_hits=len(ranked),
            page=request.page,
            per_page=request.per_page,
            facets=_facets(config, searcher, union, request.facets)
            if found
            else {n: {} for n in request.facets},
        )

    def _sorted(
        self,
        config: IndexConfig,
        searcher: tantivy.Searcher,
        rows: list[int],
        address_of: dict[int, tantivy.DocAddress],
        sort: tuple[str, str],
    ) -> list[int]:
        """`rows` (in relevance order) ordered by a sortable attribute; documents without it come last."""
        attribute, direction = sort
        addresses = [address_of[row] for row in rows]
        if config.fields[attribute] == "integer":
            values = searcher.fast_field_values(_filter_field(attribute), addresses)
        else:
            values = [json.loads(bytes(searcher.doc(a)[_SOURCE][0])).get(attribute) for a in addresses]
        present = [(value, row) for value, row in zip(values, rows, strict=True) if value is not None]
        present.sort(key=lambda pair: pair[0], reverse=direction == "desc")  # stable: relevance breaks ties
        return [row for _, row in present] + [
            row for value, row in zip(values, rows, strict=True) if value is None
        ]

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


def _rows(searcher: tantivy.Searcher, addresses: list[tantivy.DocAddress]) -> list[int]:
    """The row numbers of documents, in order (every document has one)."""
    return [int(row or 0) for row in searcher.fast_field_values(_ROW, addresses)]


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
