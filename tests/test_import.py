"""Bulk import: the samples import cleanly and idempotently; broken files and rows are reported exactly."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from diaspora.ingest.readers import ImportFileError
from diaspora.platform.imports.report import ImportReport
from tests.conftest import Api, count_rows

SAMPLES = Path(__file__).resolve().parent.parent / "ingest" / "samples"
BROKEN = SAMPLES / "broken"


def _import(api: Api, kind: str, path: Path, **options: Any) -> ImportReport:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from diaspora.platform.imports.services import import_file
    from diaspora.platform.wiring import open_database

    url = api.client.app.state["settings"].effective_database_url

    async def run() -> ImportReport:
        engine = open_database(url)
        try:
            return await import_file(
                async_sessionmaker(engine, expire_on_commit=False),
                kind,
                path,
                source=options.pop("source", "registry"),
                **options,
            )
        finally:
            await engine.dispose()

    return api.client.blocking_portal.call(run)


def _db(api: Api) -> str:
    return str(api.client.app.state["settings"].effective_database_url)


def test_samples_import_cleanly_and_a_second_import_changes_nothing(api: Api) -> None:
    first = [
        _import(api, kind, SAMPLES / name)
        for kind, name in (
            ("organisations", "organisations.csv"),
            ("organisations", "organisations.xlsx"),
            ("profiles", "profiles.csv"),
            ("profiles", "profiles.jsonl"),
            ("posts", "posts.csv"),
            ("opportunities", "opportunities.csv"),
        )
    ]
    assert [(r.created, r.rejected) for r in first] == [(3, 0), (2, 0), (3, 0), (2, 0), (3, 0), (3, 0)]
    assert all(not r.problems and not r.warnings for r in first)
    assert count_rows(_db(api), "profiles") == 5
    again = _import(api, "profiles", SAMPLES / "profiles.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert count_rows(_db(api), "profiles") == 5

    # Latin and Cyrillic survive; European dates, yes/no in several languages and lists are understood.
    staff = api.admin()
    names = {
        p.get("name")
        for p in api.client.get("/api/profiles", headers=staff, params={"limit": 100}).json()["items"]
    }
    assert names == {None}  # names are hidden by default, imported or not
    posts = api.client.get("/api/posts", params={"limit": 100}).json()["items"]
    cardiology = next(p for p in posts if p["title"].startswith("Interventional"))
    assert (cardiology["start_date"], cardiology["end_date"]) == ("2027-05-03", "2027-05-17")
    assert [s["name"] for s in cardiology["required_skills"]] == ["coronary angiography", "echocardiography"]
    assert {p["title"] for p in posts} == {
        cardiology["title"],
        "Remote Python mentor",
    }  # the draft is not live
    organisations = api.client.get("/api/organisations", params={"limit": 100}).json()["items"]
    assert "Универзитет у Новом Саду" not in {o["name"] for o in organisations}  # imported unverified
    # Opportunities: amounts with thousands separators, Cyrillic titles; the unreviewed one stays private.
    published = api.client.get("/api/opportunities", params={"limit": 100}).json()["items"]
    solar = next(o for o in published if o["title"].startswith("Solarna"))
    assert (solar["ticket_min"], solar["ticket_max"], solar["currency"]) == (50_000, 250_000, "EUR")
    assert len(published) == 2
    queue = api.client.get("/api/opportunities", headers=staff, params={"status": "pending_review"}).json()
    assert [o["title"] for o in queue["items"]] == ["Инвестиција у студентски технолошки парк"]
    assert queue["items"][0]["ticket_max"] == 1_000_000
    again = _import(api, "opportunities", SAMPLES / "opportunities.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert {"Komuna e Prizrenit", "Klinički centar Crne Gore"} <= {o["name"] for o in organisations}


@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_a_changed_row_updates_its_record_and_nothing_else(api: Api, tmp_path: Path, apart: bool) -> None:
    _import(api, "profiles", SAMPLES / "profiles.csv", apart=apart)
    changed = tmp_path / "profiles.csv"
    text = (SAMPLES / "profiles.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace("Paediatric nurse", "Neonatal nurse educator"), encoding="utf-8")
    report = _import(api, "profiles", changed, apart=apart)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert count_rows(_db(api), "profiles") == 3
    assert count_rows(_db(api), "profile_skills") == 6  # replaced, not added to


@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_dry_run_reports_without_writing(api: Api, apart: bool) -> None:
    report = _import(api, "profiles", SAMPLES / "profiles.csv", dry_run=True, apart=apart)
    assert (report.created, report.dry_run) == (3, True)
    assert "would be created" in report.summary()
    assert count_rows(_db(api), "accounts") == 0


@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_broken_rows_are_reported_by_row_and_column(api: Api, tmp_path: Path, apart: bool) -> None:
    report = _import(api, "profiles", BROKEN / "profiles_bad_rows.csv", apart=apart)
    assert report.created == 1
    problems = {(p.number, p.column) for p in report.problems}
    assert problems == {
        (3, "email"),
        (4, "available_from"),
        (5, "languages"),
        (6, "external_id"),
        (7, "email"),
        (8, "available_from"),
        (9, "years_experience"),
    }
    reasons = {p.number: p.reason for p in report.problems}
    assert "is required" in reasons[7]
    assert "already used on row 2" in reasons[6]
    assert "before" in reasons[8]
    assert report.warnings == ["unknown column(s) ignored: favourite_colour"]
    written = tmp_path / "report.csv"
    report.write_csv(written)
    rows = list(csv.DictReader(written.open(encoding="utf-8")))
    assert {r["row"] for r in rows if r["row"]} == {"3", "4", "5", "6", "7", "8", "9"}
    assert count_rows(_db(api), "accounts") == 1


@pytest.mark.shared_app
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("profiles_wrong_delimiter.csv", "missing required column(s) external_id, email, display_name"),
        ("profiles_truncated.csv", "truncated file?"),
        ("profiles_latin1.csv", "line 3 is not UTF-8"),
    ],
)
@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_broken_files_are_refused_whole(api: Api, name: str, message: str, apart: bool) -> None:
    with pytest.raises(
        ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        _import(api, "profiles", BROKEN / name, apart=apart)
    assert count_rows(_db(api), "accounts") == 0


def test_unknown_file_type_and_posts_of_unknown_or_unverified_organisations(api: Api, tmp_path: Path) -> None:
    odd = tmp_path / "profiles.pdf"
    odd.write_text("x")
    with pytest.raises(ImportFileError, match="unknown file type"):
        _import(api, "profiles", odd)
    _import(api, "organisations", SAMPLES / "organisations.csv")
    posts = tmp_path / "posts.csv"
    posts.write_text(
        "external_id,organisation_external_id,kind,title,country,status\n"
        "x-1,org-nowhere,skill_need,Lost,AL,draft\n"
        "x-2,org-ns,skill_need,Too early,RS,open\n"
        "x-3,org-ns,skill_need,Fine as a draft,RS,draft\n",
        encoding="utf-8",
    )
    report = _import(api, "posts", posts)
    assert {(p.number, p.column) for p in report.problems} == {(2, "organisation_external_id"), (3, "status")}
    assert report.created == 1


def test_sources_are_separate_namespaces(api: Api) -> None:
    _import(api, "organisations", SAMPLES / "organisations.csv", source="ministry-2026")
    report = _import(api, "organisations", SAMPLES / "organisations.csv", source="ngo-survey")
    assert report.created == 3
    assert count_rows(_db(api), "organisations") == 6


@pytest.mark.slow
def test_a_50_mb_file_streams_through(api: Api, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    summary = "Experienced professional. " * 180  # about 4.7 kB a row
    with big.open("w", encoding="utf-8") as handle:
        handle.write("external_id,email,display_name,headline,summary\n")
        for i in range(11_000):
            handle.write(f"big-{i},big{i}@example.org,Person {i},Engineer,{summary}\n")
    assert big.stat().st_size > 50_000_000
    report = _import(api, "profiles", big, dry_run=True)
    assert (report.rows, report.created, report.rejected) == (11_000, 11_000, 0)
    assert count_rows(_db(api), "accounts") == 0


def test_staff_upload_their_posts_file_and_see_the_report(api: Api) -> None:
    staff, organisation_id = api.organisation()
    content = (SAMPLES / "posts.csv").read_bytes()
    url = "/api/imports/posts"
    dry = api.client.post(
        url, headers=staff, files={"file": ("posts.csv", content, "text/csv")}, data={"dry_run": "true"}
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["created"] == 3
    assert api.client.get("/api/posts", headers=staff).json()["total"] == 0

    response = api.client.post(url, headers=staff, files={"file": ("posts.csv", content, "text/csv")})
    body = response.json()
    assert (body["created"], body["rejected"]) == (3, 0)
    listed = api.client.get("/api/posts", headers=staff, params={"organisation_id": organisation_id}).json()
    assert listed["total"] == 3  # the file's organisation column is ignored: staff import their own posts
    again = api.client.post(url, headers=staff, files={"file": ("posts.csv", content, "text/csv")}).json()
    assert again["unchanged"] == 3

    bad = b"external_id,kind,title,country\nz-1,job,Untitled,AL\n"
    report = api.client.post(url, headers=staff, files={"file": ("bad.csv", bad, "text/csv")}).json()
    assert report["problems"] == [{"row": 2, "column": "kind", "reason": "Invalid enum value 'job'"}]
    wrong = api.client.post(url, headers=staff, files={"file": ("posts.pdf", b"%PDF", "application/pdf")})
    assert wrong.status_code == 400
    assert "must be .csv" in wrong.text
    member = api.register("member")
    assert (
        api.client.post(url, headers=member, files={"file": ("posts.csv", content, "text/csv")}).status_code
        == 403
    )


def test_broken_opportunity_rows_are_reported(api: Api) -> None:
    _import(api, "organisations", SAMPLES / "organisations.csv")
    report = _import(api, "opportunities", BROKEN / "opportunities_bad_rows.csv")
    problems = {(p.number, p.column) for p in report.problems}
    assert problems == {
        (2, ""),  # ticket_max below ticket_min: a rule across columns
        (3, "kind"),
        (4, ""),  # a ticket size without a currency
        (5, "organisation_external_id"),
        (6, "ticket_min"),
        (7, "status"),
    }
    assert report.created == 1
    assert count_rows(_db(api), "opportunities") == 1


def test_staff_upload_opportunities_which_wait_for_review(api: Api) -> None:
    staff, _ = api.organisation()
    content = (SAMPLES / "opportunities.csv").read_bytes()
    url = "/api/imports/opportunities"
    body = api.client.post(url, headers=staff, files={"file": ("o.csv", content, "text/csv")}).json()
    # Two rows ask to be published: staff cannot publish, an admin reviews them; the third goes in.
    assert (body["created"], body["rejected"]) == (1, 2)
    assert {(p["row"], p["column"]) for p in body["problems"]} == {(2, "status"), (3, "status")}
    assert api.client.get("/api/opportunities").json()["total"] == 0
    mine = api.client.get("/api/opportunities", headers=staff).json()["items"]
    assert [o["status"] for o in mine] == ["pending_review"]
    unverified, _ = api.organisation(verified=False)
    body = api.client.post(url, headers=unverified, files={"file": ("o.csv", content, "text/csv")}).json()
    assert body["created"] == 0


@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_an_imported_profile_is_stored_as_the_members_own_edit_would_store_it(
    api: Api, tmp_path: Path, apart: bool
) -> None:
    # One writer of profile rows: repeated sectors collapse and the text's language is identified on both
    # paths (the bulk insert once kept duplicates and left the language unknown). An import leaves the
    # language to the background jobs; a member's own save identifies it at once.
    header = (SAMPLES / "profiles.csv").read_text(encoding="utf-8").splitlines()[0]
    row = (
        "p-9;lena.berisha@example.org;Lena Berisha;;Kinderkrankenpflegerin;"
        "Pflege von Frühgeborenen auf der Intensivstation in Graz.;AT;XK;Prizren;6;"
        "health | health | education;sq:native | de:C2;Intensivpflege | Triage;;;;;yes;no"
    )
    path = tmp_path / "one.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    assert _import(api, "profiles", path, apart=apart).created == 1
    member = api.register()
    api.profile(
        member,
        headline="Kinderkrankenpflegerin",
        summary="Pflege von Frühgeborenen auf der Intensivstation in Graz.",
        residence_country="AT",
        origin_country="XK",
        sectors=["health", "health", "education"],
        skills=[{"name": "Intensivpflege"}, {"name": "Triage"}],
    )
    query = "SELECT sectors, text_language, text_language_pending FROM profiles ORDER BY created_at"
    assert [row[1:] for row in _rows(_db(api), query)] == [(None, True), ("de", False)]
    assert _identify_pending(api) == 1
    assert _identify_pending(api) == 0  # nothing left to do
    stored = _rows(_db(api), query)
    imported, edited = ((json.loads(s) if isinstance(s, str) else s, lang, p) for s, lang, p in stored)
    assert imported == edited == (["health", "education"], "de", False)


def test_the_languages_an_import_leaves_are_identified_by_the_background_jobs_without_undoing_edits(
    api: Api, tmp_path: Path
) -> None:
    header = (SAMPLES / "profiles.csv").read_text(encoding="utf-8").splitlines()[0]
    texts = [
        ("Kardiolog intervencues", "Punoj në spitalin universitar të Tiranës prej dhjetë vitesh."),
        ("Медицинска сестра", "Работам во одделот за кардиологија во Скопје."),
        ("Software engineer", "Ten years of backend development in Vienna and remote work."),
        ("", ""),  # nothing to tell a language by: identified as unknown, and no longer pending
    ]
    lines = [
        f"p-{i};person{i}@example.org;Person {i};;{headline};{summary};AT;XK;;;;;;;;;;yes;no"
        for i, (headline, summary) in enumerate(texts)
    ]
    path = tmp_path / "four.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    assert _import(api, "profiles", path).created == 4
    query = "SELECT headline, text_language, text_language_pending FROM profiles ORDER BY headline"
    assert all(pending for _, _, pending in _rows(_db(api), query))
    # A member who saves their profile meanwhile has its language identified by that save; the jobs'
    # later pass finds nothing to do for it.
    _execute(
        _db(api),
        "UPDATE profiles SET text_language = 'xx', text_language_pending = false "
        "WHERE headline = 'Software engineer'",
    )
    stamped = "SELECT headline, updated_at FROM profiles ORDER BY headline"
    before = _rows(_db(api), stamped)
    assert _identify_pending(api) == 3
    # Identifying a language is no change to the profile: the matcher, which re-reads every profile
    # stamped since its last refresh and keeps its cards by that stamp, has nothing to do for it.
    assert _rows(_db(api), stamped) == before
    assert _rows(_db(api), query) == [
        ("", None, False),
        ("Kardiolog intervencues", "sq", False),
        ("Software engineer", "xx", False),
        ("Медицинска сестра", "mk", False),
    ]


def _identify_pending(api: Api) -> int:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from diaspora.platform.profiles.services import identify_pending_languages
    from diaspora.platform.wiring import open_database

    async def run() -> int:
        engine = open_database(_db(api))
        try:
            return await identify_pending_languages(async_sessionmaker(engine), batch=2)
        finally:
            await engine.dispose()

    return int(api.client.blocking_portal.call(run))


def _execute(url: str, sql: str) -> None:
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> list[tuple[Any, ...]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(text(sql))).all()]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_a_registry_brings_its_members_consent_to_be_consulted(api: Api, tmp_path: Path) -> None:
    rows = tmp_path / "profiles.csv"
    rows.write_text(
        "external_id;email;display_name;origin_country;open_to_consultations\n"
        "c1;asked@example.org;Asked;AL;yes\n"
        "c2;quiet@example.org;Quiet;AL;\n",
        encoding="utf-8",
    )
    report = _import(api, "profiles", rows)
    assert report.created == 2, report
    assert count_rows(_db(api), "consents", "open_to_consultations") == 1


def test_a_large_import_renews_the_databases_statistics_of_its_tables(api: Api, tmp_path: Path) -> None:
    # PostgreSQL plans queries by its statistics of each table; until they are renewed, a registry
    # imported into an empty database is planned for as empty (whole-table scans), in every process.
    if not _db(api).startswith("postgresql"):
        pytest.skip("statistics for PostgreSQL's planner")
    query = (
        "SELECT relname, last_analyze FROM pg_stat_user_tables "
        "WHERE relname IN ('accounts', 'profiles', 'profile_skills', 'import_keys') ORDER BY relname"
    )
    before = dict(_rows(_db(api), query))
    path = tmp_path / "many.csv"
    path.write_text(
        "external_id,email,display_name,headline,skills\n"
        + "".join(f"m-{i},m{i}@example.org,M {i},Nurse,triage; wound care\n" for i in range(1000)),
        encoding="utf-8",
    )
    assert _import(api, "profiles", path).created == 1000
    after = dict(_rows(_db(api), query))
    assert sorted(after) == ["accounts", "import_keys", "profile_skills", "profiles"]
    assert all(after[t] is not None and (before.get(t) is None or after[t] > before[t]) for t in after)


@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_an_imported_persons_name_and_phone_obey_the_rules_of_their_own_account_edit(
    api: Api, tmp_path: Path, apart: bool
) -> None:
    # The API refuses a name hiding a right-to-left override, a name over 120 characters and a phone that
    # is no number; an import once stored all three (the name cut short).
    path = tmp_path / "accounts.csv"
    path.write_text(
        "external_id;email;display_name;phone;headline\n"
        "n-1;ok@example.org;Милош Петровић;+381 11 123 4567;Медицинска сестра\n"
        "n-2;bidi@example.org;Arta\u202eKrasniqi;;Kardiologe\n"
        f"n-3;long@example.org;{'A' * 121};;Nurse\n"
        "n-4;phone@example.org;Besa;call me maybe;Nurse\n",
        encoding="utf-8",
    )
    report = _import(api, "profiles", path, apart=apart)
    assert report.created == 1
    assert {(p.number, p.column) for p in report.problems} == {
        (3, "display_name"),
        (4, "display_name"),
        (5, "phone"),
    }
    assert "U+202E" in next(p.reason for p in report.problems if p.number == 3)
    assert _rows(_db(api), "SELECT display_name, phone FROM accounts") == [
        ("Милош Петровић", "+381 11 123 4567")
    ]


def _people_file(path: Path, tag: str) -> Path:
    """People of every shape an import meets, their addresses tagged so that two imports can hold them."""
    header = (SAMPLES / "profiles.csv").read_text(encoding="utf-8").splitlines()[0]
    rows = [
        "a-1;{t}.arben@example.org;Arben Hoxha;+49 170 1234567;Interventional cardiologist;Runs a lab.;DE;AL;"
        "Shkodër;14;health | health;sq:native | de:C1;coronary angiography:expert | echocardiography;"
        "01.05.2027;31.05.2027;onsite_return | remote;40;yes;yes",
        "a-2;{t}.jelena@example.org;Јелена Петровић;;Софтверски инжењер;Плаћања у Python-у.;CH;RS;Beograd;9;"
        "ict;sr:native | en:C1;python:expert | postgresql;;;;;da;ne",
        "a-3;not-an-address;Besa;;Nurse;;AT;XK;;;;;;;;;;;",
        "a-2;{t}.again@example.org;Repeated id;;Nurse;;AT;XK;;;;;;;;;;;",
        "a-4;{t}.JELENA@example.org;Same address as a-2;;Nurse;;AT;XK;;;;;;;;;;;",
        "a-5;taken@example.org;Someone else's address;;Nurse;;AT;XK;;;;;;;;;;;",
        "a-6;{t}.mira@example.org;Mira;;Kinderkrankenpflegerin;;AT;MK;;;education;mk:native;Triage;;;;;no;no",
    ]
    path.write_text("\n".join([header, *(r.format(t=tag) for r in rows)]) + "\n", encoding="utf-8")
    return path


def _stored_people(url: str, source: str) -> list[tuple[Any, ...]]:
    """What an import stored of each person, by external id: all but ids, times and the address's tag."""
    people = _rows(
        url,
        "SELECT k.external_id, a.email, a.display_name, a.phone, a.role, a.password_hash, a.is_active, "
        "p.headline, p.summary, p.residence_country, p.origin_country, p.origin_municipality, "
        "p.years_experience, p.sectors, p.text_language, p.text_language_pending, "
        "c.open_to_matching, c.open_to_contact, c.visible_fields, k.content_hash "
        "FROM import_keys k JOIN profiles p ON p.id = k.entity_id JOIN accounts a ON a.id = p.account_id "
        f"JOIN consents c ON c.profile_id = p.id WHERE k.source = '{source}' ORDER BY k.external_id",
    )
    parts = _rows(
        url,
        "SELECT k.external_id, 's', s.position, s.name, s.level, s.taxonomy_id FROM profile_skills s "
        f"JOIN import_keys k ON k.entity_id = s.profile_id WHERE k.source = '{source}' "
        "UNION ALL SELECT k.external_id, 'l', 0, l.code, l.level, '' FROM profile_languages l "
        f"JOIN import_keys k ON k.entity_id = l.profile_id WHERE k.source = '{source}' "
        "UNION ALL SELECT k.external_id, 'w', w.hours_per_week, CAST(w.start_date AS TEXT), "
        "CAST(w.end_date AS TEXT), CAST(w.modes AS TEXT) FROM availability_windows w "
        f"JOIN import_keys k ON k.entity_id = w.profile_id WHERE k.source = '{source}'",
    )
    untagged = [(row[0], row[1].split(".", 1)[1], *row[2:]) for row in people]
    return untagged + sorted(parts, key=lambda r: tuple(str(v) for v in r))


