from __future__ import annotations

import uuid
from typing import Annotated, Any

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, MediaType, Response, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.campaigns import dashboard as dashboards
from diaspora.platform.campaigns import invitations, learning, placement, runs, setup
from diaspora.platform.campaigns.schemas import (
    AnswerIn,
    CampaignIn,
    CampaignOut,
    CampaignStatusIn,
    InvitationList,
    InvitationOut,
    InviteIn,
    MatchChangeIn,
    MatchOut,
    OutcomeIn,
    PairIn,
    PlacementOut,
    ProposalOut,
)
from diaspora.platform.core.guards import (
    provide_actor,
    requires_campaign_manager,
    requires_host,
    requires_member,
    requires_verified_ministry,
)
from diaspora.platform.core.params import Pagination, provide_long_pagination, provide_pagination
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.spreadsheet import CSV_MEDIA_TYPE
from diaspora.platform.matches.engine import MatchingEngine


class CampaignController(Controller):
    path = "/api/campaigns"
    tags = ["campaigns"]
    guards = [requires_campaign_manager]
    dependencies = {
        "user": Provide(provide_actor),
        "page": Provide(provide_pagination, sync_to_thread=False),
        "pairs": Provide(provide_long_pagination, sync_to_thread=False),
    }

    @post(
        "/",
        guards=[requires_verified_ministry],
        summary="Create a campaign (its posts chosen or by filter)",
    )
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: JSONBody[CampaignIn],
    ) -> CampaignOut:
        return setup.campaign_out(await setup.create_campaign(db_session, user, data))

    @get("/", summary="Your ministry's campaigns")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        page: NamedDependency[Pagination],
    ) -> OffsetPagination[CampaignOut]:
        rows, total = await setup.list_campaigns(db_session, user, limit=page.limit, offset=page.offset)
        return page.of([setup.campaign_out(c) for c in rows], total)

    @get("/{campaign_id:uuid}", summary="One campaign")
    async def get_one(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
    ) -> CampaignOut:
        return setup.campaign_out(await setup.get_campaign(db_session, user, campaign_id))

    @put("/{campaign_id:uuid}", summary="Replace a campaign's settings and posts")
    async def replace(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
        data: JSONBody[CampaignIn],
    ) -> CampaignOut:
        return setup.campaign_out(await setup.update_campaign(db_session, user, campaign_id, data))

    @post("/{campaign_id:uuid}/status", status_code=200, summary="Move the campaign on (or close it)")
    async def status(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
        data: JSONBody[CampaignStatusIn],
    ) -> CampaignOut:
        return setup.campaign_out(await setup.set_status(db_session, user, campaign_id, data.status))

    @post(
        "/{campaign_id:uuid}/run",
        status_code=200,
        summary="Match the whole campaign: the assignment of largest total score, with the greedy comparison",
    )
    async def run(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        matching: NamedDependency[MatchingEngine],
        campaign_id: FromPath[uuid.UUID],
        pairs: NamedDependency[Pagination],
    ) -> ProposalOut:
        campaign = await runs.run_matching(db_session, matching, user, campaign_id)
        _, rows = await runs.proposal(db_session, user, campaign.id)
        return _proposal_page(campaign, rows, pairs)

    @get("/{campaign_id:uuid}/proposal", summary="The proposal and the answers so far, with explanations")
    async def proposal(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
        pairs: NamedDependency[Pagination],
    ) -> ProposalOut:
        campaign, rows = await runs.proposal(db_session, user, campaign_id)
        return _proposal_page(campaign, rows, pairs)

    @post(
        "/{campaign_id:uuid}/pairs", summary="Pin a person to a post, or exclude the pair, for the next runs"
    )
    async def add_pair(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        matching: NamedDependency[MatchingEngine],
        campaign_id: FromPath[uuid.UUID],
        data: JSONBody[PairIn],
    ) -> MatchOut:
        row = await runs.add_pair(db_session, matching, user, campaign_id, data)
        (loaded,) = await runs.pairs(db_session, campaign_id, [row.id])
        return runs.match_out(loaded)

    @patch("/{campaign_id:uuid}/matches/{match_id:uuid}", summary="Pin or exclude a proposed pair")
    async def change(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
        match_id: FromPath[uuid.UUID],
        data: JSONBody[MatchChangeIn],
    ) -> MatchOut:
        return runs.match_out(await runs.change_match(db_session, user, campaign_id, match_id, data))

    @post(
        "/{campaign_id:uuid}/invitations", status_code=200, summary="Invite proposed people (all or nothing)"
    )
    async def invite(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
        data: JSONBody[InviteIn],
    ) -> list[MatchOut]:
        rows = await invitations.invite(db_session, user, campaign_id, data)
        return [runs.match_out(r) for r in rows]

    @post(
        "/{campaign_id:uuid}/matches/{match_id:uuid}/place",
        status_code=200,
        summary="Mark an acceptance placed",
    )
    async def place(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        campaign_id: FromPath[uuid.UUID],
        match_id: FromPath[uuid.UUID],
    ) -> MatchOut:
        row = await placement.place(db_session, user, campaign_id, match_id)
        return runs.match_out(row)

    @get(
        "/{campaign_id:uuid}/dashboard",
        summary="Funnel, fill rates, skill-gap map (JSON, or CSV with format=csv)",
    )
    async def dashboard(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        matching: NamedDependency[MatchingEngine],
        campaign_id: FromPath[uuid.UUID],
        format: Annotated[str, QueryParameter(pattern="^(json|csv)$")] = "json",
    ) -> Response[Any]:
        data = await dashboards.dashboard(db_session, matching, user, campaign_id)
        if format == "csv":
            return Response(
                dashboards.dashboard_csv(data),
                media_type=CSV_MEDIA_TYPE,
                headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'},
            )
        return Response(data, media_type=MediaType.JSON)

    @post(
        "/{campaign_id:uuid}/learn-weights",
        status_code=200,
        summary="Fit score weights on accepted against declined answers; compare on held-out answers",
    )
    async def learn(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        matching: NamedDependency[MatchingEngine],
        campaign_id: FromPath[uuid.UUID],
    ) -> learning.LearntWeightsOut:
        return await learning.learn_weights(db_session, user, campaign_id, matching.ranker.weights)


