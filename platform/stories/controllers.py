"""Return stories over the JSON API."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core import policy
from diaspora.platform.core.guards import (
    provide_actor,
    provide_optional_actor,
    requires_admin,
    requires_login,
)
from diaspora.platform.core.params import LANGUAGE_PATTERN, Pagination, provide_pagination
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import Story, StoryStatus
from diaspora.platform.stories import services
from diaspora.platform.stories.schemas import StoryIn, StoryList, StoryModerationIn, StoryOut


class PhotoUpload(msgspec.Struct):
    photo: UploadFile
    photo_alt: str  # what the photo shows, for people who cannot see it


def _out(user: Actor | None, story: Story) -> StoryOut:
    return services.story_out(story, with_note=policy.is_admin(user) or services.is_party(user, story))


class StoryController(Controller):
    path = "/api/stories"
    tags = ["stories"]
    dependencies = {
        "user": Provide(provide_actor),
        "maybe_user": Provide(provide_optional_actor),
        "page": Provide(provide_pagination, sync_to_thread=False),
    }

    @get("/", summary="Published return stories, newest first (admins: `status=pending_review`, the queue)")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        page: NamedDependency[Pagination],
        q: Annotated[str | None, QueryParameter(min_length=1, max_length=200)] = None,
        language: Annotated[str | None, QueryParameter(pattern=LANGUAGE_PATTERN)] = None,
        status: FromQuery[StoryStatus | None] = None,
    ) -> StoryList:
        rows, total = await services.list_stories(
            db_session,
            maybe_user,
            status=status.value if status else None,
            q=q,
            language=language,
            limit=page.limit,
            offset=page.offset,
        )
        return StoryList([_out(maybe_user, s) for s in rows], total, page.limit, page.offset)

    @post("/", guards=[requires_login], summary="Tell a placement's story (the person placed or the host)")
    async def write(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor], data: JSONBody[StoryIn]
    ) -> StoryOut:
        return _out(user, await services.write_story(db_session, user, data))

    @get("/mine", guards=[requires_login], summary="Stories you are a party to, in every state")
    async def mine(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor]
    ) -> list[StoryOut]:
        return [_out(user, s) for s in await services.stories_of(db_session, user)]

    @get("/{story_id:uuid}", summary="One story (published; its parties and admins see it before)")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        story_id: FromPath[uuid.UUID],
    ) -> StoryOut:
        return _out(maybe_user, await services.get_story(db_session, maybe_user, story_id))

    @put(
        "/{story_id:uuid}/photo",
        guards=[requires_login],
        summary="Add or replace the story's photo (JPEG, PNG or WebP; re-encoded, metadata dropped)",
    )
    async def photo(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        story_id: FromPath[uuid.UUID],
        data: Annotated[PhotoUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> StoryOut:
        raw = await data.photo.read()
        return _out(user, await services.set_photo(db_session, user, story_id, raw, data.photo_alt))

    @post("/{story_id:uuid}/consent", status_code=200, guards=[requires_login], summary="Agree to the story")
    async def consent(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        story_id: FromPath[uuid.UUID],
    ) -> StoryOut:
        return _out(user, await services.consent(db_session, user, story_id))

    @post(
        "/{story_id:uuid}/withdraw", status_code=200, guards=[requires_login], summary="Take the story back"
    )
    async def withdraw(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        story_id: FromPath[uuid.UUID],
    ) -> StoryOut:
        return _out(user, await services.withdraw(db_session, user, story_id))

    @post(
        "/{story_id:uuid}/moderation", status_code=200, guards=[requires_admin], summary="Publish or reject"
    )
    async def moderate(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        story_id: FromPath[uuid.UUID],
        data: JSONBody[StoryModerationIn],
    ) -> StoryOut:
        return _out(user, await services.moderate(db_session, user, story_id, data))
