"""The matcher's pure parts: metrics computed by hand, texts and hashes, index filters, scoring rules."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from diaspora.matching import index as index_module
from diaspora.matching.documents import PostDocument, ProfileDocument, Skill, Window
from diaspora.matching.encoder import Encoder, configured_dimension
from diaspora.matching.index import PostIndex, ProfileIndex
from diaspora.matching.metrics import (
    average_precision,
    evaluate_rankings,
    ndcg_at,
    recall_at,
    reciprocal_rank,
)
from diaspora.matching.scoring import ScoringWeights, availability_overlap_days, match_skills
from diaspora.matching.texts import post_text, profile_text, text_hash


def test_metrics_on_a_toy_case_computed_by_hand() -> None:
    ranking = ["a", "b", "c", "d"]
    relevance = {"b": 2, "d": 1, "z": 1}  # z is never retrieved
    # DCG = (2^2-1)/log2(3) + (2^1-1)/log2(5); IDCG = 3/log2(2) + 1/log2(3) + 1/log2(4)
    dcg = 3 / math.log2(3) + 1 / math.log2(5)
    idcg = 3 + 1 / math.log2(3) + 1 / 2
    assert ndcg_at(ranking, relevance, 10) == pytest.approx(dcg / idcg)
    # Relevant at ranks 2 and 4: AP = (1/2 + 2/4) / 3 relevant in all
    assert average_precision(ranking, relevance) == pytest.approx((0.5 + 0.5) / 3)
    assert reciprocal_rank(ranking, relevance) == pytest.approx(0.5)
    assert recall_at(ranking, relevance, 2) == pytest.approx(1 / 3)
    assert recall_at(ranking, relevance, 100) == pytest.approx(2 / 3)
    summary = evaluate_rankings({"q1": ranking, "q2": ["x"]}, {"q1": relevance, "q2": {"x": 1}})
    assert summary["mrr"] == pytest.approx((0.5 + 1.0) / 2)
    assert summary["queries"] == 2


def test_canonical_texts_put_headline_and_skills_first_and_hash_changes_with_them() -> None:
    profile = ProfileDocument(
        "p", headline="Cardiologist", summary="Works in Munich", skills=(Skill("echocardiography"),)
    )
    text = profile_text(profile)
    assert text.startswith("Cardiologist. Skills: echocardiography.")
    same = ProfileDocument(
        "p", headline="Cardiologist ", summary="Works  in Munich", skills=(Skill("echocardiography"),)
    )
    assert text_hash(profile_text(same)) == text_hash(text)
    changed = ProfileDocument(
        "p",
        headline="Cardiologist",
        summary="Works in Munich",
        skills=(Skill("echocardiography"), Skill("PCI")),
    )
    assert text_hash(profile_text(changed)) != text_hash(text)
    post = PostDocument("q", title="Nurse trainer", required_skills=(Skill("triage"),))
    assert post_text(post) == "Nurse trainer. Required skills: triage."


def _unit(seed: int, dimension: int = 8) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
    return vector / np.linalg.norm(vector)


MAY = (date(2027, 5, 1), date(2027, 5, 31))


def _profiles() -> list[ProfileDocument]:
    return [
        ProfileDocument(
            "onsite-sq", languages=("sq", "de"), availability=(Window(*MAY, ("onsite_return",)),)
        ),
        ProfileDocument("remote-sq", languages=("sq",), availability=(Window(*MAY, ("remote",)),)),
        ProfileDocument(
            "june-sq",
            languages=("sq",),
            availability=(Window(date(2027, 6, 1), date(2027, 6, 30), ("onsite_return",)),),
        ),
        ProfileDocument("onsite-sr", languages=("sr",), availability=(Window(*MAY, ("onsite_return",)),)),
        ProfileDocument(
            "closed",
            languages=("sq",),
            availability=(Window(*MAY, ("onsite_return",)),),
            open_to_matching=False,
        ),
        ProfileDocument("no-windows", languages=("sq",)),
    ]


def _index(dtype: str = "float16") -> ProfileIndex:
    index = ProfileIndex(8, dtype=dtype, capacity=2)  # tiny capacity: growth is exercised too
    for n, profile in enumerate(_profiles()):
        index.upsert(profile, _unit(n))
    return index


def _allowed(index: ProfileIndex, post: PostDocument) -> set[str]:
    mask = index.filter_mask(post)
    return {index.id_at(i) for i in np.flatnonzero(mask)}


def test_filters_apply_consent_languages_dates_and_mode() -> None:
    index = _index()
    dated_onsite = PostDocument(
        "p", languages=("sq",), start=date(2027, 5, 10), end=date(2027, 5, 20), work_mode="onsite"
    )
    assert _allowed(index, dated_onsite) == {"onsite-sq"}
    assert _allowed(index, PostDocument("p", start=MAY[0], end=MAY[1], work_mode="remote")) == {"remote-sq"}
    assert _allowed(index, PostDocument("p", start=MAY[0], end=MAY[1], work_mode="hybrid")) == {
        "onsite-sq",
        "remote-sq",
        "onsite-sr",
    }
    assert _allowed(index, PostDocument("p", languages=("sq", "de"), work_mode="onsite")) == {"onsite-sq"}
    # Undated: any window in an accepted mode, or availability not stated at all.
    assert _allowed(index, PostDocument("p", work_mode="onsite")) == {
        "onsite-sq",
        "june-sq",
        "onsite-sr",
        "no-windows",
    }
    assert _allowed(index, PostDocument("p", languages=("fr",))) == set()


def test_incremental_updates_and_removals() -> None:
    index = _index()
    post = PostDocument("p", start=MAY[0], end=MAY[1], work_mode="onsite", languages=("sq",))
    assert "june-sq" not in _allowed(index, post)
    index.upsert(
        ProfileDocument("june-sq", languages=("sq",), availability=(Window(*MAY, ("onsite_return",)),)),
        _unit(2),
    )
    assert "june-sq" in _allowed(index, post)
    assert index.remove("onsite-sq")
    assert not index.remove("onsite-sq")
    assert _allowed(index, post) == {"june-sq"}
    assert len(index) == 5
    rows, _ = index.top_k(_unit(0), 10)
    assert "onsite-sq" not in {index.id_at(int(r)) for r in rows}


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_top_k_matches_brute_force(dtype: str) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = ProfileIndex(32, dtype=dtype)  # type: ignore[arg-type]
    for n, vector in enumerate(vectors):
        index.upsert(ProfileDocument(f"p{n}"), vector)
    query = vectors[7]
    mask = np.ones(500, dtype=bool)
    mask[::2] = False  # only odd rows allowed
    rows, scores = index.top_k(query, 10, mask)
    expected = [i for i in np.argsort(-(vectors @ query)) if i % 2 == 1][:10]
    assert [int(r) for r in rows] == expected
    assert np.all(np.diff(scores) <= 1e-6)
    with pytest.raises(ValueError, match="dimensions"):
        index.upsert(ProfileDocument("bad"), np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize("kept", [1, 3, 25, 60, 250, 500])
def test_top_k_is_exact_whether_it_scores_the_kept_rows_or_scans(kept: int) -> None:
    """Few kept rows are scored alone, many by a scan of the whole matrix: the same answer either way,
    including when fewer rows are kept than asked for."""
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = ProfileIndex(32, dtype="float32")
    for n, vector in enumerate(vectors):
        index.upsert(ProfileDocument(f"p{n}"), vector)
    index.remove("p11")
    mask = np.zeros(500, dtype=bool)
    mask[rng.choice(500, size=kept, replace=False)] = True
    mask[11] = True  # removed: never returned, even when allowed
    query = rng.standard_normal(32).astype(np.float32)
    query /= np.linalg.norm(query)
    rows, scores = index.top_k(query, 10, mask)
    allowed = [i for i in np.argsort(-(vectors @ query)) if mask[i] and i != 11]
    assert [int(r) for r in rows] == allowed[:10]
    assert np.allclose(scores, (vectors @ query)[allowed[:10]], atol=1e-5)


def test_post_index_filters_for_recommendations() -> None:
    index = PostIndex(8)
    index.upsert(
        PostDocument("may-onsite", languages=("sq",), start=MAY[0], end=MAY[1], work_mode="onsite"), _unit(0)
    )
    index.upsert(PostDocument("may-remote", start=MAY[0], end=MAY[1], work_mode="remote"), _unit(1))
    index.upsert(PostDocument("undated-onsite", work_mode="onsite"), _unit(2))
    index.upsert(PostDocument("draft", work_mode="onsite", live=False), _unit(3))
    index.upsert(PostDocument("needs-fr", languages=("fr",), work_mode="onsite"), _unit(4))
    member = ProfileDocument("m", languages=("sq",), availability=(Window(*MAY, ("onsite_return",)),))
    allowed = {index.id_at(i) for i in np.flatnonzero(index.filter_mask(member))}
    assert allowed == {"may-onsite", "undated-onsite"}


_SYNONYMS = {"echocardiography": "cardiac ultrasound"}
_DIMENSIONS: dict[str, int] = {}


def _exact_encoder(texts: list[str]) -> np.ndarray:
    # A stand-in vector space where texts are synonyms (same vector) or unrelated (orthogonal).
    out = np.zeros((len(texts), 32), dtype=np.float32)
    for i, text in enumerate(texts):
        key = _SYNONYMS.get(text.casefold(), text.casefold())
        out[i, _DIMENSIONS.setdefault(key, len(_DIMENSIONS))] = 1.0
    return out


def test_skill_coverage_by_taxonomy_exact_words_and_similarity() -> None:
    required = (Skill("Echocardiography"), Skill("TIG welding", "esco:123"), Skill("python"), Skill("rust"))
    offered = (Skill("cardiac ultrasound"), Skill("welding, tig", "esco:123"), Skill("Python "))
    covered, missing, coverage = match_skills(required, offered, _exact_encoder, threshold=0.6)
    by = {c.required: (c.matched_by, c.via) for c in covered}
    assert by == {
        "Echocardiography": ("cardiac ultrasound", "embedding"),
        "TIG welding": ("welding, tig", "taxonomy"),
        "python": ("Python ", "exact"),
    }
    assert missing == ["rust"]
    assert coverage == pytest.approx(3 / 4)


def test_skill_coverage_names_the_first_offered_skill_of_an_id_or_a_spelling() -> None:
    # Either script, any case and accents: one skill; of several offered alike, the member's first.
    required = (Skill("Ангиографија"), Skill("Cardiology", "esco:7"))
    offered = (
        Skill("Heart medicine", "esco:7"),
        Skill("angiografija "),
        Skill("Angiografija"),
        Skill("Cardiology", "esco:7"),
    )
    covered, missing, coverage = match_skills(required, offered, _exact_encoder, threshold=0.6)
    assert [(c.required, c.matched_by, c.via) for c in covered] == [
        ("Ангиографија", "angiografija ", "exact"),
        ("Cardiology", "Heart medicine", "taxonomy"),
    ]
    assert missing == []
    assert coverage == 1.0


def test_availability_overlap_counts_days_in_accepted_modes() -> None:
    post = PostDocument("p", start=date(2027, 5, 10), end=date(2027, 5, 19), work_mode="onsite")
    profile = ProfileDocument(
        "m",
        availability=(
            Window(date(2027, 5, 1), date(2027, 5, 12), ("onsite_return",)),  # 10, 11, 12
            Window(date(2027, 5, 12), date(2027, 5, 14), ("onsite_return",)),  # 13, 14 (12 counted once)
            Window(date(2027, 5, 15), date(2027, 5, 31), ("remote",)),  # wrong mode
        ),
    )
    assert availability_overlap_days(profile, post) == 5
    assert availability_overlap_days(profile, PostDocument("undated")) is None


def test_weights_are_validated() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        ScoringWeights(semantic=-1)
    with pytest.raises(ValueError, match="cosine"):
        ScoringWeights(skill_threshold=2)


def _saved_model(folder: Path, modules: list[tuple[str, str, dict[str, object] | None]]) -> str:
    listing = []
    for number, (kind, path, config) in enumerate(modules):
        listing.append({"idx": number, "name": str(number), "path": path, "type": kind})
        if config is not None:
            (folder / path).mkdir(parents=True, exist_ok=True)
            (folder / path / "config.json").write_text(json.dumps(config))
    (folder / "modules.json").write_text(json.dumps(listing))
    return str(folder)


def test_a_saved_models_dimension_is_read_from_its_configuration(tmp_path: Path) -> None:
    transformer = ("sentence_transformers.models.Transformer", "", None)
    old_pooling = (
        "sentence_transformers.models.Pooling",
        "1_Pooling",
        {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True},
    )
    new_pooling = (
        "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
        "1_Pooling",
        {"embedding_dimension": 384, "pooling_mode": "mean"},
    )
    dense = ("sentence_transformers.models.Dense", "2_Dense", {"in_features": 768, "out_features": 256})
    normalize = ("sentence_transformers.models.Normalize", "3_Normalize", None)
    assert configured_dimension(_saved_model(tmp_path / "a", [transformer, old_pooling, normalize])) == 768
    assert configured_dimension(_saved_model(tmp_path / "b", [transformer, new_pooling, normalize])) == 384
    assert configured_dimension(_saved_model(tmp_path / "c", [transformer, old_pooling, dense])) == 256
    # What cannot be read plainly is left to the loaded model.
    unknown = ("my_package.Projection", "2_Projection", {"size": 3})
    assert configured_dimension(_saved_model(tmp_path / "d", [transformer, new_pooling, unknown])) is None
    assert configured_dimension(str(tmp_path / "nowhere")) is None
    assert configured_dimension("sentence-transformers/all-MiniLM-L6-v2") is None


def _compact_index(rows: int = 5_000, dimension: int = 32) -> tuple[ProfileIndex, np.ndarray]:
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((rows, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = ProfileIndex(dimension, dtype="float32")
    index.compact_min_rows = 1_000
    for n, vector in enumerate(vectors):
        index.upsert(ProfileDocument(f"p{n}"), vector)
    return index, vectors


def _no_scan(*_: object) -> np.ndarray:
    raise AssertionError("scanned the whole matrix")


@pytest.fixture
def short_shortlists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shortlists well short of a test's index, so that what the compact code leaves out shows."""
    monkeypatch.setattr(index_module, "SHORTLIST", 50)
    monkeypatch.setattr(index_module, "SHORTLIST_PER_RESULT", 10)


