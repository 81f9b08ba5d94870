"""The live score weights: configured in settings, or applied by an admin (for instance the weights a
campaign learnt from its answers). Applied weights are stored, so every process picks them up at its
next refresh; removing them returns to the configuration."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching.scoring import COMPONENTS, ScoringWeights
from diaspora.platform.core import audit
from diaspora.platform.core.guards import provide_actor, requires_admin
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.schemas import Input
from diaspora.platform.db.models import ScoringWeightsOverride, utcnow
from diaspora.platform.db.upsert import upsert
from diaspora.platform.matches.engine import MatchingEngine, scoring_weights

Weight = Annotated[float, msgspec.Meta(ge=0, le=100)]


class WeightsIn(Input, kw_only=True):
    semantic: Weight
    skills: Weight
    availability: Weight
    languages: Weight
    occupation: Weight | None = None  # None: the configured weight of occupation links
    lexical: Weight | None = None  # None: the configured weight of the titles' shared wording
    source: Annotated[str, msgspec.Meta(max_length=200)] = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        named = self.semantic + self.skills + self.availability + self.languages
        if named + (self.occupation or 0) + (self.lexical or 0) <= 0:
            raise ValueError("at least one weight must be above zero")


class WeightsOut(msgspec.Struct):
    live: dict[str, float]
    configured: dict[str, float]
    applied: bool
    source: str | None


def _as_dict(weights: ScoringWeightsOverride | ScoringWeights) -> dict[str, float]:
    values = {name: float(getattr(weights, name)) for name in COMPONENTS}
    total = sum(values.values())
    return {name: round(value / total, 4) for name, value in values.items()}


async def _state(session: AsyncSession, engine: MatchingEngine) -> WeightsOut:
    configured = scoring_weights(engine.settings)
    row = await session.get(ScoringWeightsOverride, 1)
    return WeightsOut(
        live=_as_dict(row or configured),
        configured=_as_dict(configured),
        applied=row is not None,
        source=row.source if row is not None else None,
    )


class ScoringWeightsController(Controller):
    path = "/api/admin/scoring-weights"
    tags = ["matching"]
    guards = [requires_admin]
    dependencies = {"user": Provide(provide_actor)}

    @get("/", summary="The live score weights, and whether an admin applied them")
    async def show(
        self, db_session: NamedDependency[AsyncSession], matching: NamedDependency[MatchingEngine]
    ) -> WeightsOut:
        return await _state(db_session, matching)

    @put("/", summary="Apply score weights in every process (e.g. a campaign's suggested weights)")
    async def apply(
        self,
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
        data: JSONBody[WeightsIn],
    ) -> WeightsOut:
        configured = scoring_weights(matching.settings)
        values = {
            "id": 1,
            "semantic": data.semantic,
            "skills": data.skills,
            "availability": data.availability,
            "languages": data.languages,
            "occupation": configured.occupation if data.occupation is None else data.occupation,
            "lexical": configured.lexical if data.lexical is None else data.lexical,
            "source": data.source,
            "applied_by_id": user.id,
            "applied_at": utcnow(),
        }
        await upsert(
            db_session, ScoringWeightsOverride, [values], key=["id"], update=[k for k in values if k != "id"]
        )
        audit.record(
            db_session,
            actor_id=user.id,
            action="scoring_weights.applied",
            entity_type="scoring_weights",
            entity_id="1",
        )
        await db_session.flush()
        return await _state(db_session, matching)

    @delete("/", status_code=204, summary="Return to the configured score weights")
    async def revert(self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor]) -> None:
        row = await db_session.get(ScoringWeightsOverride, 1)
        if row is not None:
            await db_session.delete(row)
            audit.record(
                db_session,
                actor_id=user.id,
                action="scoring_weights.reverted",
                entity_type="scoring_weights",
                entity_id="1",
            )
