"""ESCO taxonomy: reading the official export layout, importing it idempotently, normalising skills."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from diaspora.ingest.esco import EscoFormatError, find_files, read_concepts, read_relations
from diaspora.ingest.taxonomy import SkillNormaliser, normalise_label
from tests.conftest import Api, count_rows

ESCO = Path(__file__).parent / "data" / "esco"
FIXTURE = "http://data.europa.eu/esco/skill/fixture-{:02d}"


def _skills() -> list:
    files = find_files(ESCO)
    assert files.skills is not None
    return list(read_concepts(files.skills, files.language))


def test_reads_the_official_layout_with_bom_and_multiline_labels() -> None:
    files = find_files(ESCO)
    assert files.language == "en"
    skills = _skills()
    assert len(skills) == 8
    echo = skills[0]
    assert (echo.uri, echo.kind, echo.preferred_label) == (FIXTURE.format(0), "skill", "echocardiography")
    assert echo.alt_labels == ("cardiac ultrasound", "echocardiogram")
    assert files.occupations is not None
    occupations = list(read_concepts(files.occupations, "en"))
    assert {o.kind for o in occupations} == {"occupation"}
    assert all(o.isco_group for o in occupations)
    assert files.relations is not None
    relations = list(read_relations(files.relations))
    assert {r.relation_type for r in relations} == {"essential", "optional"}


def test_malformed_files_are_refused_naming_the_problem(tmp_path: Path) -> None:
    (tmp_path / "skills_en.csv").write_text("conceptUri,preferredLabel\nx,y\n", encoding="utf-8")
    with pytest.raises(EscoFormatError, match="missing column"):
        list(read_concepts(tmp_path / "skills_en.csv", "en"))
    relations = tmp_path / "occupationSkillRelations_en.csv"
    relations.write_text(
        "occupationUri,relationType,skillUri\nhttp://o,mandatory,http://s\n", encoding="utf-8"
    )
    with pytest.raises(EscoFormatError, match=r"occupationSkillRelations_en.csv:2: relationType 'mandatory'"):
        list(read_relations(relations))
    (tmp_path / "skills_de.csv").write_text("", encoding="utf-8")
    with pytest.raises(EscoFormatError, match="several languages"):
        find_files(tmp_path)
    with pytest.raises(EscoFormatError, match="no ESCO files"):
        find_files(tmp_path / "..")


def test_label_normalisation_ignores_case_spacing_and_accents() -> None:
    assert normalise_label("  Održavanje   RAČUNALA ") == "odrzavanje racunala"
    normaliser = SkillNormaliser(_skills(), encoder=None)
    found = normaliser.normalise(["ODRZAVANJE RACUNALA", "Cardiac Ultrasound", "accounting"])
    assert found[0] is not None
    assert (found[0].uri, found[0].confidence, found[0].via) == (FIXTURE.format(7), 1.0, "label")
    assert found[1] is not None
    assert found[1].uri == FIXTURE.format(0)
    assert found[2] is None  # no model given: labels only


@pytest.mark.slow
def test_embedding_fallback_with_confidence_and_threshold() -> None:
    from diaspora.matching.calibration import calibration_for
    from diaspora.matching.encoder import get_encoder

    encoder = get_encoder()
    threshold = calibration_for(encoder.model_id).same  # what the product uses (0.75 for MiniLM)
    normaliser = SkillNormaliser(_skills(), encoder, threshold=threshold)
    python, echo, unrelated = normaliser.normalise(
        ["programming in python", "heart ultrasound", "accounting"]
    )
    assert python is not None
    assert python.uri == FIXTURE.format(3)
    assert python.via == "embedding"
    assert threshold <= python.confidence < 1.0
    assert echo is not None
    assert echo.uri == FIXTURE.format(0)
    assert unrelated is None


def test_import_is_idempotent_and_skips_dangling_relations(api: Api) -> None:
    from diaspora.platform.taxonomy.services import import_esco

    settings = api.client.app.state["settings"]
    url = settings.effective_database_url

    async def run() -> object:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        from diaspora.platform.wiring import open_database

        engine = open_database(url)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                return await import_esco(session, ESCO)
        finally:
            await engine.dispose()

    first = api.client.blocking_portal.call(run)
    assert (first.skills, first.occupations, first.relations, first.relations_skipped) == (8, 4, 4, 1)
    assert count_rows(url, "taxonomy_concepts") == 12
    second = api.client.blocking_portal.call(run)
    assert (second.skills, second.relations) == (8, 4)
    assert count_rows(url, "taxonomy_concepts") == 12
    assert count_rows(url, "taxonomy_relations") == 4


@pytest.mark.slow
def test_normalised_skills_match_through_the_taxonomy(api: Api, tmp_path: Path) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from diaspora.matching.encoder import get_encoder
    from diaspora.platform.taxonomy.services import import_esco, normalise_skills
    from diaspora.platform.wiring import open_database

    url = api.client.app.state["settings"].effective_database_url
    staff, _ = api.organisation()
    member = api.register("member")
    api.profile(
        member,
        headline="Cardiac nurse",
        skills=[{"name": "Cardiac Ultrasound"}, {"name": "accounting"}],
        availability=[{"start_date": "2027-05-01", "end_date": "2027-05-31", "modes": ["onsite_return"]}],
        consent={"visible_fields": ["headline", "skills"], "open_to_matching": True},
    )
    post = api.post(
        staff, title="Echocardiography trainer", required_skills=[{"name": "echocardiography"}], mode="onsite"
    )

    async def run() -> object:
        engine = open_database(url)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                await import_esco(session, ESCO)
                return await normalise_skills(session, get_encoder())
        finally:
            await engine.dispose()

    report = api.client.blocking_portal.call(run)
    assert report.by_label == 2  # "Cardiac Ultrasound" (alternative label) and "echocardiography"
    assert report.unmatched == 1  # "accounting"
    skills = api.client.get("/api/profiles/me", headers=member).json()["skills"]
    assert skills[0]["taxonomy_id"] == FIXTURE.format(0)
    assert skills[1]["taxonomy_id"] is None

    matches = api.client.get(f"/api/posts/{post['id']}/matches", headers=staff).json()["items"]
    covered = matches[0]["explanation"]["covered_skills"]
    assert covered == [
        {
            "required": "echocardiography",
            "matched_by": "Cardiac Ultrasound",
            "similarity": 1.0,
            "via": "taxonomy",
        }
    ]


@pytest.mark.slow  # fresh processes of the command
def test_cli_import_reports_counts_and_refuses_bad_folders(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DIASPORA_DATA_DIR": str(tmp_path / "data"), "DIASPORA_DATABASE_URL": ""}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "diaspora.platform.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    result = run("import", "esco", str(ESCO))
    assert result.returncode == 0, result.stderr
    assert "8 skills, 4 occupations, 4 relations (1 pointing at unknown concepts skipped)" in result.stdout
    broken = tmp_path / "broken"
    shutil.copytree(ESCO, broken)
    (broken / "occupationSkillRelations_en.csv").write_text(
        "occupationUri,relationType,skillUri\na,never,b\n"
    )
    env["DIASPORA_DATA_DIR"] = str(tmp_path / "fresh")
    result = run("import", "esco", str(broken))
    assert result.returncode != 0
    fresh = f"sqlite+aiosqlite:///{(tmp_path / 'fresh' / 'diaspora.sqlite3').resolve()}"
    assert count_rows(fresh, "taxonomy_concepts") == 0  # skills and occupations were read first: rolled back
    assert "relationType 'never'" in result.stderr
    assert "nothing was imported" in result.stderr


def test_labels_meet_across_scripts() -> None:
    assert (
        normalise_label("ОДРЖАВАЊЕ  РАЧУНАЛА")
        == normalise_label("Održavanje računala")
        == "odrzavanje racunala"
    )
    found = SkillNormaliser(_skills(), encoder=None).normalise(["Одржавање рачунала"])
    assert found[0] is not None
    assert (found[0].uri, found[0].via) == (FIXTURE.format(7), "label")


def test_a_skill_written_in_the_other_script_counts_as_the_same_skill() -> None:
    import numpy as np

    from diaspora.matching.documents import Skill
    from diaspora.matching.scoring import match_skills

    vectors = iter([np.array([[1.0, 0.0]], np.float32), np.array([[0.0, 1.0]], np.float32)])

    def unrelated(texts: list[str]) -> np.ndarray:  # no help from the encoder: words alone must match
        return next(vectors)

    covered, missing, coverage = match_skills(
        [Skill("коронарна ангиографија")], [Skill("Koronarna angiografija")], unrelated, 0.99
    )
    assert (len(covered), missing, coverage) == (1, [], 1.0)


def test_skill_suggestions_are_found_in_either_script(api: Api) -> None:
    staff, _ = api.organisation(country="RS")
    api.post(staff, title="Интервентни кардиолог", required_skills=[{"name": "коронарна ангиографија"}])
    api.post(staff, title="Kardiolog", required_skills=[{"name": "ehokardiografija"}])

    def suggested(q: str) -> set[str]:
        response = api.client.get("/api/taxonomy/skills", params={"q": q})
        assert response.status_code == 200, response.text
        return {item["label"] for item in response.json()["items"]}

    assert "коронарна ангиографија" in suggested("angiograf")  # Latin typed, Cyrillic found
    assert "ehokardiografija" in suggested("ехокардио")  # Cyrillic typed, Latin found