@pytest.mark.usefixtures("short_shortlists")
def test_broad_filters_on_a_large_index_are_served_from_the_compact_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From `compact_min_rows` up, a query whose filters keep most rows is shortlisted by the compact code
    and the shortlist scored exactly: nearly the exact answer, without reading the whole matrix."""
    index, vectors = _compact_index()
    assert index.update_compact()
    assert index.compact_rows == 5_000
    monkeypatch.setattr(index, "similarities", _no_scan)
    rng = np.random.default_rng(6)
    mask = rng.random(5_000) < 0.7
    found = []
    for _ in range(20):
        query = rng.standard_normal(32).astype(np.float32)
        query /= np.linalg.norm(query)
        rows, scores = index.top_k(query, 10, mask)
        exact = [i for i in np.argsort(-(vectors @ query)) if mask[i]][:10]
        assert all(mask[rows])
        assert np.allclose(scores, vectors[rows] @ query, atol=1e-5)
        found.append(len(set(rows.tolist()) & set(exact)) / 10)
    assert np.mean(found) >= 0.9


@pytest.mark.usefixtures("short_shortlists")
def test_rows_changed_added_or_removed_after_coding_are_ranked_by_what_they_are_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, vectors = _compact_index()
    index.update_compact()
    monkeypatch.setattr(index, "similarities", _no_scan)
    rng = np.random.default_rng(8)
    query = rng.standard_normal(32).astype(np.float32)
    query /= np.linalg.norm(query)
    best_before = index.id_at(int(index.top_k(query, 1, np.ones(5_000, dtype=bool))[0][0]))
    index.upsert(ProfileDocument("p17"), query)  # changed: its code still says what it was
    index.upsert(ProfileDocument("newcomer"), -query)  # appended: no code yet
    assert index.remove(best_before)
    mask = np.ones(index.size, dtype=bool)
    rows, scores = index.top_k(query, 3, mask)
    ids = [index.id_at(int(r)) for r in rows]
    assert ids[0] == "p17"
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert best_before not in ids
    assert index.top_k(-query, 1, mask)[0].tolist() == [index.row_of("newcomer")]
    # Appended rows are coded by the next update; a tenth of the rows changed makes it build anew.
    assert index.update_compact()
    assert index.compact_rows == index.size
    for n in range(0, 600):
        index.upsert(ProfileDocument(f"p{n + 1000}"), vectors[n])
    assert index.update_compact()
    assert index._stale == set()


@pytest.mark.usefixtures("short_shortlists")
def test_rows_changed_while_the_code_is_built_are_scored_exactly_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, _ = _compact_index()
    query = np.zeros(32, dtype=np.float32)
    query[0] = 1.0
    building = index_module.CompactScan

    def changed_meanwhile(vectors: np.ndarray) -> index_module.CompactScan:
        code = building(vectors)  # coded from the rows as they were...
        index.upsert(ProfileDocument("p9"), query)  # ...while a request's refresh changes one
        return code

    monkeypatch.setattr(index_module, "CompactScan", changed_meanwhile)
    assert index.compact_build_due()
    index.build_compact()
    assert not index.compact_build_due()
    monkeypatch.setattr(index, "similarities", _no_scan)
    rows, _ = index.top_k(query, 1, np.ones(index.size, dtype=bool))
    assert index.id_at(int(rows[0])) == "p9"


def test_a_small_index_has_no_compact_code() -> None:
    index, _ = _compact_index(rows=500)
    assert not index.update_compact()
    assert index.compact_rows == 0


def test_cached_encodings_of_a_list_are_encoded_once_and_shared_read_only() -> None:
    class Counting(Encoder):
        def __init__(self) -> None:
            super().__init__("test:counting")
            self.encoded: list[str] = []

        @property
        def dimension(self) -> int:
            return 4

        def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
            self.encoded.extend(texts)
            return np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)

    encoder = Counting()
    first = encoder.encode_cached(["echocardiography", "ecg", "echocardiography"])
    again = encoder.encode_cached(["echocardiography", "ecg", "echocardiography"])
    other = encoder.encode_cached(["ecg"])
    assert encoder.encoded == ["echocardiography", "ecg"]  # each text encoded once
    assert first.tolist() == again.tolist() == [[16, 1, 0, 0], [3, 1, 0, 0], [16, 1, 0, 0]]
    assert other.tolist() == [[3, 1, 0, 0]]
    assert encoder.encode_cached([]).shape == (0, 4)
    with pytest.raises(ValueError, match="read-only"):
        again[0, 0] = 0.0  # shared with every caller that asks for the same list
