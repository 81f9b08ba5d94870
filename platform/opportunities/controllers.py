from __future__ import annotations

import uuid

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.guards import (
    provide_actor,
    provide_optional_actor,
    requires_admin,
    requires_member,
    requires_organisation_account,
    requires_organisation_manager,
    requires_profile_viewer,
)
from diaspora.platform.core.params import Pagination, provide_pagination
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import OpportunityStatus
from diaspora.platform.opportunities import pledges, services
from diaspora.platform.opportunities.schemas import (
    ModerationIn,
    OpportunityIn,
    OpportunityOut,
    PledgeIn,
    PledgeOut,
    PledgeSummaryOut,
)


class OpportunityController(Controller):
    path = "/api/opportunities"
    tags = ["opportunities"]
    dependencies = {
        "user": Provide(provide_actor),
        "maybe_user": Provide(provide_optional_actor),
        "page": Provide(provide_pagination, sync_to_thread=False),
    }

    @post(
        "/",
        guards=[requires_organisation_account],
        summary="Post an investment or volunteering opportunity (published after an admin's review)",
    )
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: JSONBody[OpportunityIn],
    ) -> OpportunityOut:
        return services.opportunity_out(await services.create_opportunity(db_session, user, data))

    @get("/", summary="Published opportunities (staff also see their own; admins the review queue)")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        page: NamedDependency[Pagination],
        status: FromQuery[OpportunityStatus | None] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
    ) -> OffsetPagination[OpportunityOut]:
        rows, total = await services.list_opportunities(
            db_session,
            maybe_user,
            status=status.value if status else None,
            organisation_id=organisation_id,
            limit=page.limit,
            offset=page.offset,
        )
        return page.of([services.opportunity_out(r) for r in rows], total)

    @get("/{opportunity_id:uuid}", summary="One opportunity")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        opportunity_id: FromPath[uuid.UUID],
    ) -> OpportunityOut:
        return services.opportunity_out(
            await services.get_opportunity(db_session, maybe_user, opportunity_id)
        )

    @put(
        "/{opportunity_id:uuid}",
        guards=[requires_organisation_manager],
        summary="Replace an opportunity (it goes back to review)",
    )
    async def replace(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
        data: JSONBody[OpportunityIn],
    ) -> OpportunityOut:
        return services.opportunity_out(
            await services.update_opportunity(db_session, user, opportunity_id, data)
        )

    @post(
        "/{opportunity_id:uuid}/moderation",
        guards=[requires_admin],
        status_code=200,
        summary="Publish or reject an opportunity",
    )
    async def moderate(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
        data: JSONBody[ModerationIn],
    ) -> OpportunityOut:
        return services.opportunity_out(await services.moderate(db_session, user, opportunity_id, data))

    @post(
        "/{opportunity_id:uuid}/close",
        guards=[requires_organisation_manager],
        status_code=200,
        summary="Close an opportunity",
    )
    async def close(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
    ) -> OpportunityOut:
        return services.opportunity_out(await services.close_opportunity(db_session, user, opportunity_id))

    @delete(
        "/{opportunity_id:uuid}",
        guards=[requires_organisation_manager],
        status_code=204,
        summary="Delete an opportunity",
    )
    async def remove(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
    ) -> None:
        await services.delete_opportunity(db_session, user, opportunity_id)

    @put(
        "/{opportunity_id:uuid}/pledge",
        guards=[requires_member],
        summary="Pledge to invest (a band and a horizon); a second call changes the pledge",
    )
    async def pledge(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
        data: JSONBody[PledgeIn],
    ) -> PledgeOut:
        return await pledges.pledge(db_session, user, opportunity_id, data)

    @delete(
        "/{opportunity_id:uuid}/pledge",
        guards=[requires_member],
        status_code=204,
        summary="Withdraw your pledge",
    )
    async def withdraw(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
    ) -> None:
        await pledges.withdraw(db_session, user, opportunity_id)

    @get(
        "/{opportunity_id:uuid}/pledges",
        guards=[requires_profile_viewer],
        summary="Pledges to your opportunity: counts and totals by band, contacts of those who share them",
    )
    async def pledge_summary(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
    ) -> PledgeSummaryOut:
        return await pledges.summary(db_session, user, opportunity_id)


class PledgeController(Controller):
    path = "/api/me/pledges"
    tags = ["opportunities"]
    guards = [requires_member]
    dependencies = {"user": Provide(provide_actor)}

    @get("/", summary="Your pledges")
    async def list_(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor]
    ) -> list[PledgeOut]:
        return await pledges.my_pledges(db_session, user)
