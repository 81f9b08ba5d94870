"""Learning from outcomes: which score components predict that an invited person accepts?

A logistic regression on the components of answered invitations (accepted against declined) suggests
weights; a stratified cross-validation compares, on answers the fit did not see, how well the live
weights and the suggested ones rank accepted people above declined ones (ROC AUC). Nothing here changes
the live weights: an admin may apply a suggestion (`PUT /api/admin/scoring-weights`).
"""

from __future__ import annotations

import uuid

import msgspec
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching.scoring import COMPONENTS, ScoringWeights, combine
from diaspora.platform.campaigns.setup import get_campaign
from diaspora.platform.core.errors import ConflictError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import CampaignMatch, MatchState

MIN_PER_CLASS = 3


class LearntWeightsOut(msgspec.Struct):
    campaign_id: uuid.UUID
    answers: int
    accepted: int
    declined: int
    live_weights: dict[str, float]
    suggested_weights: dict[str, float]
    held_out_auc_live: float
    held_out_auc_suggested: float
    folds: int
    note: str


def _weights_of(weights: ScoringWeights) -> np.ndarray:
    return np.array([weights.by_component()[c] for c in COMPONENTS])


def _score(features: np.ndarray, present: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each pair's score under `weights`, by the matcher's own rule (`scoring.combine`)."""
    by_name = dict(zip(COMPONENTS, (float(w) for w in weights), strict=True))
    return np.array(
        [
            combine({c: float(f) for c, f, p in zip(COMPONENTS, row, mask, strict=True) if p}, by_name) or 0.0
            for row, mask in zip(features, present, strict=True)
        ]
    )


def _suggest(features: np.ndarray, present: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000).fit(np.where(present, features, 0.0), outcomes)
    coefficients: np.ndarray = np.clip(np.asarray(model.coef_[0], dtype=float), 0.0, None)  # drop negatives
    if coefficients.sum() <= 0:
        coefficients = np.ones(len(COMPONENTS))
    normalised: np.ndarray = coefficients / coefficients.sum()
    return normalised


def fit(
    features: np.ndarray, present: np.ndarray, outcomes: np.ndarray, live: np.ndarray
) -> tuple[np.ndarray, float, float, int]:
    """Suggested weights from all answers, and held-out AUCs of the live and suggested weights."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = int(min(5, np.bincount(outcomes).min()))
    live_auc, suggested_auc = [], []
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(
        features, outcomes
    ):
        suggested = _suggest(features[train], present[train], outcomes[train])
        live_auc.append(roc_auc_score(outcomes[test], _score(features[test], present[test], live)))
        suggested_auc.append(roc_auc_score(outcomes[test], _score(features[test], present[test], suggested)))
    return (
        _suggest(features, present, outcomes),
        float(np.mean(live_auc)),
        float(np.mean(suggested_auc)),
        folds,
    )


async def learn_weights(
    session: AsyncSession, user: Actor, campaign_id: uuid.UUID, live: ScoringWeights
) -> LearntWeightsOut:
    campaign = await get_campaign(session, user, campaign_id)
    rows = (
        await session.scalars(
            select(CampaignMatch).where(
                CampaignMatch.campaign_id == campaign.id,
                CampaignMatch.state.in_(
                    [MatchState.ACCEPTED.value, MatchState.PLACED.value, MatchState.DECLINED.value]
                ),
            )
        )
    ).all()
    outcomes = np.array([0 if r.state == MatchState.DECLINED.value else 1 for r in rows], dtype=int)
    accepted, declined = int(outcomes.sum()), int(len(outcomes) - outcomes.sum())
    if min(accepted, declined) < MIN_PER_CLASS:
        raise ConflictError(
            f"Not enough answers to learn from yet: {accepted} accepted and {declined} declined "
            f"(at least {MIN_PER_CLASS} of each)."
        )
    features = np.array([[float(r.components.get(c, 0.0)) for c in COMPONENTS] for r in rows])
    present = np.array([[c in r.components for c in COMPONENTS] for r in rows])
    live_weights = _weights_of(live)
    suggested, live_auc, suggested_auc, folds = fit(features, present, outcomes, live_weights)
    better = suggested_auc > live_auc
    return LearntWeightsOut(
        campaign_id=campaign.id,
        answers=len(rows),
        accepted=accepted,
        declined=declined,
        live_weights={
            c: round(float(w / live_weights.sum()), 4) for c, w in zip(COMPONENTS, live_weights, strict=True)
        },
        suggested_weights={c: round(float(w), 4) for c, w in zip(COMPONENTS, suggested, strict=True)},
        held_out_auc_live=round(live_auc, 4),
        held_out_auc_suggested=round(suggested_auc, 4),
        folds=folds,
        note=(
            "The suggested weights ranked accepted people higher on held-out answers."
            if better
            else "The live weights ranked accepted people at least as well on held-out answers."
        )
        + " Live weights are unchanged; an admin may apply a suggestion with PUT /api/admin/scoring-weights.",
    )
