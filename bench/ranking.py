"""Ranking latency: one post against 100k and 1M profiles, hard filters on, top-50.

Ours (float16 matrix, filter mask, one matrix-vector product, top-k) against naive baselines measured in
the same run: scikit-learn NearestNeighbors (brute force, cosine) asked for 20x more neighbours and filtered
afterwards, and a float32 numpy scan with the same mask. Vectors are random unit vectors: latency does not
depend on what they mean.

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
    posts = []
    for q in range(queries):
        start = TODAY + timedelta(days=int(rng.integers(0, 330)))
        posts.append(
            PostDocument(
                f"q{q}",
                languages=(str(rng.choice(LANGUAGES)),),
                start=start,
                end=start + timedelta(days=14),
                work_mode=str(rng.choice(["onsite", "remote"])),
            )
        )
    query_vectors = rng.standard_normal((queries, DIMENSION), dtype=np.float32)
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)

    ours, selectivity = [], []
    for post, vector in zip(posts, query_vectors, strict=True):
        t = time.perf_counter()
        mask = index.filter_mask(post)
        index.top_k(vector, k, mask)
        ours.append((time.perf_counter() - t) * 1000)
        selectivity.append(mask.mean())

    masks = [index.filter_mask(p) for p in posts]
    scan = []
    for mask, vector in zip(masks, query_vectors, strict=True):
        t = time.perf_counter()
        scores = vectors @ vector
        scores[~mask] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        top[np.argsort(-scores[top])]
        scan.append((time.perf_counter() - t) * 1000)

    from sklearn.neighbors import NearestNeighbors

    knn = NearestNeighbors(algorithm="brute", metric="cosine").fit(vectors)
    naive, naive_recall = [], []
    for mask, vector in zip(masks, query_vectors, strict=True):
        t = time.perf_counter()
        _, found = knn.kneighbors(vector[None, :], n_neighbors=k * 20)
        kept = [i for i in found[0] if mask[i]][:k]
        naive.append((time.perf_counter() - t) * 1000)
        scores = vectors @ vector
        scores[~mask] = -np.inf
        truth = set(np.argpartition(-scores, k)[:k].tolist())
        naive_recall.append(len(truth.intersection(kept)) / k)

    p50, p99 = percentiles(ours)
    s50, s99 = percentiles(scan)
    n50, n99 = percentiles(naive)
    rows = [
        (
            f"{n:,}",
            "ours: float16 matrix + mask + top-k",
            f"{p50:.1f}",
            f"{p99:.1f}",
            "1.00",
            f"{index.nbytes / 2**20:.0f}",
            f"{build_s:.1f}",
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
            f"{np.mean(naive_recall):.2f}",
            f"{vectors.nbytes / 2**20:.0f}",
            "-",
        ),
    ]
    print(
        f"# n={n:,}: filters keep {np.mean(selectivity):.1%} of profiles on average; "
        f"ours is {n50 / p50:.1f}x faster than the sklearn baseline, "
        f"{s50 / p50:.1f}x than the numpy scan (p50)",
        flush=True,
    )
    del index, knn, vectors, profiles
    gc.collect()
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
