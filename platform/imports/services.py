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
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.ingest.columns import KIND_BY_NAME, Kind, ParsedRow, RowProblem, column_for, parse_row
from diaspora.ingest.readers import ImportFileError, read_table
from diaspora.platform.accounts.addresses import normalise_email
from diaspora.platform.core import audit
from diaspora.platform.core.errors import DomainError
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.security import UNUSABLE_PASSWORD_HASH
from diaspora.platform.core.spreadsheet import SafeWriter
from diaspora.platform.db.models import (
    Account,
    AvailabilityWindow,
    Consent,
    ImportKey,
    Opportunity,
    OpportunityStatus,
    Organisation,
    Post,
    Profile,
    ProfileLanguage,
    ProfileSkill,
    Role,
    utcnow,
)
from diaspora.platform.opportunities import services as opportunities
from diaspora.platform.opportunities.schemas import OpportunityIn
from diaspora.platform.organisations.schemas import OrganisationIn
from diaspora.platform.organisations.services import new_organisation
from diaspora.platform.posts import services as posts
from diaspora.platform.posts.schemas import PostIn
from diaspora.platform.profiles import services as profiles
from diaspora.platform.profiles.schemas import DEFAULT_VISIBLE_FIELDS, ProfileIn

BATCH = 1000
_SCHEMAS: dict[str, type[Any]] = {
    "profiles": ProfileIn,
    "organisations": OrganisationIn,
    "posts": PostIn,
    "opportunities": OpportunityIn,
}
_ERROR_PATH = re.compile(r" - at `(\$[^`]*)`$")


@dataclass
class ImportReport:
    file: str
    kind: str
    source: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({p.number for p in self.problems})

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        return (
            f"{self.file}: {self.rows} rows; {self.created} {verb} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )

    def write_csv(self, path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = SafeWriter(handle)  # file names, columns and reasons quote what the row held
            writer.writerow(["file", "row", "column", "reason"])
            for warning in self.warnings:
                writer.writerow([self.file, "", "", warning])
            for problem in self.problems:
                writer.writerow([self.file, problem.number, problem.column, problem.reason])


@dataclass
class _Valid:
    row: ParsedRow
    data: Any
    digest: str


def _validate(kind: Kind, row: ParsedRow) -> _Valid | list[RowProblem]:
    try:
        data = msgspec.convert(row.body, _SCHEMAS[kind.name])
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _ERROR_PATH.search(message)
        column = column_for(kind, match.group(1)) if match else ""
        return [RowProblem(row.number, column, _ERROR_PATH.sub("", message))]
    if kind.name == "profiles":
        try:
            row.extra["email"] = normalise_email(str(row.extra.get("email", "")))
        except DomainError as exc:
            return [RowProblem(row.number, "email", exc.message)]
    digest = hashlib.sha256(
        json.dumps([row.body, row.extra], sort_keys=True, default=str).encode()
    ).hexdigest()
    return _Valid(row, data, digest)


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
    batch: list[_Valid] = []
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
    batch: Sequence[_Valid],
    report: ImportReport,
    actor: Actor | None,
    known: dict[str, str],
) -> None:
    """Write one batch in one transaction. `known` maps the source's external ids to their content hashes."""
    async with sessions() as session:
        transaction = await session.begin()
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
            "profiles": _write_profiles,
            "organisations": _write_organisations,
            "posts": _write_posts,
            "opportunities": _write_opportunities,
        }
        await writer[kind.name](session, fresh, changed, report, actor)
        if report.dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()


def _key(report: ImportReport, valid: _Valid, entity_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "source": report.source,
        "kind": report.kind,
        "external_id": valid.row.external_id,
        "entity_id": entity_id,
        "content_hash": valid.digest,
        "updated_at": utcnow(),
    }