def test_people_prepared_apart_are_stored_and_reported_as_those_imported_here(
    api: Api, tmp_path: Path
) -> None:
    # A large file of people is prepared by a process of its own; what lands must be what the import in
    # this process stores, and its report the same, row for row.
    api.register(email="taken@example.org")
    reports = {
        apart: _import(
            api,
            "profiles",
            _people_file(tmp_path / f"{apart}.csv", f"t{apart:d}"),
            source=f"s{apart:d}",
            apart=apart,
        )
        for apart in (False, True)
    }
    here, there = reports[False], reports[True]
    assert (there.rows, there.created, there.updated, there.unchanged) == (7, 3, 0, 0)
    assert (here.rows, here.created, here.updated, here.unchanged) == (7, 3, 0, 0)
    assert [(p.number, p.column, p.reason) for p in there.problems] == [
        (p.number, p.column, p.reason) for p in here.problems
    ]
    assert {(p.number, p.column) for p in there.problems} == {
        (4, "email"),
        (5, "external_id"),
        (6, "email"),
        (7, "email"),
    }
    # The hashes differ only by the tag; everything else is the same, Cyrillic, consent and windows included.
    stored = {apart: _stored_people(_db(api), f"s{apart:d}") for apart in (False, True)}
    drop_hash = [row[:-1] if len(row) == 20 else row for row in stored[True]]
    assert drop_hash == [row[:-1] if len(row) == 20 else row for row in stored[False]]
    assert len(stored[True]) == 3 + 5 + 5 + 1  # three people, five skills, five languages, one window

    # Again, with one person changed: prepared apart, the changed one is updated as a member's edit would.
    changed = _people_file(tmp_path / "again.csv", "t1")
    changed.write_text(
        changed.read_text(encoding="utf-8").replace("Runs a lab.", "Runs two labs."), encoding="utf-8"
    )
    again = _import(api, "profiles", changed, source="s1", apart=True)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 2)
    assert _rows(_db(api), "SELECT count(*) FROM profiles WHERE summary = 'Runs two labs.'") == [(1,)]


