"""Evaluation harness: ranking quality of the matcher against a TF-IDF baseline, in both directions.

    python -m diaspora.matching.evaluate --profiles P.jsonl --posts Q.jsonl --qrels R.tsv \
        [--model M] [--no-occupations] [--no-meaning-links] [--no-lexical] \
        [--hold-out-labels profiles|posts] \
        [--out metrics.json]

Systems, all in one run: `matcher` (the product's: semantic similarity fused with occupation links, the
titles' shared wording and the other components where the data has them), `semantic` (the same matcher
with neither occupation links nor wording: the encoder's channel alone), `lexical` (the matcher's lexical
channel alone: BM25 agreement of the titles, `matching/lexical.py`) and `tfidf` (a lexical baseline over
the whole texts), and, unless occupation links are off, `occupation` (the occupation links alone: how
the titles' links agree, `occupations.occupation_fit`; pairs that share neither an occupation nor its ISCO
unit group score 0).

P.jsonl: {"id", "headline", "summary"?, "skills"?: [str], "languages"?: [str]} per line.
Q.jsonl: {"id", "title", "description"?, "required_skills"?: [str], "languages"?: [str]} per line.
R.tsv:   post_id <TAB> profile_id <TAB> relevance (integer >= 1); unlisted pairs are irrelevant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from diaspora.matching import e5
from diaspora.matching.documents import PostDocument, ProfileDocument, Skill
from diaspora.matching.encoder import BLENDED_MODEL, Encoder, get_encoder
from diaspora.matching.index import Dtype, PostIndex, ProfileIndex
from diaspora.matching.lexical import LexicalScorer, packaged_scorer
from diaspora.matching.metrics import METRICS, evaluate_rankings
from diaspora.matching.occupations import (
    LabelVectors,
    OccupationLinker,
    occupation_fit,
    packaged_linker,
    read_occupations,
)
from diaspora.matching.onnx import BACKENDS, DEFAULT_BACKEND, Backend
from diaspora.matching.ranker import Ranker
from diaspora.matching.texts import post_text, profile_text

DEPTH = 100  # recall@100 needs the first hundred of every ranking
SYSTEMS = ("matcher", "semantic", "lexical", "occupation", "tfidf")


class EvaluationInputError(ValueError):
    """A labelled-set file is malformed; the message names the file and line."""


class _ProfileRecord(msgspec.Struct, forbid_unknown_fields=False):
    id: str
    headline: str
    summary: str | None = None
    skills: list[str] | None = None
    languages: list[str] | None = None


class _PostRecord(msgspec.Struct, forbid_unknown_fields=False):
    id: str
    title: str
    description: str | None = None
    required_skills: list[str] | None = None
    languages: list[str] | None = None


def _read_jsonl(path: Path, record_type: type[Any]) -> list[Any]:
    decoder = msgspec.json.Decoder(record_type)
    records, seen = [], set()
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = decoder.decode(line)
            except msgspec.DecodeError as exc:
                raise EvaluationInputError(f"{path}:{number}: {exc}") from exc
            if record.id in seen:
                raise EvaluationInputError(f"{path}:{number}: duplicate id {record.id!r}")
            seen.add(record.id)
            records.append(record)
    if not records:
        raise EvaluationInputError(f"{path}: no records")
    return records


def load_profiles(path: Path) -> list[ProfileDocument]:
    return [
        ProfileDocument(
            id=r.id,
            headline=r.headline,
            summary=r.summary or "",
            skills=tuple(Skill(s) for s in r.skills or ()),
            languages=tuple(code.strip().lower() for code in r.languages or ()),
        )
        for r in _read_jsonl(path, _ProfileRecord)
    ]


def load_posts(path: Path) -> list[PostDocument]:
    return [
        PostDocument(
            id=r.id,
            title=r.title,
            description=r.description or "",
            required_skills=tuple(Skill(s) for s in r.required_skills or ()),
            languages=tuple(code.strip().lower() for code in r.languages or ()),
        )
        for r in _read_jsonl(path, _PostRecord)
    ]


def load_qrels(path: Path, post_ids: set[str], profile_ids: set[str]) -> dict[str, dict[str, int]]:
    """post id -> {profile id -> relevance}. Unknown ids and bad grades are errors, not silently dropped."""
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise EvaluationInputError(
                    f"{path}:{number}: expected 3 tab-separated fields, got {len(fields)}"
                )
            post_id, profile_id, grade_text = (f.strip() for f in fields)
            try:
                grade = int(grade_text)
            except ValueError:
                raise EvaluationInputError(
                    f"{path}:{number}: relevance {grade_text!r} is not an integer"
                ) from None
            if grade < 1:
                raise EvaluationInputError(
                    f"{path}:{number}: relevance must be >= 1 (unlisted pairs are irrelevant)"
                )
            if post_id not in post_ids:
                raise EvaluationInputError(f"{path}:{number}: unknown post id {post_id!r}")
            if profile_id not in profile_ids:
                raise EvaluationInputError(f"{path}:{number}: unknown profile id {profile_id!r}")
            qrels[post_id][profile_id] = grade
    if not qrels:
        raise EvaluationInputError(f"{path}: no judgements")
    return dict(qrels)


def invert(qrels: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    inverted: dict[str, dict[str, int]] = defaultdict(dict)
    for post_id, judged in qrels.items():
        for profile_id, grade in judged.items():
            inverted[profile_id][post_id] = grade
    return dict(inverted)


@dataclass
class LabelledSet:
    profiles: list[ProfileDocument]
    posts: list[PostDocument]
    qrels: dict[str, dict[str, int]]

    @classmethod
    def load(cls, profiles: Path, posts: Path, qrels: Path) -> LabelledSet:
        profile_docs, post_docs = load_profiles(profiles), load_posts(posts)
        judged = load_qrels(qrels, {p.id for p in post_docs}, {p.id for p in profile_docs})
        return cls(profile_docs, post_docs, judged)


Rankings = dict[str, list[str]]


def rank_with_matcher(
    data: LabelledSet,
    encoder: Encoder,
    *,
    dtype: Dtype = "float16",
    progress: bool = False,
    linker: OccupationLinker | None = None,
    lexical: LexicalScorer | None = None,
) -> tuple[Rankings, Rankings]:
    """Both directions' rankings (top DEPTH ids) by the product's matcher, filters off, full scoring;
    without a `linker`, titles are not linked to occupations; without `lexical`, their wording is not
    compared."""
    profile_vectors = encoder.encode([profile_text(p) for p in data.profiles], show_progress=progress)
    post_vectors = encoder.encode([post_text(p) for p in data.posts], show_progress=progress)
    profile_index, post_index = (
        ProfileIndex(encoder.dimension, dtype=dtype),
        PostIndex(encoder.dimension, dtype=dtype),
    )
    for profile, vector in zip(data.profiles, profile_vectors, strict=True):
        profile_index.upsert(profile, vector)
    for post, vector in zip(data.posts, post_vectors, strict=True):
        post_index.upsert(post, vector)
    ranker = Ranker(encoder, rerank_depth=max(DEPTH, 200), linker=linker, lexical=lexical)
    if ranker.links_rows:
        ranker.link_rows(profile_index, [(p.id, p.headline, p.occupation_uri) for p in data.profiles])
        ranker.link_rows(post_index, [(p.id, p.title, None) for p in data.posts])
    profiles_by_id = {p.id: p for p in data.profiles}
    posts_by_id = {p.id: p for p in data.posts}
    inverted = invert(data.qrels)

    posts_to_profiles: Rankings = {}
    for post, vector in zip(data.posts, post_vectors, strict=True):
        if post.id in data.qrels:
            matches = ranker.rank_profiles_for_post(
                post,
                vector,
                profile_index,
                lambda ids: {i: profiles_by_id[i] for i in ids},
                k=DEPTH,
                apply_filters=False,
                require_languages=False,
            )
            posts_to_profiles[post.id] = [m.id for m in matches]
    profiles_to_posts: Rankings = {}
    for profile, vector in zip(data.profiles, profile_vectors, strict=True):
        if profile.id in inverted:
            matches = ranker.recommend_posts_for_profile(
                profile,
                vector,
                post_index,
                lambda ids: {i: posts_by_id[i] for i in ids},
                k=DEPTH,
                apply_filters=False,
                require_languages=False,
            )
            profiles_to_posts[profile.id] = [m.id for m in matches]
    return posts_to_profiles, profiles_to_posts


def rank_with_tfidf(data: LabelledSet) -> tuple[Rankings, Rankings]:
    """The lexical baseline: TF-IDF vectors of the same canonical texts, ranked by cosine similarity."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    profile_texts = [profile_text(p) for p in data.profiles]
    post_texts = [post_text(p) for p in data.posts]
    vectorizer = TfidfVectorizer(sublinear_tf=True, strip_accents="unicode")
    vectorizer.fit(profile_texts + post_texts)
    similarity = (vectorizer.transform(post_texts) @ vectorizer.transform(profile_texts).T).toarray()
    return _rank_matrix(data, similarity)


