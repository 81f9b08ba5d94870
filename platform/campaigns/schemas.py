from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from diaspora.platform.core.schemas import CountryCode, Input, LongText, ShortText, check_date_range
from diaspora.platform.db.models import CampaignStatus, Sector
from diaspora.platform.profiles.schemas import ProfileView


class CampaignIn(Input, kw_only=True):
    """A campaign covers the posts listed in `post_ids`, or, when none are listed, every live post in
    its `countries` (all countries if none) whose dates overlap the campaign's."""

    name: ShortText
    description: LongText = ""
    sectors: Annotated[list[Sector], msgspec.Meta(max_length=15)] = msgspec.field(default_factory=list)
    countries: Annotated[list[CountryCode], msgspec.Meta(max_length=30)] = msgspec.field(default_factory=list)
    start_date: date | None = None
    end_date: date | None = None
    post_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=500)] = msgspec.field(default_factory=list)
    one_post_per_person: bool = True
    invitation_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 14

    def __post_init__(self) -> None:
        super().__post_init__()
        check_date_range(self.start_date, self.end_date, start_name="start_date", end_name="end_date")


class CampaignStatusIn(Input):
    status: CampaignStatus


class PairIn(Input):
    """Pin a pair of the manager's choosing into the proposal, or exclude it from every run."""

    post_id: uuid.UUID
    profile_id: uuid.UUID
    action: Annotated[str, msgspec.Meta(pattern="^(pin|exclude)$")]


class MatchChangeIn(Input, kw_only=True):
    pinned: bool | None = None
    excluded: bool | None = None


class InviteIn(Input):
    match_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=500)]


class AnswerIn(Input):
    answer: Annotated[str, msgspec.Meta(pattern="^(accept|decline)$")]


class RunSummary(msgspec.Struct):
    places: int
    fixed: int
    optimal_total: float
    optimal_filled: int
    greedy_total: float
    greedy_filled: int
    gain_total: float
    gain_filled: int
    candidates: int


class CampaignOut(msgspec.Struct):
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    description: str
    sectors: list[str]
    countries: list[str]
    start_date: date | None
    end_date: date | None
    status: str
    one_post_per_person: bool
    invitation_days: int
    post_ids: list[uuid.UUID]
    last_run: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class MatchOut(msgspec.Struct):
    id: uuid.UUID
    post_id: uuid.UUID
    post_title: str
    organisation_name: str
    profile: ProfileView
    state: str
    score: float
    explanation: dict[str, Any]
    pinned: bool
    excluded: bool
    invited_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None


class ProposalOut(msgspec.Struct):
    campaign_id: uuid.UUID
    summary: dict[str, Any]
    items: list[MatchOut]
    total: int = 0
    limit: int = 0
    offset: int = 0


class InvitationOut(msgspec.Struct):
    id: uuid.UUID
    campaign_name: str
    post_id: uuid.UUID
    post_title: str
    organisation_name: str
    country: str
    municipality: str | None
    start_date: date | None
    end_date: date | None
    state: str
    score: float
    invited_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None


class InvitationList(msgspec.Struct):
    items: list[InvitationOut]
    total: int = 0
    limit: int = 0
    offset: int = 0


class OutcomeIn(Input):
    """What a placement left behind at the host, as its staff record it afterwards."""

    local_staff_trained: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    transferred: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]


class PlacementOut(msgspec.Struct):
    """A person placed in one of the host's posts, and the outcome the host recorded (if any)."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_name: str
    post_id: uuid.UUID
    post_title: str
    person: str
    local_staff_trained: int | None
    transferred: str | None
    outcome_recorded_at: datetime | None
