"""Consultations over the JSON API: organisers write, open, close and read results; members answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.consultations import services
from diaspora.platform.consultations.schemas import (
    ConsultationIn,
    ConsultationOut,
    MyResponseOut,
    ResponseIn,
    ResultsOut,
)
from diaspora.platform.core.guards import provide_actor, requires_login, requires_map_viewer
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.spreadsheet import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from diaspora.platform.settings import Settings


def results_file(board: ResultsOut, file_format: str) -> Response[bytes] | Response[str]:
    name = f"consultation-{board.consultation_id}"
    rows = services.rows_of(board)
    if file_format == "xlsx":
        return Response(
            xlsx_bytes(rows, title="Consultation"),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return Response(
        csv_text(rows),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


class ConsultationController(Controller):
    path = "/api/consultations"
    tags = ["consultations"]
    dependencies = {"user": Provide(provide_actor)}

    @get("/", guards=[requires_map_viewer], summary="The consultations your organisation asks (admins: all)")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
    ) -> list[ConsultationOut]:
        rows = await services.organised_by(db_session, user)
        return [
            await services.consultation_out(db_session, user, r, min_cell=settings.map_min_cell) for r in rows
        ]

    @post("/", guards=[requires_map_viewer], summary="Write a consultation (a draft, opened later)")
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        data: JSONBody[ConsultationIn],
    ) -> ConsultationOut:
        row = await services.create(db_session, user, data)
        return await services.consultation_out(db_session, user, row, min_cell=settings.map_min_cell)

    @get("/mine", guards=[requires_login], summary="Open consultations that ask you (members)")
    async def mine(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
    ) -> list[ConsultationOut]:
        found = await services.for_member(db_session, user)
        return [
            await services.consultation_out(db_session, user, r, min_cell=settings.map_min_cell)
            for r, _answered in found
        ]

    @get("/{consultation_id:uuid}", guards=[requires_login])
    async def get_(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> ConsultationOut:
        """For its organisers (with whom it asks and how many answered) and the members it asks."""
        row = await services.get_consultation(db_session, user, consultation_id)
        return await services.consultation_out(db_session, user, row, min_cell=settings.map_min_cell)

    @put("/{consultation_id:uuid}", guards=[requires_map_viewer], summary="Change a draft")
    async def change(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
        data: JSONBody[ConsultationIn],
    ) -> ConsultationOut:
        row = await services.change(db_session, user, consultation_id, data)
        return await services.consultation_out(db_session, user, row, min_cell=settings.map_min_cell)

    @delete("/{consultation_id:uuid}", guards=[requires_map_viewer], summary="Delete a draft")
    async def delete_(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> None:
        await services.delete_draft(db_session, user, consultation_id)

    @post(
        "/{consultation_id:uuid}/open",
        status_code=200,
        guards=[requires_map_viewer],
        summary="Open a draft: each member it reaches gets one mail",
    )
    async def open_(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> ConsultationOut:
        row = await services.open_consultation(
            db_session, user, consultation_id, public_url=settings.public_url
        )
        return await services.consultation_out(db_session, user, row, min_cell=settings.map_min_cell)

    @post(
        "/{consultation_id:uuid}/close", status_code=200, guards=[requires_map_viewer], summary="Close it now"
    )
    async def close(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> ConsultationOut:
        row = await services.close(db_session, user, consultation_id)
        return await services.consultation_out(db_session, user, row, min_cell=settings.map_min_cell)

    @get("/{consultation_id:uuid}/results", guards=[requires_map_viewer])
    async def results(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> ResultsOut:
        """Totals per choice and scale point, and free text without names; nothing under `min_cell`."""
        return await services.results(db_session, user, consultation_id, min_cell=settings.map_min_cell)

    @get("/{consultation_id:uuid}/results/export", guards=[requires_map_viewer])
    async def export(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
        file_format: Annotated[
            Literal["csv", "xlsx"], QueryParameter(name="format", description="csv or xlsx")
        ] = "csv",
    ) -> Response[bytes] | Response[str]:
        board = await services.results(db_session, user, consultation_id, min_cell=settings.map_min_cell)
        return results_file(board, file_format)

    @get("/{consultation_id:uuid}/response", guards=[requires_login], summary="Your answers (null: none yet)")
    async def my_response(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> MyResponseOut | None:
        return await services.my_response(db_session, user, consultation_id)

    @put(
        "/{consultation_id:uuid}/response", guards=[requires_login], summary="Answer, or change your answers"
    )
    async def respond(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
        data: JSONBody[ResponseIn],
    ) -> MyResponseOut:
        return await services.respond(db_session, user, consultation_id, data)
