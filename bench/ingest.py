"""Import throughput: profile rows from a CSV file into an empty database, without embeddings.

Ours (`diaspora import profiles`: streamed, validated with the API schemas, bulk inserts per batch of
1,000; a file this large is prepared by a process of its own while the importing one writes) against two
baselines in the same run: the same import with every row prepared in the importing process
(`apart=False`, what small files and the version before did), and a naive one, the same validated rows
inserted one at a time through the ORM with one flush per row, on a slice of the file (it is slow), of
which the rate is reported. On SQLite each method gets an empty database of its own; on PostgreSQL
(`--database-url`, an empty database) they run one after the other in it, so the baselines meet fuller
tables than ours did. Then the first `--changed-rows` rows of the file again, every one of them changed
(replaced as a member's own edit would replace it), into ours's database.

    python bench/ingest.py [--rows 100000] [--naive-rows 5000] [--changed-rows 20000] [--database-url URL]
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


def write_csv(path: Path, rows: int, tag: str = "") -> None:
    from diaspora.platform.demo.catalogue import PROFESSIONS

    rng = random.Random(5)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for i in range(rows):
            profession = PROFESSIONS[i % len(PROFESSIONS)]
            skills = "; ".join(rng.sample(profession.skills, 3))
            handle.write(
                f"{tag}r-{i},{tag}person{i}@example.org,Person {i},"
                f'{profession.headline},"{profession.summary}",'
                f"DE,AL,sq:native; de:C1,{skills},{profession.sector}\n"
            )


async def ours(url: str, path: Path, apart: bool | None = None) -> float:
    engine = open_database(url)
    started = time.perf_counter()
    report = await import_file(
        async_sessionmaker(engine, expire_on_commit=False), "profiles", path, source="bench", apart=apart
    )
    elapsed = time.perf_counter() - started
    await engine.dispose()
    assert report.created + report.updated > 0, report.summary()
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
    parser.add_argument("--changed-rows", type=int, default=20_000)
    parser.add_argument(
        "--database-url", default="", help="an empty database (default: a temporary SQLite file)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())

    def database(name: str) -> str:
        url = args.database_url or f"sqlite+aiosqlite:///{folder / f'{name}.sqlite3'}"
        migrate.upgrade(url)
        return url

    path, here_path = folder / "profiles.csv", folder / "profiles-here.csv"
    write_csv(path, args.rows)
    write_csv(here_path, args.rows, tag="here-")
    ours_url = database("ours")
    ours_s = asyncio.run(ours(ours_url, path))
    changed_path = folder / "profiles-changed.csv"
    with path.open(encoding="utf-8") as source, changed_path.open("w", encoding="utf-8") as target:
        for n, line in enumerate(source):
            if n > args.changed_rows:
                break
            target.write(line.replace(",DE,AL,", ",AT,AL,"))  # each person moved to Austria
    changed_s = asyncio.run(ours(ours_url, changed_path))
    here_s = asyncio.run(ours(database("here"), here_path, apart=False))
    naive_s = asyncio.run(naive(database("naive"), path, args.naive_rows))
    ours_rate, naive_rate = args.rows / ours_s, args.naive_rows / naive_s
    print("method | rows | seconds | rows/s")
    ours_name = "diaspora import profiles (stream, validate apart, bulk insert)"
    print(f"{ours_name} | {args.rows:,} | {ours_s:.1f} | {ours_rate:,.0f}")
    print(
        f"the same, every row prepared in the importing process | {args.rows:,} | {here_s:.1f} | "
        f"{args.rows / here_s:,.0f}"
    )
    print(f"naive ORM, one flush per row | {args.naive_rows:,} | {naive_s:.1f} | {naive_rate:,.0f}")
    print(
        f"ours again, every row changed | {args.changed_rows:,} | {changed_s:.1f} | "
        f"{args.changed_rows / changed_s:,.0f}"
    )
    print(
        f"\nours is {here_s / ours_s:.2f}x as fast as preparing in the importing process and "
        f"{ours_rate / naive_rate:.1f}x the naive rate; {args.rows:,} rows in {ours_s:.0f} s"
    )
    print(f"command: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
