from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.guards import provide_actor, requires_member, requires_profile_viewer
from diaspora.platform.core.policy import Actor
from diaspora.platform.matches import services
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.matches.schemas import (
    OccupationChoiceIn,
    OccupationChoiceOut,
    PostMatchList,
    ProfileMatchList,
)

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="How many matches")]


class MatchController(Controller):
    tags = ["matching"]
    dependencies = {"user": Provide(provide_actor)}

    @get(
        "/api/posts/{post_id:uuid}/matches",
        guards=[requires_profile_viewer],
        summary="Ranked candidates for a post, with why they match (consent-filtered)",
    )
    async def post_matches(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        matching: NamedDependency[MatchingEngine],
        post_id: FromPath[uuid.UUID],
        limit: Limit = 20,
    ) -> ProfileMatchList:
        return await services.matches_for_post(db_session, matching, user, post_id, limit=limit)

    @get(
        "/api/profiles/me/recommendations",
        guards=[requires_member],
        summary="Live posts that fit you best, with why",
    )
    async def recommendations(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        matching: NamedDependency[MatchingEngine],
        limit: Limit = 20,
    ) -> PostMatchList:
        return await services.recommendations_for_member(db_session, matching, user, limit=limit)

    @get(
        "/api/profiles/me/occupation",
        guards=[requires_member],
        summary="The ESCO occupation your headline stands for: your choice, and the automatic links",
    )
    async def occupation(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        matching: NamedDependency[MatchingEngine],
    ) -> OccupationChoiceOut:
        return await services.occupation_choice(db_session, matching, user)

    @put(
        "/api/profiles/me/occupation",
        guards=[requires_member],
        summary="Choose the ESCO occupation your headline stands for (null: link it automatically)",
    )
    async def choose_occupation(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        matching: NamedDependency[MatchingEngine],
        data: JSONBody[OccupationChoiceIn],
    ) -> OccupationChoiceOut:
        return await services.choose_occupation(db_session, matching, user, data.uri)