def _top(scores: np.ndarray, ids: Sequence[str]) -> list[str]:
    order = np.lexsort((np.arange(len(ids)), -scores))[:DEPTH]
    return [ids[i] for i in order]


def rank_with_lexical(data: LabelledSet, scorer: LexicalScorer) -> tuple[Rankings, Rankings]:
    """The matcher's lexical channel alone: every pair ranked by how much their titles share wording."""
    titles, headlines = [p.title for p in data.posts], [p.headline for p in data.profiles]
    agreement = (scorer.matrix(titles, headlines) + scorer.matrix(headlines, titles).T) / 2.0
    return _rank_matrix(data, agreement)


def rank_with_occupations(data: LabelledSet, linker: OccupationLinker) -> tuple[Rankings, Rankings]:
    """The occupation links alone: every pair ranked by how its titles' links agree (0 for pairs that
    share neither an occupation nor its ISCO unit group, which are the only ones compared)."""
    post_links = linker.links_of([p.title for p in data.posts], [None] * len(data.posts))
    profile_links = linker.links_of(
        [p.headline for p in data.profiles], [p.occupation_uri for p in data.profiles]
    )
    by_family: defaultdict[str, set[int]] = defaultdict(set)
    for column, links in enumerate(profile_links):
        for link in links:
            by_family[link.isco].add(column)
    scores = np.zeros((len(data.posts), len(data.profiles)))
    for row, links in enumerate(post_links):
        for column in set().union(*(by_family[link.isco] for link in links)):
            fit = occupation_fit(links, profile_links[column])
            scores[row, column] = fit.value if fit is not None else 0.0
    return _rank_matrix(data, scores)