async def _write_profiles(
    session: AsyncSession,
    fresh: list[_Valid],
    changed: list[tuple[_Valid, ImportKey]],
    report: ImportReport,
    actor: Actor | None,
) -> None:
    emails = [v.row.extra["email"] for v in fresh] + [v.row.extra["email"] for v, _ in changed]
    taken = dict(
        (await session.execute(select(Account.email, Account.id).where(Account.email.in_(emails)))).all()
    )
    owners = {key.entity_id: key for _, key in changed}
    profile_accounts = dict(
        (
            await session.execute(select(Profile.id, Profile.account_id).where(Profile.id.in_(list(owners))))
        ).all()
    )
    claimed: set[str] = set()

    def email_free(valid: _Valid, own_account: uuid.UUID | None) -> bool:
        email = valid.row.extra["email"]
        if email in claimed or (email in taken and taken[email] != own_account):
            report.problems.append(RowProblem(valid.row.number, "email", "belongs to another account"))
            return False
        claimed.add(email)
        return True

    # New people: plain bulk inserts (this is what makes 100,000 rows a matter of seconds).
    now = utcnow()
    rows: dict[Any, list[dict[str, Any]]] = {
        model: []
        for model in (Account, Profile, Consent, ProfileLanguage, ProfileSkill, AvailabilityWindow, ImportKey)
    }
    for valid in fresh:
        if not email_free(valid, None):
            continue
        data: ProfileIn = valid.data
        account_id, profile_id = uuid.uuid4(), uuid.uuid4()
        rows[Account].append(
            {
                "id": account_id,
                "email": valid.row.extra["email"],
                "password_hash": UNUSABLE_PASSWORD_HASH,
                "display_name": valid.row.extra.get("display_name", "")[:120],
                "phone": valid.row.extra.get("phone"),
                "role": Role.MEMBER.value,
                "organisation_id": None,
                "is_active": True,
                "created_at": now,
            }
        )
        rows[Profile].append(
            {
                "id": profile_id,
                "account_id": account_id,
                "headline": data.headline.strip(),
                "summary": data.summary.strip(),
                "residence_country": data.residence_country,
                "origin_country": data.origin_country,
                "origin_municipality": data.origin_municipality,
                "years_experience": data.years_experience,
                "sectors": list(data.sectors),
                "created_at": now,
                "updated_at": now,
            }
        )
        consent = data.consent
        rows[Consent].append(
            {
                "profile_id": profile_id,
                "visible_fields": profiles.encode_visible_fields(
                    consent.visible_fields if consent else DEFAULT_VISIBLE_FIELDS
                ),
                "open_to_matching": consent.open_to_matching if consent else True,
                "open_to_contact": consent.open_to_contact if consent else False,
                "updated_at": now,
            }
        )
        rows[ProfileLanguage].extend(
            {"id": uuid.uuid4(), "profile_id": profile_id, "code": lang.code, "level": lang.level.value}
            for lang in data.languages
        )
        rows[ProfileSkill].extend(
            {
                "id": uuid.uuid4(),
                "profile_id": profile_id,
                "position": i,
                "name": s.name.strip(),
                "taxonomy_id": s.taxonomy_id,
                "taxonomy_confidence": None,
                "level": s.level.value if s.level else None,
            }
            for i, s in enumerate(data.skills)
        )
        rows[AvailabilityWindow].extend(
            {
                "id": uuid.uuid4(),
                "profile_id": profile_id,
                "start_date": a.start_date,
                "end_date": a.end_date,
                "modes": [m.value for m in a.modes],
                "hours_per_week": a.hours_per_week,
            }
            for a in data.availability
        )
        rows[ImportKey].append(_key(report, valid, profile_id))
        report.created += 1
    for model, values in rows.items():
        if values:  # Core inserts of the tables: the ORM's per-row bookkeeping would triple the time
            await session.execute(insert(model.__table__), values)

    # Changed people: the same replacement as a member's own edit (children replaced as one unit).
    for valid, key in changed:
        owner: uuid.UUID | None = profile_accounts.get(key.entity_id)
        if owner is None:  # the person erased their account since the last import: create again
            await session.delete(key)
            await session.flush()
            await _write_profiles(session, [valid], [], report, actor)
            continue
        if not email_free(valid, owner):
            continue
        account = await session.get(Account, owner)
        assert account is not None
        account.email = valid.row.extra["email"]
        account.display_name = valid.row.extra.get("display_name", account.display_name)[:120]
        account.phone = valid.row.extra.get("phone")
        await profiles.save_profile(
            session, account.id, valid.data, actor_id=actor.id if actor is not None else None
        )
        key.content_hash = valid.digest
        report.updated += 1


async def _write_organisations(
    session: AsyncSession,
    fresh: list[_Valid],
    changed: list[tuple[_Valid, ImportKey]],
    report: ImportReport,
    actor: Actor | None,
) -> None:
    # Only an operator (command line) or an admin may import organisations as verified.
    may_verify = actor is None or actor.role is Role.ADMIN
    for valid in fresh:
        data: OrganisationIn = valid.data
        organisation = new_organisation(data, verified=bool(may_verify and valid.row.extra.get("verified")))
        session.add(organisation)
        await session.flush()
        await session.execute(insert(ImportKey), [_key(report, valid, organisation.id)])
        report.created += 1
    for valid, key in changed:
        existing = await session.get(Organisation, key.entity_id)
        if existing is None:
            report.problems.append(
                RowProblem(valid.row.number, "external_id", "its organisation was deleted")
            )
            continue
        data = valid.data
        existing.name, existing.kind, existing.country = (
            data.name.strip(),
            data.kind.value,
            data.country,
        )
        existing.municipality, existing.website = data.municipality, data.website
        existing.description = data.description
        if may_verify and "verified" in valid.row.extra:
            existing.verified = bool(valid.row.extra["verified"])
        key.content_hash = valid.digest
        report.updated += 1


