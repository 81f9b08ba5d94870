from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from diaspora.platform.core.schemas import CountryCode, Input, LongText, Municipality, ShortText
from diaspora.platform.db.models import OrganisationKind

Website = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$", max_length=300, description="http(s) URL")]


class OrganisationIn(Input):
    name: ShortText
    kind: OrganisationKind
    country: CountryCode
    municipality: Municipality | None = None
    website: Website | None = None
    description: LongText = ""


class OrganisationUpdateIn(Input):
    name: ShortText | None = None
    kind: OrganisationKind | None = None
    country: CountryCode | None = None
    municipality: Municipality | None = None
    website: Website | None = None
    description: LongText | None = None


class OrganisationOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    kind: str
    country: str
    municipality: str | None
    website: str | None
    description: str
    verified: bool
    verified_at: datetime | None
    created_at: datetime


class StaffGrantIn(Input):
    """An admin attaches an existing account to an organisation; the organisation's kind decides the role."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]


class StaffOut(msgspec.Struct):
    account_id: uuid.UUID
    email: str
    display_name: str
    role: str


class StaffList(msgspec.Struct):
    items: list[StaffOut]
    total: int
    limit: int
    offset: int
