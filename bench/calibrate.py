"""Measure how a model's cosine similarities read, from the official ESCO occupations export, to fill the
model's row in `matching/calibration.py`:

- `same`: median similarity of an occupation's preferred label and one of its alternative labels
  (one occupation named two ways);
- `unrelated`: median similarity of the preferred labels of two occupations in different ISCO major
  groups (a cardiologist and a welder);
- `skill_threshold`: the similarity that best tells one occupation named two ways from two different
  occupations of the same ISCO unit group (a cardiologist and a neurologist): the least similarity at
  which one name stands for another.

    python bench/calibrate.py [--esco ../shared/data/esco] [--model packaged:multilingual-e5-small]

`--model lexical` measures the lexical channel's agreement (`matching/lexical.py`) the same way, so that its
score component reads on the same scale as the encoder's.

Sampling is seeded; about 2,000 pairs of each kind.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import numpy as np


def occupations(folder: Path) -> list[tuple[str, str, list[str]]]:
    with (folder / "occupations_en.csv").open(encoding="utf-8", newline="") as handle:
        return [
            (row["iscoGroup"], row["preferredLabel"], [a for a in row["altLabels"].splitlines() if a.strip()])
            for row in csv.DictReader(handle)
        ]


def main() -> None:
    from diaspora.matching.calibration import LEXICAL, Calibration
    from diaspora.matching.encoder import BLENDED_MODEL, get_encoder
    from diaspora.matching.lexical import packaged_scorer

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--esco", type=Path, default=shared / "esco")
    parser.add_argument("--model", default=BLENDED_MODEL)
    parser.add_argument("--pairs", type=int, default=2000)
    args = parser.parse_args()
    print("$ python bench/calibrate.py " + " ".join(sys.argv[1:]))
    rng = random.Random(7)
    rows = occupations(args.esco)
    by_unit: dict[str, list[int]] = {}
    for i, (group, _, _) in enumerate(rows):
        by_unit.setdefault(group, []).append(i)

    same = [
        (rows[i][1], rng.choice(rows[i][2])) for i in rng.sample(range(len(rows)), len(rows)) if rows[i][2]
    ]
    same = same[: args.pairs]
    unrelated = []
    while len(unrelated) < args.pairs:
        a, b = rng.sample(range(len(rows)), 2)
        if rows[a][0][:1] != rows[b][0][:1]:
            unrelated.append((rows[a][1], rows[b][1]))
    neighbours = []
    units = [members for members in by_unit.values() if len(members) > 1]
    while len(neighbours) < args.pairs:
        a, b = rng.sample(rng.choice(units), 2)
        neighbours.append((rows[a][1], rows[b][1]))

    def cosines(pairs: list[tuple[str, str]]) -> np.ndarray:
        if args.model == LEXICAL:
            scorer = packaged_scorer()
            return np.array([scorer.agreement(a, [b])[0] for a, b in pairs])
        encoder = get_encoder(args.model)
        left = encoder.encode([a for a, _ in pairs])
        right = encoder.encode([b for _, b in pairs])
        return np.sum(left * right, axis=1)

    s, u, n = cosines(same), cosines(unrelated), cosines(neighbours)
    candidates = np.linspace(-1, 1, 2001)
    balanced = [(np.mean(s >= t) + np.mean(n < t)) / 2 for t in candidates]
    threshold = float(candidates[int(np.argmax(balanced))])
    found = Calibration(
        unrelated=round(float(np.median(u)), 3),
        same=round(float(np.median(s)), 3),
        skill_threshold=round(threshold, 3),
    )
    print(f"model {args.model}: {len(s)} same, {len(u)} unrelated, {len(n)} same-unit pairs")
    print(f"  same       median {np.median(s):.3f}  (p10 {np.percentile(s, 10):.3f})")
    print(f"  unrelated  median {np.median(u):.3f}  (p90 {np.percentile(u, 90):.3f})")
    print(f"  same unit  median {np.median(n):.3f}")
    print(f"  threshold  {threshold:.3f} (balanced accuracy {max(balanced):.3f})")
    print(f"  {found!r}")


if __name__ == "__main__":
    main()
