"""Scoring and explanations: semantic similarity combined with skill coverage, availability and languages."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from diaspora.matching.calibration import LEXICAL_CALIBRATION, UNCALIBRATED, Calibration
from diaspora.matching.documents import PostDocument, ProfileDocument, Skill
from diaspora.matching.lexical import shared_words
from diaspora.matching.occupations import OccupationFit
from diaspora.matching.scripts import fold

EncodeTexts = Callable[[Sequence[str]], npt.NDArray[np.float32]]
COMPONENTS = ("semantic", "occupation", "lexical", "skills", "availability", "languages")


@dataclass(frozen=True, slots=True)
class ScoringWeights:
    """Relative weights of the score components; a component that does not apply is left out and the
    others are renormalised (a post without required skills is scored on the rest).

    `calibration` is the encoder's (`matching/calibration.py`): the semantic component is its `fit` of
    the cosine similarity, so a score means the same whatever the model. `skill_threshold`, when given,
    overrides the calibration's least similarity for a profile skill to cover a required one."""

    semantic: float = 0.55
    occupation: float = 0.30
    lexical: float = 0.03
    skills: float = 0.30
    availability: float = 0.10
    languages: float = 0.05
    skill_threshold: float | None = None
    calibration: Calibration = UNCALIBRATED

    def __post_init__(self) -> None:
        weights = (
            self.semantic,
            self.occupation,
            self.lexical,
            self.skills,
            self.availability,
            self.languages,
        )
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        if self.skill_threshold is not None and not -1.0 <= self.skill_threshold <= 1.0:
            raise ValueError("skill_threshold is a cosine similarity, between -1 and 1")

    def by_component(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in COMPONENTS}

    @property
    def threshold(self) -> float:
        """The least similarity at which a profile skill covers a required one."""
        return self.calibration.skill_threshold if self.skill_threshold is None else self.skill_threshold


@dataclass(frozen=True, slots=True)
class SkillMatch:
    required: str
    matched_by: str
    similarity: float
    via: str  # "taxonomy", "exact" or "embedding"


@dataclass(frozen=True, slots=True)
class OccupationMatch:
    """The occupation both texts were linked to (`via` "occupation"), or the ISCO unit group they share
    ("family", naming the first text's occupation), or none ("none", value 0)."""

    uri: str
    label: str
    isco: str
    confidence: float
    via: str
    value: float
    chosen: bool = False  # the profile's side is the occupation the member chose


@dataclass(slots=True)
class Explanation:
    """Why a profile and a post match, in terms a person can check."""

    semantic_similarity: float
    occupation: OccupationMatch | None = None
    shared_words: list[str] = field(default_factory=list)  # the title words both sides contain
    skill_coverage: float | None = None
    covered_skills: list[SkillMatch] = field(default_factory=list)
    missing_skills: list[str] = field(default_factory=list)
    availability_overlap_days: int | None = None
    languages_matched: list[str] = field(default_factory=list)
    languages_missing: list[str] = field(default_factory=list)
    components: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Match:
    id: str
    score: float
    explanation: Explanation


def _normalise(name: str) -> str:
    return fold(name)  # "Ангиографија" names the same skill as "angiografija"


def match_skills(
    required: Sequence[Skill],
    offered: Sequence[Skill],
    encode: EncodeTexts,
    threshold: float,
) -> tuple[list[SkillMatch], list[str], float]:
    """Cover each required skill with the best offered one: same taxonomy id, same words, or embedding
    similarity at or above `threshold`. Returns the covered skills, the missing ones and the coverage in
    [0, 1], where an embedding match counts by its similarity and an exact or taxonomy match counts fully."""
    if not required:
        return [], [], 1.0
    if not offered:
        return [], [s.name for s in required], 0.0
    similarity = encode([s.name for s in required]) @ encode([s.name for s in offered]).T
    closest = similarity.argmax(axis=1).tolist()  # each required skill's closest offered one
    closeness = similarity.max(axis=1).tolist()
    by_taxonomy: dict[str, Skill] = {}
    by_words: dict[str, Skill] = {}
    for o in offered:  # the first offered skill of each id and of each spelling, as listed
        if o.taxonomy_id:
            by_taxonomy.setdefault(o.taxonomy_id, o)
        by_words.setdefault(_normalise(o.name), o)
    covered: list[SkillMatch] = []
    missing: list[str] = []
    credit = 0.0
    for i, need in enumerate(required):
        exact = by_taxonomy.get(need.taxonomy_id) if need.taxonomy_id else None
        via = "taxonomy"
        if exact is None:
            exact = by_words.get(_normalise(need.name))
            via = "exact"
        if exact is not None:
            covered.append(SkillMatch(need.name, exact.name, 1.0, via))
            credit += 1.0
            continue
        best, score = closest[i], closeness[i]
        if score >= threshold:
            covered.append(SkillMatch(need.name, offered[best].name, round(score, 3), "embedding"))
            credit += score
        else:
            missing.append(need.name)
    return covered, missing, credit / len(required)


