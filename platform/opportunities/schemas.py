from __future__ import annotations

import uuid
from datetime import datetime
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
)
from diaspora.platform.db.models import OpportunityKind, PledgeBand, PledgeHorizon, Sector, WorkMode

Amount = Annotated[int, msgspec.Meta(ge=0, le=10**13, description="Whole units of the currency")]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$", description="ISO 4217 code, e.g. 'EUR'")]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Url = Annotated[str, msgspec.Meta(max_length=300, pattern=r"^https?://\S+$")]


class OpportunityIn(Input, kw_only=True):
    """An investment project (ticket size range and currency) or a volunteering opening (time
    commitment and mode). A new or changed opportunity waits for an admin's review."""

    kind: OpportunityKind
    title: ShortText
    sector: Sector
    country: CountryCode
    description: LongText = ""
    municipality: Municipality | None = None
    ticket_min: Amount | None = None
    ticket_max: Amount | None = None
    currency: Currency | None = None
    hours_per_week: Annotated[int, msgspec.Meta(ge=1, le=80)] | None = None
    duration_weeks: Annotated[int, msgspec.Meta(ge=1, le=520)] | None = None
    mode: WorkMode | None = None
    languages: Annotated[list[LanguageCode], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )
    contact_email: Email | None = None
    contact_url: Url | None = None
    seeking_partners: bool = False  # partner firms wanted: members may answer as the firm they run

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ticket_min is not None and self.ticket_max is not None and self.ticket_max < self.ticket_min:
            raise ValueError(f"`ticket_max` ({self.ticket_max}) is below `ticket_min` ({self.ticket_min})")
        has_ticket = self.ticket_min is not None or self.ticket_max is not None
        if has_ticket and self.currency is None:
            raise ValueError("`currency` is required with a ticket size")
        if self.kind is OpportunityKind.VOLUNTEERING and has_ticket:
            raise ValueError("`ticket_min`/`ticket_max` are for investment opportunities")
        if self.kind is OpportunityKind.INVESTMENT and (self.hours_per_week or self.duration_weeks):
            raise ValueError("`hours_per_week`/`duration_weeks` are for volunteering opportunities")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("`languages` lists a language twice")


class ModerationIn(Input):
    decision: Annotated[str, msgspec.Meta(pattern="^(publish|reject)$")]
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class OpportunityOut(msgspec.Struct):
    id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    kind: str
    title: str
    description: str
    sector: str
    country: str
    municipality: str | None
    ticket_min: int | None
    ticket_max: int | None
    currency: str | None
    hours_per_week: int | None
    duration_weeks: int | None
    mode: str | None
    languages: list[str]
    contact_email: str | None
    contact_url: str | None
    status: str
    moderation_note: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    seeking_partners: bool = False


class PledgeIn(Input):
    """Interest in investing: a band and a horizon; `firm` answers as a firm the member runs (only where
    the opportunity seeks partners); `share_contact` lets the organisation see who and how to reach."""

    band: PledgeBand
    horizon: PledgeHorizon
    share_contact: bool = False
    firm: OptionalShortText | None = None


class PledgeOut(msgspec.Struct):
    opportunity_id: uuid.UUID
    opportunity_title: str
    band: str
    horizon: str
    share_contact: bool
    firm: str | None
    updated_at: datetime


class BandOut(msgspec.Struct):
    band: str
    pledges: int
    # The band's bounds times its pledges: what the pledges add up to, at least and at most (None: open).
    total_min_eur: int
    total_max_eur: int | None


class PledgerOut(msgspec.Struct):
    name: str
    email: str
    phone: str | None
    firm: str | None
    band: str
    horizon: str


class PledgeSummaryOut(msgspec.Struct):
    """What an opportunity's organisation sees: counts and totals by band and horizon, and the contact
    details of those who chose to share them."""

    opportunity_id: uuid.UUID
    pledges: int
    total_min_eur: int
    total_max_eur: int | None
    by_band: list[BandOut]
    by_horizon: dict[str, int]
    firms: int
    contacts: list[PledgerOut]
