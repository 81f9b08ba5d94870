"""Ministry pages: campaigns, the proposal with pin/exclude/invite, the funnel and the skill-gap map."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.campaigns import invitations, placement, runs, setup
from diaspora.platform.campaigns.dashboard import dashboard, dashboard_csv
from diaspora.platform.campaigns.schemas import CampaignIn, InviteIn, MatchChangeIn
from diaspora.platform.core.errors import DomainError
from diaspora.platform.core.guards import provide_actor, requires_campaign_manager, requires_verified_ministry
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.spreadsheet import CSV_MEDIA_TYPE
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.web.forms import form_of, submit
from diaspora.platform.web.i18n import gettext as _


def campaign_body(form: dict[str, Any]) -> dict[str, Any]:
    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    body: dict[str, Any] = {"name": text("name"), "description": text("description")}
    countries = [c.strip().upper() for c in text("countries").replace(";", ",").split(",") if c.strip()]
    if countries:
        body["countries"] = countries
    for name in ("start_date", "end_date"):
        if text(name):
            body[name] = text(name)
    return body


class MinistryPages(Controller):
    path = "/campaigns"
    include_in_schema = False
    dependencies = {"user": Provide(provide_actor)}

    @get("/", guards=[requires_campaign_manager])
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Template:
        rows, _total = await setup.list_campaigns(db_session, user)
        return Template("campaigns.html", context={"user": user, "campaigns": rows, "form": {}, "errors": {}})

    @post("/", status_code=200, guards=[requires_verified_ministry])
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = await form_of(request)
        created = await submit(
            CampaignIn, campaign_body(form), lambda data: setup.create_campaign(db_session, user, data)
        )
        if created.result is not None:
            return Redirect(f"/campaigns/{created.result.id}", status_code=303)
        errors = created.errors
        rows, _total = await setup.list_campaigns(db_session, user)
        return Template(
            "campaigns.html",
            context={"user": user, "campaigns": rows, "form": form, "errors": errors},
            status_code=400,
        )

    @get("/{campaign_id:uuid}", guards=[requires_campaign_manager])
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
    ) -> Template:
        campaign, rows = await runs.proposal(db_session, user, campaign_id)
        board = await dashboard(db_session, matching, user, campaign_id)
        return Template(
            "campaign.html",
            context={
                "user": user,
                "campaign": campaign,
                "matches": [runs.match_out(r) for r in rows],
                "board": board,
                "message": request.query_params.get("message"),
                "error": request.query_params.get("error"),
            },
        )

    @get("/{campaign_id:uuid}/export.csv", guards=[requires_campaign_manager])
    async def export(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        board = await dashboard(db_session, matching, user, campaign_id)
        return Response(
            dashboard_csv(board),
            media_type=CSV_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'},
        )

    @post("/{campaign_id:uuid}/run", status_code=303, guards=[requires_campaign_manager])
    async def run(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await runs.run_matching(db_session, matching, user, campaign_id)
        return Redirect(f"/campaigns/{campaign_id}?message=matched", status_code=303)

    @post("/{campaign_id:uuid}/act", status_code=303, guards=[requires_campaign_manager])
    async def act(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
    ) -> Redirect:
        """One form for the proposal table: invite the ticked pairs, or pin/exclude/place one pair."""
        form = await form_of(request)
        action = str(form.get("action") or "")
        base = f"/campaigns/{campaign_id}"
        try:
            if action == "invite":
                chosen = form.get("match")
                ids = [
                    uuid.UUID(i) for i in (chosen if isinstance(chosen, list) else [chosen] if chosen else [])
                ]
                if not ids:
                    return Redirect(
                        f"{base}?" + urlencode({"error": _("Tick the people to invite first.")}),
                        status_code=303,
                    )
                await invitations.invite(db_session, user, campaign_id, InviteIn(match_ids=ids))
                return Redirect(f"{base}?message=invited", status_code=303)
            verb, _sep, match = action.partition(":")
            match_id = uuid.UUID(match)
            if verb == "pin":
                await runs.change_match(db_session, user, campaign_id, match_id, MatchChangeIn(pinned=True))
            elif verb == "unpin":
                await runs.change_match(db_session, user, campaign_id, match_id, MatchChangeIn(pinned=False))
            elif verb == "exclude":
                await runs.change_match(db_session, user, campaign_id, match_id, MatchChangeIn(excluded=True))
            elif verb == "place":
                await placement.place(db_session, user, campaign_id, match_id)
        except DomainError as exc:
            await db_session.rollback()
            return Redirect(f"{base}?" + urlencode({"error": exc.message}), status_code=303)
        except ValueError:
            return Redirect(f"{base}?" + urlencode({"error": _("Unknown action.")}), status_code=303)
        return Redirect(f"{base}?message=updated", status_code=303)
