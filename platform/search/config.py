"""The search indexes as `search_config/` describes them: one JSON file per index, plus shared settings.

Each index file holds Meilisearch settings verbatim (`settings`), the primary key, and the type of every
document field (`fields`), which the embedded back end needs to build its schema and which documents are
checked against. `shared.json` holds the settings every index inherits unless it sets them itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal, cast

FieldType = Literal["keyword", "keywords", "text", "texts", "integer"]
FIELD_TYPES: frozenset[str] = frozenset({"keyword", "keywords", "text", "texts", "integer"})


class SearchConfigError(ValueError):
    """A search_config file that contradicts itself."""


@dataclass(frozen=True)
class TypoTolerance:
    enabled: bool = True
    one_typo: int = 5
    two_typos: int = 9
    disabled_attributes: frozenset[str] = frozenset()
    disabled_words: frozenset[str] = frozenset()

    def allowed(self, word: str) -> int:
        """Typos a query word may carry, by its length, as Meilisearch counts them."""
        if not self.enabled or word in self.disabled_words:
            return 0
        if len(word) >= self.two_typos:
            return 2
        return 1 if len(word) >= self.one_typo else 0


@dataclass(frozen=True)
class Hybrid:
    """How a query's words and its meaning are fused (`hybrid` in `shared.json` or the index's file).

    `semantic_ratio` weighs the semantic score against the keyword score (0: words only, 1: meaning
    only), as Meilisearch's `semanticRatio` does. A document that shares no word with the query is found
    by its meaning when its calibrated similarity (0 = unrelated, 1 = the same thing; see
    `matching/calibration.py`) reaches both `min_semantic_score` and `relative_semantic_score` times the
    best similarity among the documents the filters keep. Both bounds are needed: a short query against
    a long document scores far below the occupation pairs the calibration was measured on (a one-word
    query scores 0.1 to 0.7 against the document it names), so a fixed bound alone either drops the
    cross-language matches or keeps everything."""

    embedder: str = "default"
    semantic_ratio: float = 0.5
    min_semantic_score: float = 0.1
    relative_semantic_score: float = 0.6

    def __post_init__(self) -> None:
        bounds = (self.semantic_ratio, self.min_semantic_score, self.relative_semantic_score)
        if not all(0.0 <= b <= 1.0 for b in bounds):
            raise SearchConfigError(
                "hybrid: semanticRatio, minSemanticScore and relativeSemanticScore lie between 0 and 1"
            )


@dataclass(frozen=True)
class IndexConfig:
    uid: str
    primary_key: str
    fields: dict[str, FieldType]
    settings: dict[str, Any]
    hybrid: Hybrid = field(default_factory=Hybrid)
    searchable: tuple[str, ...] = field(init=False)
    filterable: frozenset[str] = field(init=False)
    sortable: frozenset[str] = field(init=False)
    displayed: tuple[str, ...] = field(init=False)
    synonyms: dict[str, tuple[str, ...]] = field(init=False)
    stop_words: frozenset[str] = field(init=False)
    typo: TypoTolerance = field(init=False)
    max_total_hits: int = field(init=False)
    max_values_per_facet: int = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        set_ = object.__setattr__
        set_(self, "searchable", tuple(s.get("searchableAttributes", ["*"])))
        set_(self, "filterable", frozenset(s.get("filterableAttributes", [])))
        set_(self, "sortable", frozenset(s.get("sortableAttributes", [])))
        set_(self, "displayed", tuple(s.get("displayedAttributes", list(self.fields))))
        set_(
            self,
            "synonyms",
            {k.casefold(): tuple(v.casefold() for v in vs) for k, vs in s.get("synonyms", {}).items()},
        )
        set_(self, "stop_words", frozenset(w.casefold() for w in s.get("stopWords", [])))
        typo = s.get("typoTolerance", {})
        sizes = typo.get("minWordSizeForTypos", {})
        set_(
            self,
            "typo",
            TypoTolerance(
                enabled=bool(typo.get("enabled", True)),
                one_typo=int(sizes.get("oneTypo", 5)),
                two_typos=int(sizes.get("twoTypos", 9)),
                disabled_attributes=frozenset(typo.get("disableOnAttributes", [])),
                disabled_words=frozenset(w.casefold() for w in typo.get("disableOnWords", [])),
            ),
        )
        set_(self, "max_total_hits", int(s.get("pagination", {}).get("maxTotalHits", 1000)))
        set_(self, "max_values_per_facet", int(s.get("faceting", {}).get("maxValuesPerFacet", 100)))
        self._check()

    def _check(self) -> None:
        problems = [
            f"field {n!r} has unknown type {t!r}" for n, t in self.fields.items() if t not in FIELD_TYPES
        ]
        if self.primary_key not in self.fields or self.fields[self.primary_key] != "keyword":
            problems.append(f"primary key {self.primary_key!r} must be a keyword field")
        for setting, names in (
            ("searchableAttributes", self.searchable),
            ("filterableAttributes", self.filterable),
            ("sortableAttributes", self.sortable),
            ("displayedAttributes", self.displayed),
        ):
            problems += [f"{setting} names unknown field {n!r}" for n in names if n not in self.fields]
        problems += [
            f"filterable field {n!r} must be a keyword, keywords or integer field"
            for n in self.filterable
            if self.fields.get(n) in ("text", "texts")
        ]
        problems += [
            f"sortable field {n!r} must be an integer or keyword field"
            for n in self.sortable
            if self.fields.get(n) not in ("integer", "keyword")
        ]
        problems += [
            f"searchable field {n!r} must be a text field"
            for n in self.searchable
            if self.fields.get(n) not in ("text", "texts", "keyword", "keywords")
        ]
        if problems:
            raise SearchConfigError(f"search_config/{self.uid}.json: " + "; ".join(problems))

    def meilisearch_settings(self, dimensions: int | None = None) -> dict[str, Any]:
        """The settings object exactly as Meilisearch's `PATCH /indexes/{uid}/settings` takes it; with
        `dimensions`, documents carry their own vectors under the hybrid embedder's name."""
        settings = dict(self.settings)
        if dimensions:
            settings["embedders"] = {
                self.hybrid.embedder: {"source": "userProvided", "dimensions": int(dimensions)}
            }
        return settings


