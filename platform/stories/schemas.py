from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from diaspora.platform.core.schemas import Input, ShortText


class StoryIn(Input):
    match_id: uuid.UUID  # the placement the story tells
    title: ShortText
    body: Annotated[str, msgspec.Meta(min_length=20, max_length=5_000)]


class StoryModerationIn(Input):
    decision: Annotated[str, msgspec.Meta(pattern="^(publish|reject)$")]
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class StoryOut(msgspec.Struct):
    """A story as anyone reads it once published; its parties and admins also see it before."""

    id: uuid.UUID
    title: str
    body: str
    language: str | None
    person: str  # the member placed, by the name they go by
    organisation: str  # the host
    post_title: str
    country: str
    municipality: str | None
    status: str
    member_consented: bool
    host_consented: bool
    published_at: datetime | None
    created_at: datetime
    moderation_note: str | None = None
    photo_alt: str | None = None  # set when the story has a photo (at /stories/{id}/photo)


class StoryList(msgspec.Struct):
    items: list[StoryOut]
    total: int
    limit: int
    offset: int
