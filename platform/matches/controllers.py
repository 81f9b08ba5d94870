from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.auth import CurrentUser, provide_user, requires_role
from diaspora.platform.db.models import Role
from diaspora.platform.matches import services
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.matches.schemas import PostMatchList, ProfileMatchList

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="How many matches")]


class MatchController(Controller):
    tags = ["matching"]
    dependencies = {"user": Provide(provide_user)}

    @get(
        "/api/posts/{post_id:uuid}/matches",
        guards=[requires_role(Role.ORGANISATION_STAFF, Role.MINISTRY, Role.ADMIN)],
        summary="Ranked candidates for a post, with why they match (consent-filtered)",
    )
    async def post_matches(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[CurrentUser],
        matching: NamedDependency[MatchingEngine],
        post_id: FromPath[uuid.UUID],
        limit: Limit = 20,
    ) -> ProfileMatchList:
        return await services.matches_for_post(db_session, matching, user, post_id, limit=limit)

    @get(
        "/api/profiles/me/recommendations",
        guards=[requires_role(Role.MEMBER)],
        summary="Live posts that fit you best, with why",
    )
    async def recommendations(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[CurrentUser],
        matching: NamedDependency[MatchingEngine],
        limit: Limit = 20,
    ) -> PostMatchList:
        return await services.recommendations_for_member(db_session, matching, user, limit=limit)
