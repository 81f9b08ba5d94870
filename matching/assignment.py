"""Assigning people to the places of many posts at once, maximising the total match score.

Each post with `places` open places becomes that many slots; a slot-by-person score matrix goes to the
Hungarian algorithm (scipy's `linear_sum_assignment`), which finds the assignment of largest total score
in which every person takes at most one slot. Pairs fixed beforehand (pinned by the campaign manager, or
already invited) keep their places and their people; excluded pairs are never proposed. A greedy
assignment (best remaining pair first) is computed alongside, so that a caller can report what the optimum
gains over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

Pair = tuple[str, str]  # (post id, person id)


@dataclass(frozen=True)
class Problem:
    places: Mapping[str, int]  # post id -> places in total
    scores: Mapping[Pair, float]  # candidate pairs and their scores; absent pairs are not allowed
    fixed: frozenset[Pair] = frozenset()  # kept as they are, counted against their post's places
    excluded: frozenset[Pair] = frozenset()
    one_post_per_person: bool = True


@dataclass
class Assignment:
    pairs: list[Pair] = field(default_factory=list)  # new pairs only (not the fixed ones)
    total_score: float = 0.0

    @property
    def filled(self) -> int:
        return len(self.pairs)


def _open_places(problem: Problem) -> dict[str, int]:
    taken: dict[str, int] = {}
    for post, _ in problem.fixed:
        taken[post] = taken.get(post, 0) + 1
    return {post: max(0, n - taken.get(post, 0)) for post, n in problem.places.items()}


def _allowed(problem: Problem) -> dict[Pair, float]:
    busy = {person for _, person in problem.fixed} if problem.one_post_per_person else set()
    return {
        pair: score
        for pair, score in problem.scores.items()
        if pair not in problem.excluded
        and pair not in problem.fixed
        and pair[0] in problem.places
        and pair[1] not in busy
        and score > 0
    }


def optimal(problem: Problem) -> Assignment:
    """The assignment of largest total score (each person at most once when `one_post_per_person`)."""
    open_places = _open_places(problem)
    allowed = _allowed(problem)
    if not problem.one_post_per_person:
        # Without the one-post rule the posts do not compete: each takes its best candidates.
        result = Assignment()
        for post, n in open_places.items():
            best = sorted(((s, person) for (p, person), s in allowed.items() if p == post), reverse=True)[:n]
            result.pairs += [(post, person) for _, person in best]
            result.total_score += sum(s for s, _ in best)
        return result
    slots = [post for post, n in sorted(open_places.items()) for _ in range(n)]
    people = sorted({person for _, person in allowed})
    if not slots or not people:
        return Assignment()
    column = {person: j for j, person in enumerate(people)}
    rows_of: dict[str, list[int]] = {}
    for i, post in enumerate(slots):
        rows_of.setdefault(post, []).append(i)
    matrix = np.zeros((len(slots), len(people)))  # score 0 = "leave the slot empty"
    for (post, person), score in allowed.items():
        matrix[rows_of.get(post, []), column[person]] = score
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    result = Assignment()
    for i, j in zip(rows, cols, strict=True):
        if matrix[i, j] > 0:
            result.pairs.append((slots[i], people[j]))
            result.total_score += float(matrix[i, j])
    return result


def greedy(problem: Problem) -> Assignment:
    """The best remaining pair first: what a person would do by hand, and the baseline of `optimal`."""
    open_places = _open_places(problem)
    result = Assignment()
    used: set[str] = set()
    for (post, person), score in sorted(_allowed(problem).items(), key=lambda item: (-item[1], item[0])):
        if open_places.get(post, 0) <= 0 or (problem.one_post_per_person and person in used):
            continue
        open_places[post] -= 1
        used.add(person)
        result.pairs.append((post, person))
        result.total_score += score
    return result