def _rank_matrix(data: LabelledSet, scores: np.ndarray) -> tuple[Rankings, Rankings]:
    """Rankings in both directions from scores[post, profile]."""
    profile_ids = [p.id for p in data.profiles]
    post_ids = [p.id for p in data.posts]
    inverted = invert(data.qrels)
    posts_to_profiles = {
        pid: _top(scores[i], profile_ids) for i, pid in enumerate(post_ids) if pid in data.qrels
    }
    profiles_to_posts = {
        pid: _top(scores[:, j], post_ids) for j, pid in enumerate(profile_ids) if pid in inverted
    }
    return posts_to_profiles, profiles_to_posts


def _timed(run: Callable[[], tuple[Rankings, Rankings]], data: LabelledSet) -> dict[str, Any]:
    started = time.perf_counter()
    posts_to_profiles, profiles_to_posts = run()
    return {
        "posts_to_profiles": evaluate_rankings(posts_to_profiles, data.qrels),
        "profiles_to_posts": evaluate_rankings(profiles_to_posts, invert(data.qrels)),
        "wall_time_s": round(time.perf_counter() - started, 6),
    }


def occupation_linker(
    data: LabelledSet,
    hold_out: str | None = None,
    *,
    by_meaning: Encoder | None = None,
    progress: bool = False,
) -> OccupationLinker:
    """The packaged linker, or, with `hold_out` ("profiles" or "posts"), one that does not know the labels
    those records are titled with: for sets built from the taxonomy itself (`bench/make_esco_set.py`),
    whose profiles are titled with the taxonomy's own labels, so that linking is measured on names it has
    not seen rather than looked up. With `by_meaning`, titles no label spells are linked by meaning with
    that encoder (its label vectors prepared now: minutes the first time, then opened from the cache)."""
    if hold_out is None and by_meaning is None:
        return packaged_linker()
    titles: list[str] = []
    if hold_out is not None:
        titles = (
            [p.headline for p in data.profiles] if hold_out == "profiles" else [p.title for p in data.posts]
        )
    occupations = read_occupations()
    vectors = None
    if by_meaning is not None:
        vectors = LabelVectors(by_meaning, occupations, e5.cache_dir())
        vectors.prepare(show_progress=progress)
    return OccupationLinker(occupations, without_labels=titles, by_meaning=vectors)


