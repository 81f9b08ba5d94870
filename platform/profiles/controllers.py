from __future__ import annotations

import uuid
from typing import Annotated

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.guards import (
    provide_actor,
    requires_login,
    requires_member,
    requires_profile_viewer,
)
from diaspora.platform.core.params import COUNTRY_PATTERN, LANGUAGE_PATTERN, Pagination, provide_pagination
from diaspora.platform.core.policy import Actor
from diaspora.platform.profiles import services
from diaspora.platform.profiles.schemas import (
    ConsentIn,
    ContactGrantIn,
    ProfileIn,
    ProfileOut,
    ProfileView,
)


class ProfileController(Controller):
    path = "/api/profiles"
    tags = ["profiles"]
    guards = [requires_login]
    dependencies = {"user": Provide(provide_actor), "page": Provide(provide_pagination, sync_to_thread=False)}

    @get("/me", guards=[requires_member], summary="Your own profile, in full")
    async def get_own(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor]
    ) -> ProfileOut:
        profile = await services.load_own_profile(db_session, user.id)
        assert profile is not None
        return services.profile_out(profile, await services.contact_grants_of(db_session, profile.id))

    @put("/me", guards=[requires_member], summary="Create or replace your profile")
    async def put_own(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: JSONBody[ProfileIn],
    ) -> ProfileOut:
        await services.save_profile(db_session, user.id, data, actor_id=user.id)
        profile = await services.load_own_profile(db_session, user.id)
        assert profile is not None
        return services.profile_out(profile, await services.contact_grants_of(db_session, profile.id))

    @put(
        "/me/consent",
        guards=[requires_member],
        summary="Choose what organisations may see and whether you are matched",
    )
    async def put_consent(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: JSONBody[ConsentIn],
    ) -> ProfileOut:
        profile = await services.update_consent(db_session, user, data)
        return services.profile_out(profile, await services.contact_grants_of(db_session, profile.id))

    @post(
        "/me/contact-grants",
        guards=[requires_member],
        status_code=204,
        summary="Let one organisation see your email and phone",
    )
    async def grant_contact(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: JSONBody[ContactGrantIn],
    ) -> None:
        await services.grant_contact(db_session, user, data.organisation_id)

    @delete(
        "/me/contact-grants/{organisation_id:uuid}",
        guards=[requires_member],
        status_code=204,
        summary="Withdraw an organisation's access to your contact details",
    )
    async def revoke_contact(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        organisation_id: FromPath[uuid.UUID],
    ) -> None:
        await services.revoke_contact(db_session, user, organisation_id)

    @get("/", guards=[requires_profile_viewer], summary="Browse profiles open to matching (consent-filtered)")
    async def browse(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        page: NamedDependency[Pagination],
        residence_country: Annotated[str | None, QueryParameter(pattern=COUNTRY_PATTERN)] = None,
        origin_country: Annotated[str | None, QueryParameter(pattern=COUNTRY_PATTERN)] = None,
        language: Annotated[str | None, QueryParameter(pattern=LANGUAGE_PATTERN)] = None,
        skill: Annotated[str | None, QueryParameter(min_length=1, max_length=100)] = None,
        q: Annotated[str | None, QueryParameter(min_length=1, max_length=200)] = None,
    ) -> OffsetPagination[ProfileView]:
        filters = services.ProfileFilters(
            residence_country=residence_country,
            origin_country=origin_country,
            language=language,
            skill=skill,
            q=q,
        )
        items, total = await services.browse_profiles(
            db_session, user, filters, limit=page.limit, offset=page.offset
        )
        return page.of(items, total)

    @get(
        "/{profile_id:uuid}",
        guards=[requires_profile_viewer],
        summary="One profile, as its owner's consent allows",
    )
    async def view(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        profile_id: FromPath[uuid.UUID],
    ) -> ProfileView:
        return await services.view_profile(db_session, user, profile_id)
