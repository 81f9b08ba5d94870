from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.ingest.readers import FORMATS, ImportFileError
from diaspora.platform.core.guards import provide_actor, requires_organisation_account
from diaspora.platform.core.policy import Actor
from diaspora.platform.imports.services import import_upload

MAX_UPLOAD_BYTES = 20_000_000


class ProblemOut(msgspec.Struct):
    row: int
    column: str
    reason: str


class ImportReportOut(msgspec.Struct):
    file: str
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    summary: str
    warnings: list[str]
    problems: list[ProblemOut]


class Upload(msgspec.Struct):
    file: UploadFile
    dry_run: bool = False


async def _upload(session: AsyncSession, user: Actor, kind: str, data: Upload) -> ImportReportOut:
    if user.organisation_id is None:
        raise ClientException("Register your organisation first.")
    suffix = Path(data.file.filename or "").suffix.lower()
    if suffix not in FORMATS:
        raise ClientException(
            f"`file` must be .csv, .jsonl or .xlsx, not {suffix or 'without extension'!r}",
            extra=[{"key": "file", "message": "unknown file type"}],
        )
    filename = data.file.filename or f"file{suffix}"
    try:
        report = await import_upload(
            session, user, kind, filename, await data.file.read(), dry_run=data.dry_run
        )
    except ImportFileError as exc:
        raise ClientException(str(exc)) from exc
    return ImportReportOut(
        file=report.file,
        dry_run=report.dry_run,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        summary=report.summary(),
        warnings=report.warnings,
        problems=[ProblemOut(p.number, p.column, p.reason) for p in report.problems],
    )


class ImportController(Controller):
    path = "/api/imports"
    tags = ["import"]
    dependencies = {"user": Provide(provide_actor)}

    @post(
        "/posts",
        guards=[requires_organisation_account],
        status_code=200,
        request_max_body_size=MAX_UPLOAD_BYTES,
        summary="Upload your organisation's posts (CSV, JSON Lines or XLSX); returns the validation report",
    )
    async def upload_posts(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: Annotated[Upload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportReportOut:
        return await _upload(db_session, user, "posts", data)

    @post(
        "/opportunities",
        guards=[requires_organisation_account],
        status_code=200,
        request_max_body_size=MAX_UPLOAD_BYTES,
        summary="Upload your organisation's opportunities (reviewed before publication); returns the report",
    )
    async def upload_opportunities(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: Annotated[Upload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportReportOut:
        return await _upload(db_session, user, "opportunities", data)
