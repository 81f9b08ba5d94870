from __future__ import annotations

import uuid
from typing import Annotated

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.guards import (
    provide_actor,
    provide_optional_actor,
    requires_admin,
    requires_login,
    requires_organisation_account,
    requires_organisation_manager,
)
from diaspora.platform.core.params import COUNTRY_PATTERN, Pagination, provide_pagination
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import OrganisationKind
from diaspora.platform.organisations import services
from diaspora.platform.organisations.schemas import (
    OrganisationIn,
    OrganisationOut,
    OrganisationUpdateIn,
    StaffGrantIn,
    StaffList,
    StaffOut,
)


class OrganisationController(Controller):
    path = "/api/organisations"
    tags = ["organisations"]
    dependencies = {
        "user": Provide(provide_actor),
        "maybe_user": Provide(provide_optional_actor),
        "page": Provide(provide_pagination, sync_to_thread=False),
    }

    @post(
        "/",
        guards=[requires_organisation_account],
        summary="Register your organisation (it is verified by an admin before its posts go live)",
    )
    async def register(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: JSONBody[OrganisationIn],
    ) -> OrganisationOut:
        return services.organisation_out(await services.register_organisation(db_session, user, data))

    @get("/", summary="Verified organisations (admins also see unverified ones)")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        page: NamedDependency[Pagination],
        country: Annotated[str | None, QueryParameter(pattern=COUNTRY_PATTERN)] = None,
        kind: FromQuery[OrganisationKind | None] = None,
        verified: FromQuery[bool | None] = None,
        q: Annotated[str | None, QueryParameter(min_length=1, max_length=200)] = None,
    ) -> OffsetPagination[OrganisationOut]:
        filters = services.OrganisationFilters(
            country=country, kind=kind.value if kind else None, verified=verified, q=q
        )
        rows, total = await services.list_organisations(
            db_session, maybe_user, filters, limit=page.limit, offset=page.offset
        )
        return page.of([services.organisation_out(o) for o in rows], total)

    @get("/{organisation_id:uuid}", summary="One organisation")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        organisation_id: FromPath[uuid.UUID],
    ) -> OrganisationOut:
        return services.organisation_out(
            await services.get_visible_organisation(db_session, maybe_user, organisation_id)
        )

    @patch("/{organisation_id:uuid}", guards=[requires_login], summary="Change your organisation")
    async def update(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        organisation_id: FromPath[uuid.UUID],
        data: JSONBody[OrganisationUpdateIn],
    ) -> OrganisationOut:
        return services.organisation_out(
            await services.update_organisation(db_session, user, organisation_id, data)
        )

    @post(
        "/{organisation_id:uuid}/verify",
        guards=[requires_admin],
        status_code=200,
        summary="Admin: verify an organisation",
    )
    async def verify(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        organisation_id: FromPath[uuid.UUID],
    ) -> OrganisationOut:
        return services.organisation_out(await services.set_verified(db_session, user, organisation_id, True))

    @post(
        "/{organisation_id:uuid}/unverify",
        guards=[requires_admin],
        status_code=200,
        summary="Admin: withdraw verification (the organisation's posts stop being live)",
    )
    async def unverify(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        organisation_id: FromPath[uuid.UUID],
    ) -> OrganisationOut:
        return services.organisation_out(
            await services.set_verified(db_session, user, organisation_id, False)
        )

    @get(
        "/{organisation_id:uuid}/staff",
        guards=[requires_organisation_manager],
        summary="The accounts acting for an organisation (its own accounts and admins)",
    )
    async def staff(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        organisation_id: FromPath[uuid.UUID],
        page: NamedDependency[Pagination],
    ) -> StaffList:
        rows = await services.list_staff(db_session, user, organisation_id)
        shown = page.window(rows)
        return StaffList(
            items=[services.staff_out(a) for a in shown],
            total=len(rows),
            limit=page.limit,
            offset=page.offset,
        )

    @post(
        "/{organisation_id:uuid}/staff",
        guards=[requires_admin],
        status_code=200,
        summary="Admin: let an existing account act for the organisation (its kind sets the role)",
    )
    async def grant_staff(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        organisation_id: FromPath[uuid.UUID],
        data: JSONBody[StaffGrantIn],
    ) -> StaffOut:
        account = await services.grant_staff(db_session, user, organisation_id, data.email)
        return services.staff_out(account)

    @delete(
        "/{organisation_id:uuid}/staff/{account_id:uuid}",
        guards=[requires_admin],
        status_code=204,
        summary="Admin: take an account out of the organisation (it keeps its login, not the powers)",
    )
    async def revoke_staff(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        organisation_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
    ) -> None:
        await services.revoke_staff(db_session, user, organisation_id, account_id)
