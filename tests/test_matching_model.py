"""The matcher with the real packaged model on small hand-made data."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from diaspora.matching.documents import PostDocument, ProfileDocument, Skill, Window
from diaspora.matching.encoder import MULTILINGUAL_MODEL, PACKAGED_MODEL, Encoder, get_encoder
from diaspora.matching.evaluate import main as evaluate_main
from diaspora.matching.index import ProfileIndex
from diaspora.matching.ranker import Ranker
from diaspora.matching.texts import post_text, profile_text

pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data"
MAY = Window(date(2027, 5, 1), date(2027, 5, 31), ("onsite_return",))

PEOPLE = [
    ProfileDocument(
        "cardiologist",
        "Interventional cardiologist",
        "Runs a catheterisation lab in Munich.",
        (Skill("coronary angiography"), Skill("echocardiography")),
        ("sq", "de"),
        availability=(MAY,),
    ),
    ProfileDocument(
        "welder",
        "Welder",
        "TIG and arc welding in a shipyard.",
        (Skill("tig welding"), Skill("metal fabrication")),
        ("sq",),
        availability=(MAY,),
    ),
    ProfileDocument(
        "developer",
        "Backend software engineer",
        "Payment systems in Python.",
        (Skill("python"), Skill("postgresql")),
        ("sq", "en"),
        availability=(MAY,),
    ),
    ProfileDocument(
        "nurse",
        "Cardiac nurse",
        "Intensive care nurse on a cardiology ward.",
        (Skill("patient care"), Skill("cardiac ultrasound")),
        ("sq",),
        availability=(MAY,),
    ),
]
CARDIOLOGY_POST = PostDocument(
    "post",
    "Cardiologist for a two-week training mission",
    "Teach PCI and echocardiography to residents.",
    (Skill("echocardiography"), Skill("cardiac catheterisation"), Skill("welding")),
    languages=("sq",),
    start=date(2027, 5, 3),
    end=date(2027, 5, 16),
    work_mode="onsite",
)


def _rank(post: PostDocument) -> list:
    encoder = get_encoder()
    index = ProfileIndex(encoder.dimension)
    for person, vector in zip(PEOPLE, encoder.encode([profile_text(p) for p in PEOPLE]), strict=True):
        index.upsert(person, vector)
    by_id = {p.id: p for p in PEOPLE}
    return Ranker(encoder).rank_profiles_for_post(
        post, encoder.encode([post_text(post)])[0], index, lambda ids: {i: by_id[i] for i in ids}, k=4
    )


def test_a_cardiologist_ranks_above_a_welder_for_a_cardiology_post() -> None:
    ranking = [m.id for m in _rank(CARDIOLOGY_POST)]
    assert ranking[0] == "cardiologist"
    assert ranking.index("nurse") < ranking.index("welder")
    assert ranking.index("cardiologist") < ranking.index("developer")


def test_explanations_name_covering_skills_missing_ones_and_availability() -> None:
    best = _rank(CARDIOLOGY_POST)[0].explanation
    covered = {c.required: (c.matched_by, c.via) for c in best.covered_skills}
    assert covered["echocardiography"] == ("echocardiography", "exact")
    assert "welding" in best.missing_skills
    assert best.availability_overlap_days == 14
    assert best.languages_matched == ["sq"]
    nurse = next(m for m in _rank(CARDIOLOGY_POST) if m.id == "nurse").explanation
    assert any(c.matched_by == "cardiac ultrasound" and c.via == "embedding" for c in nurse.covered_skills)


def test_evaluate_command_prints_both_systems_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "metrics.json"
    code = evaluate_main(
        [
            "--profiles",
            str(DATA / "toy_profiles.jsonl"),
            "--posts",
            str(DATA / "toy_posts.jsonl"),
            "--qrels",
            str(DATA / "toy_qrels.tsv"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "matcher" in printed
    assert "tfidf" in printed
    assert "lexical" in printed
    assert "ndcg@10" in printed
    report = json.loads(out.read_text())
    assert report["lexical_channel"] is True  # the matcher fuses it
    assert "occupation" in printed  # the links alone, a channel of their own
    for system in ("matcher", "semantic", "lexical", "occupation", "tfidf"):
        for direction in ("posts_to_profiles", "profiles_to_posts"):
            assert set(report[system][direction]) >= {"ndcg@10", "map", "mrr", "recall@10", "recall@100"}
        assert isinstance(report[system]["wall_time_s"], float)
        assert report[system]["wall_time_s"] > 0  # measured, not left at a default
    assert report["matcher"]["posts_to_profiles"]["queries"] == 4
    assert report["matcher"]["profiles_to_posts"]["queries"] == 6
    # On this easy set the matcher finds the right person first for every post.
    assert report["matcher"]["posts_to_profiles"]["mrr"] == 1.0


@pytest.mark.parametrize(
    ("qrels", "message"),
    [
        ("post-cardio\tcardio-1\n", "expected 3 tab-separated fields"),
        ("post-cardio\tcardio-1\thigh\n", "not an integer"),
        ("post-cardio\tcardio-1\t0\n", "must be >= 1"),
        ("post-cardio\tnobody\t1\n", "unknown profile id"),
    ],
)
def test_evaluate_rejects_bad_files_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], qrels: str, message: str
) -> None:
    path = tmp_path / "qrels.tsv"
    path.write_text(qrels)
    code = evaluate_main(
        [
            "--profiles",
            str(DATA / "toy_profiles.jsonl"),
            "--posts",
            str(DATA / "toy_posts.jsonl"),
            "--qrels",
            str(path),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert message in error
    assert "qrels.tsv:1" in error


def test_evaluate_rejects_malformed_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profiles = tmp_path / "p.jsonl"
    profiles.write_text('{"id": "a", "headline": "x"}\n{"id": "b"}\n')
    code = evaluate_main(
        [
            "--profiles",
            str(profiles),
            "--posts",
            str(DATA / "toy_posts.jsonl"),
            "--qrels",
            str(DATA / "toy_qrels.tsv"),
        ]
    )
    assert code == 2
    assert "p.jsonl:2" in capsys.readouterr().err


@pytest.mark.parametrize("name", [PACKAGED_MODEL, MULTILINGUAL_MODEL])
def test_the_configured_dimension_is_the_loaded_models(name: str) -> None:
    encoder = Encoder(name)
    from_configuration = encoder.dimension
    assert encoder._model is None  # known without loading the weights
    assert from_configuration == encoder.model.get_embedding_dimension()
