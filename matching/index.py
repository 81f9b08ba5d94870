"""In-memory vector indexes: one contiguous matrix of unit vectors plus filter columns as numpy arrays.

Ranking is one matrix-vector product, hard filters applied as a boolean mask before top-k. Rows are stored as
float16 by default (half the memory of float32; torch's half-precision matrix-vector kernel reads them at
memory speed), and can be float32. Rows are updated in place, removed by flag and appended with amortised
growth, so keeping the index current costs work proportional to what changed.

When the filters keep many rows of a large index, the product over the whole matrix is the cost (half a
gigabyte read per query at a million profiles). A compact code of every row (`CompactScan`: FAISS's
4-bit product quantiser read by its register-resident "fast scan", 96 bytes a row at 384 dimensions) then
shortlists candidates a few thousand at a time, and those are scored exactly from the matrix; rows changed
since they were coded are always scored exactly. `code_appended` codes new rows (quick); `build_compact`
builds the code anew when `compact_build_due` (seconds at a million rows: in a worker thread, while the
index goes on changing and serving).

Each row can also carry the taxonomy occupations its title is linked to (`set_links`, up to `LINK_SLOTS`
codes), with a posting list per occupation: `linked_rows` finds the allowed rows linked to given occupations
without reading the matrix, the candidate source that finds the "tree surgeon" an "arborist" post needs when
the encoder does not place them close. A row changed since it was linked is not linked until it is again
(`unlinked` lists them).

An index can be saved to a folder of `.npy` files (`save`) and opened again (`load`) memory-mapped
copy-on-write: a new process starts from the snapshot in about the time it takes to read the ids, the
processes of a host that open one snapshot share its pages until they change a row, and spare rows saved
with it let new entities in without copying the matrix.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import os
import shutil
import threading
from array import array
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from diaspora.matching.documents import PostDocument, ProfileDocument

if TYPE_CHECKING:
    import faiss

Dtype = Literal["float16", "float32"]
_NO_DATE = np.iinfo(np.int32).min
SNAPSHOT_FORMAT = 2
LINK_SLOTS = 3  # occupations kept per row (the linker keeps three readings of a title)
# The most rows `linked_rows` scores for one query (gathering them is its cost: 3 MB at 384 dimensions).
LINK_SCAN = 4096
_ADDED_ARRAYS = ("_links", "_linked")  # row arrays a snapshot of the same format may lack (older ones)
IndexT = TypeVar("IndexT", bound="VectorIndex")


class SnapshotError(ValueError):
    """A saved index that cannot be opened as this kind of index (another format, kind or a broken file)."""


# Below this share of rows kept by the filters, scoring only the kept rows (a gather, then a product) beats
# one product over the whole matrix; measured with bench/ranking.py (the crossover lies near a third).
SUBSET_SHARE = 0.2


# The compact scan: used from this many rows up (below it, the whole matrix is read in a few milliseconds);
# the shortlist it hands to exact scoring holds at least SHORTLIST rows and SHORTLIST_PER_RESULT per result
# asked, divided by the share the filters keep; rebuilt when more than REBUILD_SHARE of the rows changed
# since it was built. Recall@50 against exact float32 is 1.00 at a million random profiles
# (bench/ranking.py), the hardest case for a quantiser: real embeddings are far from uniform.
COMPACT_MIN_ROWS = 50_000
SHORTLIST = 4_000
SHORTLIST_PER_RESULT = 40
REBUILD_SHARE = 0.1
_TRAINING_ROWS = 50_000


class CompactScan:
    """A compact code of an index's rows for shortlisting: FAISS's `IndexPQFastScan` (product quantiser,
    two dimensions a sub-quantiser, 4 bits each), trained on a sample of the rows. Row numbers are the
    index's: rows are coded in order, and rows appended later are added at the end."""

    def __init__(self, vectors: npt.NDArray[Any], *, seed: int = 0) -> None:
        import faiss

        rows, dimension = vectors.shape
        self._faiss: faiss.IndexPQFastScan = faiss.IndexPQFastScan(
            dimension, dimension // 2, 4, faiss.METRIC_INNER_PRODUCT
        )
        sample = np.random.default_rng(seed).choice(rows, size=min(rows, _TRAINING_ROWS), replace=False)
        self._faiss.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
        self.add(vectors)

    @property
    def rows(self) -> int:
        return int(self._faiss.ntotal)

    def add(self, vectors: npt.NDArray[Any]) -> None:
        for first in range(0, len(vectors), 100_000):
            self._faiss.add(np.ascontiguousarray(vectors[first : first + 100_000], dtype=np.float32))

    def shortlist(self, query: npt.NDArray[np.float32], count: int) -> npt.NDArray[np.int64]:
        """The rows whose codes score highest against `query` (up to `count`)."""
        _, found = self._faiss.search(np.ascontiguousarray(query[None], dtype=np.float32), count)
        rows: npt.NDArray[np.int64] = found[0].astype(np.int64)
        return rows[rows >= 0]


