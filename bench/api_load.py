"""The matching endpoints under load at registry scale: a live server holding 100,000 profiles.

The demo data (organisations, posts, 300 members, their embeddings) plus profile rows imported from a CSV up
to `--profiles`, whose embeddings are written into the store as random unit vectors (encoding 100,000 texts
takes about an hour on two cores, and latency does not depend on what the vectors mean). The server
(`diaspora serve`: SQLite, or the PostgreSQL database of `--database-url`; embedded defaults otherwise) then
loads them in bulk at start, as a real one does from its store. An open-loop client (each request timestamped
against the moment it was due, so a stall delays everything queued behind it, as people see it) sends each
endpoint `--rate` requests a second for `--seconds`: the ranked candidates of every post in turn, each asked
by its own organisation's staff, the recommendations of twenty members in turn, and, as the baseline in the
same run, the public list of posts.

    python bench/api_load.py [--profiles 100000] [--rate 50] [--seconds 30] [--workers 1] [--data DIR]
                             [--database-url postgresql+asyncpg://USER@HOST/EMPTY_DATABASE]

`--workers` runs that many web processes on the port (`diaspora serve --workers`); each maps the same
snapshot of the profile index.

With `--data`, the prepared registry is kept in DIR and reused by the next run with the same DIR (preparing
100,000 profiles takes minutes; comparing two versions of the server should not); with `--database-url` too,
give the same database again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from tail_latency import Request, _cli, _load, _percentile, _server, _wait_ready

from diaspora.matching.texts import profile_text, text_hash
from diaspora.platform.db.models import Account, Embedding, Organisation, Post, Profile, utcnow
from diaspora.platform.demo.load import DEMO_PASSWORD
from diaspora.platform.imports.report import ImportReport
from diaspora.platform.imports.services import import_file
from diaspora.platform.matches.documents import profile_document
from diaspora.platform.matches.engine import PROFILE_LOAD
from diaspora.platform.wiring import open_database
from ingest import write_csv

MEMBERS = frozenset(f"member{i}@demo.example" for i in range(1, 21))


async def _synthetic_embeddings(url: str, rng: np.random.Generator) -> int:
    """Random unit vectors, stored for every profile that has none, under the demo's model, with the hash
    of the profile's text (so the server takes them for its own)."""
    database = open_database(url)
    async with database.connect() as connection:
        model_id, dimension = (
            await connection.execute(
                select(Embedding.model_id, Embedding.dimension)
                .where(Embedding.entity_type == "profile")
                .limit(1)
            )
        ).one()
        embedded = select(Embedding.entity_id).where(Embedding.entity_type == "profile")
        missing = list(
            (await connection.scalars(select(Profile.id).where(Profile.id.not_in(embedded)))).all()
        )
    await database.dispose()
    engine = open_database(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    try:
        for first in range(0, len(missing), 2_000):
            chunk = missing[first : first + 2_000]
            async with sessions() as session:
                # The hash of each profile's canonical text, as the matcher computes it: a stored vector
                # whose hash differs would be encoded again in the background.
                profiles = (
                    await session.scalars(select(Profile).where(Profile.id.in_(chunk)).options(*PROFILE_LOAD))
                ).all()
                hashes = {p.id: text_hash(profile_text(profile_document(p))) for p in profiles}
            vectors = rng.standard_normal((len(chunk), dimension)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            now = utcnow()
            rows = [
                {
                    "id": uuid.uuid4(),
                    "entity_type": "profile",
                    "entity_id": profile_id,
                    "model_id": model_id,
                    "text_hash": hashes[profile_id],
                    "dimension": dimension,
                    "vector": vector.tobytes(),
                    "updated_at": now,
                }
                for profile_id, vector in zip(chunk, vectors, strict=True)
            ]
            async with sessions() as session, session.begin():
                await session.execute(insert(Embedding.__table__), rows)
    finally:
        await engine.dispose()
    return len(missing)


async def _posts_by_staff(url: str) -> list[tuple[str, str]]:
    """Every post of a verified organisation (whose staff see candidates), with the email of one of its
    staff accounts."""
    database = open_database(url)
    async with database.connect() as connection:
        rows = (
            await connection.execute(
                select(Post.id, func.min(Account.email))
                .join(Organisation, Organisation.id == Post.organisation_id)
                .join(Account, Account.organisation_id == Post.organisation_id)
                .where(Organisation.verified, Account.email.like("staff%"))
                .group_by(Post.id, Post.created_at)
                .order_by(Post.created_at, Post.id)
            )
        ).all()
    await database.dispose()
    return [(str(post_id), email) for post_id, email in rows]


async def _token(base: str, email: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['token']}"}


async def _measure(
    base: str, posts: list[tuple[str, str]], rate: float, seconds: float, snapshots: Path | None = None
) -> dict[str, tuple[list[float], int]]:
    await _wait_ready(base)
    tokens = {email: await _token(base, email) for email in sorted({email for _, email in posts} | MEMBERS)}
    targets: dict[str, list[Request]] = {
        "GET /api/posts (baseline)": [("/api/posts?limit=20", None)],
        "GET /api/posts/{id}/matches": [
            (f"/api/posts/{post_id}/matches?limit=20", tokens[email]) for post_id, email in posts
        ],
        "GET /api/profiles/me/recommendations": [
            ("/api/profiles/me/recommendations?limit=20", tokens[email]) for email in sorted(MEMBERS)
        ],
    }
    # The first matching request waits for the index to load (in bulk) and the models to warm up.
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        started = time.perf_counter()
        path, headers = targets["GET /api/posts/{id}/matches"][0]
        (await client.get(path, headers=headers)).raise_for_status()
        print(f"# first matching request (index loaded): {time.perf_counter() - started:.1f} s", flush=True)
    await asyncio.sleep(20)  # the warm-up and the compact code's build finish in the background
    # After a bulk load the background jobs link the profiles' titles to occupations (the bulk load reads
    # no titles), then write the profile index's snapshot (170 MB at 100,000 profiles): a one-off of the
    # first minutes after a start, which the steady state measured here excludes (`bench/cold_start.py`
    # measures starts). A snapshot that counts rows still unlinked is not the one waited for.
    started = time.monotonic()
    while snapshots is not None and not await asyncio.to_thread(_settled, snapshots):
        if time.monotonic() > started + 600:
            raise SystemExit("the server wrote no settled snapshot of its profile index within ten minutes")
        await asyncio.sleep(1)
    print(f"# links and snapshot done {time.monotonic() - started:.0f} s after that", flush=True)
    # Every web process loads its own index at its first matching request: ask until each request in a
    # row is quick, so no process is still loading when the measurement starts.
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        quick = 0
        while quick < 20:
            for requests in list(targets.values())[1:]:
                path, headers = requests[0]
                started = time.perf_counter()
                (await client.get(path, headers=headers)).raise_for_status()
                quick = quick + 1 if time.perf_counter() - started < 0.5 else 0
    results = {}
    for name, requests in targets.items():
        await _load(base, rate, 3, rotate=requests)  # caches filled
        results[name] = await _load(base, rate, seconds, rotate=requests)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="web processes (diaspora serve --workers)")
    parser.add_argument("--data", type=Path, help="keep the prepared registry here and reuse it")
    parser.add_argument(
        "--database-url",
        help="an empty database to prepare the registry in (default: SQLite in the data folder)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        url = args.database_url or f"sqlite+aiosqlite:///{data / 'diaspora.sqlite3'}"
        os.environ["DIASPORA_DATABASE_URL"] = url  # the server's and the set-up commands'
        prepared = data / f"prepared-{args.profiles}"
        if not prepared.exists():
            _prepare(data, url, args.profiles)
            prepared.touch()
        posts = asyncio.run(_posts_by_staff(url))
        # The demo's snapshot predates the import: without it, the server loads every stored vector in bulk
        # (what a process does at first start), rather than catching up through the regular path.
        shutil.rmtree(data / "snapshots", ignore_errors=True)
        # The bench logs in every organisation's staff and twenty members from one address.
        os.environ["DIASPORA_AUTH_ATTEMPTS_PER_MINUTE"] = "1000"
        with _server(data, True, "--workers", str(args.workers)) as base:
            results = asyncio.run(_measure(base, posts, args.rate, args.seconds, data / "snapshots"))
    _report(args, results)


def _settled(snapshots: Path) -> bool:
    """Whether the server wrote a snapshot with every profile linked (a server that does not count
    unlinked rows writes no such field: its first snapshot is settled)."""
    for manifest in snapshots.glob("profiles-*/manifest.json"):
        try:
            if json.loads(manifest.read_text(encoding="utf-8")).get("unlinked", 0) == 0:
                return True
        except (OSError, ValueError):
            continue  # being replaced
    return False


def _prepare(data: Path, url: str, profiles: int) -> None:
    """The demo, then profile rows imported up to `profiles`, with stored vectors."""
    if any(data.iterdir()):
        raise SystemExit(f"{data} holds something other than a prepared registry of {profiles:,} profiles")
    _cli(data, "demo", "--profiles", "300")
    _cli(data, "embeddings", "prepare")  # occupation labels encoded once, not by the server under load
    _cli(data, "embeddings", "sync")
    _cli(data, "search", "sync")
    csv = data / "registry.csv"
    write_csv(csv, max(0, profiles - 300))
    started = time.perf_counter()
    report = asyncio.run(_import(url, csv))
    written = asyncio.run(_synthetic_embeddings(url, np.random.default_rng(3)))
    print(
        f"# {report.created:,} profiles imported and {written:,} vectors stored in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )


async def _import(url: str, csv: Path) -> ImportReport:
    engine = open_database(url)  # disposed of on the loop it ran on (asyncpg's connections belong to it)
    try:
        return await import_file(
            async_sessionmaker(engine, expire_on_commit=False), "profiles", csv, source="bench"
        )
    finally:
        await engine.dispose()


def _report(args: argparse.Namespace, results: dict[str, tuple[list[float], int]]) -> None:
    database = "PostgreSQL" if (args.database_url or "").startswith("postgresql") else "SQLite"
    print(
        f"\n$ python bench/api_load.py --profiles {args.profiles} --rate {args.rate:g} "
        f"--seconds {args.seconds:g} --workers {args.workers}"
        + (" --database-url postgresql+asyncpg://..." if database == "PostgreSQL" else "")
    )
    print(
        f"{args.profiles:,} profiles, {args.rate:g} requests/s for {args.seconds:g} s each, open loop, "
        f"{database}, {args.workers} web process{'es' if args.workers > 1 else ''}"
    )
    print("| endpoint | p50 ms | p99 ms | p99.9 ms | max ms | errors |")
    print("|---|---|---|---|---|---|")
    for name, (latencies, errors) in results.items():
        print(
            f"| {name} | {statistics.median(latencies):.1f} | {_percentile(latencies, 99):.1f} | "
            f"{_percentile(latencies, 99.9):.1f} | {max(latencies):.1f} | {errors} |"
        )
    baseline = _percentile(results["GET /api/posts (baseline)"][0], 99)
    for name, (latencies, _) in results.items():
        if "baseline" not in name:
            print(f"p99 {name} / baseline: {_percentile(latencies, 99) / baseline:.1f}x")


if __name__ == "__main__":
    main()
