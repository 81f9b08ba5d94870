"""Build a labelled matching set from the official ESCO occupations export (public data).

Each sampled occupation gives one post (its preferred label and the first sentence of its description) and
two profiles (two of its alternative labels as headlines, later sentences of the description as summary).
Relevance: 2 for the same occupation, 1 for another sampled occupation in the same ISCO unit group.
Job titles that share few words with the post's title are exactly where a lexical matcher struggles.

    python bench/make_esco_set.py --esco ../shared/data/esco --out bench/data/esco --occupations 400
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections import defaultdict
from pathlib import Path

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--esco", type=Path, required=True, help="folder holding occupations_en.csv")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--occupations", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with (args.esco / "occupations_en.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["conceptType"] == "Occupation"]
    usable = []
    for row in rows:
        alternatives = [a.strip() for a in row["altLabels"].splitlines() if a.strip()]
        alternatives = [a for a in alternatives if a.casefold() != row["preferredLabel"].casefold()]
        sentences = [s for s in _SENTENCE_END.split(row["description"].strip()) if s]
        if len(alternatives) >= 2 and len(sentences) >= 2:
            usable.append((row, alternatives, sentences))
    rng = random.Random(args.seed)
    # Sample whole ISCO groups first so that many posts have related occupations (relevance 1) beside them.
    by_group: dict[str, list[tuple[dict[str, str], list[str], list[str]]]] = defaultdict(list)
    for item in usable:
        by_group[item[0]["iscoGroup"]].append(item)
    groups = sorted(by_group)
    rng.shuffle(groups)
    chosen: list[tuple[dict[str, str], list[str], list[str]]] = []
    for group in groups:
        members = sorted(by_group[group], key=lambda item: item[0]["conceptUri"])
        chosen.extend(rng.sample(members, k=min(3, len(members))))
        if len(chosen) >= args.occupations:
            break
    chosen = chosen[: args.occupations]

    args.out.mkdir(parents=True, exist_ok=True)
    profiles, posts, qrels = [], [], []
    members_by_group: dict[str, list[str]] = defaultdict(list)
    for index, (row, alternatives, sentences) in enumerate(chosen):
        post_id = f"post-{index}"
        posts.append({"id": post_id, "title": row["preferredLabel"], "description": sentences[0]})
        summary = " ".join(sentences[1:3])
        for n, headline in enumerate(rng.sample(alternatives, k=2)):
            profile_id = f"person-{index}-{n}"
            profiles.append({"id": profile_id, "headline": headline, "summary": summary if n == 0 else ""})
            qrels.append((post_id, profile_id, 2))
            members_by_group[row["iscoGroup"]].append(f"{index}:{profile_id}")
    for index, (row, _, _) in enumerate(chosen):
        for member in members_by_group[row["iscoGroup"]]:
            owner, profile_id = member.split(":")
            if int(owner) != index:
                qrels.append((f"post-{index}", profile_id, 1))
    rng.shuffle(profiles)
    with (args.out / "profiles.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in profiles)
    with (args.out / "posts.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in posts)
    with (args.out / "qrels.tsv").open("w", encoding="utf-8") as handle:
        handle.writelines(f"{a}\t{b}\t{c}\n" for a, b, c in qrels)
    print(f"{len(posts)} posts, {len(profiles)} profiles, {len(qrels)} judgements in {args.out}")


if __name__ == "__main__":
    main()
