"""Occupation links: titles linked to ESCO occupations by every label the export carries, and used in
ranking and explanations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from diaspora.matching.documents import PostDocument, ProfileDocument
from diaspora.matching.evaluate import LabelledSet, occupation_linker
from diaspora.matching.index import ProfileIndex
from diaspora.matching.occupations import (
    DENSE_FLOOR,
    FAMILY,
    LabelVectors,
    Occupation,
    OccupationLink,
    OccupationLinker,
    occupation_fit,
    packaged_linker,
)
from diaspora.matching.ranker import Ranker
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.settings import Settings
from tests.conftest import Api
from tests.test_index_snapshots import HashedEncoder, _with_sessions

ARBORIST = "http://data.europa.eu/esco/occupation/arborist"
SMALL = [
    Occupation(ARBORIST, "6210", "arborist", ("tree surgeon", "tree climber")),
    Occupation("http://x/forester", "6210", "forestry worker", ("logger", "woodcutter")),
    Occupation("http://x/cardiologist", "2212", "cardiologist", ("heart specialist",)),
]


def test_titles_link_to_the_occupation_by_any_of_its_labels_whatever_the_spelling() -> None:
    linker = packaged_linker()
    (link,) = linker.link("Data engineer (remote) - Tirana")
    assert (link.label, link.confidence, link.matched_label) == ("data engineer", 1.0, "data engineer")
    # An alternative label, in capitals and Cyrillic script, inside a longer title.
    assert linker.link("Interventional CARDIOLOGIST, two-week training mission")[0].matched_label == (
        "cardiologist"
    )
    assert linker.link("кардиолог")[0].matched_label == "cardiologist"
    assert linker.link("qwxz vbnm") == ()
    assert linker.link("") == ()


def test_a_label_left_out_is_not_known_but_the_occupations_other_names_are() -> None:
    full = OccupationLinker(SMALL)
    assert full.link("tree surgeon")[0].matched_label == "tree surgeon"
    held_out = OccupationLinker(SMALL, without_labels=["Tree Surgeon"])
    assert all(link.matched_label != "tree surgeon" for link in held_out.link("tree surgeon"))
    assert held_out.label_count == full.label_count - 1


def test_two_titles_agree_on_their_occupation_or_else_on_its_isco_group() -> None:
    linker = OccupationLinker(SMALL)
    arborist, logger, heart = (linker.link(t) for t in ("arborist", "logger", "heart specialist"))
    same = occupation_fit(arborist, linker.link("tree climber"))
    assert same is not None
    assert (same.via, same.occupation.label, same.value) == ("occupation", "arborist", 1.0)
    family = occupation_fit(arborist, logger)
    assert family is not None
    assert (family.via, family.value) == ("family", FAMILY)
    unrelated = occupation_fit(arborist, heart)
    assert unrelated is not None
    assert (unrelated.via, unrelated.value) == ("none", 0.0)
    assert occupation_fit(arborist, ()) is None  # unlinked: the component does not apply


class _SameVector:
    """An encoder under which every text is equally similar: occupation links alone decide."""

    model_id = "same-vector"
    dimension = 4

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        return np.tile(np.array([1, 0, 0, 0], dtype=np.float32), (len(texts), 1))

    encode_cached = encode


def test_the_ranker_puts_the_same_occupation_first_and_says_so() -> None:
    encoder = _SameVector()
    profiles = [
        ProfileDocument("clerk", headline="Data entry clerk"),
        ProfileDocument("eng", "Data engineer"),
    ]
    index = ProfileIndex(4)
    for profile in profiles:
        index.upsert(profile, encoder.encode([""])[0])
    post = PostDocument("p", title="Senior data engineer")
    lookup = {p.id: p for p in profiles}
    with_links = Ranker(encoder, linker=packaged_linker())  # type: ignore[arg-type]
    best, other = with_links.rank_profiles_for_post(post, encoder.encode([""])[0], index, lambda ids: lookup)
    assert best.id == "eng"
    assert best.score > other.score
    occupation = best.explanation.occupation
    assert occupation is not None
    assert (occupation.label, occupation.via) == ("data engineer", "occupation")
    assert best.explanation.components["occupation"] == occupation.value > 0.8
    without = Ranker(encoder)  # type: ignore[arg-type]
    unlinked = without.rank_profiles_for_post(post, encoder.encode([""])[0], index, lambda ids: lookup)
    assert all(m.explanation.occupation is None for m in unlinked)
    assert unlinked[0].score == unlinked[1].score


def test_evaluation_can_hold_out_the_labels_its_profiles_are_titled_with() -> None:
    data = LabelledSet(
        profiles=[ProfileDocument("a", headline="tree surgeon")],
        posts=[PostDocument("p", title="arborist")],
        qrels={"p": {"a": 2}},
    )
    assert occupation_linker(data) is packaged_linker()
    held_out = occupation_linker(data, "profiles")
    assert all(link.matched_label != "tree surgeon" for link in held_out.link("tree surgeon"))
    assert isinstance(held_out.link("arborist")[0], OccupationLink)


class _Phrasebook:
    """An encoder that knows which phrases mean the same (as a multilingual model would): each phrase of
    a group gets the group's direction, tilted a little by the phrase; anything else an unrelated one."""

    model_id = "phrasebook"
    dimension = 8
    GROUPS = (
        ("arborist", "tree surgeon", "tree climber"),
        ("forestry worker", "logger", "woodcutter", "sekach druri"),
        ("cardiologist", "mjek i zemrës"),
        ("heart specialist", "specialist zemre"),
    )

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for group, phrases in enumerate(self.GROUPS):
            if text.lower() in phrases:
                vector[group] = 1.0
                vector[len(self.GROUPS) + phrases.index(text.lower()) % 4] = 0.3  # not quite the same
                break
        else:
            vector[-1] = 1.0
        return vector / np.linalg.norm(vector)

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.encoded.extend(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension))

    encode_cached = encode


