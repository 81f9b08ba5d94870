"""Ranking latency: one post against 100k and 1M profiles, hard filters on, top-50.

Ours (float16 matrix, filter mask, then a product over the kept rows when the filters keep few; when they
keep many, the compact code's shortlist scored exactly, top-k; the mask's cost included; recall@k against
exact float32) against itself without the compact code (a product over the whole matrix) and baselines
measured in the same run: FAISS's flat inner-product index searching only the kept rows (an
`IDSelectorBatch`, mask precomputed), numpy float32 products over the kept rows and over every row (mask
included), and scikit-learn NearestNeighbors (brute force, cosine) asked for 20x more neighbours and
filtered afterwards. With occupation links (each profile linked to one to three of the taxonomy's
occupations, drawn with Zipf-like popularity, so the commonest holds about a tenth of the registry), ours
also reports the whole candidate stage the matcher runs: the filtered top-k plus the closest allowed profiles
linked to the post's occupation (100) and to its ISCO unit group (50), from the posting lists.
Two kinds of posts: selective (dated, on site, one required language: about 1% of profiles kept) and
broad (undated, any mode, no language: most profiles kept). Vectors are random unit vectors: latency does
not depend on what they mean.

    python bench/ranking.py [--sizes 100000 1000000] [--queries 60]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import date, timedelta

import numpy as np

from diaspora.matching.documents import PostDocument, ProfileDocument, Window
from diaspora.matching.index import ProfileIndex
from diaspora.matching.occupations import packaged_linker, read_occupations

DIMENSION = 384
LANGUAGES = ("sq", "sr", "bs", "hr", "mk", "de", "en", "it")
MODES = ("onsite_return", "remote", "volunteer", "invest")
TODAY = date(2027, 1, 1)


def synthetic_profiles(n: int, rng: np.random.Generator) -> tuple[list[ProfileDocument], np.ndarray]:
    vectors = rng.standard_normal((n, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    profiles = []
    starts = rng.integers(0, 365, size=(n, 2))
    lengths = rng.integers(7, 90, size=(n, 2))
    window_counts = rng.integers(0, 3, size=n)
    for i in range(n):
        langs = tuple(rng.choice(LANGUAGES, size=int(rng.integers(1, 4)), replace=False))
        windows = tuple(
            Window(
                TODAY + timedelta(days=int(starts[i, w])),
                TODAY + timedelta(days=int(starts[i, w] + lengths[i, w])),
                tuple(rng.choice(MODES, size=int(rng.integers(1, 3)), replace=False)),
            )
            for w in range(int(window_counts[i]))
        )
        profiles.append(
            ProfileDocument(
                f"p{i}", languages=langs, availability=windows, open_to_matching=bool(rng.random() < 0.9)
            )
        )
    return profiles, vectors


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def run(n: int, queries: int, k: int, rng: np.random.Generator) -> list[tuple[str, ...]]:
    profiles, vectors = synthetic_profiles(n, rng)
    started = time.perf_counter()
    index = ProfileIndex(DIMENSION, dtype="float16", capacity=n)
    for profile, vector in zip(profiles, vectors, strict=True):
        index.upsert(profile, vector)
    index.flush()
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    index.update_compact()
    compact_s = time.perf_counter() - started
    linker = packaged_linker()
    popularity = 1.0 / np.arange(1, len(read_occupations()) + 1)
    popularity /= popularity.sum()
    links = rng.choice(len(popularity), size=(n, 3), p=popularity)
    counts = rng.integers(1, 4, size=n)
    started = time.perf_counter()
    for profile, codes, count in zip(profiles, links.tolist(), counts.tolist(), strict=True):
        index.set_links(profile.id, codes[:count])
    links_s = time.perf_counter() - started
    print(
        f"# n={n:,}: index built in {build_s:.1f} s, its compact code in {compact_s:.1f} s, "
        f"occupation links set in {links_s:.1f} s",
        flush=True,
    )
    selective, broad = [], []
    for q in range(queries):
        start = TODAY + timedelta(days=int(rng.integers(0, 330)))
        selective.append(
            PostDocument(
                f"q{q}",
                languages=(str(rng.choice(LANGUAGES)),),
                start=start,
                end=start + timedelta(days=14),
                work_mode=str(rng.choice(["onsite", "remote"])),
            )
        )
        broad.append(PostDocument(f"b{q}", work_mode="hybrid"))
    query_vectors = rng.standard_normal((queries, DIMENSION), dtype=np.float32)
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
    query_links = rng.choice(len(popularity), size=queries, p=popularity).tolist()
    families = [linker.family_codes([code]) for code in query_links]
    linked = (query_links, families)
    rows = measure(index, vectors, selective, query_vectors, k, n, "selective", build_s, linked, sklearn=True)
    rows += measure(index, vectors, broad, query_vectors, k, n, "broad", build_s, linked, sklearn=False)
    del index, vectors, profiles
    gc.collect()
    return rows


def measure(
    index: ProfileIndex,
    vectors: np.ndarray,
    posts: list[PostDocument],
    query_vectors: np.ndarray,
    k: int,
    n: int,
    kind: str,
    build_s: float,
    linked: tuple[list[int], list[list[int]]],
    *,
    sklearn: bool,
) -> list[tuple[str, ...]]:
    def truth(mask: np.ndarray, vector: np.ndarray) -> set[int]:
        scores = vectors @ vector  # exact float32
        scores[~mask] = -np.inf
        return set(np.argpartition(-scores, k)[:k].tolist())

    def timed(*, compact: bool) -> tuple[list[float], list[float]]:
        saved = index.compact_min_rows
        if not compact:
            index.compact_min_rows = sys.maxsize
        times, recall = [], []
        for post, vector in zip(posts, query_vectors, strict=True):
            t = time.perf_counter()
            mask = index.filter_mask(post)
            found, _ = index.top_k(vector, k, mask)
            times.append((time.perf_counter() - t) * 1000)
            recall.append(len(truth(mask, vector).intersection(found.tolist())) / k)
        index.compact_min_rows = saved
        return times, recall

    ours, ours_recall = timed(compact=True)
    with_links = []
    for post, vector, code, family in zip(posts, query_vectors, *linked, strict=True):
        t = time.perf_counter()
        mask = index.filter_mask(post)
        index.top_k(vector, k, mask)
        index.linked_rows([code], vector, mask, 100)
        index.linked_rows(family, vector, mask, 50)
        with_links.append((time.perf_counter() - t) * 1000)
    uncoded, uncoded_recall = timed(compact=False) if index.compact_rows else ([], [])
    selectivity = [index.filter_mask(p).mean() for p in posts]

    masks = [index.filter_mask(p) for p in posts]
    kept_only = []
    for post, vector in zip(posts, query_vectors, strict=True):
        t = time.perf_counter()
        rows = np.flatnonzero(index.filter_mask(post))
        scores = vectors[rows] @ vector
        top = np.argpartition(-scores, min(k, len(rows) - 1))[:k]
        rows[top[np.argsort(-scores[top])]]
        kept_only.append((time.perf_counter() - t) * 1000)

    scan = []
    for mask, vector in zip(masks, query_vectors, strict=True):
        t = time.perf_counter()
        scores = vectors @ vector
        scores[~mask] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        top[np.argsort(-scores[top])]
        scan.append((time.perf_counter() - t) * 1000)

    faiss_times: list[float] = []
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        flat = faiss.IndexFlatIP(DIMENSION)
        flat.add(vectors)
        for mask, vector in zip(masks, query_vectors, strict=True):
            t = time.perf_counter()
            selector = faiss.IDSelectorBatch(np.flatnonzero(mask).astype(np.int64))
            flat.search(vector[None, :], k, params=faiss.SearchParameters(sel=selector))
            faiss_times.append((time.perf_counter() - t) * 1000)
        del flat

    naive: list[float] = []
    naive_recall: list[float] = []
    if sklearn:
        from sklearn.neighbors import NearestNeighbors

        knn = NearestNeighbors(algorithm="brute", metric="cosine").fit(vectors)
        for mask, vector in zip(masks, query_vectors, strict=True):
            t = time.perf_counter()
            _, found = knn.kneighbors(vector[None, :], n_neighbors=k * 20)
            kept = [i for i in found[0] if mask[i]][:k]
            naive.append((time.perf_counter() - t) * 1000)
            scores = vectors @ vector
            scores[~mask] = -np.inf
            truth = set(np.argpartition(-scores, k)[:k].tolist())
            naive_recall.append(len(truth.intersection(kept)) / k)
        del knn

    p50, p99 = percentiles(ours)
    s50, s99 = percentiles(scan)
    n50, n99 = percentiles(naive) if naive else (float("nan"), float("nan"))
    o50, o99 = percentiles(kept_only)
    label = f"{n:,} {kind}"
    compact_mib = index.compact_rows * index.dimension / 4 / 2**20  # 4 bits per two dimensions
    rows = [
        (
            f"{n:,}",
            "ours: float16, mask, kept rows / compact code, top-k",
            f"{p50:.1f}",
            f"{p99:.1f}",
            f"{np.mean(ours_recall):.3f}",
            f"{index.nbytes / 2**20 + compact_mib:.0f}",
            f"{build_s:.1f}",
        ),
        (
            f"{n:,}",
            "numpy float32, kept rows only",
            f"{o50:.1f}",
            f"{o99:.1f}",
            "1.00",
            f"{vectors.nbytes / 2**20:.0f}",
            "-",
        ),
        (
            f"{n:,}",
            "numpy float32 scan + mask",
            f"{s50:.1f}",
            f"{s99:.1f}",
            "1.00",
            f"{vectors.nbytes / 2**20:.0f}",
            "-",
        ),
        (
            f"{n:,}",
            f"sklearn brute kNN, {k * 20} then filter",
            f"{n50:.1f}",
            f"{n99:.1f}",
            f"{np.mean(naive_recall):.2f}" if naive_recall else "-",
            f"{vectors.nbytes / 2**20:.0f}",
            "-",
        ),
    ]
    l50, l99 = percentiles(with_links)
    rows.insert(
        1,
        (
            f"{n:,}",
            "ours + occupation links' candidates (100 + 50)",
            f"{l50:.1f}",
            f"{l99:.1f}",
            "-",
            "-",
            "-",
        ),
    )
    if uncoded and kind == "broad":
        u50, u99 = percentiles(uncoded)
        rows.insert(
            1,
            (
                f"{n:,}",
                "ours without the compact code: float16 full scan",
                f"{u50:.1f}",
                f"{u99:.1f}",
                f"{np.mean(uncoded_recall):.3f}",
                f"{index.nbytes / 2**20:.0f}",
                "-",
            ),
        )
    if faiss_times:
        f50, f99 = percentiles(faiss_times)
        rows.insert(
            1,
            (
                f"{n:,}",
                "FAISS flat IP + IDSelectorBatch (mask given)",
                f"{f50:.1f}",
                f"{f99:.1f}",
                "1.00",
                f"{vectors.nbytes / 2**20:.0f}",
                "-",
            ),
        )
    else:
        print("# FAISS is not installed (pip install faiss-cpu): its row is left out", flush=True)
    rows = [(label, *row[1:]) for row in rows]
    print(
        f"# n={n:,}, {kind} posts: filters keep {np.mean(selectivity):.1%} of profiles on average; "
        f"p50 ours {p50:.1f} ms"
        + (f", FAISS {percentiles(faiss_times)[0]:.1f} ms" if faiss_times else "")
        + f", numpy kept rows {o50:.1f} ms, numpy scan {s50:.1f} ms, ours with links {l50:.1f} ms",
        flush=True,
    )
    if not sklearn:
        rows = [row for row in rows if not row[1].startswith("sklearn")]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--k", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    rows = []
    for n in args.sizes:
        rows.extend(run(n, args.queries, args.k, rng))
    header = ("profiles", "method", "p50 ms", "p99 ms", "recall", "matrix MiB", "build s")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("\n" + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"\ncommand: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
