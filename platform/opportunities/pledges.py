"""Investment pledges: a member says they mean to invest in an opportunity, within a band and a horizon.

The member decides whether the opportunity's organisation may see who they are; otherwise it sees only
counts and totals. Where the opportunity seeks partner firms, a member can answer as the firm they run.
A pledge is interest, not a contract: the member changes or withdraws it at any time.
"""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    PLEDGE_BAND_EUR,
    Account,
    Opportunity,
    OpportunityKind,
    Pledge,
    PledgeBand,
    Profile,
    new_id,
    utcnow,
)
from diaspora.platform.db.upsert import upsert
from diaspora.platform.opportunities.schemas import (
    BandOut,
    PledgeIn,
    PledgeOut,
    PledgerOut,
    PledgeSummaryOut,
)
from diaspora.platform.opportunities.services import get_opportunity, is_public


async def _own_profile(session: AsyncSession, user: Actor) -> Profile:
    profile = await session.scalar(select(Profile).where(Profile.account_id == user.id))
    if profile is None:
        raise ConflictError("Fill in your profile first: a pledge belongs to a member's profile.")
    return profile


async def _pledgeable(session: AsyncSession, user: Actor, opportunity_id: uuid.UUID) -> Opportunity:
    row = await get_opportunity(session, user, opportunity_id)
    if not is_public(row):
        raise NotFoundError("Opportunity not found.")
    if row.kind != OpportunityKind.INVESTMENT.value:
        raise ConflictError("Pledges are for investment opportunities; volunteer through the organisation.")
    return row


def pledge_out(pledge: Pledge, opportunity: Opportunity) -> PledgeOut:
    return PledgeOut(
        opportunity_id=opportunity.id,
        opportunity_title=opportunity.title,
        band=pledge.band,
        horizon=pledge.horizon,
        share_contact=pledge.share_contact,
        firm=pledge.firm,
        updated_at=pledge.updated_at,
    )


async def pledge(session: AsyncSession, user: Actor, opportunity_id: uuid.UUID, data: PledgeIn) -> PledgeOut:
    """Make or change the member's pledge (one per opportunity: a second PUT replaces the first)."""
    opportunity = await _pledgeable(session, user, opportunity_id)
    firm = (data.firm or "").strip() or None
    if firm and not opportunity.seeking_partners:
        raise ConflictError(
            "This opportunity does not look for partner firms: pledge as yourself.", field="firm"
        )
    profile = await _own_profile(session, user)
    now = utcnow()
    values = {
        "band": data.band.value,
        "horizon": data.horizon.value,
        "share_contact": data.share_contact,
        "firm": firm,
        "updated_at": now,
    }
    new = {"id": new_id(), "opportunity_id": opportunity.id, "profile_id": profile.id, "created_at": now}
    # One statement, so two submissions at once leave one pledge (the unique key decides).
    await upsert(
        session, Pledge, [{**new, **values}], key=["opportunity_id", "profile_id"], update=list(values)
    )
    row = await session.scalar(
        select(Pledge).where(Pledge.opportunity_id == opportunity.id, Pledge.profile_id == profile.id)
    )
    assert row is not None
    await session.refresh(row)
    audit.record(
        session, actor_id=user.id, action="pledge.made", entity_type="opportunity", entity_id=opportunity.id
    )
    return pledge_out(row, opportunity)


async def withdraw(session: AsyncSession, user: Actor, opportunity_id: uuid.UUID) -> None:
    profile = await _own_profile(session, user)
    result = await session.execute(
        delete(Pledge).where(Pledge.opportunity_id == opportunity_id, Pledge.profile_id == profile.id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError("You have no pledge for this opportunity.")
    audit.record(
        session,
        actor_id=user.id,
        action="pledge.withdrawn",
        entity_type="opportunity",
        entity_id=opportunity_id,
    )


async def my_pledges(session: AsyncSession, user: Actor) -> list[PledgeOut]:
    return await pledges_of(session, user.id)


async def pledges_of(session: AsyncSession, account_id: uuid.UUID) -> list[PledgeOut]:
    rows = await session.execute(
        select(Pledge, Opportunity)
        .join(Opportunity, Opportunity.id == Pledge.opportunity_id)
        .join(Profile, Profile.id == Pledge.profile_id)
        .where(Profile.account_id == account_id)
        .order_by(Pledge.updated_at.desc())
    )
    return [pledge_out(p, o) for p, o in rows.all()]


def band_totals(counts: Counter[str]) -> tuple[list[BandOut], int, int | None]:
    """Pledges per band with the least and most they add up to; the overall least and most."""
    bands = []
    for band in PledgeBand:
        low, high = PLEDGE_BAND_EUR[band.value]
        n = counts[band.value]
        bands.append(BandOut(band.value, n, low * n, None if high is None else high * n))
    total_min = sum(b.total_min_eur for b in bands)
    open_ended = any(b.total_max_eur is None and b.pledges for b in bands)
    total_max = None if open_ended else sum(b.total_max_eur or 0 for b in bands)
    return bands, total_min, total_max


async def summary(session: AsyncSession, user: Actor, opportunity_id: uuid.UUID) -> PledgeSummaryOut:
    """For the opportunity's own organisation (and admins)."""
    opportunity = await get_opportunity(session, user, opportunity_id)
    if not (policy.is_admin(user) or policy.acts_for(user, opportunity.organisation_id)):
        raise PermissionDeniedError("Only the opportunity's own organisation sees its pledges.")
    rows = (
        await session.execute(
            select(Pledge, Account.display_name, Account.email, Account.phone)
            .join(Profile, Profile.id == Pledge.profile_id)
            .join(Account, Account.id == Profile.account_id)
            .where(Pledge.opportunity_id == opportunity.id, Account.is_active.is_(True))
            .order_by(Pledge.created_at)
        )
    ).all()
    bands, total_min, total_max = band_totals(Counter(p.band for p, *_ in rows))
    return PledgeSummaryOut(
        opportunity_id=opportunity.id,
        pledges=len(rows),
        total_min_eur=total_min,
        total_max_eur=total_max,
        by_band=bands,
        by_horizon=dict(Counter(p.horizon for p, *_ in rows)),
        firms=sum(1 for p, *_ in rows if p.firm),
        contacts=[
            PledgerOut(name=name, email=email, phone=phone, firm=p.firm, band=p.band, horizon=p.horizon)
            for p, name, email, phone in rows
            if p.share_contact
        ],
    )
