"""The diaspora map over HTTP: JSON for programs, CSV and XLSX for spreadsheets."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.guards import provide_actor, requires_map_viewer
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.spreadsheet import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from diaspora.platform.insights.services import MapFilters, MapOut, diaspora_map, rows_of
from diaspora.platform.settings import Settings

Countries = Annotated[
    list[str] | None, Parameter(description="Two-letter country codes; repeat the parameter for several.")
]
Sectors = Annotated[
    list[str] | None, Parameter(description="Sectors the members work in; repeat for several.")
]
Modes = Annotated[
    list[str] | None,
    Parameter(description="How members want to contribute (onsite_return, remote, volunteer, invest)."),
]
Country = Annotated[str | None, Parameter(description="Country of origin (within what you may see).")]
Town = Annotated[str | None, Parameter(description="Municipality of origin, however it is spelt.")]
ExportFormat = Literal["csv", "xlsx"]


def filters_of(
    residence_country: list[str] | None,
    sector: list[str] | None,
    mode: list[str] | None,
    origin_country: str | None,
    origin_municipality: str | None,
) -> MapFilters:
    return MapFilters(
        residence_country=[c.strip().upper() for c in residence_country or [] if c.strip()],
        sector=[s.strip() for s in sector or [] if s.strip()],
        mode=[m.strip() for m in mode or [] if m.strip()],
        origin_country=(origin_country or "").strip().upper() or None,
        origin_municipality=(origin_municipality or "").strip() or None,
    )


def export_response(board: MapOut, file_format: str) -> Response[bytes] | Response[str]:
    name = "diaspora-map"
    if file_format == "xlsx":
        return Response(
            xlsx_bytes(rows_of(board), title="Diaspora map"),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return Response(
        csv_text(rows_of(board)),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


class InsightsController(Controller):
    path = "/api/insights"
    tags = ["diaspora map"]
    dependencies = {"user": Provide(provide_actor)}

    @get("/map", guards=[requires_map_viewer])
    async def diaspora_map(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        residence_country: Countries = None,
        sector: Sectors = None,
        mode: Modes = None,
        origin_country: Country = None,
        origin_municipality: Town = None,
    ) -> MapOut:
        """Members by residence, origin, sector, skill, contribution mode, availability and month of
        registration: aggregates only, no group under `min_cell` people shown (its `count` is null)."""
        filters = filters_of(residence_country, sector, mode, origin_country, origin_municipality)
        return await diaspora_map(db_session, user, filters, min_cell=settings.map_min_cell)

    @get("/map/export", guards=[requires_map_viewer])
    async def export(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        file_format: Annotated[
            ExportFormat, QueryParameter(name="format", description="csv or xlsx")
        ] = "csv",
        residence_country: Countries = None,
        sector: Sectors = None,
        mode: Modes = None,
        origin_country: Country = None,
        origin_municipality: Town = None,
    ) -> Response[bytes] | Response[str]:
        """The same figures as a spreadsheet: one row per group, hidden groups written `<min_cell`."""
        filters = filters_of(residence_country, sector, mode, origin_country, origin_municipality)
        board = await diaspora_map(db_session, user, filters, min_cell=settings.map_min_cell)
        return export_response(board, file_format)
