"""Bulk import of profiles, organisations, posts and opportunities from CSV, JSON Lines and XLSX files.

Rows are validated with the API's own schemas, so an imported record obeys exactly the rules of one
created through the API. Every rejected row is reported with its row number, column and reason, and the
valid rows go in. Each batch of rows is one transaction: a crash never leaves half a batch. Records are
keyed by (source, external id): importing the same file again changes nothing, and a changed row updates
its record (which the matcher then re-encodes, since its `updated_at` moves).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.ingest.columns import KIND_BY_NAME, Kind, ParsedRow, RowProblem, column_for, parse_row
from diaspora.ingest.readers import ImportFileError, read_table
from diaspora.platform.accounts.addresses import normalise_email
from diaspora.platform.accounts.schemas import AccountUpdateIn
from diaspora.platform.core import audit
from diaspora.platform.core.errors import DomainError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import ImportKey
from diaspora.platform.imports import writers
from diaspora.platform.imports.report import ImportReport, Valid
from diaspora.platform.opportunities.schemas import OpportunityIn
from diaspora.platform.organisations.schemas import OrganisationIn
from diaspora.platform.posts.schemas import PostIn
from diaspora.platform.profiles.schemas import ProfileIn

BATCH = 1000
_SCHEMAS: dict[str, type[Any]] = {
    "profiles": ProfileIn,
    "organisations": OrganisationIn,
    "posts": PostIn,
    "opportunities": OpportunityIn,
}
_ERROR_PATH = re.compile(r" - at `(\$[^`]*)`$")


def _problem(
    kind: Kind, row: ParsedRow, exc: msgspec.ValidationError, *, fields: tuple[str, ...] = ()
) -> RowProblem:
    """The problem a validation error states. Its column is the error's path, or else the one of `fields`
    the message begins with (the cleaning of text names its field: "`display_name` contains ...")."""
    message = str(exc)
    match = _ERROR_PATH.search(message)
    column = column_for(kind, match.group(1)) if match else ""
    if not column:
        column = next((name for name in fields if message.startswith(f"`{name}`")), "")
    return RowProblem(row.number, column, _ERROR_PATH.sub("", message))


def _validate(kind: Kind, row: ParsedRow) -> Valid | list[RowProblem]:
    try:
        data = msgspec.convert(row.body, _SCHEMAS[kind.name])
    except msgspec.ValidationError as exc:
        return [_problem(kind, row, exc)]
    if kind.name == "profiles":
        # The person's account obeys the rules of a member's own account edit (name and phone).
        fields = ("display_name", "phone")
        account = {name: row.extra[name] for name in fields if row.extra.get(name) is not None}
        try:
            msgspec.convert(account, AccountUpdateIn)
        except msgspec.ValidationError as exc:
            return [_problem(kind, row, exc, fields=fields)]
        try:
            row.extra["email"] = normalise_email(str(row.extra.get("email", "")))
        except DomainError as exc:
            return [RowProblem(row.number, "email", exc.message)]
    digest = hashlib.sha256(
        json.dumps([row.body, row.extra], sort_keys=True, default=str).encode()
    ).hexdigest()
    return Valid(row, data, digest)


async def import_file(
    sessions: async_sessionmaker[AsyncSession],
    kind_name: str,
    path: Path,
    *,
    source: str,
    dry_run: bool = False,
    actor: Actor | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import one file. `actor` is the staff member uploading (None: an operator on the command line)."""
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
    seen: dict[str, int] = {}
    batch: list[Valid] = []
    # Parsing and validating the next batch overlaps with writing the previous one (the database works in
    # its own thread); writes stay strictly in order, so later rows see earlier rows' records.
    writing: asyncio.Task[None] | None = None
    for number, raw in rows:
        report.rows += 1
        parsed = parse_row(kind, number, raw)
        if isinstance(parsed, list):
            report.problems.extend(parsed)
        elif parsed.external_id in seen:
            report.problems.append(
                RowProblem(
                    number,
                    "external_id",
                    f"{parsed.external_id!r} already used on row {seen[parsed.external_id]}",
                )
            )
        else:
            seen[parsed.external_id] = number
            valid = _validate(kind, parsed)
            if isinstance(valid, list):
                report.problems.extend(valid)
            else:
                batch.append(valid)
        if len(batch) >= BATCH:
            if writing is not None:
                await writing
            writing = asyncio.create_task(_write(sessions, kind, batch, report, actor, known))
            batch = []
        if report.rows % 50 == 0:
            await asyncio.sleep(0)  # let the writer submit its next statement
        if progress:
            progress(1)
    if writing is not None:
        await writing
    if batch:
        await _write(sessions, kind, batch, report, actor, known)
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


async def _write(
    sessions: async_sessionmaker[AsyncSession],
    kind: Kind,
    batch: Sequence[Valid],
    report: ImportReport,
    actor: Actor | None,
    known: dict[str, str],
) -> None:
    """Write one batch in one transaction. `known` maps the source's external ids to their content hashes."""
    async with sessions() as session:
        transaction = await session.begin()
        if (await session.connection()).dialect.name == "postgresql":
            # Each batch's lookups planned for the table as it is now: a plan made once while a fresh
            # registry was empty (the driver prepares statements) scans the whole table ever after, which
            # made 100,000 rows take minutes instead of seconds.
            await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
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
        await writer[kind.name](session, fresh, changed, report, actor)
        if report.dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