INDEX_NAMES = ("opportunities", "posts")


def _read(name: str) -> dict[str, Any]:
    source = resources.files("diaspora.search_config").joinpath(f"{name}.json")
    return cast(dict[str, Any], json.loads(source.read_text(encoding="utf-8")))


def parse(raw: dict[str, Any], shared: dict[str, Any]) -> IndexConfig:
    settings = {**shared.get("settings", {}), **raw.get("settings", {})}
    hybrid = {**shared.get("hybrid", {}), **raw.get("hybrid", {})}
    return IndexConfig(
        uid=str(raw["uid"]),
        primary_key=str(raw.get("primaryKey", "id")),
        fields=cast(dict[str, FieldType], dict(raw["fields"])),
        settings=settings,
        hybrid=Hybrid(
            embedder=str(hybrid.get("embedder", "default")),
            semantic_ratio=float(hybrid.get("semanticRatio", 0.5)),
            min_semantic_score=float(hybrid.get("minSemanticScore", 0.1)),
            relative_semantic_score=float(hybrid.get("relativeSemanticScore", 0.6)),
        ),
    )


@cache
def load(name: str) -> IndexConfig:
    if name not in INDEX_NAMES:
        raise KeyError(f"no search index named {name!r}; there are: {', '.join(INDEX_NAMES)}")
    return parse(_read(name), _read("shared"))


def load_all() -> dict[str, IndexConfig]:
    return {name: load(name) for name in INDEX_NAMES}