def evaluate(
    data: LabelledSet,
    *,
    model: str = BLENDED_MODEL,
    backend: Backend = DEFAULT_BACKEND,
    dtype: Dtype = "float16",
    progress: bool = False,
    occupations: bool = True,
    hold_out_labels: str | None = None,
    meaning_links: bool = True,
    lexical: bool = True,
) -> dict[str, Any]:
    """Metrics of the matcher, of its semantic and lexical channels alone and of the TF-IDF baseline on
    one labelled set, computed in the same run."""
    encoder = get_encoder(model, backend)
    started = time.perf_counter()
    encoder.encode(["warm-up"])  # load the model outside the timed runs: it is paid once per process
    dimension = encoder.dimension
    load_time = round(time.perf_counter() - started, 3)
    linker = None
    if occupations:
        linker = occupation_linker(
            data, hold_out_labels, by_meaning=encoder if meaning_links else None, progress=progress
        )
    scorer = packaged_scorer()
    report: dict[str, Any] = {
        "model": model,
        "backend": backend,
        "dtype": dtype,
        "dimension": dimension,
        "model_load_s": load_time,
        "profiles": len(data.profiles),
        "posts": len(data.posts),
        "judgements": sum(len(v) for v in data.qrels.values()),
        "occupation_links": None
        if linker is None
        else {
            "labels": linker.label_count,
            "held_out": hold_out_labels,
            "by_meaning": linker.by_meaning is not None,
        },
        "lexical_channel": lexical,
        "matcher": _timed(
            lambda: rank_with_matcher(
                data,
                encoder,
                dtype=dtype,
                progress=progress,
                linker=linker,
                lexical=scorer if lexical else None,
            ),
            data,
        ),
        "semantic": _timed(lambda: rank_with_matcher(data, encoder, dtype=dtype), data),
        "lexical": _timed(lambda: rank_with_lexical(data, scorer), data),
        "tfidf": _timed(lambda: rank_with_tfidf(data), data),
    }
    if linker is not None:
        report["occupation"] = _timed(lambda: rank_with_occupations(data, linker), data)
    return report


def format_table(report: Mapping[str, Any]) -> str:
    lines = [
        f"model {report['model']} ({report['backend']}, {report['dtype']}); {report['profiles']} profiles, "
        f"{report['posts']} posts, "
        f"{report['judgements']} judgements",
        f"{'system':<10} {'direction':<18} "
        + " ".join(f"{m:>10}" for m in METRICS)
        + f" {'queries':>8} {'time s':>8}",
    ]
    for system in (s for s in SYSTEMS if s in report):
        for direction in ("posts_to_profiles", "profiles_to_posts"):
            row = report[system][direction]
            lines.append(
                f"{system:<10} {direction:<18} "
                + " ".join(f"{row[m]:>10.4f}" for m in METRICS)
                + f" {int(row['queries']):>8} {report[system]['wall_time_s']:>8.2f}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m diaspora.matching.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profiles", type=Path, required=True)
    parser.add_argument("--posts", type=Path, required=True)
    parser.add_argument("--qrels", type=Path, required=True)
    parser.add_argument(
        "--model",
        default=BLENDED_MODEL,
        help="the product's encoder (default), packaged:multilingual-e5-small, packaged:all-MiniLM-L6-v2, "
        "or a sentence-transformers model name or path",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="what runs the encoder (default: the product's, torch)",
    )
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16", help="index storage")
    parser.add_argument(
        "--no-occupations", action="store_true", help="do not link titles to taxonomy occupations"
    )
    parser.add_argument(
        "--no-meaning-links",
        action="store_true",
        help="link titles to occupations by spelling only (not also by meaning, with the encoder)",
    )
    parser.add_argument(
        "--no-lexical",
        action="store_true",
        help="leave the lexical channel (titles' shared wording) out of the matcher",
    )
    parser.add_argument(
        "--hold-out-labels",
        choices=("profiles", "posts"),
        help="leave the labels these records are titled with out of the taxonomy (for sets built from it)",
    )
    parser.add_argument("--out", type=Path, help="also write the metrics as JSON here")
    args = parser.parse_args(argv)
    try:
        data = LabelledSet.load(args.profiles, args.posts, args.qrels)
    except (OSError, EvaluationInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(
        data,
        model=args.model,
        backend=args.backend,
        dtype=args.dtype,
        progress=sys.stderr.isatty(),
        occupations=not args.no_occupations,
        hold_out_labels=args.hold_out_labels,
        meaning_links=not args.no_meaning_links,
        lexical=not args.no_lexical,
    )
    print(format_table(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
