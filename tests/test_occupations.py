"""Occupation links: titles linked to ESCO occupations by every label the export carries, and used in
ranking and explanations."""

from __future__ import annotations

import numpy as np

from diaspora.matching.documents import PostDocument, ProfileDocument
from diaspora.matching.evaluate import LabelledSet, occupation_linker
from diaspora.matching.index import ProfileIndex
from diaspora.matching.occupations import (
    FAMILY,
    Occupation,
    OccupationLink,
    OccupationLinker,
    occupation_fit,
    packaged_linker,
)
from diaspora.matching.ranker import Ranker

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
