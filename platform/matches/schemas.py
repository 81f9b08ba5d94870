from __future__ import annotations

from typing import Annotated

import msgspec

from diaspora.platform.core.schemas import Input
from diaspora.platform.posts.schemas import PostOut
from diaspora.platform.profiles.schemas import ProfileView


class SkillMatchOut(msgspec.Struct):
    required: str
    matched_by: str
    similarity: float
    via: str


class OccupationMatchOut(msgspec.Struct):
    """The ESCO occupation the post's title and the profile's headline were both linked to ("occupation"),
    or whose ISCO unit group they share ("family"), or the post's when they disagree ("none")."""

    uri: str
    label: str
    isco: str
    confidence: float
    via: str
    value: float
    chosen: bool = False  # the member chose this occupation for their headline


class ExplanationOut(msgspec.Struct, omit_defaults=True):
    """Why this match: parts the member hides from organisations are left out of what organisations see."""

    semantic_similarity: float
    components: dict[str, float]
    occupation: OccupationMatchOut | None = None
    shared_words: list[str] | None = None  # words of the post's title the headline contains too
    skill_coverage: float | None = None
    covered_skills: list[SkillMatchOut] | None = None
    missing_skills: list[str] | None = None
    availability_overlap_days: int | None = None
    languages_matched: list[str] | None = None
    languages_missing: list[str] | None = None


class ProfileMatchOut(msgspec.Struct):
    profile: ProfileView
    score: float
    explanation: ExplanationOut


class ProfileMatchList(msgspec.Struct):
    post_id: str
    model_id: str
    items: list[ProfileMatchOut]


class PostMatchOut(msgspec.Struct):
    post: PostOut
    score: float
    explanation: ExplanationOut


class PostMatchList(msgspec.Struct):
    model_id: str
    items: list[PostMatchOut]


class OccupationOut(msgspec.Struct, omit_defaults=True):
    """An ESCO occupation; `confidence` and `matched_label` say how a headline was linked to it."""

    uri: str
    label: str
    isco: str
    confidence: float | None = None
    matched_label: str | None = None


class OccupationChoiceOut(msgspec.Struct):
    """The occupation the member chose for their headline (None: it is linked automatically), and the
    occupations the headline is linked to automatically, best first, to choose from."""

    chosen: OccupationOut | None
    suggested: list[OccupationOut]


class OccupationChoiceIn(Input):
    """Choose the ESCO occupation your headline names (its URI), or `null` to have it linked again."""

    uri: Annotated[str, msgspec.Meta(max_length=300)] | None
