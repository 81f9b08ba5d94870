"""An import's rows read, checked and built apart from their writing: the same steps in the importing
process for small files, or in a process of their own for large ones.

Reading, validating and building rows is Python's work on one core; writing them is the database's (on
SQLite, the driver's thread in this process). In one process the two take turns for the interpreter, and
an import of 100,000 people took their sum. A large file of people is therefore prepared by a second
process: it parses and validates every row with the API's schemas, classifies it against the source's
import keys, and builds each new person's rows converted for the driver (`bulk.records`), which it hands
over in batches. The importing process only checks that each address is free and writes, while the
other prepares the next batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pickle
import re
import sys
import traceback
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
from sqlalchemy.engine import URL, Dialect

from diaspora.ingest.columns import KIND_BY_NAME, Kind, ParsedRow, RowProblem, column_for, parse_row
from diaspora.ingest.readers import ImportFileError, read_table
from diaspora.platform.accounts.addresses import normalise_email
from diaspora.platform.accounts.schemas import AccountUpdateIn
from diaspora.platform.core.errors import DomainError
from diaspora.platform.db import bulk
from diaspora.platform.db.models import utcnow
from diaspora.platform.imports.report import ImportReport, Valid
from diaspora.platform.imports.writers import WRITTEN, PreparedPeople, new_person_rows
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


def validate(kind: Kind, row: ParsedRow) -> Valid | list[RowProblem]:
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


def checked(kind: Kind, rows: Iterable[tuple[int, Any]]) -> Iterator[Valid | list[RowProblem]]:
    """Each row of a file parsed and validated, in order: a valid row, or its problems. An external id used
    by an earlier row is a problem of the later one."""
    seen: dict[str, int] = {}
    for number, raw in rows:
        parsed = parse_row(kind, number, raw)
        if isinstance(parsed, list):
            yield parsed
        elif parsed.external_id in seen:
            first = seen[parsed.external_id]
            yield [RowProblem(number, "external_id", f"{parsed.external_id!r} already used on row {first}")]
        else:
            seen[parsed.external_id] = number
            yield validate(kind, parsed)


@dataclass
class Prepared:
    """One batch of a file's rows, prepared apart. `people` are the rows new to the source, their rows
    built; `differing` are rows whose record exists and that changed since, which the importing process
    replaces as a member's own edit replaces a profile (or creates anew, when the record was erased)."""

    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    unchanged: int = 0
    people: list[Valid] = field(default_factory=list)
    differing: list[Valid] = field(default_factory=list)


def prepared_people(valids: list[Valid], report: ImportReport, dialect: Dialect) -> PreparedPeople:
    """New people's rows, each table's converted for the driver, with whose row each one is."""
    now = utcnow()
    rows: dict[Any, list[dict[str, Any]]] = {model: [] for model in WRITTEN["profiles"]}
    owners: dict[Any, list[int]] = {model: [] for model in WRITTEN["profiles"]}
    for i, valid in enumerate(valids):
        for model, values in new_person_rows(valid, report, now).items():
            rows[model].extend(values)
            owners[model].extend([i] * len(values))
    return PreparedPeople(
        numbers=[v.row.number for v in valids],
        emails=[v.row.extra["email"] for v in valids],
        tables={
            model.__tablename__: (
                *bulk.records(dialect, model.__table__, values, to_pickle=True),
                owners[model],
            )
            for model, values in rows.items()
            if values
        },
    )


def batches(
    kind: Kind, rows: Iterable[tuple[int, Any]], known: dict[str, str], size: int = BATCH
) -> Iterator[Prepared]:
    """The rows in batches of `size` valid ones, each classified against `known` (the source's external
    ids and their content hashes)."""
    batch = Prepared()
    for item in checked(kind, rows):
        batch.rows += 1
        if isinstance(item, list):
            batch.problems.extend(item)
            continue
        held = known.get(item.row.external_id)
        if held is None:
            batch.people.append(item)
        elif held == item.digest:
            batch.unchanged += 1
        else:
            batch.differing.append(item)
        if len(batch.people) + len(batch.differing) >= size:
            yield batch
            batch = Prepared()
    yield batch


@dataclass
class Job:
    """What the preparing process needs: the file, what the source holds, and the database's dialect."""

    path: Path
    kind: str
    source: str
    known: dict[str, str]
    dialect: str  # e.g. "sqlite+aiosqlite": the driver the values are converted for


Frame = tuple[Prepared, PreparedPeople | None]  # a batch and its new people's rows


def prepare_apart(job: Job, out: BinaryIO) -> None:
    """The preparing process's whole work: each batch written to `out` as a frame (batch, its people's
    rows), then a frame of None once the file is done; a failure is written instead, for the importing
    process to raise."""

    def send(item: object) -> None:
        frame = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(frame).to_bytes(8, "big") + frame)
        out.flush()

    try:
        dialect = URL.create(job.dialect).get_dialect()()
        kind = KIND_BY_NAME[job.kind]
        report = ImportReport(file=job.path.name, kind=job.kind, source=job.source, dry_run=False)
        _, rows = read_table(job.path)
        for batch in batches(kind, rows, job.known):
            people = prepared_people(batch.people, report, dialect) if batch.people else None
            batch.people = []  # their rows go instead: the parsed rows would only cost pickling
            send((batch, people))
        send(None)
    except ImportFileError as exc:
        send(exc)
    except BrokenPipeError:
        pass  # the importing process stopped reading: it failed or was cancelled
    except BaseException:
        send(RuntimeError(f"preparing the import failed:\n{traceback.format_exc()}"))


async def start(job: Job) -> asyncio.subprocess.Process:
    """The preparing process, started (a fresh interpreter: nothing of this process is forked, and no
    module of the program that imports is run again); its frames come on its standard output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "diaspora.platform.imports.prepare",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 20,
    )
    assert process.stdin is not None
    process.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    await process.stdin.drain()
    process.stdin.close()
    return process


async def frames(process: asyncio.subprocess.Process) -> AsyncIterator[Frame]:
    """The preparing process's batches as they come, a failure there raised here."""
    assert process.stdout is not None
    while True:
        try:
            size = int.from_bytes(await process.stdout.readexactly(8), "big")
            item = pickle.loads(await process.stdout.readexactly(size))  # noqa: S301 - our own child's
        except asyncio.IncompleteReadError:
            code = await process.wait()
            raise RuntimeError(f"the process preparing the import ended early (exit code {code})") from None
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def main() -> None:
    """The preparing process: the job on standard input, the frames on what was standard output (which
    is standard error from here on, so that nothing printed can corrupt a frame)."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    job = pickle.load(sys.stdin.buffer)  # noqa: S301 - written by the importing process
    prepare_apart(job, out)
    out.close()


if __name__ == "__main__":
    # Run from the module by its own name, so that what is pickled names its classes as the reader knows them.
    from diaspora.platform.imports import prepare

    prepare.main()
