"""The campaign assignment: optimal beats greedy where greedy goes wrong, and is truly optimal."""

from __future__ import annotations

import itertools
import random

from diaspora.matching.assignment import Problem, greedy, optimal


def test_optimal_beats_greedy_on_a_constructed_case() -> None:
    # Greedy gives the best pair (a, x) first and leaves post b nobody it can use.
    problem = Problem(
        places={"a": 1, "b": 1},
        scores={("a", "x"): 0.90, ("a", "y"): 0.80, ("b", "x"): 0.85},
    )
    best, baseline = optimal(problem), greedy(problem)
    assert sorted(best.pairs) == [("a", "y"), ("b", "x")]
    assert round(best.total_score, 2) == 1.65
    assert (baseline.pairs, round(baseline.total_score, 2)) == ([("a", "x")], 0.90)
    assert best.filled - baseline.filled == 1


def test_places_pins_exclusions_and_the_one_post_rule() -> None:
    scores = {("a", "x"): 0.9, ("a", "y"): 0.8, ("a", "z"): 0.7, ("b", "x"): 0.6, ("b", "z"): 0.5}
    problem = Problem(places={"a": 2, "b": 1}, scores=scores, fixed=frozenset({("a", "z")}))
    # a has one place left (z is pinned); z is busy; x goes where the total is largest.
    result = optimal(problem)
    assert sorted(result.pairs) == [("a", "y"), ("b", "x")]
    excluded = Problem(places={"a": 1}, scores=scores, excluded=frozenset({("a", "x")}))
    assert optimal(excluded).pairs == [("a", "y")]
    shared = Problem(places={"a": 1, "b": 1}, scores=scores, one_post_per_person=False)
    assert sorted(optimal(shared).pairs) == [("a", "x"), ("b", "x")]


def _brute_force(problem: Problem) -> float:
    slots = [post for post, n in problem.places.items() for _ in range(n)]
    people = sorted({person for _, person in problem.scores})
    best = 0.0
    for chosen in itertools.permutations([*people, *[None] * len(slots)], len(slots)):
        total = sum(
            problem.scores.get((post, person), 0.0)
            for post, person in zip(slots, chosen, strict=True)
            if person
        )
        best = max(best, total)
    return best


def test_optimal_matches_brute_force_on_random_problems() -> None:
    rng = random.Random(3)
    for _ in range(40):
        posts = {f"p{i}": rng.randint(1, 2) for i in range(rng.randint(1, 3))}
        people = [f"m{j}" for j in range(rng.randint(1, 4))]
        scores = {(p, m): round(rng.random(), 3) for p in posts for m in people if rng.random() < 0.7}
        problem = Problem(places=posts, scores=scores)
        best = optimal(problem)
        assert abs(best.total_score - _brute_force(problem)) < 1e-9
        assert best.total_score >= greedy(problem).total_score - 1e-9
        assert len({person for _, person in best.pairs}) == len(best.pairs)
