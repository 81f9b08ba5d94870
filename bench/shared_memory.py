"""Memory of several processes holding the same profile index: each with a private copy (as every process
built its own from the database) against all of them opening one snapshot, memory-mapped copy-on-write.

Each process opens or builds the index, answers a broad query (every row read) and a few updates, then
reports its resident set (RSS) and its proportional share (PSS: a page shared by three processes counts a
third in each), read from /proc/<pid>/smaps_rollup (Linux).

    python bench/shared_memory.py [--profiles 1000000] [--processes 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from diaspora.matching.documents import PostDocument, ProfileDocument, Window
from diaspora.matching.index import ProfileIndex

DIMENSION = 384


def _build(n: int) -> ProfileIndex:
    rng = np.random.default_rng(1)
    index = ProfileIndex(DIMENSION, capacity=n)
    window = Window(date(2027, 1, 1), date(2027, 12, 31), ("remote", "onsite_return"))
    for start in range(0, n, 50_000):
        block = rng.standard_normal((min(50_000, n - start), DIMENSION), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        for offset, vector in enumerate(block):
            i = start + offset
            index.upsert(
                ProfileDocument(f"p{i}", languages=(("sq", "de", "sr")[i % 3],), availability=(window,)),
                vector,
            )
    index.flush()
    return index


def _memory_kib() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, amount, *_ = line.split()
        values[name.rstrip(":")] = int(amount)
    return values


def _serve(mode: str, folder: str, n: int, ready: Any, out: Any) -> None:
    index = ProfileIndex.load(Path(folder)) if mode == "snapshot" else _build(n)
    query = np.random.default_rng(2).standard_normal(DIMENSION).astype(np.float32)
    query /= np.linalg.norm(query)
    post = PostDocument("post", start=date(2027, 3, 1), end=date(2027, 3, 20))
    index.top_k(query, 50, index.filter_mask(post))  # a broad query reads every row
    for i in range(100):  # a few profiles change
        index.upsert(ProfileDocument(f"p{i * 997}", languages=("de",)), query)
    ready.wait()  # everyone has loaded and queried before anyone measures
    memory = _memory_kib()
    out.put((memory["Rss"], memory["Pss"]))
    ready.wait()


def _run(mode: str, folder: Path, n: int, processes: int) -> tuple[list[int], list[int], float]:
    context = multiprocessing.get_context("spawn")
    ready, out = context.Barrier(processes), context.Queue()
    started = time.perf_counter()
    workers = [
        context.Process(target=_serve, args=(mode, str(folder), n, ready, out)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [out.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return [r for r, _ in results], [p for _, p in results], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=3, help="e.g. two web processes and a worker")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp()) / "profiles"
    _build(args.profiles).save(folder)
    print(f"{args.profiles:,} profiles x {DIMENSION} dimensions (float16), {args.processes} processes")
    print("each process | RSS MiB (each) | PSS MiB (sum) | seconds to ready")
    totals = {}
    for mode, name in (("private", "builds a private copy"), ("snapshot", "opens the shared snapshot")):
        rss, pss, elapsed = _run(mode, folder, args.profiles, args.processes)
        totals[mode] = sum(pss)
        shown = ", ".join(f"{r / 1024:.0f}" for r in rss)
        print(f"{name} | {shown} | {sum(pss) / 1024:,.0f} | {elapsed:.1f}")
    share = totals["snapshot"] / totals["private"]
    print(f"\nthe shared snapshot takes {share:.2f}x the memory of private copies (PSS of all processes)")
    print(f"\ncommand: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