def availability_overlap_days(profile: ProfileDocument, post: PostDocument) -> int | None:
    """Days of the post's period the member is available in a mode the post accepts (None: undated post)."""
    if post.start is None or post.end is None:
        return None
    accepted = post.accepted_modes
    days: set[int] = set()
    for window in profile.availability:
        if window.mode_bits & accepted == 0:
            continue
        first = max(window.start, post.start).toordinal()
        last = min(window.end, post.end).toordinal()
        days.update(range(first, last + 1))
    return len(days)


def _post_days(start: date, end: date) -> int:
    return (end - start).days + 1


def score_pair(
    profile: ProfileDocument,
    post: PostDocument,
    semantic: float,
    encode: EncodeTexts,
    weights: ScoringWeights,
    occupation: OccupationFit | None = None,
    lexical: float | None = None,
) -> Match:
    """The combined score and explanation of one profile for one post (the id is the profile's).

    `occupation`: how the post's title and the profile's headline agree on their occupation links
    (`occupations.occupation_fit`); None when either is unlinked, and the component is then left out.
    `lexical`: how much the two titles share their wording (`lexical.LexicalScorer.agreement`), read
    through its calibration as the semantic similarity is through the model's; None leaves it out."""
    explanation = Explanation(semantic_similarity=round(semantic, 4))
    values = {"semantic": weights.calibration.fit(semantic)}  # the components that apply to this pair

    if occupation is not None:
        link = occupation.occupation
        explanation.occupation = OccupationMatch(
            link.uri,
            link.label,
            link.isco,
            link.confidence,
            occupation.via,
            round(occupation.value, 4),
            occupation.chosen,
        )
        values["occupation"] = occupation.value

    if lexical is not None:
        values["lexical"] = LEXICAL_CALIBRATION.fit(lexical)
        if lexical > 0:
            explanation.shared_words = shared_words(post.title, profile.headline)

    if post.required_skills:
        covered, missing, coverage = match_skills(
            post.required_skills, profile.skills, encode, weights.threshold
        )
        explanation.covered_skills, explanation.missing_skills = covered, missing
        explanation.skill_coverage = round(coverage, 4)
        values["skills"] = coverage

    overlap = availability_overlap_days(profile, post)
    if overlap is not None and post.start is not None and post.end is not None:
        explanation.availability_overlap_days = overlap
        values["availability"] = min(1.0, overlap / _post_days(post.start, post.end))

    if post.languages:
        spoken = set(profile.languages)
        explanation.languages_matched = [code for code in post.languages if code in spoken]
        explanation.languages_missing = [code for code in post.languages if code not in spoken]
        values["languages"] = len(explanation.languages_matched) / len(post.languages)

    score = combine(values, weights.by_component())
    explanation.components = {name: round(value, 4) for name, value in values.items()}
    return Match(
        id=profile.id, score=round(float(semantic if score is None else score), 6), explanation=explanation
    )


def combine(values: Mapping[str, float], weights: Mapping[str, float]) -> float | None:
    """The scoring rule, the one place it is written: the weighted mean of the components that apply to a
    pair (those in `values`), the others left out and the weights renormalised; None when no component
    that applies carries weight. Matching scores with it, and learning from answers evaluates weights with
    it (`platform/campaigns/learning.py`)."""
    total = sum(weights[name] for name in values)
    if total <= 0:
        return None
    return sum(weights[name] * value for name, value in values.items()) / total