async def _organisation_finder(
    session: AsyncSession,
    valids: Sequence[_Valid],
    report: ImportReport,
    actor: Actor | None,
) -> Callable[[_Valid], Awaitable[Organisation | None]]:
    """Resolves a row's organisation: staff uploads use their own; operator and admin imports name one
    imported from the same source in `organisation_external_id`. Problems go into the report."""
    references = {v.row.extra.get("organisation_external_id") for v in valids}
    organisations = dict(
        (
            await session.execute(
                select(ImportKey.external_id, ImportKey.entity_id).where(
                    ImportKey.source == report.source,
                    ImportKey.kind == "organisations",
                    ImportKey.external_id.in_([r for r in references if r]),
                )
            )
        ).all()
    )

    async def organisation_of(valid: _Valid) -> Organisation | None:
        if actor is not None and actor.role is not Role.ADMIN and actor.organisation_id is not None:
            return await session.get(Organisation, actor.organisation_id)  # staff upload their own
        reference = str(valid.row.extra.get("organisation_external_id", ""))
        if not reference:
            report.problems.append(RowProblem(valid.row.number, "organisation_external_id", "is required"))
            return None
        organisation_id: uuid.UUID | None = organisations.get(reference)
        if organisation_id is None:
            report.problems.append(
                RowProblem(
                    valid.row.number,
                    "organisation_external_id",
                    f"{reference!r} is not an organisation imported from this source",
                )
            )
            return None
        return await session.get(Organisation, organisation_id)

    return organisation_of


async def _write_posts(
    session: AsyncSession,
    fresh: list[_Valid],
    changed: list[tuple[_Valid, ImportKey]],
    report: ImportReport,
    actor: Actor | None,
) -> None:
    organisation_of = await _organisation_finder(session, fresh + [v for v, _ in changed], report, actor)
    for valid, key in [(v, None) for v in fresh] + list(changed):
        organisation = await organisation_of(valid)
        if organisation is None:
            continue
        data: PostIn = valid.data
        try:
            posts.check_publishable(organisation, data)
        except DomainError as exc:
            report.problems.append(RowProblem(valid.row.number, exc.field or "", exc.message))
            continue
        post = await session.get(Post, key.entity_id) if key is not None else None
        if post is None:
            post = Post(organisation_id=organisation.id, created_by_id=actor.id if actor else None)
            post.organisation = organisation
            session.add(post)
            posts.apply_post(post, data)
            await session.flush()
            if key is not None:
                key.entity_id, key.content_hash = post.id, valid.digest
            else:
                await session.execute(insert(ImportKey), [_key(report, valid, post.id)])
            report.created += 1
        else:
            await session.refresh(post, ["skills"])
            post.skills = []
            await session.flush()
            post.organisation_id = organisation.id
            posts.apply_post(post, data)
            key.content_hash = valid.digest  # type: ignore[union-attr]
            report.updated += 1


async def _write_opportunities(
    session: AsyncSession,
    fresh: list[_Valid],
    changed: list[tuple[_Valid, ImportKey]],
    report: ImportReport,
    actor: Actor | None,
) -> None:
    # Operators and admins may import opportunities as published (they are the reviewers); staff
    # uploads, and rows that do not say, wait for review like opportunities posted through the API.
    may_publish = actor is None or actor.role is Role.ADMIN
    organisation_of = await _organisation_finder(session, fresh + [v for v, _ in changed], report, actor)
    for valid, key in [(v, None) for v in fresh] + list(changed):
        organisation = await organisation_of(valid)
        if organisation is None:
            continue
        if not may_publish and not organisation.verified:
            report.problems.append(RowProblem(valid.row.number, "", "your organisation is not verified yet"))
            continue
        status = str(valid.row.extra.get("status") or OpportunityStatus.PENDING_REVIEW.value)
        if status not in (OpportunityStatus.PENDING_REVIEW.value, OpportunityStatus.PUBLISHED.value):
            report.problems.append(RowProblem(valid.row.number, "status", "is pending_review or published"))
            continue
        if status == OpportunityStatus.PUBLISHED.value and not (may_publish and organisation.verified):
            reason = "needs a verified organisation" if may_publish else "is set by an admin's review"
            report.problems.append(RowProblem(valid.row.number, "status", f"published {reason}"))
            continue
        row = await session.get(Opportunity, key.entity_id) if key is not None else None
        if row is None:
            row = Opportunity(
                id=uuid.uuid4(), organisation_id=organisation.id, created_by_id=actor.id if actor else None
            )
            row.organisation = organisation
            session.add(row)
            report.created += 1
        else:
            report.updated += 1
        opportunities.apply_opportunity(row, valid.data)
        row.organisation_id = organisation.id
        row.status = status
        row.published_at = (row.published_at or utcnow()) if status == "published" else None
        await session.flush()
        if key is None:
            await session.execute(insert(ImportKey), [_key(report, valid, row.id)])
        else:
            key.entity_id, key.content_hash = row.id, valid.digest
