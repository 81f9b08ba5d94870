"""Ranking in both directions: profiles for a post, and posts for a profile.

Two stages: the index finds the `rerank_depth` semantically closest candidates that pass the hard filters
(one matrix-vector product and a top-k) and, from the occupations the query's title is linked to, up to
`link_depth` allowed entities linked to the same occupation and half as many linked to another occupation
of its ISCO unit group (the closest of each, from the index's posting lists: the candidates the encoder
ranks too low because their titles name the occupation otherwise); those are then scored in full (the
occupations their titles are linked to, how much their titles share their wording, skills, availability,
languages) and the best `k` returned with explanations. The stages are separate methods so that a caller
can fetch the candidates' documents from wherever they live (a database, a file) in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from diaspora.matching.calibration import UNCALIBRATED, calibration_for
from diaspora.matching.documents import PostDocument, ProfileDocument
from diaspora.matching.encoder import Encoder
from diaspora.matching.index import PostIndex, ProfileIndex, VectorIndex
from diaspora.matching.lexical import LexicalScorer
from diaspora.matching.occupations import OccupationFit, OccupationLinker, occupation_fit
from diaspora.matching.scoring import Match, ScoringWeights, score_pair

Candidates = list[tuple[str, float]]


@dataclass
class Ranker:
    encoder: Encoder
    weights: ScoringWeights = field(default_factory=ScoringWeights)
    rerank_depth: int = 200
    # Links titles to taxonomy occupations for the "occupation" component; None leaves it out.
    linker: OccupationLinker | None = None
    # Scores how much titles share their wording for the "lexical" component; None leaves it out.
    lexical: LexicalScorer | None = None
    # Candidates found through the query's occupation links besides the semantic ones (0: none).
    link_depth: int = 100

    def __post_init__(self) -> None:
        # Weights that name no calibration read similarities as this ranker's encoder spreads them.
        if self.weights.calibration is UNCALIBRATED:
            self.weights = replace(self.weights, calibration=calibration_for(self.encoder.model_id))

    @property
    def links_rows(self) -> bool:
        """Whether this ranker uses occupation links (and so wants the indexes' rows linked)."""
        return self.linker is not None and self.weights.occupation > 0

    def link_codes(self, titles: Sequence[tuple[str, str | None]]) -> list[list[int]]:
        """Each title's occupation codes (with the occupation its owner chose, if any, which stands for its
        links), for `VectorIndex.set_links`; CPU work, so callers serving requests run it in a thread."""
        if self.linker is None:
            return [[] for _ in titles]
        linked = self.linker.links_of([t for t, _ in titles], [uri for _, uri in titles])
        return [self.linker.codes_of(links) for links in linked]

    def link_rows(self, index: VectorIndex, entries: Sequence[tuple[str, str, str | None]]) -> None:
        """Link indexed entities' titles: (id, title, chosen occupation URI or None) each."""
        codes = self.link_codes([(title, chosen) for _, title, chosen in entries])
        for (entity_id, _, _), found in zip(entries, codes, strict=True):
            index.set_links(entity_id, found)

    def query_codes(self, title: str, chosen: str | None = None) -> list[int]:
        """The occupation codes a query's title is linked to, for `candidates` (none when this ranker does
        not use links). A title no label spells may be encoded to be linked by meaning: callers serving
        requests run this in a thread."""
        if not self.links_rows or self.link_depth <= 0 or not title.strip():
            return []
        return self.link_codes([(title, chosen)])[0]

    def candidates(
        self,
        index: VectorIndex,
        vector: npt.NDArray[np.float32],
        mask: npt.NDArray[np.bool_] | None,
        k: int,
        codes: Sequence[int] = (),
    ) -> Candidates:
        """Stage one: ids and semantic similarities of the closest allowed entities, and, given the
        occupation `codes` of the query's title (`query_codes`), of the closest allowed entities linked to
        those occupations and to their ISCO unit groups."""
        rows, similarities = index.top_k(vector, max(k, self.rerank_depth), mask)
        found = dict(zip(rows.tolist(), similarities.tolist(), strict=True))
        if codes and self.linker is not None and self.link_depth > 0:
            family = self.linker.family_codes(codes)
            for wanted, depth in ((codes, self.link_depth), (family, self.link_depth // 2)):
                if wanted:
                    more, scores = index.linked_rows(wanted, vector, mask, depth)
                    for row, score in zip(more.tolist(), scores.tolist(), strict=True):
                        found.setdefault(row, score)
        return [(index.id_at(r), float(s)) for r, s in found.items()]

    def score_profiles(
        self, post: PostDocument, candidates: Candidates, profiles: Mapping[str, ProfileDocument], k: int
    ) -> list[Match]:
        """Stage two for a post: full scores of the candidates (ids absent from `profiles` are skipped)."""
        kept = [(profiles[i], s) for i, s in candidates if i in profiles]
        headlines = [p.headline for p, _ in kept]
        fits = self._occupation_fits((post.title, None), [(p.headline, p.occupation_uri) for p, _ in kept])
        wording = self._wording(post.title, headlines)
        matches = [
            score_pair(profile, post, s, self.encoder.encode_cached, self.weights, fit, lexical)
            for (profile, s), fit, lexical in zip(kept, fits, wording, strict=True)
        ]
        return _best(matches, k)

    def score_posts(
        self, profile: ProfileDocument, candidates: Candidates, posts: Mapping[str, PostDocument], k: int
    ) -> list[Match]:
        """Stage two for a profile: full scores of candidate posts; each match's id is the post's."""
        kept = [(posts[i], s) for i, s in candidates if i in posts]
        titles = [p.title for p, _ in kept]
        fits = self._occupation_fits(
            (profile.headline, profile.occupation_uri), [(t, None) for t in titles], post_first=False
        )
        wording = self._wording(profile.headline, titles)
        matches = []
        for (post, similarity), fit, lexical in zip(kept, fits, wording, strict=True):
            match = score_pair(
                profile, post, similarity, self.encoder.encode_cached, self.weights, fit, lexical
            )
            match.id = post.id
            matches.append(match)
        return _best(matches, k)

    def _occupation_fits(
        self,
        title: tuple[str, str | None],
        others: Sequence[tuple[str, str | None]],
        *,
        post_first: bool = True,
    ) -> list[OccupationFit | None]:
        """How one title's occupation links agree with each other title's (the post's links first, so an
        explanation names the post's occupation); each title comes with the occupation its owner chose,
        if any, which stands for its links. All None without a linker or a weight for them."""
        if self.linker is None or self.weights.occupation <= 0:
            return [None] * len(others)
        both = [title, *others]
        mine, *theirs = self.linker.links_of([t for t, _ in both], [uri for _, uri in both])
        if post_first:
            return [occupation_fit(mine, links) for links in theirs]
        return [occupation_fit(links, mine) for links in theirs]

    def _wording(self, title: str, others: Sequence[str]) -> list[float | None]:
        """How much one title shares its wording with each other one; all None without a lexical scorer,
        a weight for it or a title on the one side (an empty title on the other side shares nothing)."""
        if self.lexical is None or self.weights.lexical <= 0 or not title.strip():
            return [None] * len(others)
        return [float(v) for v in self.lexical.agreement(title, others)]

    def rank_profiles_for_post(
        self,
        post: PostDocument,
        post_vector: npt.NDArray[np.float32],
        profiles: ProfileIndex,
        lookup: Callable[[Iterable[str]], Mapping[str, ProfileDocument]],
        *,
        k: int = 20,
        require_languages: bool = True,
        apply_filters: bool = True,
    ) -> list[Match]:
        """The best `k` profiles for `post`, each with its score and explanation."""
        mask = profiles.filter_mask(post, require_languages=require_languages) if apply_filters else None
        candidates = self.candidates(profiles, post_vector, mask, k, self.query_codes(post.title))
        return self.score_profiles(post, candidates, lookup(i for i, _ in candidates), k)

    def recommend_posts_for_profile(
        self,
        profile: ProfileDocument,
        profile_vector: npt.NDArray[np.float32],
        posts: PostIndex,
        lookup: Callable[[Iterable[str]], Mapping[str, PostDocument]],
        *,
        k: int = 20,
        require_languages: bool = True,
        apply_filters: bool = True,
    ) -> list[Match]:
        """The best `k` posts for `profile`, each with its score and explanation."""
        mask = posts.filter_mask(profile, require_languages=require_languages) if apply_filters else None
        codes = self.query_codes(profile.headline, profile.occupation_uri)
        candidates = self.candidates(posts, profile_vector, mask, k, codes)
        return self.score_posts(profile, candidates, lookup(i for i, _ in candidates), k)


def _best(matches: Sequence[Match], k: int) -> list[Match]:
    return sorted(matches, key=lambda m: (-m.score, m.id))[:k]
