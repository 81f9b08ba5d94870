"""An opportunity's own page: what it is, a member's pledge to invest, and its organisation's pledges."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core import policy
from diaspora.platform.core.guards import provide_actor, provide_optional_actor, requires_member
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import Pledge, PledgeBand, PledgeHorizon, Profile
from diaspora.platform.opportunities import pledges
from diaspora.platform.opportunities.schemas import PledgeIn
from diaspora.platform.opportunities.services import get_opportunity, opportunity_out
from diaspora.platform.web.forms import form_of, submit
from diaspora.platform.web.i18n import gettext as _
from diaspora.platform.web.pages import labels


def band_labels() -> dict[str, str]:
    return {
        PledgeBand.UNDER_10K.value: _("up to €10,000"),
        PledgeBand.FROM_10K.value: _("€10,000 to €50,000"),
        PledgeBand.FROM_50K.value: _("€50,000 to €250,000"),
        PledgeBand.FROM_250K.value: _("€250,000 to €1 million"),
        PledgeBand.OVER_1M.value: _("over €1 million"),
    }


def horizon_labels() -> dict[str, str]:
    return {
        PledgeHorizon.SIX_MONTHS.value: _("within six months"),
        PledgeHorizon.ONE_YEAR.value: _("within a year"),
        PledgeHorizon.THREE_YEARS.value: _("within three years"),
    }


class OpportunityPages(Controller):
    path = "/opportunities"
    include_in_schema = False
    dependencies = {"user": Provide(provide_actor), "maybe_user": Provide(provide_optional_actor)}

    async def _page(
        self,
        session: AsyncSession,
        user: Actor | None,
        opportunity_id: uuid.UUID,
        *,
        form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        message: str | None = None,
    ) -> Template:
        row = await get_opportunity(session, user, opportunity_id)
        mine = None
        if policy.is_member(user) and user is not None:
            mine = await session.scalar(
                select(Pledge)
                .join(Profile, Profile.id == Pledge.profile_id)
                .where(Pledge.opportunity_id == row.id, Profile.account_id == user.id)
            )
        owner = user is not None and (policy.is_admin(user) or policy.acts_for(user, row.organisation_id))
        if form is None and mine is not None:
            form = {
                "band": mine.band,
                "horizon": mine.horizon,
                "share_contact": mine.share_contact,
                "firm": mine.firm,
            }
        context = {
            "user": user,
            "opportunity": opportunity_out(row),
            "labels": labels(),
            "bands": band_labels(),
            "horizons": horizon_labels(),
            "mine": mine,
            "form": form or {},
            "errors": errors or {},
            "summary": await pledges.summary(session, user, row.id) if owner and user is not None else None,
            "message": message,
        }
        return Template("opportunity.html", context=context, status_code=status_code)

    @get("/{opportunity_id:uuid}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        opportunity_id: FromPath[uuid.UUID],
    ) -> Template:
        message = {"pledged": _("Your pledge is saved."), "withdrawn": _("Your pledge is withdrawn.")}.get(
            request.query_params.get("done", "")
        )
        return await self._page(db_session, maybe_user, opportunity_id, message=message)

    @post("/{opportunity_id:uuid}/pledge", status_code=200, guards=[requires_member])
    async def pledge(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = await form_of(request)
        body: dict[str, Any] = {
            "band": str(form.get("band") or ""),
            "horizon": str(form.get("horizon") or ""),
            "share_contact": form.get("share_contact") == "yes",
        }
        if str(form.get("firm") or "").strip():
            body["firm"] = str(form["firm"]).strip()
        saved = await submit(
            PledgeIn, body, lambda data: pledges.pledge(db_session, user, opportunity_id, data)
        )
        if saved.result is not None:
            return Redirect(f"/opportunities/{opportunity_id}?done=pledged", status_code=303)
        return await self._page(
            db_session, user, opportunity_id, form=form, errors=saved.errors, status_code=400
        )

    @post("/{opportunity_id:uuid}/pledge/withdraw", status_code=303, guards=[requires_member])
    async def withdraw(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        opportunity_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await pledges.withdraw(db_session, user, opportunity_id)
        return Redirect(f"/opportunities/{opportunity_id}?done=withdrawn", status_code=303)
