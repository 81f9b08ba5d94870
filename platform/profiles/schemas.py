from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from diaspora.platform.core.schemas import (
    CountryCode,
    Input,
    LanguageCode,
    Municipality,
    OptionalShortText,
    Sector,
    ShortText,
    TaxonomyId,
    check_date_range,
)
from diaspora.platform.db.models import AvailabilityMode, LanguageLevel, SkillLevel

# The parts of a profile a member can show to or hide from organisations, one switch each.
VisibleField = Literal[
    "name",
    "headline",
    "summary",
    "residence_country",
    "origin",
    "languages",
    "years_experience",
    "sectors",
    "skills",
    "credentials",
    "availability",
]
VISIBLE_FIELDS: tuple[str, ...] = VisibleField.__args__  # type: ignore[attr-defined]
DEFAULT_VISIBLE_FIELDS: tuple[VisibleField, ...] = (
    "headline",
    "summary",
    "residence_country",
    "languages",
    "years_experience",
    "sectors",
    "skills",
    "credentials",
    "availability",
)


class LanguageIn(Input):
    code: LanguageCode
    level: LanguageLevel


class SkillIn(Input):
    name: ShortText
    taxonomy_id: TaxonomyId | None = None
    level: SkillLevel | None = None


class CredentialIn(Input):
    title: ShortText
    issuer: OptionalShortText | None = None
    country: CountryCode | None = None
    year: Annotated[int, msgspec.Meta(ge=1900, le=2100)] | None = None


class AvailabilityIn(Input):
    start_date: date
    end_date: date
    modes: Annotated[list[AvailabilityMode], msgspec.Meta(min_length=1, max_length=4)]
    hours_per_week: Annotated[int, msgspec.Meta(ge=1, le=80)] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_date_range(self.start_date, self.end_date, start_name="start_date", end_name="end_date")
        if len(set(self.modes)) != len(self.modes):
            raise ValueError("`modes` lists a mode twice")


class ConsentIn(Input):
    visible_fields: Annotated[list[VisibleField], msgspec.Meta(max_length=len(VISIBLE_FIELDS))] = (
        msgspec.field(default_factory=lambda: list(DEFAULT_VISIBLE_FIELDS))
    )
    open_to_matching: bool = True
    open_to_contact: bool = False
    # Ministries and municipalities may send this member short questionnaires (one mail each).
    open_to_consultations: bool = False


class ProfileIn(Input):
    """The whole profile; PUT replaces what was there."""

    headline: Annotated[str, msgspec.Meta(max_length=200)] = ""
    summary: Annotated[str, msgspec.Meta(max_length=5_000)] = ""
    residence_country: CountryCode | None = None
    residence_city: Municipality | None = None
    origin_country: CountryCode | None = None
    origin_municipality: Municipality | None = None
    years_experience: Annotated[int, msgspec.Meta(ge=0, le=70)] | None = None
    sectors: Annotated[list[Sector], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    languages: Annotated[list[LanguageIn], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    skills: Annotated[list[SkillIn], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    credentials: Annotated[list[CredentialIn], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    availability: Annotated[list[AvailabilityIn], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    consent: ConsentIn | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        codes = [language.code for language in self.languages]
        if len(set(codes)) != len(codes):
            raise ValueError("`languages` lists a language twice")


class LanguageOut(msgspec.Struct):
    code: str
    level: str


class SkillOut(msgspec.Struct):
    name: str
    taxonomy_id: str | None
    level: str | None


class CredentialOut(msgspec.Struct):
    title: str
    issuer: str | None
    country: str | None
    year: int | None


class AvailabilityOut(msgspec.Struct):
    start_date: date
    end_date: date
    modes: list[str]
    hours_per_week: int | None


class ConsentOut(msgspec.Struct):
    visible_fields: list[str]
    open_to_matching: bool
    open_to_contact: bool
    open_to_consultations: bool


class ContactGrantIn(Input):
    organisation_id: uuid.UUID


class ProfileOut(msgspec.Struct):
    """A member's own view of their profile: everything."""

    id: uuid.UUID
    headline: str
    summary: str
    residence_country: str | None
    origin_country: str | None
    origin_municipality: str | None
    years_experience: int | None
    sectors: list[str]
    languages: list[LanguageOut]
    skills: list[SkillOut]
    credentials: list[CredentialOut]
    availability: list[AvailabilityOut]
    consent: ConsentOut
    contact_granted_to: list[uuid.UUID]
    updated_at: datetime
    text_language: str | None = None  # ISO 639-1 code of the language it is written in, as detected
    residence_city: str | None = None
    occupation_uri: str | None = None  # the ESCO occupation chosen for the headline (None: linked)


class ContactOut(msgspec.Struct):
    email: str
    phone: str | None


class ProfileView(msgspec.Struct, omit_defaults=True):
    """What an organisation, ministry or admin sees: only the parts the member chose to show.

    A hidden part is absent from the JSON, not empty, so nobody mistakes "hidden" for "has none".
    `contact` appears only when the member accepted contact from the viewer's organisation.
    """

    id: uuid.UUID
    name: str | None = None
    headline: str | None = None
    summary: str | None = None
    residence_country: str | None = None
    residence_city: str | None = None
    origin_country: str | None = None
    origin_municipality: str | None = None
    years_experience: int | None = None
    sectors: list[str] | None = None
    languages: list[LanguageOut] | None = None
    skills: list[SkillOut] | None = None
    credentials: list[CredentialOut] | None = None
    availability: list[AvailabilityOut] | None = None
    open_to_contact: bool = False
    contact: ContactOut | None = None