@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_a_file_that_breaks_after_its_first_batches_is_refused_whole(
    api: Api, tmp_path: Path, apart: bool
) -> None:
    # Each batch is its own transaction; a line that is not UTF-8 after the first thousand rows once left
    # those in while the command line said "nothing was imported".
    header = (SAMPLES / "profiles.csv").read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "broken.csv"
    path.write_bytes(
        (header + "\n").encode()
        + "".join(f"b-{i};b{i}@example.org;B {i};;Nurse;;AT;XK;;;;;;;;;;;\n" for i in range(1500)).encode()
        + "b-x;bx@example.org;Dževad;;Nurse;;AT;XK;;;;;;;;;;;\n".encode("latin-1", "replace")
        + b"b-y;by@example.org;\xe9;;Nurse;;AT;XK;;;;;;;;;;;\n"
    )
    with pytest.raises(ImportFileError, match="line 1503 is not UTF-8"):
        _import(api, "profiles", path, apart=apart)
    assert count_rows(_db(api), "accounts") == 0


def test_changed_rows_replace_their_profiles_whole_as_a_members_own_edit_does(
    api: Api, tmp_path: Path
) -> None:
    # A thousand changed rows are replaced at once (a handful of statements, not a dozen per row): what
    # they leave must be what `save_profile` would leave, part for part, for the rows that changed only.
    _import(api, "profiles", SAMPLES / "profiles.csv")
    url = _db(api)
    assert _identify_pending(api) == 3
    before = dict(
        _rows(url, "SELECT p.headline, c.updated_at FROM profiles p JOIN consents c ON c.profile_id = p.id")
    )
    stamps = dict(_rows(url, "SELECT headline, updated_at FROM profiles"))
    text = (SAMPLES / "profiles.csv").read_text(encoding="utf-8")
    changed = tmp_path / "profiles.csv"
    changed.write_text(
        text.replace(  # Arben: new parts, no phone, no window, no longer open to contact
            "+49 170 1234567;Interventional cardiologist;Runs a catheterisation lab in Munich.;DE;AL;"
            "Shkodër;14;health;sq:native | de:C1 | en:B2;coronary angiography:expert | echocardiography;"
            "01.05.2027;31.05.2027;onsite_return | remote;40;yes;yes",
            ";Interventional cardiologist;Runs two catheterisation labs.;DE;AL;Shkodër;15;health | education;"
            "sq:native | en:C1;echocardiography:expert | clinical teaching | triage;;;;;yes;no",
        ).replace("Јелена Петровић", "Јелена Петровић-Марић"),  # Jelena: her name only
        encoding="utf-8",
    )
    audits = count_rows(url, "audit_events")
    report = _import(api, "profiles", changed)
    assert (report.created, report.updated, report.unchanged, report.problems) == (0, 2, 1, [])

    skills = _rows(
        url,
        "SELECT s.position, s.name, s.level FROM profile_skills s JOIN profiles p ON p.id = s.profile_id "
        "WHERE p.headline = 'Interventional cardiologist' ORDER BY s.position",
    )
    assert skills == [(0, "echocardiography", "expert"), (1, "clinical teaching", None), (2, "triage", None)]
    languages = _rows(
        url,
        "SELECT l.code, l.level FROM profile_languages l JOIN profiles p ON p.id = l.profile_id "
        "WHERE p.headline = 'Interventional cardiologist' ORDER BY l.code",
    )
    assert languages == [("en", "C1"), ("sq", "native")]
    arben = _rows(
        url,
        "SELECT a.phone, p.summary, p.years_experience, p.sectors, c.open_to_contact, "
        "p.text_language_pending, (SELECT count(*) FROM availability_windows w WHERE w.profile_id = p.id) "
        "FROM profiles p JOIN accounts a ON a.id = p.account_id JOIN consents c ON c.profile_id = p.id "
        "WHERE p.headline = 'Interventional cardiologist'",
    )
    sectors = arben[0][3] if isinstance(arben[0][3], list) else json.loads(arben[0][3])
    assert (*arben[0][:3], sectors, *arben[0][4:]) == (
        None,
        "Runs two catheterisation labs.",
        15,
        ["health", "education"],
        False,
        True,
        0,
    )
    assert _rows(url, "SELECT display_name FROM accounts ORDER BY display_name") == [
        ("Amra Hodžić",),
        ("Arben Hoxha",),
        ("Јелена Петровић-Марић",),
    ]
    after = dict(
        _rows(url, "SELECT p.headline, c.updated_at FROM profiles p JOIN consents c ON c.profile_id = p.id")
    )
    assert after["Software engineer"] == before["Software engineer"]  # her consent as it was, stamp too
    assert after["Interventional cardiologist"] != before["Interventional cardiologist"]
    moved = dict(_rows(url, "SELECT headline, updated_at FROM profiles"))
    assert {h for h in moved if moved[h] != stamps[h]} == {"Interventional cardiologist", "Software engineer"}
    assert moved["Paediatric nurse"] == stamps["Paediatric nurse"]  # the unchanged row is left alone
    assert count_rows(url, "audit_events") == audits + 3  # one per replaced profile, one for the import
    assert _identify_pending(api) == 2
    assert count_rows(url, "profile_skills") == 3 + 2 + 2


