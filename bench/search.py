"""Search latency over 100,000 opportunities: the embedded back end against a naive SQL LIKE scan.

Both answer the same mix of discovery queries (one or two words, some with typos, some with country
or kind filters, a third asking for facet counts of kind, country and sector), sent at a fixed rate
(open loop: latency counts from when a request was due, so a slow answer also delays the next ones).
The baseline is what a first version would do: `lower(column) LIKE '%word%'` over the searchable
columns of an indexed SQLite table, `GROUP BY` for facets, newest first; it has no typo tolerance,
so it also finds less.

With hybrid search on (the default), the embedded back end also answers with meaning: every document
carries a 768-dimension vector (the default encoder's size; synthetic here, clustered by topic, since
encoding 100,000 texts would take hours on 2 cores) and every query with words a query vector, so the
same queries run through the fusion of keyword and semantic scores. Query encoding is a separate cost,
measured with the real encoder on the same queries (each encoded once; a server remembers them).

    python bench/search.py [--documents 100000] [--rate 20] [--requests 300] [--no-encoder]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from diaspora.platform.demo.catalogue import INVESTMENTS, ORGANISATIONS, VOLUNTEERING
from diaspora.platform.search.config import load
from diaspora.platform.search.embedded import EmbeddedBackend
from diaspora.platform.search.query import Semantic, parse_request, transliterated
from diaspora.platform.search.vectors import VECTORS

QUERIES = [
    {"q": "solar"},
    {"q": "solr park"},  # a typo too short to forgive: finds nothing, in both
    {"q": "investmnt"},
    {"q": "fruit storage"},
    {"q": "volunteer doctors", "country": "AL"},
    {"q": "mentors", "kind": "volunteering"},
    {"q": "software", "facets": "kind,country,sector"},
    {"q": "guesthouse", "country": "ME", "facets": "kind,country,sector"},
    {"kind": "investment", "facets": "kind,country,sector"},
    {"country": "XK", "sector": "health"},
    {"q": "hladnjaca"},
    {"q": "translators return"},
]
MAX_TOTAL_HITS = load("opportunities").max_total_hits
SEARCHABLE = ("title", "sector", "organisation_name", "municipality", "description")


DIMENSION = 768


def _unit(matrix: Any) -> Any:
    return matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)


TOPICS = _unit(np.random.default_rng(5).standard_normal((len(INVESTMENTS) + len(VOLUNTEERING), DIMENSION)))


def vectors(rows: list[dict[str, Any]]) -> None:
    """Give each document a synthetic vector near its topic's (its title template)."""
    titles = {t: i for i, (t, _, _) in enumerate((*INVESTMENTS, *VOLUNTEERING))}
    rng = np.random.default_rng(9)
    for row in rows:
        topic = TOPICS[titles[row.pop("_template")]]
        noise = rng.standard_normal(DIMENSION).astype(np.float32)
        row[VECTORS] = {"default": _unit(topic + 0.04 * noise).astype(np.float32)}


def semantic(params: dict[str, str]) -> Semantic | None:
    """A query vector near one topic, read with the default blend's calibration."""
    if "q" not in params:
        return None
    topic = TOPICS[sum(map(ord, params["q"])) % len(TOPICS)]
    hybrid = load("opportunities").hybrid
    return Semantic(
        vector=tuple(float(x) for x in topic),
        unrelated=0.752,
        same=0.917,
        ratio=hybrid.semantic_ratio,
        min_score=hybrid.min_semantic_score,
        relative=hybrid.relative_semantic_score,
    )


def query_encoding_ms() -> tuple[float, float]:
    """p50 and max of encoding each query once with the default encoder (model load excluded)."""
    from diaspora.matching.encoder import get_encoder

    encoder = get_encoder()
    encoder.encode(["warm up"])
    times = []
    for params in QUERIES:
        if "q" in params:
            began = time.perf_counter()
            encoder.encode([params["q"] + " "], side="query")
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


def documents(count: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    rows = []
    for i in range(count):
        name, kind, country, place, _ = ORGANISATIONS[i % len(ORGANISATIONS)]
        investment = rng.random() < 0.5
        template, description, sector = rng.choice(INVESTMENTS if investment else VOLUNTEERING)
        title = template.format(place=place, org=name, mw=rng.choice((2, 5, 10))) + f" #{i}"
        description = description.format(place=place, org=name)
        low = rng.choice((10_000, 25_000, 50_000, 100_000))
        rows.append(
            {
                "id": f"opp-{i:07d}",
                "kind": "investment" if investment else "volunteering",
                "title": title,
                "description": description,
                "sector": sector,
                "country": country,
                "municipality": place,
                "organisation_id": f"org-{i % len(ORGANISATIONS)}",
                "organisation_name": name,
                "organisation_kind": kind,
                "ticket_min": low if investment else None,
                "ticket_max": low * 4 if investment else None,
                "currency": "EUR" if investment else None,
                "hours_per_week": None if investment else rng.choice((4, 8, 20)),
                "duration_weeks": None,
                "mode": None,
                "languages": ["en"],
                "contact_email": None,
                "contact_url": None,
                "published_at": 1_700_000_000 + i,
                "transliterated": transliterated(title, description, place),
                "_template": template,
            }
        )
    return rows


def build_sqlite(path: Path, rows: list[dict[str, Any]]) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute(
        "CREATE TABLE opportunities (id TEXT PRIMARY KEY, kind TEXT, title TEXT, description TEXT,"
        " sector TEXT, country TEXT, municipality TEXT, organisation_name TEXT, published_at INTEGER)"
    )
    db.executemany(
        "INSERT INTO opportunities VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (
                r["id"],
                r["kind"],
                r["title"],
                r["description"],
                r["sector"],
                r["country"],
                r["municipality"],
                r["organisation_name"],
                r["published_at"],
            )
            for r in rows
        ],
    )
    for column in ("kind", "country", "sector", "published_at"):
        db.execute(f"CREATE INDEX ix_{column} ON opportunities ({column})")
    db.commit()
    return db


