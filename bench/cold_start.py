"""Cold start of the matching engine: building the in-memory indexes of N profiles from the database, or
opening the snapshot a running process saved and catching up from it.

The database is filled directly (bulk inserts) with profiles, their languages, availability, skills and a
stored embedding whose hash matches, so the measurement is the load, not the encoding. Three paths, in
one run: the regular one (documents in batches, each text's hash checked against the store), the bulk one
(plain rows of fresh vectors) and the snapshot (memory-mapped, then the incremental catch-up against the
database).

    python bench/cold_start.py [--profiles 20000] [--database-url URL] [--no-regular]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from diaspora.matching.documents import ProfileDocument, Skill, Window
from diaspora.matching.texts import profile_text, text_hash
from diaspora.platform.db import migrate
from diaspora.platform.db.models import (
    Account,
    AvailabilityWindow,
    Consent,
    Embedding,
    Profile,
    ProfileLanguage,
    ProfileSkill,
    utcnow,
)
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.settings import Settings
from diaspora.platform.wiring import open_database

MODEL = "packaged:all-MiniLM-L6-v2"
SKILLS = ("python", "echocardiography", "welding", "gis", "teaching", "triage", "sql", "auditing")


async def fill(url: str, n: int) -> None:
    engine = open_database(url)
    rng = random.Random(1)
    vectors = np.random.default_rng(1).standard_normal((n, 384), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = utcnow() - timedelta(hours=1)  # a registry filled earlier, not seconds before the start
    async with engine.begin() as conn:
        for start in range(0, n, 5000):
            accounts, profiles, consents, languages, windows, skills, embeddings = [], [], [], [], [], [], []
            for i in range(start, min(n, start + 5000)):
                account_id, profile_id = uuid.uuid4(), uuid.uuid4()
                chosen = rng.sample(SKILLS, 3)
                first = date(2027, 1, 1) + timedelta(days=rng.randint(0, 300))
                accounts.append(
                    {
                        "id": account_id,
                        "email": f"m{i}@example.org",
                        "password_hash": "-",
                        "display_name": f"Member {i}",
                        "role": "member",
                        "is_active": True,
                        "created_at": now,
                    }
                )
                profiles.append(
                    {
                        "id": profile_id,
                        "account_id": account_id,
                        "headline": f"Professional {i}",
                        "summary": "",
                        "sectors": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                consents.append(
                    {
                        "profile_id": profile_id,
                        "visible_fields": ",headline,skills,",
                        "open_to_matching": True,
                        "open_to_contact": False,
                        "updated_at": now,
                    }
                )
                languages.append({"id": uuid.uuid4(), "profile_id": profile_id, "code": "sq", "level": "C1"})
                windows.append(
                    {
                        "id": uuid.uuid4(),
                        "profile_id": profile_id,
                        "start_date": first,
                        "end_date": first + timedelta(days=60),
                        "modes": ["remote"],
                        "hours_per_week": None,
                    }
                )
                skills.extend(
                    {
                        "id": uuid.uuid4(),
                        "profile_id": profile_id,
                        "position": p,
                        "name": s,
                        "taxonomy_id": None,
                        "level": None,
                    }
                    for p, s in enumerate(chosen)
                )
                document = ProfileDocument(
                    str(profile_id),
                    headline=f"Professional {i}",
                    skills=tuple(Skill(s) for s in chosen),
                    languages=("sq",),
                    availability=(Window(first, first + timedelta(days=60), ("remote",)),),
                )
                embeddings.append(
                    {
                        "id": uuid.uuid4(),
                        "entity_type": "profile",
                        "entity_id": profile_id,
                        "model_id": MODEL,
                        "text_hash": text_hash(profile_text(document)),
                        "dimension": 384,
                        "vector": vectors[i].tobytes(),
                        "updated_at": now,
                    }
                )
            for model, rows in (
                (Account, accounts),
                (Profile, profiles),
                (Consent, consents),
                (ProfileLanguage, languages),
                (AvailabilityWindow, windows),
                (ProfileSkill, skills),
                (Embedding, embeddings),
            ):
                await conn.execute(insert(model), rows)
    await engine.dispose()


async def cold_start(
    url: str, data_dir: Path, *, bulk_load: bool, snapshots: bool, save: bool = False
) -> tuple[float, int, int, float]:
    engine = open_database(url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    settings = Settings(database_url=url, data_dir=data_dir, embedding_model=MODEL, match_snapshots=snapshots)
    matching = MatchingEngine(settings, sessions, bulk_load=bulk_load)
    _ = matching.encoder.dimension  # the model load is not part of the index build
    started = time.perf_counter()
    report = await matching.refresh()
    elapsed = time.perf_counter() - started
    saving = 0.0
    if save:
        started = time.perf_counter()
        await matching.save_snapshot(force=True)
        saving = time.perf_counter() - started
    await engine.dispose()
    return elapsed, report.reused + report.restored, report.encoded, saving


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument(
        "--database-url", default="", help="an empty database (default: a temporary SQLite file)"
    )
    parser.add_argument("--no-regular", action="store_true", help="skip the slow regular path")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'cold.sqlite3'}"
    migrate.upgrade(url)
    asyncio.run(fill(url, args.profiles))
    print("path | profiles | cold start s | profiles/s | loaded | encoded")
    timings = {}
    paths = [
        ("regular (documents, hash check)", False, False, False),
        ("bulk (plain rows, fresh vectors)", True, True, True),  # no snapshot yet; saves one
        ("snapshot (memory-mapped, catch-up)", True, True, False),
    ]
    for name, bulk, snapshots, save in paths[1:] if args.no_regular else paths:
        elapsed, loaded, encoded, saving = asyncio.run(
            cold_start(url, data_dir, bulk_load=bulk, snapshots=snapshots, save=save)
        )
        timings[name] = elapsed
        rate = args.profiles / elapsed
        print(f"{name} | {args.profiles:,} | {elapsed:.2f} | {rate:,.0f} | {loaded:,} | {encoded:,}")
        if save:
            print(f"  (writing the snapshot after it: {saving:.2f} s)")
    bulk, snapshot = timings[paths[1][0]], timings[paths[2][0]]
    if paths[0][0] in timings:
        print(f"\nthe bulk path is {timings[paths[0][0]] / bulk:.1f}x faster than the regular path")
    print(f"the snapshot is {bulk / snapshot:.1f}x faster than the bulk path")
    print(f"\ncommand: python {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
