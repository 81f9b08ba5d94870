"""The diaspora map page for ministries, municipalities and admins: filters, two choropleths, the
breakdowns as bars, and the same figures as CSV or XLSX."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.guards import provide_actor, requires_map_viewer
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import AvailabilityMode
from diaspora.platform.insights.controllers import export_response, filters_of
from diaspora.platform.insights.geo import choropleth
from diaspora.platform.insights.services import MapFilters, MapOut, diaspora_map
from diaspora.platform.settings import Settings
from diaspora.platform.web.i18n import country_names
from diaspora.platform.web.i18n import gettext as _
from diaspora.platform.web.member import mode_labels
from diaspora.platform.web.pages import labels


def _filters(request: Request[Any, Any, Any]) -> MapFilters:
    params = request.query_params

    def many(name: str) -> list[str]:
        return [v for v in params.getall(name, []) if v.strip()]

    return filters_of(
        many("residence_country"),
        many("sector"),
        many("mode"),
        params.get("origin_country"),
        params.get("origin_municipality"),
    )


def _query(filters: MapFilters) -> str:
    pairs: list[tuple[str, str]] = [("residence_country", c) for c in filters.residence_country]
    pairs += [("sector", s) for s in filters.sector] + [("mode", m) for m in filters.mode]
    pairs += [(k, v) for k, v in (("origin_country", filters.origin_country),) if v]
    pairs += [(k, v) for k, v in (("origin_municipality", filters.origin_municipality),) if v]
    return urlencode(pairs)


def _context(board: MapOut, user: Actor, filters: MapFilters) -> dict[str, Any]:
    names = country_names()
    names_of_codes = labels()
    hidden = _("fewer than %(num)d", num=board.min_cell)
    residence = {c.key: c.count for c in board.residence_countries if c.key}
    origin = {c.key: c.count for c in board.origin_countries if c.key}
    return {
        "user": user,
        "board": board,
        "filters": filters,
        "query": _query(filters),
        "countries": names,
        "sector_labels": {
            key: names_of_codes.get(key, key[:1].upper() + key[1:])
            for key in [*(c.key for c in board.sectors), *filters.sector]
        },
        "mode_labels": {m.value: mode_labels()[m.value] for m in AvailabilityMode},
        "hidden": hidden,
        "residence_map": choropleth(residence, "world", names, hidden),
        "origin_map": choropleth(origin, "europe", names, hidden),
        "known_residences": sorted(residence, key=lambda code: names.get(code, code)),
    }


class MapPages(Controller):
    path = "/map"
    include_in_schema = False
    dependencies = {"user": Provide(provide_actor)}

    @get("/", guards=[requires_map_viewer])
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
    ) -> Template:
        filters = _filters(request)
        board = await diaspora_map(db_session, user, filters, min_cell=settings.map_min_cell)
        return Template("map.html", context=_context(board, user, filters))

    @get("/export", guards=[requires_map_viewer])
    async def export(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
    ) -> Response[bytes] | Response[str]:
        file_format = "xlsx" if request.query_params.get("format") == "xlsx" else "csv"
        board = await diaspora_map(db_session, user, _filters(request), min_cell=settings.map_min_cell)
        return export_response(board, file_format)
