from __future__ import annotations

import uuid
from typing import Annotated

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.guards import (
    provide_actor,
    provide_optional_actor,
    requires_organisation_account,
    requires_organisation_manager,
)
from diaspora.platform.core.params import COUNTRY_PATTERN, LANGUAGE_PATTERN, Pagination, provide_pagination
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import Compensation, Incentive, PostKind, PostStatus, WorkMode
from diaspora.platform.posts import services
from diaspora.platform.posts.schemas import PostIn, PostOut


class PostController(Controller):
    path = "/api/posts"
    tags = ["posts"]
    dependencies = {
        "user": Provide(provide_actor),
        "maybe_user": Provide(provide_optional_actor),
        "page": Provide(provide_pagination, sync_to_thread=False),
    }

    @post("/", guards=[requires_organisation_account], summary="Create a post")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: JSONBody[PostIn],
    ) -> PostOut:
        return services.post_out(await services.create_post(db_session, user, data))

    @get("/", summary="Live posts (staff also see their organisation's drafts)")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        page: NamedDependency[Pagination],
        organisation_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[PostStatus | None] = None,
        kind: FromQuery[PostKind | None] = None,
        country: Annotated[str | None, QueryParameter(pattern=COUNTRY_PATTERN)] = None,
        mode: FromQuery[WorkMode | None] = None,
        compensation: FromQuery[Compensation | None] = None,
        language: Annotated[str | None, QueryParameter(pattern=LANGUAGE_PATTERN)] = None,
        incentive: FromQuery[Incentive | None] = None,
        q: Annotated[str | None, QueryParameter(min_length=1, max_length=200)] = None,
    ) -> OffsetPagination[PostOut]:
        filters = services.PostFilters(
            organisation_id=organisation_id,
            status=status.value if status else None,
            kind=kind.value if kind else None,
            country=country,
            mode=mode.value if mode else None,
            compensation=compensation.value if compensation else None,
            language=language,
            incentive=incentive.value if incentive else None,
            q=q,
        )
        rows, total = await services.list_posts(
            db_session, maybe_user, filters, limit=page.limit, offset=page.offset
        )
        return page.of([services.post_out(p) for p in rows], total)

    @get("/{post_id:uuid}", summary="One post")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        post_id: FromPath[uuid.UUID],
    ) -> PostOut:
        return services.post_out(await services.get_post(db_session, maybe_user, post_id))

    @put("/{post_id:uuid}", guards=[requires_organisation_manager], summary="Replace a post")
    async def replace(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        post_id: FromPath[uuid.UUID],
        data: JSONBody[PostIn],
    ) -> PostOut:
        return services.post_out(await services.update_post(db_session, user, post_id, data))

    @delete(
        "/{post_id:uuid}", guards=[requires_organisation_manager], status_code=204, summary="Delete a post"
    )
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        post_id: FromPath[uuid.UUID],
    ) -> None:
        await services.delete_post(db_session, user, post_id)
