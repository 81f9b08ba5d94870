"""Consultation pages: organisers (ministries, municipalities, admins) write a questionnaire, choose whom it
asks with the diaspora map's filters, open it, close it and read the results; members answer it."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.consultations import services
from diaspora.platform.consultations.controllers import results_file
from diaspora.platform.consultations.schemas import ConsultationIn, QuestionIn, ResponseIn
from diaspora.platform.core.errors import PermissionDeniedError
from diaspora.platform.core.guards import provide_actor, requires_login, requires_map_viewer
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import AvailabilityMode, Consultation, QuestionKind
from diaspora.platform.insights.services import scope_of
from diaspora.platform.settings import Settings
from diaspora.platform.web.forms import Submission, form_of, listed, submit, validate
from diaspora.platform.web.i18n import country_names
from diaspora.platform.web.i18n import gettext as _
from diaspora.platform.web.member import mode_labels

QUESTION_ROWS = 8


def kind_labels() -> dict[str, str]:
    return {
        QuestionKind.SINGLE.value: _("One choice"),
        QuestionKind.MULTIPLE.value: _("Several choices"),
        QuestionKind.SCALE.value: _("Scale"),
        QuestionKind.TEXT.value: _("Free text"),
    }


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def consultation_body(form: dict[str, Any]) -> dict[str, Any]:
    """The organiser's form as the API's body: empty question rows are left out."""

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    questions = []
    for i in range(QUESTION_ROWS):
        if not text(f"q{i}_prompt"):
            continue
        question: dict[str, Any] = {
            "kind": text(f"q{i}_kind") or QuestionKind.SINGLE.value,
            "prompt": text(f"q{i}_prompt"),
            "required": form.get(f"q{i}_required") == "on",
        }
        if question["kind"] in (QuestionKind.SINGLE.value, QuestionKind.MULTIPLE.value):
            question["options"] = [
                line.strip() for line in text(f"q{i}_options").splitlines() if line.strip()
            ]
        if question["kind"] == QuestionKind.SCALE.value and text(f"q{i}_scale_max"):
            scale = text(f"q{i}_scale_max")
            question["scale_max"] = int(scale) if scale.isdigit() else scale
        questions.append(question)
    filters: dict[str, Any] = {
        "residence_country": [c.upper() for c in _split(text("residence_country"))],
        "sector": _split(text("sector")),
        "mode": listed(form.get("mode")),
    }
    if text("origin_country"):
        filters["origin_country"] = text("origin_country").upper()
    if text("origin_municipality"):
        filters["origin_municipality"] = text("origin_municipality")
    return {
        "title": text("title"),
        "intro": text("intro"),
        "closes_on": text("closes_on"),
        "questions": questions,
        "filters": filters,
    }


def question_errors(form: dict[str, Any]) -> dict[str, str]:
    """Each written question checked on its own, so that a mistake is shown next to its question."""
    errors = {}
    for i in range(QUESTION_ROWS):
        body = consultation_body(
            {k: v for k, v in form.items() if not k.startswith("q") or k.startswith(f"q{i}_")}
        )
        if body["questions"]:
            _data, found = validate(QuestionIn, body["questions"][0])
            if found:
                errors[f"q{i}"] = next(iter(found.values()))
    return errors


def form_of_row(row: Consultation) -> dict[str, Any]:
    filters = services.filters_of_row(row)
    form: dict[str, Any] = {
        "title": row.title,
        "intro": row.intro,
        "closes_on": row.closes_on.isoformat(),
        "residence_country": ", ".join(filters.residence_country),
        "sector": ", ".join(filters.sector),
        "mode": list(filters.mode),
        "origin_country": filters.origin_country or "",
        "origin_municipality": filters.origin_municipality or "",
    }
    for i, question in enumerate(row.questions[:QUESTION_ROWS]):
        form[f"q{i}_kind"] = question["kind"]
        form[f"q{i}_prompt"] = question["prompt"]
        form[f"q{i}_options"] = "\n".join(question["options"])
        form[f"q{i}_scale_max"] = str(question["scale_max"])
        form[f"q{i}_required"] = question["required"]
    return form


def answers_body(row: Consultation, form: dict[str, Any]) -> dict[str, Any]:
    """The member's form as the API's body: numbers where the question takes numbers."""
    answers: dict[str, Any] = {}
    for question in row.questions:
        key, kind = question["key"], question["kind"]
        if kind == QuestionKind.MULTIPLE.value:
            chosen = listed(form.get(key))
            if chosen:
                answers[key] = [int(v) if v.isdigit() else v for v in chosen]
            continue
        value = str(form.get(key) or "").strip()
        if not value:
            continue
        answers[key] = value if kind == QuestionKind.TEXT.value else int(value) if value.isdigit() else value
    return {"answers": answers}


def grouped(texts: list[str]) -> list[tuple[str, int]]:
    """The same answer written by several people, once with how many wrote it (in the results' order)."""
    return list(Counter(texts).items())


def _answers_form(answers: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ([str(v) for v in value] if isinstance(value, list) else str(value))
        for key, value in answers.items()
    }


def _refused(form: dict[str, Any]) -> Submission[Any] | None:
    errors = question_errors(form)
    return Submission(errors=errors) if errors else None


class ConsultationPages(Controller):
    path = "/consultations"
    include_in_schema = False
    dependencies = {"user": Provide(provide_actor)}

    async def _list(
        self,
        session: AsyncSession,
        settings: Settings,
        user: Actor,
        *,
        form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        rows = await services.organised_by(session, user)
        context = {
            "user": user,
            "consultations": [
                await services.consultation_out(session, user, r, min_cell=settings.map_min_cell)
                for r in rows
            ],
            "form": form or {"closes_on": services.closing_day_default().isoformat()},
            "errors": errors or {},
            **await self._form_context(session, user, form),
        }
        return Template("consultations.html", context=context, status_code=status_code)

    async def _form_context(
        self, session: AsyncSession, user: Actor, form: dict[str, Any] | None
    ) -> dict[str, Any]:
        written = [i for i in range(QUESTION_ROWS) if str((form or {}).get(f"q{i}_prompt") or "").strip()]
        return {
            "scope": await scope_of(session, user),
            "kinds": kind_labels(),
            # The questions written and two empty rows for more (all eight are read on saving).
            "question_rows": range(min(QUESTION_ROWS, max(3, (written[-1] + 3) if written else 3))),
            "mode_labels": {m.value: mode_labels()[m.value] for m in AvailabilityMode},
            "countries": country_names(),
        }

    @get("/", guards=[requires_map_viewer])
    async def index(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
    ) -> Template:
        return await self._list(db_session, settings, user)

    @post("/", status_code=200, guards=[requires_map_viewer])
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = await form_of(request)
        form["mode"] = listed(form.get("mode"))
        made = _refused(form) or await submit(
            ConsultationIn, consultation_body(form), lambda data: services.create(db_session, user, data)
        )
        if made.result is not None:
            return Redirect(f"/consultations/{made.result.id}", status_code=303)
        return await self._list(db_session, settings, user, form=form, errors=made.errors, status_code=400)

    async def _show(
        self,
        session: AsyncSession,
        settings: Settings,
        user: Actor,
        row: Consultation,
        *,
        form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        saved: bool = False,
        status_code: int = 200,
    ) -> Template:
        out = await services.consultation_out(session, user, row, min_cell=settings.map_min_cell)
        context: dict[str, Any] = {"user": user, "consultation": out, "errors": errors or {}, "saved": saved}
        if services.manages(user, row):
            context["form"] = form if form is not None else form_of_row(row)
            context.update(await self._form_context(session, user, context["form"]))
            context["grouped"] = grouped
            context["results"] = await services.results(session, user, row.id, min_cell=settings.map_min_cell)
            return Template("consultation.html", context=context, status_code=status_code)
        if form is None:
            mine = await services.my_response(session, user, row.id)
            form = _answers_form(mine.answers) if mine else {}
        context["form"] = form
        return Template("consultation_answer.html", context=context, status_code=status_code)

    @get("/{consultation_id:uuid}", guards=[requires_login])
    async def show(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
        saved: FromQuery[bool] = False,
    ) -> Template:
        row = await services.get_consultation(db_session, user, consultation_id)
        return await self._show(db_session, settings, user, row, saved=saved)

    @post("/{consultation_id:uuid}", status_code=200, guards=[requires_map_viewer])
    async def change(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        row = await services.get_consultation(db_session, user, consultation_id)
        if not services.manages(user, row):
            return await self._show(db_session, settings, user, row, status_code=403)
        form = await form_of(request)
        form["mode"] = listed(form.get("mode"))
        changed = _refused(form) or await submit(
            ConsultationIn,
            consultation_body(form),
            lambda data: services.change(db_session, user, consultation_id, data),
        )
        if changed.ok:
            return Redirect(f"/consultations/{consultation_id}?saved=true", status_code=303)
        await db_session.rollback()
        row = await services.get_consultation(db_session, user, consultation_id)
        return await self._show(
            db_session, settings, user, row, form=form, errors=changed.errors, status_code=400
        )

    @post("/{consultation_id:uuid}/open", status_code=303, guards=[requires_map_viewer])
    async def open_(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await services.open_consultation(db_session, user, consultation_id, public_url=settings.public_url)
        return Redirect(f"/consultations/{consultation_id}", status_code=303)

    @post("/{consultation_id:uuid}/close", status_code=303, guards=[requires_map_viewer])
    async def close(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await services.close(db_session, user, consultation_id)
        return Redirect(f"/consultations/{consultation_id}", status_code=303)

    @post("/{consultation_id:uuid}/delete", status_code=303, guards=[requires_map_viewer])
    async def delete(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await services.delete_draft(db_session, user, consultation_id)
        return Redirect("/consultations", status_code=303)

    @get("/{consultation_id:uuid}/export", guards=[requires_map_viewer])
    async def export(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> Response[bytes] | Response[str]:
        board = await services.results(db_session, user, consultation_id, min_cell=settings.map_min_cell)
        return results_file(board, "xlsx" if request.query_params.get("format") == "xlsx" else "csv")

    @post("/{consultation_id:uuid}/answer", status_code=200, guards=[requires_login])
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        user: NamedDependency[Actor],
        consultation_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        row = await services.get_consultation(db_session, user, consultation_id)  # 404 for strangers
        if services.manages(user, row):
            raise PermissionDeniedError("Consultations are answered by the members they ask.")
        form = await form_of(request)
        saved = await submit(
            ResponseIn,
            answers_body(row, form),
            lambda data: services.respond(db_session, user, consultation_id, data),
        )
        if saved.ok:
            return Redirect(f"/consultations/{consultation_id}?saved=true", status_code=303)
        await db_session.rollback()
        row = await services.get_consultation(db_session, user, consultation_id)
        shown = {k: (listed(v) if isinstance(v, list) else v) for k, v in form.items()}
        return await self._show(
            db_session, settings, user, row, form=shown, errors=saved.errors, status_code=400
        )
