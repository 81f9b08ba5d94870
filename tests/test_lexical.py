"""The lexical channel: BM25 agreement of titles, and its part in the ranking and the evaluation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from diaspora.matching.documents import PostDocument, ProfileDocument
from diaspora.matching.encoder import Encoder
from diaspora.matching.evaluate import LabelledSet, rank_with_lexical
from diaspora.matching.index import ProfileIndex
from diaspora.matching.lexical import LexicalScorer, packaged_scorer, shared_words
from diaspora.matching.ranker import Ranker


def test_a_rare_shared_word_counts_more_than_a_common_one() -> None:
    scorer = packaged_scorer()
    rare, common = scorer.similarity("cardiology manager", ["cardiologist", "sales manager"])
    assert rare > common > 0
    # A title scored against itself carries all of its own wording; one sharing no word, next to none
    # (a word ending such as "-er" is all they share).
    same, nothing = scorer.similarity("pipe welder", ["pipe welder", "kindergarten teacher"])
    assert same == pytest.approx(1.0)
    assert nothing < 0.05


def test_script_case_and_diacritics_do_not_keep_the_same_words_apart() -> None:
    scorer = packaged_scorer()
    cyrillic, accented, unrelated = scorer.similarity("kardiolog", ["Кардиолог", "KARDIOLÒG", "stolar"])
    assert cyrillic == pytest.approx(1.0)
    assert accented == pytest.approx(1.0)
    assert unrelated == 0.0


def test_character_ngrams_let_word_forms_meet() -> None:
    scorer = packaged_scorer()
    # Croatian cases, and English derivations: no stemmer, but shared n-grams.
    kardiologija, other = scorer.similarity("kardiologija", ["kardiologiji", "stomatologija"])
    assert kardiologija > other > 0
    cardiology, welding = scorer.similarity("cardiology", ["cardiologist", "welding"])
    assert cardiology > 0.3 > welding


def test_agreement_is_symmetric_and_bounded() -> None:
    scorer = packaged_scorer()
    texts = ["senior software engineer", "software engineer", "nurse", ""]
    forward = np.array([scorer.agreement(t, texts) for t in texts])
    assert np.allclose(forward, forward.T)
    assert forward.min() >= 0
    assert forward.max() <= 1
    assert forward[3].max() == 0.0  # an empty title shares nothing
    # One text against many (a request's path) is the matrix both ways, whatever was seen before.
    others = ["software engineering lead", "nurse", "", "engineer, software (senior)"] * 3
    both_ways = (
        scorer.matrix(["senior software engineer"], others)[0]
        + scorer.matrix(others, ["senior software engineer"])[:, 0]
    ) / 2
    assert np.allclose(scorer.agreement("senior software engineer", others), both_ways)
    assert scorer.agreement("nurse", []).shape == (0,)
    assert scorer.matrix([], ["a"]).shape == (0, 1)


def test_the_reference_corpus_decides_what_is_common() -> None:
    scorer = LexicalScorer(["nurse"] * 50 + ["welder"])
    # "nurse" is in almost every reference text, "welder" in one: sharing "welder" weighs more.
    nurse, welder = scorer.similarity("nurse welder", ["nurse", "welder"])
    assert welder > nurse
    with pytest.raises(ValueError, match="empty"):
        LexicalScorer([])


def test_shared_words_are_the_folded_words_both_titles_contain() -> None:
    assert shared_words("Interventional Cardiologist, Tirana", "cardiologist (interventional)") == [
        "interventional",
        "cardiologist",
    ]
    assert shared_words("Кардиолог", "kardiolog u bolnici") == ["kardiolog"]
    assert shared_words("nurse", "welder") == []


class _SameVector(Encoder):
    """Every text gets the same vector: the semantic channel cannot tell candidates apart."""

    def __init__(self) -> None:
        super().__init__("test:same")

    @property
    def dimension(self) -> int:
        return 8

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        digest = hashlib.sha256(b"same").digest()[:8]
        vector = np.frombuffer(digest, dtype=np.uint8).astype(np.float32)
        return np.tile(vector / np.linalg.norm(vector), (len(texts), 1))


def test_the_lexical_channel_orders_candidates_the_encoder_cannot_tell_apart() -> None:
    encoder = _SameVector()
    profiles = [
        ProfileDocument(id="a", headline="pastry cook"),
        ProfileDocument(id="b", headline="pediatric nurse"),
        ProfileDocument(id="c", headline="bus driver"),
    ]
    index = ProfileIndex(encoder.dimension, dtype="float32")
    for profile, vector in zip(profiles, encoder.encode([p.headline for p in profiles]), strict=True):
        index.upsert(profile, vector)
    post = PostDocument(id="p", title="Nurse for the pediatric ward")
    by_id = {p.id: p for p in profiles}

    def rank(lexical: LexicalScorer | None) -> list[Any]:
        ranker = Ranker(encoder, lexical=lexical)
        return ranker.rank_profiles_for_post(
            post,
            encoder.encode([post.title])[0],
            index,
            lambda ids: {i: by_id[i] for i in ids},
            apply_filters=False,
        )

    with_words = rank(packaged_scorer())
    assert with_words[0].id == "b"
    assert with_words[0].explanation.shared_words == ["nurse", "pediatric"]  # in the post's order
    assert with_words[0].explanation.components["lexical"] > with_words[1].explanation.components["lexical"]
    # Without the channel the three are tied, and the component is not there.
    without = rank(None)
    assert len({m.score for m in without}) == 1
    assert all("lexical" not in m.explanation.components for m in without)


def test_evaluate_reports_the_lexical_channel_alone(tmp_path: Path) -> None:
    (tmp_path / "profiles.jsonl").write_text(
        "\n".join(
            json.dumps(p)
            for p in (
                {"id": "x", "headline": "pediatric nurse"},
                {"id": "y", "headline": "bus driver"},
            )
        )
    )
    (tmp_path / "posts.jsonl").write_text(json.dumps({"id": "p", "title": "nurse, pediatric ward"}))
    (tmp_path / "qrels.tsv").write_text("p\tx\t1\n")
    data = LabelledSet.load(tmp_path / "profiles.jsonl", tmp_path / "posts.jsonl", tmp_path / "qrels.tsv")
    posts_to_profiles, profiles_to_posts = rank_with_lexical(data, packaged_scorer())
    assert posts_to_profiles == {"p": ["x", "y"]}
    assert profiles_to_posts == {"x": ["p"]}
