"""Consultations: a ministry or municipality asks the members of its diaspora a short questionnaire.

Whom it asks is what the diaspora map shows it (its scope), narrowed by the map's filters, among the
members who agreed to be consulted (a consent of their own, off until they tick it) at an address they
proved is theirs. Opening a consultation mails each of them once; they see it on their page as long as it
is open, answer once, and change their answers until it closes. The organisers see the results with the
map's small-cell suppression: nothing until `min_cell` people answered, no choice picked by fewer people
shown, and free-text answers without names, in an order that says nothing about who wrote them.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.consultations.schemas import (
    MAX_TEXT_ANSWER,
    Answer,
    ConsultationIn,
    ConsultationOut,
    MyResponseOut,
    QuestionOut,
    QuestionResult,
    ResponseIn,
    ResultsOut,
)
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.schemas import clean_text
from diaspora.platform.db.models import (
    Account,
    Consultation,
    ConsultationResponse,
    ConsultationStatus,
    Organisation,
    Profile,
    QuestionKind,
    new_id,
    utcnow,
)
from diaspora.platform.db.upsert import upsert
from diaspora.platform.insights.services import (
    Cell,
    MapFilters,
    ScopeOut,
    check_filters,
    scope_of,
    select_members,
    suppress,
)
from diaspora.platform.notifications.mail import enqueue_mail

MAX_DAYS_OPEN = 366


def today() -> date:
    return datetime.now(UTC).date()


def status_of(row: Consultation, on: date | None = None) -> str:
    """An open consultation whose closing day has passed is closed, whether or not anyone closed it."""
    if row.status == ConsultationStatus.OPEN.value and (on or today()) > row.closes_on:
        return ConsultationStatus.CLOSED.value
    return row.status


def manages(actor: Actor | None, row: Consultation) -> bool:
    """Its organisers: the accounts of the organisation that asks (while it may see the map), and admins."""
    if policy.is_admin(actor):
        return True
    return (
        policy.may_see_map(actor)
        and actor is not None
        and row.organisation_id is not None
        and actor.organisation_id == row.organisation_id
    )


def scope_of_row(row: Consultation) -> ScopeOut:
    return ScopeOut(origin_country=row.scope_country, origin_municipality=row.scope_municipality)


def filters_of_row(row: Consultation) -> MapFilters:
    return msgspec.convert(row.filters or {}, MapFilters)


def _questions(data: ConsultationIn) -> list[dict[str, Any]]:
    return [
        {
            "key": f"q{i}",
            "kind": q.kind.value,
            "prompt": q.prompt.strip(),
            "options": list(q.options),
            "scale_max": q.scale_max,
            "required": q.required,
        }
        for i, q in enumerate(data.questions, start=1)
    ]


def _check(data: ConsultationIn) -> None:
    check_filters(data.filters)
    if data.closes_on < today():
        raise ValidationError("The closing day has passed: choose today or a later day.", field="closes_on")
    if data.closes_on > today() + timedelta(days=MAX_DAYS_OPEN):
        raise ValidationError("A consultation closes within a year.", field="closes_on")


def _write(row: Consultation, data: ConsultationIn) -> None:
    row.title = data.title.strip()
    row.intro = data.intro.strip()
    row.questions = _questions(data)
    row.filters = msgspec.to_builtins(data.filters)
    row.closes_on = data.closes_on


async def create(session: AsyncSession, actor: Actor, data: ConsultationIn) -> Consultation:
    scope = await scope_of(session, actor)  # who may not see the map may not ask either
    _check(data)
    row = Consultation(
        organisation_id=None if policy.is_admin(actor) else actor.organisation_id,
        created_by_id=actor.id,
        scope_country=scope.origin_country,
        scope_municipality=scope.origin_municipality,
        status=ConsultationStatus.DRAFT.value,
        invited=0,
    )
    _write(row, data)
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action="consultation.created",
        entity_type="consultation",
        entity_id=row.id,
    )
    return row


async def _managed(session: AsyncSession, actor: Actor, consultation_id: uuid.UUID) -> Consultation:
    row = await session.get(Consultation, consultation_id)
    if row is None or not manages(actor, row):
        raise NotFoundError("Consultation not found.")
    return row


async def change(
    session: AsyncSession, actor: Actor, consultation_id: uuid.UUID, data: ConsultationIn
) -> Consultation:
    """A draft is changed at will; once open, its questions are what members answer, so they stay."""
    row = await _managed(session, actor, consultation_id)
    if row.status != ConsultationStatus.DRAFT.value:
        raise ConflictError("Only a draft can be changed: this consultation has been opened.")
    _check(data)
    _write(row, data)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action="consultation.changed",
        entity_type="consultation",
        entity_id=row.id,
    )
    return row


async def delete_draft(session: AsyncSession, actor: Actor, consultation_id: uuid.UUID) -> None:
    row = await _managed(session, actor, consultation_id)
    if row.status != ConsultationStatus.DRAFT.value:
        raise ConflictError("Only a draft can be deleted; close an open consultation instead.")
    await session.delete(row)
    audit.record(
        session,
        actor_id=actor.id,
        action="consultation.deleted",
        entity_type="consultation",
        entity_id=consultation_id,
    )


async def audience(session: AsyncSession, row: Consultation, *, profile_id: uuid.UUID | None = None) -> int:
    """How many members the consultation reaches now (or whether one member is among them)."""
    members, _windows = await select_members(
        session,
        scope_of_row(row),
        filters_of_row(row),
        today=today(),
        profile_id=profile_id,
        consultable=True,
    )
    return len(members)


async def open_consultation(
    session: AsyncSession, actor: Actor, consultation_id: uuid.UUID, *, public_url: str
) -> Consultation:
    """Open a draft and mail each member it reaches, once: the draft-to-open change is one conditional
    statement, so two clicks at once open it (and mail) once."""
    row = await _managed(session, actor, consultation_id)
    if row.status != ConsultationStatus.DRAFT.value:
        raise ConflictError("This consultation has already been opened.")
    if row.closes_on < today():
        raise ConflictError("Its closing day has passed: choose a later one before opening it.")
    opened = await session.execute(
        update(Consultation)
        .where(Consultation.id == row.id, Consultation.status == ConsultationStatus.DRAFT.value)
        .values(status=ConsultationStatus.OPEN.value, opened_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not opened.rowcount:  # type: ignore[attr-defined]
        raise ConflictError("This consultation has already been opened.")
    await session.refresh(row)
    members, _windows = await select_members(
        session, scope_of_row(row), filters_of_row(row), today=today(), consultable=True
    )
    ids = [m.id for m in members]
    asker = await _asked_by(session, row) or "The diaspora platform"
    link = f"{public_url.rstrip('/')}/consultations/{row.id}"
    for start in range(0, len(ids), 500):
        people = await session.execute(
            select(Account.email, Account.display_name)
            .join(Profile, Profile.account_id == Account.id)
            .where(Profile.id.in_(ids[start : start + 500]))
        )
        for email, name in people:
            enqueue_mail(
                session,
                to=email,
                key=f"consultation:{row.id}",
                subject=f"Consultation: {row.title}",
                body=(
                    f"Hello {name},\n\n"
                    f"{asker} asks members of the diaspora for their views: '{row.title}' "
                    f"({len(row.questions)} question{'s' if len(row.questions) != 1 else ''}).\n\n"
                    f"Answer here until {row.closes_on:%d %B %Y}: {link}\n"
                    "Your answers are shown to the organisers only as totals, and what you write without "
                    "your name.\n\n"
                    "You receive this because you agreed to be consulted; untick it in your profile to "
                    "receive no more.\n"
                ),
            )
    row.invited = len(ids)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action="consultation.opened",
        entity_type="consultation",
        entity_id=row.id,
        invited=len(ids),
    )
    return row


async def close(session: AsyncSession, actor: Actor, consultation_id: uuid.UUID) -> Consultation:
    row = await _managed(session, actor, consultation_id)
    if status_of(row) == ConsultationStatus.DRAFT.value:
        raise ConflictError("A draft is not open: delete it instead.")
    if row.status == ConsultationStatus.OPEN.value:
        row.status = ConsultationStatus.CLOSED.value
        row.closed_at = utcnow()
        await session.flush()
        audit.record(
            session,
            actor_id=actor.id,
            action="consultation.closed",
            entity_type="consultation",
            entity_id=row.id,
        )
    return row


async def organised_by(session: AsyncSession, actor: Actor) -> list[Consultation]:
    """The consultations an organiser manages, newest first (admins: all)."""
    if not policy.may_see_map(actor):
        raise PermissionDeniedError(policy.why_no_map(actor))
    query = select(Consultation).order_by(Consultation.created_at.desc())
    if not policy.is_admin(actor):
        query = query.where(Consultation.organisation_id == actor.organisation_id)
    return list((await session.scalars(query)).all())


async def _own_profile_id(session: AsyncSession, actor: Actor) -> uuid.UUID | None:
    if not policy.is_member(actor):
        return None
    return await session.scalar(select(Profile.id).where(Profile.account_id == actor.id))


async def _response(
    session: AsyncSession, consultation_id: uuid.UUID, profile_id: uuid.UUID
) -> ConsultationResponse | None:
    return await session.scalar(
        select(ConsultationResponse).where(
            ConsultationResponse.consultation_id == consultation_id,
            ConsultationResponse.profile_id == profile_id,
        )
    )


async def _asks(session: AsyncSession, row: Consultation, profile_id: uuid.UUID) -> bool:
    """Whether the member may answer: it reaches them now, or they answered it already."""
    if row.status == ConsultationStatus.DRAFT.value:
        return False
    if await _response(session, row.id, profile_id) is not None:
        return True
    return await audience(session, row, profile_id=profile_id) > 0


async def get_consultation(
    session: AsyncSession, actor: Actor | None, consultation_id: uuid.UUID
) -> Consultation:
    """For its organisers, and for the members it asks; anyone else finds nothing there."""
    row = await session.get(Consultation, consultation_id)
    if row is None:
        raise NotFoundError("Consultation not found.")
    if manages(actor, row):
        return row
    profile_id = await _own_profile_id(session, actor) if actor else None
    if profile_id is None or not await _asks(session, row, profile_id):
        raise NotFoundError("Consultation not found.")
    return row


async def for_member(session: AsyncSession, actor: Actor) -> list[tuple[Consultation, bool]]:
    """The open consultations that ask this member, each with whether they have answered it."""
    profile_id = await _own_profile_id(session, actor)
    if profile_id is None:
        return []
    rows = (
        await session.scalars(
            select(Consultation)
            .where(Consultation.status == ConsultationStatus.OPEN.value, Consultation.closes_on >= today())
            .order_by(Consultation.closes_on, Consultation.created_at)
        )
    ).all()
    answered = set(
        (
            await session.scalars(
                select(ConsultationResponse.consultation_id).where(
                    ConsultationResponse.profile_id == profile_id,
                    ConsultationResponse.consultation_id.in_([r.id for r in rows]),
                )
            )
        ).all()
    )
    found = []
    for row in rows:
        if row.id in answered or await audience(session, row, profile_id=profile_id):
            found.append((row, row.id in answered))
    return found


def _normalised(question: dict[str, Any], value: Answer) -> Answer | None:
    """The answer as stored, None for "not answered", or a ValidationError naming the question."""
    key, kind = question["key"], question["kind"]
    options = len(question["options"])
    if kind == QuestionKind.SINGLE.value:
        if not isinstance(value, int) or not 0 <= value < options:
            raise ValidationError(f"Choose one of the {options} options.", field=key)
        return value
    if kind == QuestionKind.MULTIPLE.value:
        if not isinstance(value, list) or any(not 0 <= v < options for v in value):
            raise ValidationError(f"Choose among the {options} options.", field=key)
        return sorted(set(value)) or None
    if kind == QuestionKind.SCALE.value:
        if not isinstance(value, int) or not 1 <= value <= question["scale_max"]:
            raise ValidationError(f"Choose a point from 1 to {question['scale_max']}.", field=key)
        return value
    if not isinstance(value, str):
        raise ValidationError("Write your answer as text.", field=key)
    try:
        text = clean_text(value, key).strip()
    except ValueError as exc:
        raise ValidationError(str(exc), field=key) from exc
    if len(text) > MAX_TEXT_ANSWER:
        raise ValidationError(f"At most {MAX_TEXT_ANSWER} characters.", field=key)
    return text or None


def check_answers(row: Consultation, data: ResponseIn) -> dict[str, Answer]:
    questions = {q["key"]: q for q in row.questions}
    unknown = sorted(set(data.answers) - set(questions))
    if unknown:
        raise ValidationError(f"No such question: {', '.join(unknown)}.", field=unknown[0])
    answers: dict[str, Answer] = {}
    for key, question in questions.items():
        value = _normalised(question, data.answers[key]) if key in data.answers else None
        if value is None:
            if question["required"]:
                raise ValidationError("This question needs an answer.", field=key)
            continue
        answers[key] = value
    if not answers:
        raise ValidationError("Answer at least one question.")
    return answers


async def respond(
    session: AsyncSession, actor: Actor, consultation_id: uuid.UUID, data: ResponseIn
) -> MyResponseOut:
    """Answer, or change one's answers, while the consultation is open (one response per member)."""
    row = await get_consultation(session, actor, consultation_id)
    profile_id = await _own_profile_id(session, actor)
    if profile_id is None:
        raise PermissionDeniedError("Consultations are answered by members.")
    if status_of(row) != ConsultationStatus.OPEN.value:
        raise ConflictError("This consultation is closed: answers can no longer be given or changed.")
    answers = check_answers(row, data)
    now = utcnow()
    new = {"id": new_id(), "consultation_id": row.id, "profile_id": profile_id, "created_at": now}
    await upsert(
        session,
        ConsultationResponse,
        [{**new, "answers": answers, "updated_at": now}],
        key=["consultation_id", "profile_id"],
        update=["answers", "updated_at"],
    )
    audit.record(
        session,
        actor_id=actor.id,
        action="consultation.answered",
        entity_type="consultation",
        entity_id=row.id,
    )
    return MyResponseOut(consultation_id=row.id, answers=answers, updated_at=now)


