from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec

from diaspora.platform.core.schemas import (
    CountryCode,
    Input,
    LanguageCode,
    LongText,
    Municipality,
    OptionalShortText,
    ShortText,
    TaxonomyId,
    check_date_range,
)
from diaspora.platform.db.models import Compensation, Incentive, PostKind, PostStatus, WorkMode


class PostSkillIn(Input):
    name: ShortText
    taxonomy_id: TaxonomyId | None = None


class PostIn(Input, kw_only=True):
    kind: PostKind
    title: ShortText
    country: CountryCode
    description: LongText = ""
    required_skills: Annotated[list[PostSkillIn], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    nice_to_have_skills: Annotated[list[PostSkillIn], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    languages: Annotated[list[LanguageCode], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )
    municipality: Municipality | None = None
    start_date: date | None = None
    end_date: date | None = None
    duration_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    mode: WorkMode = WorkMode.ONSITE
    compensation: Compensation = Compensation.PAID
    places: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    incentives: Annotated[list[Incentive], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    subsidy_programme: OptionalShortText | None = None  # e.g. "Brain Gain Programme"
    stipend_eur: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None  # a month
    status: PostStatus = PostStatus.DRAFT

    def __post_init__(self) -> None:
        super().__post_init__()
        check_date_range(self.start_date, self.end_date, start_name="start_date", end_name="end_date")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("`languages` lists a language twice")
        if len(set(self.incentives)) != len(self.incentives):
            raise ValueError("`incentives` lists an incentive twice")


class PostSkillOut(msgspec.Struct):
    name: str
    taxonomy_id: str | None


class PostOut(msgspec.Struct):
    id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    organisation_verified: bool
    kind: str
    title: str
    description: str
    required_skills: list[PostSkillOut]
    nice_to_have_skills: list[PostSkillOut]
    languages: list[str]
    country: str
    municipality: str | None
    start_date: date | None
    end_date: date | None
    duration_days: int | None
    mode: str
    compensation: str
    places: int
    status: str
    live: bool
    created_at: datetime
    updated_at: datetime
    text_language: str | None = None  # ISO 639-1 code of the language it is written in, as detected
    incentives: list[str] = msgspec.field(default_factory=list)
    subsidy_programme: str | None = None
    stipend_eur: int | None = None  # a month
