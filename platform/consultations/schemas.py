from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec

from diaspora.platform.core.schemas import Input, ShortText
from diaspora.platform.db.models import QuestionKind
from diaspora.platform.insights.services import Cell, MapFilters, ScopeOut

MAX_QUESTIONS = 20
MAX_OPTIONS = 12
MAX_TEXT_ANSWER = 2_000

Option = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class QuestionIn(Input):
    kind: QuestionKind
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    # The choices of a single- or multiple-choice question (2 to 12); none for the others.
    options: Annotated[list[Option], msgspec.Meta(max_length=MAX_OPTIONS)] = msgspec.field(
        default_factory=list
    )
    scale_max: Annotated[int, msgspec.Meta(ge=3, le=10)] = 5  # a scale question runs from 1 to this
    required: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self.options = [o.strip() for o in self.options]
        if self.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            if len(self.options) < 2:
                raise ValueError("`options`: a choice question needs at least two options")
            if len({o.casefold() for o in self.options}) != len(self.options):
                raise ValueError("`options` lists an option twice")
        elif self.options:
            raise ValueError(f"`options` are for choice questions, not for a {self.kind.value} question")


class ConsultationIn(Input):
    title: ShortText
    questions: Annotated[list[QuestionIn], msgspec.Meta(min_length=1, max_length=MAX_QUESTIONS)]
    closes_on: date  # answers are taken until the end of this day (UTC)
    intro: Annotated[str, msgspec.Meta(max_length=3_000)] = ""
    filters: MapFilters = msgspec.field(default_factory=MapFilters)  # whom to ask, as on the diaspora map


Answer = int | list[int] | str


class ResponseIn(Input):
    """Answers by question key: an option's number (from 0) for a single choice, a list of them for a
    multiple choice, 1 to `scale_max` for a scale, text for a text question. Questions not required may
    be left out."""

    answers: dict[str, Answer]


class QuestionOut(msgspec.Struct):
    key: str  # "q1", "q2", ... in the order asked
    kind: str
    prompt: str
    options: list[str]
    scale_max: int
    required: bool


class ConsultationOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    intro: str
    questions: list[QuestionOut]
    status: str  # draft, open, closed (closed also once its closing day has passed)
    closes_on: date
    asked_by: str | None  # the organisation that asks; None: the platform itself (its admins)
    opened_at: datetime | None
    created_at: datetime
    # For its organisers only (None for members):
    filters: MapFilters | None = None
    scope: ScopeOut | None = None
    invited: int | None = None  # members mailed when it opened
    # Members the consultation would reach now (those who agreed to be consulted), or has answered it;
    # None below the smallest group shown (`DIASPORA_MAP_MIN_CELL`), as on the map.
    audience: int | None = None
    respondents: int | None = None
    # For a member: whether they have answered (they may change their answers while it is open).
    answered: bool | None = None


class MyResponseOut(msgspec.Struct):
    consultation_id: uuid.UUID
    answers: dict[str, Answer]
    updated_at: datetime


class QuestionResult(msgspec.Struct):
    key: str
    kind: str
    prompt: str
    answered: int | None  # None: fewer than `min_cell` answered it, and nothing else is shown of it
    # Choices and scale points in order (key: the option's number or the scale value), groups under
    # `min_cell` hidden; for a single choice or a scale, more are hidden so none can be worked out.
    cells: list[Cell] = msgspec.field(default_factory=list)
    mean: float | None = None  # of a scale
    texts: list[str] = msgspec.field(default_factory=list)  # free text, without names, in no telling order


class ResultsOut(msgspec.Struct):
    consultation_id: uuid.UUID
    title: str
    status: str
    min_cell: int
    respondents: int | None  # None: fewer than `min_cell`, and no answer is shown
    questions: list[QuestionResult]