def test_a_changed_row_of_someone_since_erased_creates_them_anew_and_keeps_their_address(
    api: Api, tmp_path: Path
) -> None:
    # Arben erased his account (his profile went with it); the registry still lists him, changed. He is
    # created anew; Jelena's changed row asking for his address in the same batch is refused, where it
    # once failed the whole batch on the unique address.
    _import(api, "profiles", SAMPLES / "profiles.csv")
    url = _db(api)
    _erase(url, "arben.hoxha@example.org")
    assert count_rows(url, "profiles") == 2
    text = (SAMPLES / "profiles.csv").read_text(encoding="utf-8")
    changed = tmp_path / "profiles.csv"
    changed.write_text(
        text.replace("Runs a catheterisation lab in Munich.", "Runs two labs.").replace(
            "jelena.petrovic@example.org", "ARBEN.HOXHA@example.org"
        ),
        encoding="utf-8",
    )
    report = _import(api, "profiles", changed)
    assert (report.created, report.updated, report.unchanged) == (1, 0, 1)
    assert [(p.number, p.column, p.reason) for p in report.problems] == [
        (3, "email", "belongs to another account")
    ]
    assert _rows(
        url,
        "SELECT a.email, p.summary FROM accounts a JOIN profiles p ON p.account_id = a.id ORDER BY a.email",
    ) == [
        ("amra.hodzic@example.org", "Neonatal intensive care in Vienna."),
        ("arben.hoxha@example.org", "Runs two labs."),
        ("jelena.petrovic@example.org", "Payments in Python."),
    ]