async def my_response(
    session: AsyncSession, actor: Actor, consultation_id: uuid.UUID
) -> MyResponseOut | None:
    row = await get_consultation(session, actor, consultation_id)
    profile_id = await _own_profile_id(session, actor)
    found = await _response(session, row.id, profile_id) if profile_id else None
    if found is None:
        return None
    return MyResponseOut(consultation_id=row.id, answers=dict(found.answers), updated_at=found.updated_at)


async def responses_of(session: AsyncSession, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """A member's answers with the questions they answer, for their data export."""
    rows = await session.execute(
        select(ConsultationResponse, Consultation)
        .join(Consultation, Consultation.id == ConsultationResponse.consultation_id)
        .join(Profile, Profile.id == ConsultationResponse.profile_id)
        .where(Profile.account_id == account_id)
        .order_by(ConsultationResponse.updated_at)
    )
    return [
        {
            "consultation": c.title,
            "questions": {q["key"]: q["prompt"] for q in c.questions},
            "answers": dict(r.answers),
            "updated_at": r.updated_at,
        }
        for r, c in rows.all()
    ]


async def _asked_by(session: AsyncSession, row: Consultation) -> str | None:
    """The asking organisation's name; None for the platform's own (an admin's) consultations."""
    if row.organisation_id is None:
        return None
    organisation = await session.get(Organisation, row.organisation_id)
    return organisation.name if organisation else None


def _hidden_under(n: int, min_cell: int) -> int | None:
    return n if n >= min_cell else None


async def consultation_out(
    session: AsyncSession, actor: Actor | None, row: Consultation, *, min_cell: int
) -> ConsultationOut:
    out = ConsultationOut(
        id=row.id,
        title=row.title,
        intro=row.intro,
        questions=[msgspec.convert(q, QuestionOut) for q in row.questions],
        status=status_of(row),
        closes_on=row.closes_on,
        asked_by=await _asked_by(session, row),
        opened_at=row.opened_at,
        created_at=row.created_at,
    )
    if manages(actor, row):
        out.filters = filters_of_row(row)
        out.scope = scope_of_row(row)
        out.invited = row.invited if row.opened_at else None
        if out.status != ConsultationStatus.CLOSED.value:
            out.audience = _hidden_under(await audience(session, row), min_cell)
        out.respondents = _hidden_under(await _respondents(session, row.id), min_cell)
    else:
        profile_id = await _own_profile_id(session, actor) if actor else None
        out.answered = bool(profile_id and await _response(session, row.id, profile_id))
    return out


async def _respondents(session: AsyncSession, consultation_id: uuid.UUID) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(ConsultationResponse)
        .where(ConsultationResponse.consultation_id == consultation_id)
    )
    return int(found or 0)