def _proposal_page(campaign: Any, rows: list[Any], page: Pagination) -> ProposalOut:
    shown = page.window(rows)
    return ProposalOut(
        campaign.id,
        dict(campaign.last_run),
        [runs.match_out(r) for r in shown],
        total=len(rows),
        limit=page.limit,
        offset=page.offset,
    )


class InvitationController(Controller):
    path = "/api/me/invitations"
    tags = ["campaigns"]
    guards = [requires_member]
    dependencies = {
        "user": Provide(provide_actor),
        "page": Provide(provide_pagination, sync_to_thread=False),
    }

    @get("/", summary="Your invitations and their states")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        page: NamedDependency[Pagination],
    ) -> InvitationList:
        items = await invitations.my_invitations(db_session, user)
        return InvitationList(
            items=page.window(items),
            total=len(items),
            limit=page.limit,
            offset=page.offset,
        )

    @post("/{match_id:uuid}/answer", status_code=200, summary="Accept or decline an invitation (once)")
    async def answer(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        match_id: FromPath[uuid.UUID],
        data: JSONBody[AnswerIn],
    ) -> InvitationOut:
        await invitations.answer(db_session, user, match_id, data)
        items = await invitations.my_invitations(db_session, user)
        return next(i for i in items if i.id == match_id)


class PlacementController(Controller):
    path = "/api/placements"
    tags = ["campaigns"]
    guards = [requires_host]
    dependencies = {"user": Provide(provide_actor)}

    @get("/", summary="People placed in your organisation's posts, and what each placement left")
    async def list_(
        self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor]
    ) -> list[PlacementOut]:
        return await placement.host_placements(db_session, user)

    @put("/{match_id:uuid}/outcome", summary="Record local staff trained and what was transferred")
    async def outcome(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        match_id: FromPath[uuid.UUID],
        data: JSONBody[OutcomeIn],
    ) -> PlacementOut:
        return await placement.record_outcome(db_session, user, match_id, data)