def _erase(url: str, email: str) -> None:
    """The account deleted as erasure deletes it: its profile and parts go with it, its import key stays."""
    import asyncio

    from sqlalchemy import text

    from diaspora.platform.wiring import open_database

    async def run() -> None:
        engine = open_database(url)  # foreign keys on, so the profile goes with the account
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM accounts WHERE email = :email"), {"email": email})
        finally:
            await engine.dispose()

    asyncio.run(run())


def _damaged_workbook(path: Path, rows: list[list[str]], damaged_from: int) -> Path:
    """A workbook whose first sheet's XML breaks off at row `damaged_from` (as a truncated or tampered
    file would): openpyxl opens it, and fails only when it reads that far."""
    import zipfile

    import openpyxl

    whole = path.with_suffix(".whole.xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(whole)
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: data.index(f'<row r="{damaged_from}"'.encode())] + b"<row <<<"
            target.writestr(item, data)
    return path


@pytest.mark.parametrize("apart", [False, True], ids=["here", "apart"])
def test_a_workbook_damaged_part_way_is_refused_whole_with_its_row(
    api: Api, tmp_path: Path, apart: bool
) -> None:
    # The XML parser's error once escaped the import (a traceback on the command line, a 500 for an upload)
    # after the rows before it were written.
    people = [["external_id", "email", "display_name"]] + [
        [f"w-{i}", f"w{i}@example.org", f"W {i}"] for i in range(1, 1201)
    ]
    path = _damaged_workbook(tmp_path / "people.xlsx", people, damaged_from=1100)
    with pytest.raises(ImportFileError, match=r"people\.xlsx: row 1100 of the first sheet cannot be read"):
        _import(api, "profiles", path, apart=apart)
    assert count_rows(_db(api), "accounts") == 0


def test_a_damaged_workbook_uploaded_is_refused_with_a_reason_not_an_error(api: Api, tmp_path: Path) -> None:
    staff, _ = api.organisation()
    posts = [["external_id", "kind", "title", "country"], ["d-1", "short_return", "Cardiologist", "AL"]]
    path = _damaged_workbook(tmp_path / "posts.xlsx", [*posts, ["d-2", "short_return", "Nurse", "AL"]], 3)
    response = api.client.post(
        "/api/imports/posts",
        headers=staff,
        files={"file": ("posts.xlsx", path.read_bytes(), "application/octet-stream")},
    )
    assert response.status_code == 400, response.text
    assert "row 3 of the first sheet cannot be read" in response.text
    assert api.client.get("/api/posts", headers=staff).json()["total"] == 0
