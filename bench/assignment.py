"""Campaign assignment at scale: the optimal assignment (Hungarian algorithm over expanded places)
against the greedy one (best remaining pair first), on synthetic campaigns whose candidate lists overlap
the way they do when many posts ask for the same kind of people.

Scores are drawn per person (how good they are) plus per pair (how well they fit this post), each post
sees its top candidates only, as the matcher hands them over.

    python bench/assignment.py [--posts 40] [--places 3] [--people 150] [--candidates 8] [--runs 5]

The defaults are a campaign where good candidates are scarce (dated posts, required languages): that is
where greedy goes wrong. With plenty of candidates per place both fill everything and differ little.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from diaspora.matching.assignment import Problem, greedy, optimal


def campaign(rng: random.Random, posts: int, places: int, people: int, candidates: int) -> Problem:
    quality = [rng.random() for _ in range(people)]
    scores: dict[tuple[str, str], float] = {}
    for p in range(posts):
        # Posts of one campaign draw on overlapping pools (same sector, same countries).
        pool = rng.sample(range(people), k=min(people, candidates * 3))
        fits = sorted(((0.5 * quality[m] + 0.5 * rng.random(), m) for m in pool), reverse=True)[:candidates]
        for score, m in fits:
            scores[(f"post-{p}", f"person-{m}")] = round(score, 4)
    return Problem(places={f"post-{p}": rng.randint(1, places) for p in range(posts)}, scores=scores)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--places", type=int, default=3, help="places per post, at most")
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument(
        "--candidates", type=int, default=8, help="candidates the matcher hands over per post"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for run in range(args.runs):
        problem = campaign(random.Random(run), args.posts, args.places, args.people, args.candidates)
        started = time.perf_counter()
        best = optimal(problem)
        optimal_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        baseline = greedy(problem)
        greedy_ms = (time.perf_counter() - started) * 1000
        rows.append((sum(problem.places.values()), best, baseline, optimal_ms, greedy_ms))
    print(f"$ python {' '.join(sys.argv)}")
    print(
        "| run | places | optimal filled | greedy filled | optimal total | greedy total | gain "
        "| optimal ms | greedy ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run, (places, best, baseline, optimal_ms, greedy_ms) in enumerate(rows):
        gain = best.total_score / baseline.total_score - 1 if baseline.total_score else 0.0
        print(
            f"| {run} | {places} | {best.filled} | {baseline.filled} | {best.total_score:.2f} | "
            f"{baseline.total_score:.2f} | {gain:+.1%} | {optimal_ms:.1f} | {greedy_ms:.1f} |"
        )
    gains = [b.total_score / g.total_score - 1 for _, b, g, _, _ in rows if g.total_score]
    filled = [b.filled - g.filled for _, b, g, _, _ in rows]
    print(
        f"median gain in total score {statistics.median(gains):+.1%}, "
        f"places filled {statistics.median(filled):+.0f}; "
        f"optimal solve median {statistics.median(r[3] for r in rows):.1f} ms"
    )


if __name__ == "__main__":
    main()
