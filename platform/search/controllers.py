from __future__ import annotations

from dataclasses import replace
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException

from diaspora.platform.core.hygiene import OPEN_QUERY
from diaspora.platform.search.query import SearchRequestError, SearchResult, parse_request
from diaspora.platform.search.sync import SearchSync


class SearchPage(msgspec.Struct):
    hits: list[dict[str, Any]]
    query: str | None
    page: int
    per_page: int
    total_hits: int
    total_pages: int
    facets: dict[str, dict[str, int]]


async def run_search(
    search: SearchSync, index: str, params: dict[str, list[str]]
) -> tuple[str | None, SearchResult]:
    """Check the parameters against the index's configuration and search; bad parameters are a 400."""
    try:
        request = parse_request(search.configs[index], params)
    except SearchRequestError as exc:
        raise ValidationException(exc.message, extra=[{"key": exc.param, "message": exc.message}]) from exc
    if request.q is None and request.sort is None and "published_at" in search.configs[index].sortable:
        # Browsing without words: newest first.
        request = replace(request, sort=("published_at", "desc"))
    return request.q, await search.search(index, request)


def _page(q: str | None, result: SearchResult) -> SearchPage:
    return SearchPage(
        hits=result.hits,
        query=q,
        page=result.page,
        per_page=result.per_page,
        total_hits=result.total_hits,
        total_pages=result.total_pages,
        facets=result.facets,
    )


class SearchController(Controller):
    path = "/api/search"
    tags = ["search"]

    @get(
        "/opportunities",
        opt={OPEN_QUERY: True, "search_index": "opportunities"},
        summary="Search published opportunities",
        description="Typo-tolerant, faceted search. Parameters: `q` (words; the last one also matches as a "
        "prefix), `page`, `per_page` (1-100), `facets` (comma-separated attributes to count), `sort` "
        "(`published_at:desc`, `ticket_min:asc`, ...), and one parameter per filterable attribute: "
        "`kind`, `sector`, `country`, `municipality`, `languages`, `currency`, `mode`, ... (repeat for any "
        "of several values); numbers take bounds as `ticket_min.gte=10000` and `ticket_max.lte=500000`.",
    )
    async def opportunities(
        self, request: Request[Any, Any, Any], search: NamedDependency[SearchSync]
    ) -> SearchPage:
        return _page(*await run_search(search, "opportunities", _params(request)))

    @get(
        "/posts",
        opt={OPEN_QUERY: True, "search_index": "posts"},
        summary="Search open posts of verified organisations",
        description="The same parameters as opportunity search; filterable attributes include `kind`, "
        "`country`, `municipality`, `mode`, `compensation`, `languages`, `organisation_kind` and "
        "`starts_on` (days since 1970-01-01, as `starts_on.gte=`).",
    )
    async def posts(self, request: Request[Any, Any, Any], search: NamedDependency[SearchSync]) -> SearchPage:
        return _page(*await run_search(search, "posts", _params(request)))


def _params(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    return {name: list(request.query_params.getall(name)) for name in request.query_params}