def _ordinal(day: date | None) -> int:
    return day.toordinal() if day is not None else _NO_DATE


def _write_rows(path: Path, array: npt.NDArray[Any], size: int, spare: int) -> None:
    """Save the first `size` rows of `array` as a `.npy` file with `spare` zero rows after them (left as a
    hole in the file: no disk is written for them), to be opened memory-mapped.

    Written through plain file writes, a few megabytes at a time: the interpreter is let go during each
    write, so a process that saves its index (150 MB at 100,000 profiles) goes on answering requests. Copying
    into a memory-mapped file instead held it for the whole copy, and stalled every request meanwhile."""
    rows = np.ascontiguousarray(array[:size])
    header = {
        "descr": np.lib.format.dtype_to_descr(rows.dtype),
        "fortran_order": False,
        "shape": (size + spare, *array.shape[1:]),
    }
    row_bytes = int(np.prod(array.shape[1:], dtype=np.int64)) * rows.dtype.itemsize
    step = max(1, (4 << 20) // max(1, row_bytes))
    with path.open("wb") as handle:
        np.lib.format.write_array_header_2_0(handle, header)
        for first in range(0, size if row_bytes else 0, step):
            handle.write(rows[first : first + step].data.cast("B"))
        handle.truncate(handle.tell() + spare * row_bytes)


class VectorIndex:
    """Vectors and string ids of one kind of entity, with a language column per language seen."""

    # Arrays with one entry per row (saved with spare rows, opened memory-mapped), and others (saved whole).
    _ROW_ARRAYS: tuple[str, ...] = ("_vectors", "_alive", "_languages", "_versions", "_links", "_linked")
    _OTHER_ARRAYS: tuple[str, ...] = ()

    def __init__(self, dimension: int, *, dtype: Dtype = "float16", capacity: int = 1024) -> None:
        self.dimension = dimension
        self.dtype = dtype
        self._np_dtype = np.float16 if dtype == "float16" else np.float32
        self._vectors = np.zeros((capacity, dimension), dtype=self._np_dtype)
        self._alive = np.zeros(capacity, dtype=bool)
        self._languages = np.zeros((capacity, 0), dtype=bool)
        # The version of what each row holds (its entity's last change, microseconds since the epoch; 0
        # unknown): a refresh that sees the same version again has nothing to do for it.
        self._versions = np.zeros(capacity, dtype=np.int64)
        # The occupations each row's title is linked to (codes; -1 fills unused slots), whether it has been
        # linked since it last changed, and each occupation's rows (entries of rows linked otherwise since
        # are left in place and skipped when read, until they make up half: then the lists are rebuilt).
        self._links = np.full((capacity, LINK_SLOTS), -1, dtype=np.int32)
        self._linked = np.zeros(capacity, dtype=bool)
        self._postings: dict[int, array[int]] = {}
        self._postings_entries = self._postings_stale = 0
        self._language_columns: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._rows: dict[str, int] = {}
        self._init_compact()

    def _init_compact(self) -> None:
        self.compact_min_rows = COMPACT_MIN_ROWS
        self._compact: CompactScan | None = None
        self._stale: set[int] = set()  # coded rows changed since they were coded
        self._changing: set[int] | None = None  # rows changed while a new code is being built
        self._compact_lock = threading.Lock()  # FAISS may not be searched while rows are added

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._rows

    @property
    def size(self) -> int:
        """Rows in use, including removed ones not yet reused."""
        return len(self._ids)

    @property
    def nbytes(self) -> int:
        return int(self._vectors[: self.size].nbytes)

    def id_at(self, row: int) -> str:
        entity_id = self._ids[row]
        assert entity_id is not None
        return entity_id

    def row_of(self, entity_id: str) -> int | None:
        return self._rows.get(entity_id)

    def vector_of(self, entity_id: str) -> npt.NDArray[np.float32] | None:
        """The stored vector of an entity (as float32), or None if it is not indexed."""
        row = self._rows.get(entity_id)
        return None if row is None else self._vectors[row].astype(np.float32)

    def ids(self) -> list[str]:
        return list(self._rows)

    def _grow(self, needed: int) -> None:
        capacity = len(self._alive)
        if needed <= capacity:
            return
        new_capacity = max(needed, capacity * 2)
        for name in VectorIndex._ROW_ARRAYS:  # the base class's; subclasses grow theirs in _grow_extra
            old = getattr(self, name)
            new = np.full((new_capacity, *old.shape[1:]), -1 if name == "_links" else 0, dtype=old.dtype)
            new[:capacity] = old
            setattr(self, name, new)
        self._grow_extra(capacity, new_capacity)

    def _grow_extra(self, old_capacity: int, new_capacity: int) -> None:
        """Subclasses grow their own per-row columns here."""

    def _language_column(self, code: str) -> int:
        column = self._language_columns.get(code)
        if column is None:
            column = len(self._language_columns)
            self._language_columns[code] = column
            extra = np.zeros((len(self._alive), 1), dtype=bool)
            self._languages = np.concatenate([self._languages, extra], axis=1)
        return column

    def version_of(self, entity_id: str) -> int | None:
        """The version an entity was indexed at (0 when not given), or None if it is not indexed."""
        row = self._rows.get(entity_id)
        return None if row is None else int(self._versions[row])

    def _put(
        self, entity_id: str, vector: npt.NDArray[np.float32], languages: Iterable[str], version: int
    ) -> int:
        if vector.shape != (self.dimension,):
            raise ValueError(
                f"vector of shape {vector.shape} given; this index holds {self.dimension} dimensions"
            )
        row = self._rows.get(entity_id)
        if row is None:
            row = len(self._ids)
            self._grow(row + 1)
            self._ids.append(entity_id)
            self._rows[entity_id] = row
        if self._compact is not None and row < self._compact.rows:
            self._stale.add(row)
        if self._changing is not None:
            self._changing.add(row)
        self._vectors[row] = vector
        self._versions[row] = version
        self._alive[row] = True
        self._unlink(row)  # its title may have changed: linked again by whoever indexes it
        self._languages[row] = False
        for code in languages:
            column = self._language_column(code)  # may widen the array: look it up before indexing
            self._languages[row, column] = True
        return row

    def remove(self, entity_id: str) -> bool:
        """Forget an entity; returns whether it was there."""
        row = self._rows.pop(entity_id, None)
        if row is None:
            return False
        self._alive[row] = False
        self._ids[row] = None
        self._vectors[row] = 0
        self._unlink(row)
        self._on_remove(row)
        return True

    # -- occupation links --------------------------------------------------------------------------------

    def _unlink(self, row: int) -> None:
        if self._linked[row]:
            self._postings_stale += int((self._links[row] >= 0).sum())
        self._links[row] = -1
        self._linked[row] = False

    def set_links(self, entity_id: str, codes: Sequence[int]) -> None:
        """The occupations (taxonomy codes, best first; those past `LINK_SLOTS` are dropped) an indexed
        entity's title is linked to, as of its indexed version; none is a link too ("links to nothing")."""
        row = self._rows.get(entity_id)
        if row is None:
            return
        self._unlink(row)
        kept = list(dict.fromkeys(int(c) for c in codes if c >= 0))[:LINK_SLOTS]
        self._links[row, : len(kept)] = kept
        self._linked[row] = True
        for code in kept:
            self._postings.setdefault(code, array("i")).append(row)
        self._postings_entries += len(kept)
        if self._postings_stale > max(1024, self._postings_entries // 2):
            self._rebuild_postings()

    def forget_links(self) -> None:
        """Every row unlinked (the taxonomy whose codes they hold is not the one in use)."""
        self._links = np.full_like(self._links, -1)
        self._linked = np.zeros_like(self._linked)
        self._postings, self._postings_entries, self._postings_stale = {}, 0, 0

    def unlinked_count(self) -> int:
        """Indexed entities not linked since they last changed."""
        n = self.size
        return int(np.count_nonzero(self._alive[:n] & ~self._linked[:n]))

    def unlinked(self, limit: int) -> list[str]:
        """Up to `limit` indexed entities not linked since they last changed (oldest rows first)."""
        n = self.size
        rows = np.flatnonzero(self._alive[:n] & ~self._linked[:n])[:limit]
        return [self.id_at(int(r)) for r in rows]

    def links_of(self, entity_id: str) -> list[int] | None:
        """The occupation codes an entity is linked to; None when not indexed or not linked yet."""
        row = self._rows.get(entity_id)
        if row is None or not self._linked[row]:
            return None
        return [int(c) for c in self._links[row] if c >= 0]

    def _rebuild_postings(self) -> None:
        n = self.size
        flat = self._links[:n].ravel()
        rows = np.repeat(np.arange(n, dtype=np.int32), LINK_SLOTS)
        keep = (flat >= 0) & np.repeat(self._linked[:n] & self._alive[:n], LINK_SLOTS)
        flat, rows = flat[keep], rows[keep]
        order = np.argsort(flat, kind="stable")
        flat, rows = flat[order], rows[order]
        starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]]) if len(flat) else np.zeros(0, int)
        postings: dict[int, array[int]] = {}
        for start, end in itertools.pairwise([*starts.tolist(), len(flat)]):
            entries = array("i")
            entries.frombytes(rows[start:end].tobytes())
            postings[int(flat[start])] = entries
        self._postings = postings
        self._postings_entries, self._postings_stale = len(flat), 0

    def linked_rows(
        self,
        codes: Sequence[int],
        query: npt.NDArray[np.float32],
        mask: npt.NDArray[np.bool_] | None,
        k: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The `k` rows closest to `query` among those `mask` allows (all live rows when None) that are
        linked to any of these occupations, and their similarities, best first: reads the occupations'
        posting lists and those rows of the matrix only."""
        wanted = sorted({int(c) for c in codes if c >= 0})
        lists = [np.array(self._postings[c], dtype=np.int64) for c in wanted if c in self._postings]
        if not lists or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        entries = np.concatenate(lists)
        if len(entries) > self.size // 32:  # many: marking them costs less than sorting them
            hit = np.zeros(self.size, dtype=bool)
            hit[entries] = True
            rows = np.flatnonzero(hit)
        else:
            rows = np.unique(entries)
        allowed = self._alive[rows] if mask is None else mask[rows] & self._alive[rows]
        rows = rows[allowed & np.isin(self._links[rows], wanted).any(axis=1)]
        if len(rows) > LINK_SCAN:
            # An occupation that many share: those whose title reads as it first, then an even spread
            # of them. The encoder's own candidates are where such an occupation's closest rows are
            # most likely anyway; this channel is for the ones it misses.
            primary = rows[np.isin(self._links[rows, 0], wanted)]
            if len(primary) >= LINK_SCAN:
                rows = primary
            if len(rows) > LINK_SCAN:
                rows = rows[np.linspace(0, len(rows) - 1, LINK_SCAN).astype(np.int64)]
        return self._top_of(query, k, rows, None)  # few rows: gathered and scored

    def _on_remove(self, row: int) -> None:
        """Subclasses clear their per-row columns here."""

    def flush(self) -> None:
        """Finish a bulk load (a no-op unless a subclass defers work)."""

    def base_mask(self) -> npt.NDArray[np.bool_]:
        return self._alive[: self.size].copy()

    # -- snapshots ---------------------------------------------------------------------------------------

    def save(self, folder: Path, **meta: Any) -> None:
        """Write the index into `folder`, replacing what was there only once the new files are complete.
        `meta` goes into the manifest (what the caller needs to know whether the snapshot still applies)."""
        self.flush()
        size = self.size
        spare = max(1024, size // 10)
        building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        for name in self._ROW_ARRAYS:
            _write_rows(building / f"{name}.npy", getattr(self, name), size, spare)
        for name in self._OTHER_ARRAYS:
            np.save(building / f"{name}.npy", getattr(self, name))
        np.save(building / "ids.npy", np.array([(i or "").encode() for i in self._ids], dtype=bytes))
        manifest = {
            "format": SNAPSHOT_FORMAT,
            "kind": type(self).__name__,
            "dimension": self.dimension,
            "dtype": self.dtype,
            "size": size,
            "language_columns": sorted(self._language_columns, key=self._language_columns.__getitem__),
            "unlinked": self.unlinked_count(),
            **meta,
        }
        (building / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        retired = folder.with_name(f"{folder.name}.retired-{os.getpid()}")
        if folder.exists():
            folder.rename(retired)  # a process still reading the old files keeps them until it is done
        building.rename(folder)
        shutil.rmtree(retired, ignore_errors=True)

    @staticmethod
    def manifest(folder: Path) -> dict[str, Any] | None:
        """A snapshot's manifest, or None when there is none (or it cannot be read)."""
        try:
            manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return manifest

    @classmethod
    def load(cls: type[IndexT], folder: Path) -> IndexT:
        """Open a snapshot written by `save`, memory-mapped copy-on-write."""
        manifest = cls.manifest(folder)
        if (
            manifest is None
            or manifest.get("format") != SNAPSHOT_FORMAT
            or manifest.get("kind") != cls.__name__
        ):
            raise SnapshotError(f"{folder} holds no {cls.__name__} snapshot of format {SNAPSHOT_FORMAT}")
        index = cls(int(manifest["dimension"]), dtype=manifest["dtype"], capacity=0)
        try:
            for name in cls._ROW_ARRAYS:
                path = folder / f"{name}.npy"
                if name in _ADDED_ARRAYS and not path.exists():
                    continue  # a snapshot from before links: its rows are linked afresh
                setattr(index, name, np.load(path, mmap_mode="c"))
            capacity = len(index._alive)
            if len(index._links) != capacity:
                index._links = np.full((capacity, LINK_SLOTS), -1, dtype=np.int32)
                index._linked = np.zeros(capacity, dtype=bool)
            for name in cls._OTHER_ARRAYS:
                setattr(index, name, np.load(folder / f"{name}.npy"))
            ids = np.load(folder / "ids.npy")
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"{folder}: {exc}") from exc
        index._ids = [raw.decode() or None for raw in ids.tolist()]
        if len(index._ids) != manifest["size"] or len(index._alive) < len(index._ids):
            raise SnapshotError(f"{folder}: {len(index._ids)} ids for {manifest['size']} rows")
        index._rows = {entity_id: row for row, entity_id in enumerate(index._ids) if entity_id is not None}
        index._language_columns = {code: i for i, code in enumerate(manifest["language_columns"])}
        index._rebuild_postings()
        index._after_load()
        return index

    def _after_load(self) -> None:
        """Subclasses rebuild what they keep besides arrays here."""

    # -- the compact scan -------------------------------------------------------------------------------

    @property
    def compact_rows(self) -> int:
        """Rows the compact code covers (0 without one)."""
        return 0 if self._compact is None else self._compact.rows

    def compact_build_due(self) -> bool:
        """Whether the compact code should be built (anew): the index is large enough and has none, or
        more than `REBUILD_SHARE` of the rows it coded changed since."""
        if self.size < self.compact_min_rows:
            return False
        return self._compact is None or len(self._stale) > REBUILD_SHARE * self._compact.rows

    def build_compact(self) -> None:
        """Build the compact code anew from the rows as they are. Slow (seconds at a million rows): run it
        in a worker thread while the index goes on changing and serving; queries meanwhile use the code
        they have, and rows changed during the build are scored exactly until the next one."""
        size = self.size
        self._changing = set()
        try:
            fresh = CompactScan(self._vectors[:size])
            with self._compact_lock:
                self._compact, self._stale = fresh, set()  # from here on, changes are marked stale...
        finally:
            changing, self._changing = self._changing, None
        self._stale.update(row for row in changing if row < size)  # ...as are those made during the build

    def code_appended(self) -> None:
        """Code the rows appended since the compact code was built (quick: a few rows a refresh)."""
        compact = self._compact
        if compact is not None and compact.rows < self.size:
            with self._compact_lock:
                compact.add(self._vectors[compact.rows : self.size])

    def update_compact(self) -> bool:
        """Bring the compact code up to date at once (a build when due, else coding what was appended);
        returns whether it did anything."""
        if self.compact_build_due():
            self.build_compact()
            return True
        coded = self.compact_rows
        self.code_appended()
        return self.compact_rows != coded

    def _top_k_compact(
        self, query: npt.NDArray[np.float32], k: int, allowed: npt.NDArray[np.bool_], kept: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None:
        """Top-k through the compact code's shortlist, scored exactly; None when the shortlist holds
        fewer than `k` allowed rows (the caller then scans)."""
        compact = self._compact
        assert compact is not None
        count = math.ceil(max(SHORTLIST, SHORTLIST_PER_RESULT * k) * self.size / kept)
        with self._compact_lock:
            coded = compact.rows
            candidates = compact.shortlist(query, min(count, coded))
        # Rows whose code is out of date, or that have none yet, are scored exactly whatever their code says.
        extra = np.fromiter(self._stale, dtype=np.int64, count=len(self._stale))
        candidates = np.union1d(candidates, np.concatenate([extra, np.arange(coded, self.size)]))
        candidates = candidates[allowed[candidates]]
        if len(candidates) < k:
            return None
        vector = torch.from_numpy(np.ascontiguousarray(query, dtype=self._np_dtype))
        with torch.inference_mode():
            top = torch.topk(torch.mv(torch.from_numpy(self._vectors[candidates]), vector).float(), k)
        return candidates[top.indices.numpy()], top.values.numpy()

    def languages_mask(self, required: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Rows that have every one of `required` languages."""
        mask = np.ones(self.size, dtype=bool)
        for code in required:
            column = self._language_columns.get(code)
            if column is None:
                return np.zeros(self.size, dtype=bool)
            mask &= self._languages[: self.size, column]
        return mask

    def similarities(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Cosine similarity of `query` (unit length) with every row."""
        matrix = torch.from_numpy(self._vectors[: self.size])
        vector = torch.from_numpy(np.ascontiguousarray(query, dtype=self._np_dtype))
        with torch.inference_mode():
            return torch.mv(matrix, vector).float().numpy()

    def top_k(
        self, query: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.bool_] | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Rows of the `k` most similar entities allowed by `mask`, best first, with their similarities.

        The work adapts to how much the filters keep: when they keep few rows (a dated on-site post
        needing one language keeps about 1%), only those rows are gathered and scored; when they keep
        many, the compact code shortlists candidates that are then scored exactly (`update_compact`), or,
        without one, one product over the whole matrix costs less than the gather."""
        if self.size == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        allowed = self._alive[: self.size] if mask is None else mask & self._alive[: self.size]
        return self._top_of(query, k, np.flatnonzero(allowed), allowed)

    def _top_of(
        self,
        query: npt.NDArray[np.float32],
        k: int,
        rows: npt.NDArray[np.int64],
        allowed: npt.NDArray[np.bool_] | None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """`top_k` among `rows` (ascending; `allowed` is the same as a mask of all rows, or None to have it
        made when needed)."""
        if len(rows) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, len(rows))
        vector = torch.from_numpy(np.ascontiguousarray(query, dtype=self._np_dtype))
        if len(rows) <= self.size * SUBSET_SHARE:
            with torch.inference_mode():
                kept = torch.from_numpy(self._vectors[rows])  # a copy of the kept rows only
                top = torch.topk(torch.mv(kept, vector).float(), k)
            return rows[top.indices.numpy()].astype(np.int64), top.values.numpy()
        if allowed is None:
            allowed = np.zeros(self.size, dtype=bool)
            allowed[rows] = True
        if self._compact is not None and self.size >= self.compact_min_rows:
            found = self._top_k_compact(query, k, allowed, len(rows))
            if found is not None:
                return found
        scores = self.similarities(query)
        scores[~allowed] = -np.inf
        top = torch.topk(torch.from_numpy(scores), k)
        return top.indices.numpy().astype(np.int64), top.values.numpy()


class ProfileIndex(VectorIndex):
    """Profiles, with what the hard filters need: consent to matching, languages, availability windows."""

    _ROW_ARRAYS = (*VectorIndex._ROW_ARRAYS, "_open", "_has_windows", "_row_modes")
    _OTHER_ARRAYS = ("_win_row", "_win_start", "_win_end", "_win_modes", "_win_alive")

    def __init__(self, dimension: int, *, dtype: Dtype = "float16", capacity: int = 1024) -> None:
        super().__init__(dimension, dtype=dtype, capacity=capacity)
        self._open = np.zeros(capacity, dtype=bool)
        self._has_windows = np.zeros(capacity, dtype=bool)
        self._row_modes = np.zeros(capacity, dtype=np.uint8)  # the modes of all a row's windows together
        self._win_row = np.zeros(0, dtype=np.int64)
        self._win_start = np.zeros(0, dtype=np.int32)
        self._win_end = np.zeros(0, dtype=np.int32)
        self._win_modes = np.zeros(0, dtype=np.uint8)
        self._win_alive = np.zeros(0, dtype=bool)
        self._row_windows: dict[int, list[int]] = {}
        self._pending: list[tuple[int, int, int, int]] = []

    def _grow_extra(self, old_capacity: int, new_capacity: int) -> None:
        for name in ("_open", "_has_windows", "_row_modes"):
            old = getattr(self, name)
            new = np.zeros(new_capacity, dtype=old.dtype)
            new[:old_capacity] = old
            setattr(self, name, new)

    def upsert(self, profile: ProfileDocument, vector: npt.NDArray[np.float32], *, version: int = 0) -> None:
        """Add or replace a profile's vector and filter attributes (`version`: see `version_of`)."""
        row = self._put(profile.id, vector, profile.languages, version)
        self._open[row] = profile.open_to_matching
        self._clear_windows(row)
        self._has_windows[row] = bool(profile.availability)
        self._row_modes[row] = functools.reduce(operator.or_, (w.mode_bits for w in profile.availability), 0)
        first = len(self._win_row) + len(self._pending)
        self._row_windows[row] = list(range(first, first + len(profile.availability)))
        self._pending.extend(
            (row, w.start.toordinal(), w.end.toordinal(), w.mode_bits) for w in profile.availability
        )

    def _after_load(self) -> None:
        live = np.flatnonzero(self._win_alive)
        rows = self._win_row[live]
        order = np.argsort(rows, kind="stable")
        rows, live = rows[order], live[order]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else np.zeros(0, dtype=int)
        bounds = [*starts.tolist(), len(rows)]
        self._row_windows = {
            int(rows[begin]): live[begin:end].tolist() for begin, end in itertools.pairwise(bounds)
        }

    def _clear_windows(self, row: int) -> None:
        indices = self._row_windows.pop(row, None)
        if indices:  # flush only when needed: flushing on every upsert would make bulk loads quadratic
            self._flush_windows()
            self._win_alive[indices] = False

    def _on_remove(self, row: int) -> None:
        self._open[row] = False
        self._has_windows[row] = False
        self._row_modes[row] = 0
        self._clear_windows(row)

    def flush(self) -> None:
        """Fold pending availability windows into the filter arrays (done lazily by the first filter
        otherwise; call it after a bulk load so that no query pays for it)."""
        self._flush_windows()

    def _flush_windows(self) -> None:
        if not self._pending:
            return
        rows, starts, ends, modes = zip(*self._pending, strict=True)
        self._win_row = np.concatenate([self._win_row, np.asarray(rows, dtype=np.int64)])
        self._win_start = np.concatenate([self._win_start, np.asarray(starts, dtype=np.int32)])
        self._win_end = np.concatenate([self._win_end, np.asarray(ends, dtype=np.int32)])
        self._win_modes = np.concatenate([self._win_modes, np.asarray(modes, dtype=np.uint8)])
        self._win_alive = np.concatenate([self._win_alive, np.ones(len(rows), dtype=bool)])
        self._pending.clear()

    def filter_mask(self, post: PostDocument, *, require_languages: bool = True) -> npt.NDArray[np.bool_]:
        """Rows a post may be matched with: open to matching, speaking its languages, available for it.

        A dated post needs an availability window overlapping its dates in a mode the post accepts; an
        undated one needs a window in an accepted mode, or no windows at all (availability not stated).
        """
        self._flush_windows()
        mask = self.base_mask() & self._open[: self.size]
        if require_languages and post.languages:
            mask &= self.languages_mask(post.languages)
        accepted = np.uint8(post.accepted_modes)
        if post.start is None or post.end is None:
            # Undated: any window in an accepted mode will do, which the rows' mode columns say at once.
            n = self.size
            in_mode: npt.NDArray[np.bool_] = (self._row_modes[:n] & accepted) != 0
            return mask & (~self._has_windows[:n] | in_mode)
        usable = self._win_alive & ((self._win_modes & accepted) != 0)
        usable &= (self._win_start <= post.end.toordinal()) & (self._win_end >= post.start.toordinal())
        available = np.zeros(self.size, dtype=bool)
        available[self._win_row[usable]] = True
        return mask & available


class PostIndex(VectorIndex):
    """Posts, with what recommending them to a member needs: live flag, dates, accepted modes, languages."""

    _ROW_ARRAYS = (*VectorIndex._ROW_ARRAYS, "_live", "_start", "_end", "_modes")

    def __init__(self, dimension: int, *, dtype: Dtype = "float16", capacity: int = 256) -> None:
        super().__init__(dimension, dtype=dtype, capacity=capacity)
        self._live = np.zeros(capacity, dtype=bool)
        self._start = np.full(capacity, _NO_DATE, dtype=np.int32)
        self._end = np.full(capacity, _NO_DATE, dtype=np.int32)
        self._modes = np.zeros(capacity, dtype=np.uint8)

    def _grow_extra(self, old_capacity: int, new_capacity: int) -> None:
        for name, fill in (("_live", False), ("_start", _NO_DATE), ("_end", _NO_DATE), ("_modes", 0)):
            old = getattr(self, name)
            new = np.full(new_capacity, fill, dtype=old.dtype)
            new[:old_capacity] = old
            setattr(self, name, new)

    def upsert(self, post: PostDocument, vector: npt.NDArray[np.float32], *, version: int = 0) -> None:
        row = self._put(post.id, vector, post.languages, version)
        self._live[row] = post.live
        self._start[row] = _ordinal(post.start)
        self._end[row] = _ordinal(post.end)
        self._modes[row] = post.accepted_modes

    def _on_remove(self, row: int) -> None:
        self._live[row] = False

    def filter_mask(
        self, profile: ProfileDocument, *, require_languages: bool = True
    ) -> npt.NDArray[np.bool_]:
        """Live posts whose languages the member speaks and whose dates and mode fit the member's windows."""
        n = self.size
        mask = self.base_mask() & self._live[:n]
        if require_languages:
            spoken = set(profile.languages)
            for code, column in self._language_columns.items():
                if code not in spoken:
                    mask &= ~self._languages[:n, column]
        if not profile.availability:
            return mask
        start, end, modes = self._start[:n], self._end[:n], self._modes[:n]
        dated = start != _NO_DATE
        fits = np.zeros(n, dtype=bool)
        for window in profile.availability:
            mode_ok = (modes & np.uint8(window.mode_bits)) != 0
            overlap = (start <= window.end.toordinal()) & (end >= window.start.toordinal())
            fits |= mode_ok & (overlap | ~dated)
        return mask & fits
