"""Ranking-quality metrics over graded relevance judgements (qrels)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import fmean

METRICS = ("ndcg@10", "map", "mrr", "recall@10", "recall@100")


def dcg(gains: Sequence[float]) -> float:
    return float(sum((2.0**g - 1.0) / math.log2(i + 2) for i, g in enumerate(gains)))


def ndcg_at(ranking: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain at `k`, with gain 2^rel - 1."""
    ideal = dcg(sorted(relevance.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([relevance.get(item, 0) for item in ranking[:k]]) / ideal


def average_precision(ranking: Sequence[str], relevance: Mapping[str, int]) -> float:
    """Mean of precision at each relevant item's rank, over all relevant items (found or not)."""
    relevant = {item for item, grade in relevance.items() if grade > 0}
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for rank, item in enumerate(ranking, start=1):
        if item in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant)


def reciprocal_rank(ranking: Sequence[str], relevance: Mapping[str, int]) -> float:
    for rank, item in enumerate(ranking, start=1):
        if relevance.get(item, 0) > 0:
            return 1.0 / rank
    return 0.0


def recall_at(ranking: Sequence[str], relevance: Mapping[str, int], k: int) -> float:
    relevant = {item for item, grade in relevance.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def evaluate_rankings(
    rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Mean of every metric over the queries that have at least one relevant item."""
    per_metric: dict[str, list[float]] = {name: [] for name in METRICS}
    for query, relevance in qrels.items():
        if not any(grade > 0 for grade in relevance.values()):
            continue
        ranking = rankings.get(query, ())
        per_metric["ndcg@10"].append(ndcg_at(ranking, relevance, 10))
        per_metric["map"].append(average_precision(ranking, relevance))
        per_metric["mrr"].append(reciprocal_rank(ranking, relevance))
        per_metric["recall@10"].append(recall_at(ranking, relevance, 10))
        per_metric["recall@100"].append(recall_at(ranking, relevance, 100))
    result = {name: round(fmean(values), 4) if values else 0.0 for name, values in per_metric.items()}
    result["queries"] = float(len(per_metric["map"]))
    return result
