"""Import throughput: profile rows from a CSV file into an empty database, without embeddings.

Ours (`diaspora import profiles`: streamed, validated with the API schemas, bulk inserts per batch of
1,000) against a naive baseline in the same run: the same validated rows inserted one at a time through
the ORM, one flush per row. The baseline runs on a slice of the file (it is slow) and its rate is reported.

    python bench/ingest.py [--rows 100000] [--naive-rows 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import async_sessionmaker

from diaspora.platform.db import migrate
from diaspora.platform.db.models import Account, Consent, Profile, ProfileLanguage, ProfileSkill
from diaspora.platform.imports.services import import_file
from diaspora.platform.profiles.schemas import ProfileIn
from diaspora.platform.wiring import open_database

HEADER = (
    "external_id,email,display_name,headline,summary,"
    "residence_country,origin_country,languages,skills,sectors\n"
)


def write_csv(path: Path, rows: int) -> None:
    from diaspora.platform.demo.catalogue import PROFESSIONS

    rng = random.Random(5)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for i in range(rows):
            profession = PROFESSIONS[i % len(PROFESSIONS)]
            skills = "; ".join(rng.sample(profession.skills, 3))
            handle.write(
                f'r-{i},person{i}@example.org,Person {i},{profession.headline},"{profession.summary}",'
                f"DE,AL,sq:native; de:C1,{skills},{profession.sector}\n"
            )


async def ours(url: str, path: Path) -> float:
    engine = open_database(url)
    started = time.perf_counter()
    report = await import_file(
        async_sessionmaker(engine, expire_on_commit=False), "profiles", path, source="bench"
    )
    elapsed = time.perf_counter() - started
    await engine.dispose()
    assert report.created > 0, report.summary()
    assert not report.problems, report.summary()
    return elapsed


async def naive(url: str, path: Path, limit: int) -> float:
    import csv

    engine = open_database(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        with path.open(encoding="utf-8") as handle:
            for n, row in enumerate(csv.DictReader(handle)):
                if n >= limit:
                    break
                data = msgspec.convert(
                    {
                        "headline": row["headline"],
                        "summary": row["summary"],
                        "residence_country": "DE",
                        "origin_country": "AL",
                        "skills": [{"name": s.strip()} for s in row["skills"].split(";")],
                    },
                    ProfileIn,
                )
                account = Account(
                    id=uuid.uuid4(),
                    email=f"naive-{row['email']}",
                    password_hash="!",  # noqa: S106 - an unusable hash
                    display_name=row["display_name"],
                    role="member",
                )
                session.add(account)
                profile = Profile(
                    account_id=account.id,
                    headline=data.headline,
                    summary=data.summary,
                    residence_country="DE",
                    origin_country="AL",
                    sectors=[row["sectors"]],
                )
                profile.skills = [ProfileSkill(position=i, name=s.name) for i, s in enumerate(data.skills)]
                profile.languages = [
                    ProfileLanguage(code="sq", level="native"),
                    ProfileLanguage(code="de", level="C1"),
                ]
                profile.consent = Consent(visible_fields=",headline,skills,", open_to_matching=True)
                session.add(profile)
                await session.flush()
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument(
        "--database-url", default="", help="an empty database (default: a temporary SQLite file)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite+aiosqlite:///{folder / 'ingest.sqlite3'}"
    migrate.upgrade(url)
    path = folder / "profiles.csv"
    write_csv(path, args.rows)
    ours_s = asyncio.run(ours(url, path))
    naive_s = asyncio.run(naive(url, path, args.naive_rows))
    ours_rate, naive_rate = args.rows / ours_s, args.naive_rows / naive_s
    print("method | rows | seconds | rows/s")
    ours_name = "diaspora import profiles (stream, validate, bulk insert)"
    print(f"{ours_name} | {args.rows:,} | {ours_s:.1f} | {ours_rate:,.0f}")
    print(f"naive ORM, one flush per row | {args.naive_rows:,} | {naive_s:.1f} | {naive_rate:,.0f}")
    print(f"\nours is {ours_rate / naive_rate:.1f}x the naive rate; {args.rows:,} rows in {ours_s:.0f} s")
    print(f"command: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
