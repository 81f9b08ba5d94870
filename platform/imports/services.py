"""Bulk import of profiles, organisations, posts and opportunities from CSV, JSON Lines and XLSX files.

Rows are validated with the API's own schemas, so an imported record obeys exactly the rules of one
created through the API. Every rejected row is reported with its row number, column and reason, and the
valid rows go in. Each batch of rows is one transaction: a crash never leaves half a batch. Records are
keyed by (source, external id): importing the same file again changes nothing, and a changed row updates
its record (which the matcher then re-encodes, since its `updated_at` moves).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.ingest.columns import KIND_BY_NAME, Kind
from diaspora.ingest.readers import ImportFileError, check_whole, read_table
from diaspora.platform.core import audit
from diaspora.platform.core.policy import Actor
from diaspora.platform.db import bulk
from diaspora.platform.db.models import ImportKey
from diaspora.platform.imports import prepare, writers
from diaspora.platform.imports.report import ImportReport, Valid

# From this size on, a file of people is prepared by a process of its own while this one writes (about
# 4,000 rows: below it, starting that process costs more than it saves).
PREPARE_APART_FROM_BYTES = 1_000_000


async def import_file(
    sessions: async_sessionmaker[AsyncSession],
    kind_name: str,
    path: Path,
    *,
    source: str,
    dry_run: bool = False,
    actor: Actor | None = None,
    progress: Callable[[int], None] | None = None,
    apart: bool | None = None,
) -> ImportReport:
    """Import one file. `actor` is the staff member uploading (None: an operator on the command line).
    `apart`: whether a process of its own prepares the rows (`prepare`); None decides by the file's size
    (profiles on SQLite or PostgreSQL only, the kinds and drivers it knows how to prepare for)."""
    kind = KIND_BY_NAME[kind_name]
    report = ImportReport(file=path.name, kind=kind_name, source=source, dry_run=dry_run)
    header, rows = read_table(path)
    missing = [c for c in kind.required if c not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "none"
        raise ImportFileError(
            f"{path.name}: missing required column(s) {', '.join(missing)} (found: {found}; "
            "is the delimiter , ; or TAB?)"
        )
    unknown = [h for h in header if h and h not in kind.columns]
    if unknown:
        report.warnings.append(f"unknown column(s) ignored: {', '.join(unknown)}")
    # What this source already holds, loaded once: a fresh registry then costs no lookups per batch.
    async with sessions() as session:
        known: dict[str, str] = dict(
            (
                await session.execute(
                    select(ImportKey.external_id, ImportKey.content_hash).where(
                        ImportKey.source == source, ImportKey.kind == kind.name
                    )
                )
            ).all()
        )
    run = _Import(sessions, kind, report, actor, known, progress)
    if apart is None:
        apart = _worth_preparing_apart(kind, path)
    if apart:
        await _import_apart(run, path, rows)
    else:
        await asyncio.to_thread(check_whole, path)  # a file that breaks part-way is refused whole
        await _import_here(run, rows)
    report.problems.sort(key=lambda p: p.number)
    if not dry_run and report.created + report.updated >= ANALYZE_FROM_ROWS:
        await _analyze(sessions, kind)
    if not dry_run and (report.created or report.updated):
        async with sessions() as session, session.begin():
            audit.record(
                session,
                actor_id=actor.id if actor else None,
                action="import.completed",
                entity_type=kind_name,
                entity_id=None,
                source=source,
                created=report.created,
                updated=report.updated,
                rejected=report.rejected,
            )
    return report


def _worth_preparing_apart(kind: Kind, path: Path) -> bool:
    return kind.name == "profiles" and path.stat().st_size >= PREPARE_APART_FROM_BYTES


@dataclass
class _Import:
    """One import under way: where it writes, of what kind, what its source already holds (external ids
    and their content hashes), whom it reports to and who runs it."""

    sessions: async_sessionmaker[AsyncSession]
    kind: Kind
    report: ImportReport
    actor: Actor | None
    known: dict[str, str]
    progress: Callable[[int], None] | None


async def _import_here(run: _Import, rows: Iterable[tuple[int, Any]]) -> None:
    report, progress = run.report, run.progress
    batch: list[Valid] = []
    # Parsing and validating the next batch overlaps with writing the previous one (the database works in
    # its own thread); writes stay strictly in order, so later rows see earlier rows' records.
    writing: asyncio.Task[None] | None = None
    try:
        for item in prepare.checked(run.kind, rows):
            report.rows += 1
            if isinstance(item, list):
                report.problems.extend(item)
            else:
                batch.append(item)
            if len(batch) >= prepare.BATCH:
                if writing is not None:
                    await writing
                writing = asyncio.create_task(_write(run, batch))
                batch = []
            if report.rows % 50 == 0:
                await asyncio.sleep(0)  # let the writer submit its next statement
            if progress:
                progress(1)
        if writing is not None:
            await writing
    except BaseException:
        if writing is not None and not writing.done():  # never leave a batch half-written behind
            writing.cancel()
            with contextlib.suppress(BaseException):
                await writing
        raise
    if batch:
        await _write(run, batch)


async def _import_apart(run: _Import, path: Path, rows: Iterable[tuple[int, Any]]) -> None:
    """The rows prepared by a process of their own (`prepare.prepare_apart`), written here as they come;
    `rows` (the file read here) serve where no other process can prepare them."""
    report, progress = run.report, run.progress
    async with run.sessions() as session:
        dialect = (await session.connection()).dialect
    if run.kind.name != "profiles" or not bulk.takes_records(dialect):
        await asyncio.to_thread(check_whole, path)
        await _import_here(run, rows)
        return
    job = prepare.Job(path, run.kind.name, report.source, run.known, f"{dialect.name}+{dialect.driver}")
    process = await prepare.start(job)
    try:
        # Checked whole while the other process starts: a file that breaks part-way is refused whole.
        await asyncio.to_thread(check_whole, path)
        async for batch, people in prepare.frames(process):
            report.rows += batch.rows
            report.problems.extend(batch.problems)
            report.unchanged += batch.unchanged
            await _write(run, batch.differing, people)
            if progress:
                progress(batch.rows)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()  # the import failed or was cancelled: stop preparing
            await process.wait()


# From this many records written, PostgreSQL's statistics of the tables they went to are renewed at the end:
# until its autovacuum gets to them, every process would plan its queries for the tables as they were
# (an empty registry's plans scan whole tables), and renewing them also drops the plans cached on them.
ANALYZE_FROM_ROWS = 1000


async def _analyze(sessions: async_sessionmaker[AsyncSession], kind: Kind) -> None:
    async with sessions() as session, session.begin():
        if (await session.connection()).dialect.name == "postgresql":
            tables = ", ".join(model.__tablename__ for model in writers.WRITTEN[kind.name])
            await session.execute(text(f"ANALYZE {tables}"))


async def import_upload(
    session: AsyncSession, user: Actor, kind_name: str, filename: str, content: bytes, *, dry_run: bool
) -> ImportReport:
    """An organisation's staff upload a file (its suffix already checked): it is imported as their own
    organisation's source, and reports name the uploaded file. Raises `ImportFileError` for a file that
    cannot be read, naming the uploaded file too."""
    sessions: Any = async_sessionmaker(session.bind, expire_on_commit=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{Path(filename).suffix.lower()}"
        path.write_bytes(content)
        try:
            report = await import_file(
                sessions,
                kind_name,
                path,
                source=f"organisation:{user.organisation_id}",
                dry_run=dry_run,
                actor=user,
            )
        except ImportFileError as exc:
            raise ImportFileError(str(exc).replace(path.name, filename)) from exc
    report.file = filename
    return report


async def _write(run: _Import, batch: Sequence[Valid], people: writers.PreparedPeople | None = None) -> None:
    """Write one batch in one transaction; `people`: new people prepared apart, written first."""
    kind, report, actor, known = run.kind, run.report, run.actor, run.known
    async with run.sessions() as session:
        transaction = await session.begin()
        if (await session.connection()).dialect.name == "postgresql":
            # Each batch's lookups planned for the table as it is now: a plan made once while a fresh
            # registry was empty (the driver prepares statements) scans the whole table ever after, which
            # made 100,000 rows take minutes instead of seconds.
            await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        if people is not None:
            await writers.write_prepared_people(session, people, report)
        differing = [v.row.external_id for v in batch if known.get(v.row.external_id, v.digest) != v.digest]
        keys = {}
        if differing:
            keys = {
                key.external_id: key
                for key in (
                    await session.scalars(
                        select(ImportKey).where(
                            ImportKey.source == report.source,
                            ImportKey.kind == kind.name,
                            ImportKey.external_id.in_(differing),
                        )
                    )
                ).all()
            }
        fresh, changed = [], []
        for valid in batch:
            key = keys.get(valid.row.external_id)
            if valid.row.external_id not in known or (key is None and valid.row.external_id in differing):
                fresh.append(valid)  # new, or its key vanished since (its record was erased)
            elif key is None:
                report.unchanged += 1
            else:
                changed.append((valid, key))
        writer = {
            "profiles": writers.write_profiles,
            "organisations": writers.write_organisations,
            "posts": writers.write_posts,
            "opportunities": writers.write_opportunities,
        }
        if fresh or changed:
            await writer[kind.name](session, fresh, changed, report, actor)
        if report.dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
