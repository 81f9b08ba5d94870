"""The `diaspora` command: serve, migrate, worker, demo data, admin accounts."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from diaspora.ingest.columns import KINDS
from diaspora.platform.db import migrate
from diaspora.platform.settings import Settings, get_settings
from diaspora.platform.wiring import open_database

T = TypeVar("T")


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def runner() -> T:
        engine = open_database(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def _prepare(settings: Settings) -> None:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)


@click.group()
def main() -> None:
    """Diaspora engagement and skills-matching platform."""
    logging.basicConfig(
        level=os.environ.get("DIASPORA_LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s"
    )


@main.group()
def db() -> None:
    """Database schema migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = get_settings()
    _prepare(settings)
    migrate.upgrade(settings.effective_database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' removes every table)."""
    migrate.downgrade(get_settings().effective_database_url, revision)
    click.echo(f"database at {revision}")


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (compare against an up-to-date database)."""
    migrate.make_revision(get_settings().effective_database_url, message)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Web processes sharing the port; one of them at a time runs the background jobs.",
)
def serve(host: str, port: int, reload: bool, workers: int) -> None:
    """Run the web application with uvicorn."""
    import uvicorn

    settings = get_settings()
    if not settings.production:
        problems = settings.production_problems()
        click.echo(
            "Embedded mode for one machine"
            + (f" ({'; '.join(problems)})" if problems else "")
            + ". For a server people use, set DIASPORA_PRODUCTION=1: it refuses unsafe settings."
        )

    uvicorn.run(
        "diaspora.platform.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=None if reload else workers,
    )


@main.command()
@click.option(
    "--interval", default=None, type=float, help="Seconds between housekeeping passes (default: the setting)."
)
def worker(interval: float | None) -> None:
    """Run the background worker until interrupted."""
    from diaspora.platform.worker import run_forever

    asyncio.run(run_forever(get_settings(), interval_seconds=interval))


@main.command()
@click.option("--profiles", default=300, show_default=True, help="How many member profiles to generate.")
@click.option("--seed", default=2027, show_default=True)
def demo(profiles: int, seed: int) -> None:
    """Load the synthetic demo data set (once; a second run changes nothing)."""
    from diaspora.platform.demo import load as demo_data

    settings = get_settings()
    _prepare(settings)
    migrate.upgrade(settings.effective_database_url)
    counts = _in_transaction(settings, lambda s: demo_data.load_demo_data(s, profiles=profiles, seed=seed))
    if not any(counts.values()):
        click.echo("demo data already loaded")
    else:
        click.echo("loaded " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    click.echo(
        f"log in as {demo_data.ADMIN_EMAIL}, {demo_data.MINISTRY_EMAIL}, staff1@demo.example or "
        f"member1@demo.example with the password {demo_data.DEMO_PASSWORD!r}"
    )


@main.group()
def embeddings() -> None:
    """The embedding store (derived data, rebuilt from the database)."""


@embeddings.command("sync")
def embeddings_sync() -> None:
    """Encode every profile and post whose text changed (or that the configured model has not seen), and
    save the profile index's snapshot for the processes that start next."""
    from sqlalchemy import func, select
    from tqdm import tqdm

    from diaspora.platform.db.models import Post, Profile
    from diaspora.platform.matches.engine import MatchingEngine

    settings = get_settings()

    async def run() -> None:
        engine = open_database(settings.effective_database_url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            total = 0
            async with sessions() as session:
                for model in (Profile, Post):
                    total += int(await session.scalar(select(func.count()).select_from(model)) or 0)
            matching = MatchingEngine(settings, sessions)
            with tqdm(total=total, unit="rows", desc=f"embeddings ({matching.model_id})") as bar:
                report = await matching.refresh(progress=bar.update)
            click.echo(f"encoded {report.encoded}, reused {report.reused}, model {matching.model_id}")
            if await matching.save_snapshot():  # processes that start open it instead of reading every vector
                click.echo(f"profile index snapshot written to {matching.snapshot_folder()}")
        finally:
            await engine.dispose()

    asyncio.run(run())


@embeddings.command("prepare")
def embeddings_prepare() -> None:
    """Make the configured encoder ready offline: convert the packaged multilingual model once (into
    DIASPORA_MODEL_CACHE), export it for its back end, load it, and encode the occupation labels for
    links by meaning (minutes, once). Images run this at build time; otherwise the first use does (the
    labels: the background jobs)."""
    from diaspora.matching.encoder import get_encoder

    settings = get_settings()
    encoder = get_encoder(settings.embedding_model, settings.embedding_backend)
    encoder.encode(["ready"])  # loads the model: converts and exports it first where it must
    click.echo(f"model {encoder.model_id}: {encoder.dimension} dimensions, ready")
    if settings.match_link_by_meaning and settings.match_weight_occupation > 0:
        from diaspora.matching import e5
        from diaspora.matching.occupations import linker_by_meaning

        vectors = linker_by_meaning(encoder, e5.cache_dir()).by_meaning
        assert vectors is not None
        vectors.prepare(show_progress=sys.stderr.isatty())
        click.echo(f"occupation labels for links by meaning: {vectors.path}")


@main.group("import")
def import_() -> None:
    """Import data into the platform."""


def _import_records(
    kind: str, file: Path, source: str | None, dry_run: bool, report_path: Path | None, invite: bool = False
) -> None:
    from tqdm import tqdm

    from diaspora.ingest.readers import ImportFileError
    from diaspora.platform.imports.services import import_file

    settings = get_settings()
    _prepare(settings)
    migrate.upgrade(settings.effective_database_url)

    async def run() -> Any:
        engine = open_database(settings.effective_database_url)
        try:
            # Lines approximate rows (a quoted cell may span lines) - close enough for an ETA.
            total = None if file.suffix.lower() == ".xlsx" else max(sum(1 for _ in file.open("rb")) - 1, 0)
            with tqdm(total=total, unit="rows", desc=f"{kind} from {file.name}") as bar:
                return await import_file(
                    async_sessionmaker(engine, expire_on_commit=False),
                    kind,
                    file,
                    source=source or file.stem,
                    dry_run=dry_run,
                    progress=bar.update,
                )
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except ImportFileError as exc:
        raise click.ClickException(f"{exc} (nothing was imported)") from exc
    target = report_path or file.with_name(f"{file.stem}.report.csv")
    report.write_csv(target)
    click.echo(report.summary() + (" (dry run: nothing written)" if dry_run else ""))
    for warning in report.warnings:
        click.echo(f"warning: {warning}")
    for problem in report.problems[:10]:
        click.echo(f"row {problem.number}, {problem.column or 'row'}: {problem.reason}")
    if len(report.problems) > 10:
        click.echo(f"... {len(report.problems) - 10} more problems")
    click.echo(f"report written to {target}")
    if kind == "profiles" and report.created and not dry_run:
        click.echo(
            "the language of each new profile is identified by the background jobs "
            "(the web process or the worker) on their next pass"
        )
    if invite and not dry_run:
        sent = _invite_unclaimed(settings, source or file.stem)
        click.echo(f"{sent} new member(s) invited by email to set a password")


def _invite_unclaimed(settings: Settings, source: str | None) -> int:
    from diaspora.platform.accounts.recovery import invite_unclaimed

    return int(_in_transaction(settings, lambda s: invite_unclaimed(s, settings, source=source)))


def _record_import_command(kind: str) -> None:
    @import_.command(
        kind, help=f"Import {kind} from a CSV, JSON Lines or XLSX FILE (see README for columns)."
    )
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--source", help="Name of the registry the file comes from (default: the file name).")
    @click.option("--dry-run", is_flag=True, help="Validate and report, write nothing.")
    @click.option(
        "--report",
        "report_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where to write the CSV report (default: FILE.report.csv).",
    )
    @click.option(
        "--invite",
        is_flag=True,
        help="Profiles: email each new member a link to set a password (single use, two weeks).",
    )
    def command(
        file: Path, source: str | None, dry_run: bool, report_path: Path | None, invite: bool
    ) -> None:
        _import_records(kind, file, source, dry_run, report_path, invite=invite and kind == "profiles")


for _kind in KINDS:
    _record_import_command(_kind)


@main.command("invite-imported")
@click.option("--source", help="Only members of this import source (default: every import).")
def invite_imported(source: str | None) -> None:
    """Email members created by imports, who have no password yet, a link to set one (safe to repeat)."""
    settings = get_settings()
    _prepare(settings)
    click.echo(f"{_invite_unclaimed(settings, source)} member(s) invited")


@import_.command("esco")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_esco(folder: Path) -> None:
    """Import an ESCO CSV export (skills, occupations, relations; any one language) from FOLDER."""
    from tqdm import tqdm

    from diaspora.platform.taxonomy import services as taxonomy

    settings = get_settings()
    _prepare(settings)
    migrate.upgrade(settings.effective_database_url)
    try:
        with tqdm(unit="rows", desc="ESCO") as bar:
            report = _in_transaction(settings, lambda s: taxonomy.import_esco(s, folder, progress=bar.update))
    except taxonomy.EscoFormatError as exc:
        raise click.ClickException(f"{exc} (nothing was imported)") from exc
    click.echo(
        f"ESCO ({report.language}): {report.skills} skills, {report.occupations} occupations, "
        f"{report.relations} relations ({report.relations_skipped} pointing at unknown concepts skipped)"
    )


@main.group()
def taxonomy() -> None:
    """The skills taxonomy."""


@taxonomy.command("normalise")
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="Least similarity for an embedding match [default: the model's calibrated 'same' similarity].",
)
@click.option("--labels-only", is_flag=True, help="Match exact labels only (no model needed).")
def taxonomy_normalise(threshold: float | None, labels_only: bool) -> None:
    """Link free-text profile and post skills to taxonomy skills, storing the confidence."""
    from diaspora.matching.encoder import get_encoder
    from diaspora.platform.taxonomy import services as taxonomy_services

    settings = get_settings()
    encoder = None if labels_only else get_encoder(settings.embedding_model, settings.embedding_backend)
    report = _in_transaction(
        settings, lambda s: taxonomy_services.normalise_skills(s, encoder, threshold=threshold)
    )
    click.echo(
        f"{report.names} distinct skill texts: {report.by_label} matched by label, "
        f"{report.by_embedding} by embedding, {report.unmatched} left unlinked"
    )


@main.group()
def search() -> None:
    """The search indexes (derived data, kept current from the database through the outbox)."""


def _with_search(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from diaspora.platform.search.sync import SearchSync

    async def runner() -> T:
        engine = open_database(settings.effective_database_url)
        sync = SearchSync(settings, engine)
        try:
            return await work(sync)
        finally:
            await sync.close()
            await engine.dispose()

    return asyncio.run(runner())


@search.command("reindex")
@click.argument("index", type=click.Choice(["all", "opportunities", "posts"]), default="all")
def search_reindex(index: str) -> None:
    """Rebuild INDEX from the database, then swap it in: searches go on being answered meanwhile."""
    from tqdm import tqdm

    settings = get_settings()
    _prepare(settings)
    names = ["opportunities", "posts"] if index == "all" else [index]

    async def work(sync: Any) -> None:
        for name in names:
            total = await sync.count_public(name)
            with tqdm(total=total, unit="doc", desc=f"reindex {name}") as bar:
                count = await sync.reindex(name, progress=bar.update)
            click.echo(f"{name}: {count} documents indexed ({sync.backend.name})")

    _with_search(settings, work)


@search.command("sync")
def search_sync() -> None:
    """Push every pending change from the outbox to the search back end once, then exit."""
    settings = get_settings()
    _prepare(settings)

    async def work(sync: Any) -> None:
        report = await sync.drain()
        left = await sync.pending()
        click.echo(
            f"{report.indexed} indexed, {report.removed} removed, {report.failed} failed; {left} pending"
        )
        if report.errors:
            raise click.ClickException("; ".join(report.errors[:3]))

    _with_search(settings, work)


@main.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="Administrator", show_default=True)
@click.password_option(envvar="DIASPORA_ADMIN_PASSWORD")
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account (admins cannot register through the API)."""
    import msgspec

    from diaspora.platform.accounts import services
    from diaspora.platform.accounts.schemas import RegistrationIn
    from diaspora.platform.core.errors import DomainError
    from diaspora.platform.db.models import Role

    settings = get_settings()
    try:
        data = msgspec.convert({"email": email, "password": password, "display_name": name}, RegistrationIn)
        _in_transaction(settings, lambda s: services.create_account(s, data, role=Role.ADMIN, verified=True))
    except (msgspec.ValidationError, DomainError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"admin {email} created")


if __name__ == "__main__":
    main()