# -- results -------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()./-]{6,}\d")
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


def without_names(text: str, name: str) -> str:
    """A free-text answer as its organisers see it: the writer's own name, e-mail addresses, phone
    numbers and links taken out (people sign what they write)."""
    text = _EMAIL.sub("[…]", text)
    text = _LINK.sub("[…]", text)
    text = _PHONE.sub("[…]", text)
    for part in sorted({p for p in re.split(r"[\s.,'-]+", name) if len(p) >= 3}, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(part)}\b", "[…]", text, flags=re.IGNORECASE)
    return text


def _in_order(cells: list[Cell], keys: list[str], labels: list[str]) -> list[Cell]:
    found = {cell.key: cell for cell in cells}
    return [
        Cell(key=key, count=found[key].count if key in found else 0, label=label)
        for key, label in zip(keys, labels, strict=True)
    ]


def question_result(
    question: dict[str, Any], given: list[tuple[Answer, str]], min_cell: int
) -> QuestionResult:
    """One question's results from its answers (each with its writer's name, for taking it out)."""
    kind = question["kind"]
    result = QuestionResult(
        key=question["key"],
        kind=kind,
        prompt=question["prompt"],
        answered=_hidden_under(len(given), min_cell),
    )
    if result.answered is None:
        return result
    if kind == QuestionKind.TEXT.value:
        texts = [without_names(str(value), name) for value, name in given]
        result.texts = sorted(texts, key=lambda t: (t.casefold(), t))
        return result
    if kind == QuestionKind.SCALE.value:
        keys = [str(v) for v in range(1, question["scale_max"] + 1)]
        labels = keys
        counts = Counter(str(value) for value, _ in given)
        result.mean = round(fmean(int(value) for value, _ in given), 2)  # type: ignore[arg-type]
    else:
        keys = [str(i) for i in range(len(question["options"]))]
        labels = list(question["options"])
        if kind == QuestionKind.MULTIPLE.value:
            counts = Counter(str(v) for value, _ in given for v in value)  # type: ignore[union-attr]
        else:
            counts = Counter(str(value) for value, _ in given)
    partition = kind != QuestionKind.MULTIPLE.value  # each answer in one group, the total shown
    result.cells = _in_order(suppress(counts, min_cell, partition=partition), keys, labels)
    return result


