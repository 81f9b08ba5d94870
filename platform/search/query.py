"""What a search asks and what it answers, independent of the back end that serves it.

Requests are built from HTTP query parameters by `parse_request`, which checks every name and value
against the index's configuration, so that a back end only ever sees a well-formed request.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from diaspora.matching.scripts import to_latin
from diaspora.platform.search.config import IndexConfig

MAX_QUERY_CHARS = 200
MAX_PER_PAGE = 100
MAX_FILTER_VALUES = 50
RESERVED = frozenset({"q", "page", "per_page", "facets", "sort"})
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_WORD = re.compile(r"\w+", re.UNICODE)


class SearchRequestError(ValueError):
    """A search request that cannot be served as asked; `param` names the offending parameter."""

    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True, slots=True)
class Equals:
    """The attribute has one of the values (for a list attribute: any of its items does)."""

    attribute: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Between:
    """A numeric attribute lies within the bounds (inclusive); documents without it do not match."""

    attribute: str
    gte: int | None = None
    lte: int | None = None


Filter = Equals | Between


@dataclass(frozen=True, slots=True)
class Semantic:
    """The meaning of a request's words: the query's unit vector, and how to read similarities to it.

    `score(cosine)` is the calibrated similarity (0 = unrelated, 1 = the same thing) that hybrid search
    fuses with the keyword score; `least(best)` is the least score at which a document that shares no
    word with the query is found, given the best score among those the filters keep."""

    vector: tuple[float, ...]
    unrelated: float
    same: float
    ratio: float
    min_score: float
    relative: float

    def score(self, cosine: float) -> float:
        return min(1.0, max(0.0, (cosine - self.unrelated) / (self.same - self.unrelated)))

    def least(self, best: float) -> float:
        return max(self.min_score, self.relative * best)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    q: str | None = None
    filters: tuple[Filter, ...] = ()
    facets: tuple[str, ...] = ()
    sort: tuple[str, str] | None = None  # (attribute, "asc" | "desc")
    page: int = 1
    per_page: int = 20
    semantic: Semantic | None = None  # set by the search service when the index carries vectors

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(slots=True)
class SearchResult:
    hits: list[dict[str, Any]]
    total_hits: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_hits / self.per_page) if self.per_page else 0


def transliterated(*texts: str | None) -> str:
    """The Latin form of whatever Cyrillic the texts hold (empty when they hold none)."""
    return " ".join(to_latin(t) for t in texts if t and _CYRILLIC.search(t))


def normalise_query(q: str) -> str:
    return to_latin(" ".join(q.split()))


def query_words(q: str) -> list[str]:
    return _WORD.findall(normalise_query(q))


def _int(param: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SearchRequestError(f"{param} must be a whole number, not {raw!r}.", param=param) from None
    if abs(value) > 2**53:
        raise SearchRequestError(f"{param} is out of range.", param=param)
    return value


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise SearchRequestError(f"Give {name} once.", param=name)
    return values[0] if values else None


def parse_request(config: IndexConfig, params: Mapping[str, Sequence[str]]) -> SearchRequest:
    """Check and convert query parameters: `q`, `page`, `per_page`, `facets`, `sort`, and one
    parameter per filterable attribute (`country=AL&country=XK`; numbers as `ticket_min.gte=1000`)."""
    q = _one(params, "q")
    if q is not None:
        if len(q) > MAX_QUERY_CHARS:
            raise SearchRequestError(f"The query is longer than {MAX_QUERY_CHARS} characters.", param="q")
        if not query_words(q):
            raise SearchRequestError(
                "The query has no words to search for; leave q out to browse everything.", param="q"
            )
    page_raw, per_page_raw = _one(params, "page"), _one(params, "per_page")
    page = _int("page", page_raw) if page_raw is not None else 1
    per_page = _int("per_page", per_page_raw) if per_page_raw is not None else 20
    if page < 1:
        raise SearchRequestError("page starts at 1.", param="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise SearchRequestError(f"per_page must be between 1 and {MAX_PER_PAGE}.", param="per_page")
    if (page - 1) * per_page >= config.max_total_hits:
        raise SearchRequestError(
            f"Only the first {config.max_total_hits} results can be paged through; narrow the search.",
            param="page",
        )

    facets: list[str] = []
    for raw in params.get("facets") or []:
        for name in filter(None, (part.strip() for part in raw.split(","))):
            if name not in config.filterable:
                raise SearchRequestError(
                    f"Cannot count by {name!r}; facets are: {', '.join(sorted(config.filterable))}.",
                    param="facets",
                )
            if name not in facets:
                facets.append(name)

    sort: tuple[str, str] | None = None
    sort_raw = _one(params, "sort")
    if sort_raw is not None:
        attribute, _, direction = sort_raw.partition(":")
        direction = direction or "asc"
        if attribute not in config.sortable or direction not in ("asc", "desc"):
            raise SearchRequestError(
                f"sort must be attribute:asc or attribute:desc, with an attribute among "
                f"{', '.join(sorted(config.sortable))}.",
                param="sort",
            )
        sort = (attribute, direction)

    filters: list[Filter] = []
    for name, values in params.items():
        if name in RESERVED:
            continue
        attribute, _, bound = name.partition(".")
        if attribute not in config.filterable:
            known = ", ".join(sorted(config.filterable))
            raise SearchRequestError(f"Unknown filter {name!r}; filterable: {known}.", param=name)
        numeric = config.fields[attribute] == "integer"
        if numeric and bound in ("gte", "lte"):
            (raw_bound,) = values if len(values) == 1 else (None,)
            if raw_bound is None:
                raise SearchRequestError(f"Give {name} once.", param=name)
            filters.append(Between(attribute, **{bound: _int(name, raw_bound)}))
        elif bound:
            hint = f"{attribute}.gte or {attribute}.lte" if numeric else attribute
            raise SearchRequestError(f"Unknown filter {name!r}; did you mean {hint}?", param=name)
        else:
            cleaned = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
            if not cleaned:
                raise SearchRequestError(f"{name} needs a value.", param=name)
            if len(cleaned) > MAX_FILTER_VALUES or any(len(v) > 200 for v in cleaned):
                raise SearchRequestError(f"Too many or too long values for {name}.", param=name)
            if numeric:
                filters.append(Equals(attribute, tuple(str(_int(name, v)) for v in cleaned)))
            else:
                filters.append(Equals(attribute, cleaned))
    return SearchRequest(
        q=normalise_query(q) if q is not None else None,
        filters=tuple(filters),
        facets=tuple(facets),
        sort=sort,
        page=page,
        per_page=per_page,
    )