def naive_search(db: sqlite3.Connection, params: dict[str, str]) -> int:
    where, args = [], []
    for word in params.get("q", "").lower().split():
        where.append("(" + " OR ".join(f"lower({c}) LIKE ?" for c in SEARCHABLE) + ")")
        args += [f"%{word}%"] * len(SEARCHABLE)
    for column in ("kind", "country", "sector"):
        if column in params:
            where.append(f"{column} = ?")
            args.append(params[column])
    clause = " WHERE " + " AND ".join(where) if where else ""
    rows = db.execute(
        f"SELECT id, title FROM opportunities{clause} ORDER BY published_at DESC LIMIT 20",  # noqa: S608
        args,
    ).fetchall()
    total = db.execute(f"SELECT count(*) FROM opportunities{clause}", args).fetchone()[0]  # noqa: S608
    if "facets" in params:
        for column in params["facets"].split(","):
            facet = f"SELECT {column}, count(*) FROM opportunities{clause} GROUP BY {column}"  # noqa: S608
            db.execute(facet, args).fetchall()
    assert len(rows) <= 20
    return min(int(total), MAX_TOTAL_HITS)  # counted as the search API reports totals


async def open_loop(
    call: Callable[[dict[str, str]], int], rate: float, requests: int
) -> tuple[list[float], list[float], int]:
    """Send `requests` queries at `rate` per second. Returns the latencies counted from each request's
    due time and the service times (the query alone), in milliseconds, and the hits found."""
    latencies: list[float] = []
    service: list[float] = []
    hits = 0
    start = time.perf_counter() + 0.05
    for i in range(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        began = time.perf_counter()
        hits += await asyncio.to_thread(call, QUERIES[i % len(QUERIES)])
        done = time.perf_counter()
        latencies.append((done - due) * 1000)
        service.append((done - began) * 1000)
    return latencies, service, hits


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-encoder", action="store_true", help="skip timing the query encoder")
    args = parser.parse_args()
    config = load("opportunities")
    rows = documents(args.documents)
    vectors(rows)
    with tempfile.TemporaryDirectory() as tmp:
        backend = EmbeddedBackend(Path(tmp) / "search")
        started = time.perf_counter()

        async def batches() -> Any:
            for i in range(0, len(rows), 5000):
                yield rows[i : i + 5000]

        await backend.rebuild(config, batches())
        index_seconds = time.perf_counter() - started
        started = time.perf_counter()
        db = build_sqlite(Path(tmp) / "naive.sqlite3", rows)
        table_seconds = time.perf_counter() - started

        def ours(params: dict[str, str]) -> int:
            request = parse_request(config, {k: [v] for k, v in params.items()})
            return backend._search(config, request).total_hits

        def hybrid(params: dict[str, str]) -> int:
            request = parse_request(config, {k: [v] for k, v in params.items()})
            request = replace(request, semantic=semantic(params))
            return backend._search(config, request).total_hits

        ours(QUERIES[0])  # open the index once, as a running server has
        started = time.perf_counter()
        hybrid(QUERIES[0])  # and read its vectors into memory
        vectors_seconds = time.perf_counter() - started
        results = {
            "embedded (tantivy)": await open_loop(ours, args.rate, args.requests),
            "embedded, words + meaning": await open_loop(hybrid, args.rate, args.requests),
            "naive SQL LIKE": await open_loop(lambda p: naive_search(db, p), args.rate, args.requests),
        }
    command = f"python bench/search.py --documents {args.documents} --rate {args.rate:g}"
    print(f"$ {command} --requests {args.requests}")
    print(
        f"built: embedded index {index_seconds:.1f} s (vectors read into memory {vectors_seconds:.1f} s), "
        f"SQLite table {table_seconds:.1f} s; {sys.platform}"
    )
    print(
        f"| back end | latency p50 ms | latency p99 ms | service p50 ms | service p99 ms | "
        f"hits (sum over {args.requests} queries, capped at {MAX_TOTAL_HITS} each) |"
    )
    print("|---|---|---|---|---|---|")
    for name, (latencies, service, hits) in results.items():
        print(
            f"| {name} | {percentile(latencies, 50):.1f} | {percentile(latencies, 99):.1f} | "
            f"{percentile(service, 50):.1f} | {percentile(service, 99):.1f} | {hits} |"
        )
    ours, naive = results["embedded (tantivy)"], results["naive SQL LIKE"]
    print(
        f"ratios naive / embedded: latency p50 {percentile(naive[0], 50) / percentile(ours[0], 50):.0f}x, "
        f"service p50 {percentile(naive[1], 50) / percentile(ours[1], 50):.0f}x "
        f"(at {args.rate:g} requests/s the naive scan cannot keep up, so its queue grows)"
    )
    both = results["embedded, words + meaning"]
    ratio = percentile(both[1], 50) / percentile(ours[1], 50)
    print(f"ratio words + meaning / words alone: service p50 {ratio:.1f}x")
    if not args.no_encoder:
        median, slowest = query_encoding_ms()
        print(f"query encoding (default encoder, each query once): p50 {median:.0f} ms, max {slowest:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