def test_a_title_no_label_spells_is_linked_by_meaning_once_label_vectors_are_ready(tmp_path: Path) -> None:
    encoder = _Phrasebook()
    vectors = LabelVectors(encoder, SMALL, tmp_path)  # type: ignore[arg-type]
    linker = OccupationLinker(SMALL, by_meaning=vectors)
    assert linker.link("Mjek i zemrës") == ()  # not prepared yet: spelling alone, and no label spells it
    vectors.prepare()
    assert vectors.path.exists()
    (link,) = linker.link("Mjek i zemrës")  # what was remembered unlinked is linked now
    assert (link.label, link.matched_label) == ("cardiologist", "cardiologist")
    assert DENSE_FLOOR <= link.confidence < 1.0
    # A title spelled like a label keeps its link by spelling; nothing is linked that means nothing known.
    assert linker.link("tree surgeon")[0].matched_label == "tree surgeon"
    assert linker.link("qwxz vbnm") == ()
    # Another process opens the saved vectors instead of encoding every label again.
    encoder_again = _Phrasebook()
    again = LabelVectors(encoder_again, SMALL, tmp_path)  # type: ignore[arg-type]
    assert again.open()
    assert encoder_again.encoded == []
    # A label held out is not known by its meaning either.
    held_out = OccupationLinker(SMALL, without_labels=["cardiologist"], by_meaning=vectors)
    (link,) = held_out.link("Specialist zemre")
    assert link.matched_label == "heart specialist"
    assert held_out.link("Mjek i zemrës") == ()


def test_the_background_jobs_encode_the_occupation_labels_once_and_every_process_opens_them(
    api: Api, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIASPORA_MODEL_CACHE", str(tmp_path / "models"))
    linking = settings.model_copy(update={"match_link_by_meaning": True, "match_snapshots": False})

    async def body(sessions: Any) -> None:
        encoder = HashedEncoder()
        jobs = MatchingEngine(linking, sessions, encoder=encoder)
        vectors = jobs.label_vectors
        assert vectors is not None
        assert not vectors.ready
        assert jobs.start_preparing_label_vectors()
        assert jobs._preparing_labels is not None
        jobs._preparing_labels.join(timeout=120)
        assert vectors.ready
        assert vectors.path.parent == tmp_path / "models"
        assert not jobs.start_preparing_label_vectors()  # saved: nothing more to do
        other = MatchingEngine(linking, sessions, encoder=HashedEncoder())
        assert other.label_vectors is not None
        assert not other.label_vectors.ready
        await other.refresh()
        assert other.label_vectors.ready
        spelling_only = MatchingEngine(settings, sessions, encoder=encoder)
        assert spelling_only.label_vectors is None
        assert spelling_only.ranker.linker is packaged_linker()

    _with_sessions(api, settings, body)