async def results(
    session: AsyncSession, actor: Actor, consultation_id: uuid.UUID, *, min_cell: int
) -> ResultsOut:
    row = await _managed(session, actor, consultation_id)
    answered = (
        await session.execute(
            select(ConsultationResponse.answers, Account.display_name)
            .join(Profile, Profile.id == ConsultationResponse.profile_id)
            .join(Account, Account.id == Profile.account_id)
            .where(ConsultationResponse.consultation_id == row.id)
        )
    ).all()
    respondents = _hidden_under(len(answered), min_cell)
    questions = []
    for question in row.questions:
        given = (
            [(answers[question["key"]], name) for answers, name in answered if question["key"] in answers]
            if respondents is not None
            else []
        )
        questions.append(question_result(question, given, min_cell))
    return ResultsOut(
        consultation_id=row.id,
        title=row.title,
        status=status_of(row),
        min_cell=min_cell,
        respondents=respondents,
        questions=questions,
    )


def rows_of(board: ResultsOut) -> list[list[Any]]:
    """The results as a table, for CSV and XLSX: one row per choice or scale point, one per text."""
    hidden = f"<{board.min_cell}"
    rows: list[list[Any]] = [["question", "prompt", "kind", "answer", "count", "mean"]]
    rows.append(
        ["respondents", "", "", "", board.respondents if board.respondents is not None else hidden, ""]
    )
    for q in board.questions:
        if q.answered is None:
            rows.append([q.key, q.prompt, q.kind, "", hidden, ""])
            continue
        rows.append([q.key, q.prompt, q.kind, "(answered)", q.answered, q.mean if q.mean is not None else ""])
        for cell in q.cells:
            rows.append(
                [q.key, q.prompt, q.kind, cell.label or cell.key, hidden if cell.hidden else cell.count, ""]
            )
        for text in q.texts:
            rows.append([q.key, q.prompt, q.kind, text, "", ""])
    return rows


def closing_day_default() -> date:
    return today() + timedelta(days=21)
