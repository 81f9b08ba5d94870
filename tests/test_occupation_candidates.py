"""Candidates found through occupation links: the people the encoder ranks too low because their title names
the post's occupation otherwise ("tree surgeon" for "arborist") are found from the index's posting lists,
inside the same filters, and then scored like every other candidate."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import update

from diaspora.matching.documents import PostDocument, ProfileDocument
from diaspora.matching.index import ProfileIndex
from diaspora.matching.occupations import Occupation, OccupationLinker
from diaspora.matching.ranker import Ranker
from diaspora.platform.db.models import Profile, utcnow
from diaspora.platform.settings import Settings
from tests.conftest import Api
from tests.test_index_snapshots import _engine, _with_sessions

TAXONOMY = [
    Occupation("http://x/arborist", "6210", "arborist", ("tree surgeon", "tree climber")),
    Occupation("http://x/forester", "6210", "forestry worker", ("logger", "woodcutter")),
    Occupation("http://x/cardiologist", "2212", "cardiologist", ("heart specialist",)),
]
DIMENSION = 8


class _Encoder:
    """Vectors by hand: every decoy sits closer to the post than any tree surgeon, as an encoder that does
    not know the two names of one occupation would place them."""

    model_id = "test:by-hand"
    dimension = DIMENSION

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        return np.zeros((len(texts), DIMENSION), dtype=np.float32)

    encode_cached = encode


def _unit(*values: float) -> np.ndarray:
    vector = np.zeros(DIMENSION, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


POST = PostDocument("post", title="Arborist")
POST_VECTOR = _unit(1.0)


def _registry() -> tuple[ProfileIndex, dict[str, ProfileDocument]]:
    index = ProfileIndex(DIMENSION)
    documents = {}
    rng = np.random.default_rng(0)
    for i in range(60):  # closer to the post than anyone below (similarities 0.46 to 0.54)
        document = ProfileDocument(f"decoy{i}", headline=f"Office clerk {i}")
        index.upsert(document, _unit(1.0, *rng.uniform(0.9, 1.1, 3)))
        documents[document.id] = document
    for document, vector in (
        (ProfileDocument("surgeon", headline="Tree surgeon"), _unit(0.44, 0.0, 0.0, 1.0)),  # 0.40
        (ProfileDocument("logger", headline="Logger"), _unit(0.41, 0.0, 0.0, 1.0)),  # 0.38
        (ProfileDocument("closed", headline="Tree surgeon", open_to_matching=False), _unit(0.46, 0, 0, 1)),
        (ProfileDocument("heart", headline="Heart specialist"), _unit(0.48, 0.0, 0.0, 1.0)),  # 0.43
    ):
        index.upsert(document, vector)
        documents[document.id] = document
    return index, documents


def _ranker(**changes: Any) -> Ranker:
    return Ranker(_Encoder(), rerank_depth=10, linker=OccupationLinker(TAXONOMY), **changes)  # type: ignore[arg-type]


def test_people_whose_title_names_the_posts_occupation_otherwise_are_found_though_ranked_low() -> None:
    index, documents = _registry()
    ranker = _ranker()
    ranker.link_rows(index, [(d.id, d.headline, d.occupation_uri) for d in documents.values()])
    matches = ranker.rank_profiles_for_post(POST, POST_VECTOR, index, lambda ids: documents, k=5)
    assert matches[0].id == "surgeon"  # the post's occupation, though the encoder put it below 60 others
    assert matches[0].explanation.occupation is not None
    assert matches[0].explanation.occupation.via == "occupation"

    mask = index.filter_mask(POST)
    found = {i for i, _ in ranker.candidates(index, POST_VECTOR, mask, 5, ranker.query_codes(POST.title))}
    assert len(found) == 12  # the encoder's ten closest, and two through links:
    assert {"surgeon", "logger"} <= found  # the occupation, and another of its ISCO unit group
    assert "closed" not in found  # the filters hold for these candidates too
    assert "heart" not in found  # another occupation and group: only the encoder could have found it
    assert len(ranker.candidates(index, POST_VECTOR, mask, 5)) == 10  # no codes, no links
    assert ranker.query_codes("  ") == []

    # Without the link channel the encoder's ten closest are all there is: decoys only.
    alone = _ranker(link_depth=0).rank_profiles_for_post(POST, POST_VECTOR, index, lambda ids: documents, k=5)
    assert all(m.id.startswith("decoy") for m in alone)


def test_a_changed_or_removed_row_is_found_by_its_links_only_once_linked_again() -> None:
    index, documents = _registry()
    ranker = _ranker()
    ranker.link_rows(index, [(d.id, d.headline, d.occupation_uri) for d in documents.values()])
    assert index.unlinked(10) == []
    surgeon = ranker.link_codes([("Tree surgeon", None)])[0]
    assert index.links_of("surgeon") == surgeon
    rows, _ = index.linked_rows(surgeon, POST_VECTOR, None, 10)
    assert {index.id_at(int(r)) for r in rows} == {"surgeon", "closed"}

    # The surgeon becomes a cardiologist: until it is linked again, it is linked to nothing.
    index.upsert(ProfileDocument("surgeon", headline="Cardiologist"), _unit(0.1, 0.0, 0.0, 1.0))
    assert index.unlinked(10) == ["surgeon"]
    assert index.links_of("surgeon") is None
    rows, _ = index.linked_rows(surgeon, POST_VECTOR, None, 10)
    assert {index.id_at(int(r)) for r in rows} == {"closed"}
    ranker.link_rows(index, [("surgeon", "Cardiologist", None)])
    rows, _ = index.linked_rows(surgeon, POST_VECTOR, None, 10)
    assert {index.id_at(int(r)) for r in rows} == {"closed"}  # its old entry is skipped
    heart = ranker.link_codes([("Cardiologist", None)])[0]
    rows, _ = index.linked_rows(heart, POST_VECTOR, None, 10)
    assert [index.id_at(int(r)) for r in rows] == ["heart", "surgeon"]  # the closest first

    index.remove("heart")
    rows, _ = index.linked_rows(heart, POST_VECTOR, None, 10)
    assert [index.id_at(int(r)) for r in rows] == ["surgeon"]
    # The member's own choice stands for their headline's links.
    ranker.link_rows(index, [("logger", "Logger", "http://x/cardiologist")])
    assert index.links_of("logger") == heart


def test_links_survive_a_snapshot_and_many_relinkings(tmp_path: Path) -> None:
    index, documents = _registry()
    ranker = _ranker()
    ranker.link_rows(index, [(d.id, d.headline, d.occupation_uri) for d in documents.values()])
    for _ in range(700):  # each relinking leaves an old entry behind, until the lists are rebuilt
        ranker.link_rows(index, [("surgeon", "Tree surgeon", None), ("logger", "Logger", None)])
    assert sum(len(rows) for rows in index._postings.values()) < 700  # not 1,400 and more
    index.upsert(ProfileDocument("newcomer", headline="Logger"), _unit(0.4, 0.0, 0.0, 1.0))
    index.save(tmp_path / "snapshot")
    manifest = ProfileIndex.manifest(tmp_path / "snapshot")
    assert manifest is not None
    assert manifest["unlinked"] == 1  # what a reader waiting for a settled snapshot looks at
    ranker.link_rows(index, [("newcomer", "Logger", None)])
    index.save(tmp_path / "snapshot")
    opened = ProfileIndex.load(tmp_path / "snapshot")
    for document in documents.values():
        assert opened.links_of(document.id) == index.links_of(document.id)
    found = {i for i, _ in ranker.candidates(opened, POST_VECTOR, None, 5, ranker.query_codes(POST.title))}
    assert {"surgeon", "logger", "closed"} <= found

    # A snapshot written before rows carried links opens with every row unlinked.
    for name in ("_links", "_linked"):
        (tmp_path / "snapshot" / f"{name}.npy").unlink()
    older = ProfileIndex.load(tmp_path / "snapshot")
    assert len(older.unlinked(100)) == len(documents) + 1 == older.unlinked_count()
    assert older.linked_rows([0, 1, 2], POST_VECTOR, None, 10)[0].size == 0
    opened.forget_links()
    assert len(opened.unlinked(100)) == len(documents) + 1


def test_profiles_loaded_in_bulk_are_linked_by_the_next_refreshes(api: Api, settings: Settings) -> None:
    member = api.register("member")
    api.profile(member, headline="Tree surgeon")
    other = api.register("member")
    api.profile(other, headline="Office clerk")
    mine = api.client.get("/api/profiles/me", headers=member).json()["id"]

    async def body(sessions: Any) -> None:
        first = _engine(settings, sessions, match_snapshots=False)
        await first.refresh()
        assert first.profiles is not None
        linked = first.profiles.links_of(mine)
        assert linked  # linked as the regular path indexed it
        # A new process loads the stored vectors in bulk, without titles: the refresh links them after.
        second = _engine(settings, sessions, match_snapshots=False)
        await second.refresh()
        assert second.profiles is not None
        await second.links_done()
        assert second.linked_later == 2
        assert second.profiles.links_of(mine) == linked
        await second.refresh()
        await second.links_done()
        assert second.linked_later == 2  # nothing more to do
        # A headline changed meanwhile is linked by the refresh that reads it, as it is now.
        async with sessions() as session, session.begin():
            await session.execute(
                update(Profile)
                .where(Profile.id == uuid.UUID(mine))
                .values(headline="Cardiologist", updated_at=utcnow())
            )
        await second.refresh()
        assert second.profiles.links_of(mine) not in (None, linked)

    _with_sessions(api, settings, body)


def test_rows_are_linked_again_when_links_by_meaning_become_ready(
    api: Api, settings: Settings, monkeypatch: Any
) -> None:
    for headline in ("Tree surgeon", "Mjek kardiolog"):
        api.profile(api.register("member"), headline=headline)

    async def body(sessions: Any) -> None:
        engine = _engine(settings, sessions, match_snapshots=False)
        await engine.refresh()
        assert engine.profiles is not None
        assert engine.profiles.unlinked(10) == []
        assert engine.linked_later == 0  # linked as they were indexed
        # The label vectors were saved meanwhile (by the process running the background jobs): what was
        # linked by spelling alone is linked again, now also by meaning.
        made_with = engine._occupations_digest()
        monkeypatch.setattr(engine, "_occupations_digest", lambda: f"{made_with}+meaning")
        await engine.refresh()
        await engine.links_done()
        assert engine.linked_later == 2
        assert engine.profiles.unlinked(10) == []
        await engine.refresh()
        await engine.links_done()
        assert engine.linked_later == 2
        await engine.close()

    _with_sessions(api, settings, body)
