"""The member's pages: profile editor, recommendations with reasons, invitations, data export, erasure."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.accounts import services as accounts
from diaspora.platform.campaigns import invitations
from diaspora.platform.campaigns.schemas import AnswerIn
from diaspora.platform.consultations import services as consultations
from diaspora.platform.core.auth import SESSION_COOKIE
from diaspora.platform.core.guards import provide_actor, requires_login, requires_member
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import AvailabilityMode, LanguageLevel, Profile
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.matches.services import (
    choose_occupation,
    occupation_choice,
    recommendations_for_member,
)
from diaspora.platform.posts.interests import answer_interest, my_interests
from diaspora.platform.profiles import services as profiles
from diaspora.platform.profiles.schemas import DEFAULT_VISIBLE_FIELDS, VISIBLE_FIELDS, ProfileIn
from diaspora.platform.web.forms import form_of, listed, submit
from diaspora.platform.web.i18n import gettext as _

LANGUAGE_ROWS = 4
AVAILABILITY_ROWS = 2


def visible_field_help() -> dict[str, str]:
    """What each consent switch means, in plain words."""
    return {
        "name": _("Your name"),
        "headline": _("Your headline (e.g. 'Cardiologist in Munich')"),
        "summary": _("Your summary"),
        "residence_country": _("Where you live (country and town)"),
        "origin": _("Where you come from (country and town)"),
        "languages": _("The languages you speak"),
        "years_experience": _("Your years of experience"),
        "sectors": _("Your sectors"),
        "skills": _("Your skills"),
        "credentials": _("Your diplomas and licences"),
        "availability": _("When and how you are available"),
    }


def mode_labels() -> dict[str, str]:
    return {
        AvailabilityMode.ONSITE_RETURN.value: _("Come back on site for a while"),
        AvailabilityMode.REMOTE.value: _("Work remotely"),
        AvailabilityMode.VOLUNTEER.value: _("Volunteer"),
        AvailabilityMode.INVEST.value: _("Invest"),
    }


def form_from_profile(profile: Profile | None) -> dict[str, Any]:
    if profile is None:
        return {
            "visible": list(DEFAULT_VISIBLE_FIELDS),
            "open_to_matching": True,
            "open_to_contact": False,
            "open_to_consultations": False,
        }
    form: dict[str, Any] = {
        "headline": profile.headline,
        "summary": profile.summary,
        "residence_country": profile.residence_country or "",
        "residence_city": profile.residence_city or "",
        "origin_country": profile.origin_country or "",
        "origin_municipality": profile.origin_municipality or "",
        "years_experience": "" if profile.years_experience is None else str(profile.years_experience),
        "skills": "\n".join(s.name for s in profile.skills),
        "credentials": "\n".join(
            "; ".join(str(v) if v is not None else "" for v in (c.title, c.issuer, c.country, c.year)).rstrip(
                "; "
            )
            for c in profile.credentials
        ),
    }
    for i, language in enumerate(profile.languages[:LANGUAGE_ROWS]):
        form[f"language_{i}"], form[f"level_{i}"] = language.code, language.level
    for i, window in enumerate(profile.availability[:AVAILABILITY_ROWS]):
        form[f"start_{i}"], form[f"end_{i}"] = window.start_date.isoformat(), window.end_date.isoformat()
        form[f"modes_{i}"] = list(window.modes)
        form[f"hours_{i}"] = "" if window.hours_per_week is None else str(window.hours_per_week)
    consent = profile.consent
    form["visible"] = (
        profiles.decode_visible_fields(consent.visible_fields) if consent else list(DEFAULT_VISIBLE_FIELDS)
    )
    form["open_to_matching"] = bool(consent and consent.open_to_matching)
    form["open_to_contact"] = bool(consent and consent.open_to_contact)
    form["open_to_consultations"] = bool(consent and consent.open_to_consultations)
    return form


def _credential(line: str) -> dict[str, Any]:
    """`title; issuer; country; year`, the later parts optional."""
    title, issuer, country, year = ([part.strip() for part in line.split(";")] + ["", "", ""])[:4]
    credential: dict[str, Any] = {"title": title}
    if issuer:
        credential["issuer"] = issuer
    if country:
        credential["country"] = country.upper()
    if year:
        credential["year"] = int(year) if year.isdigit() else year
    return credential


def profile_body(form: dict[str, Any]) -> dict[str, Any]:
    """The form as the API's profile body; empty fields are left out (so they are 'not given')."""

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    body: dict[str, Any] = {"headline": text("headline"), "summary": text("summary")}
    for name in ("residence_country", "origin_country"):
        if text(name):
            body[name] = text(name).upper()
    for name in ("residence_city", "origin_municipality"):
        if text(name):
            body[name] = text(name)
    if text("years_experience"):
        body["years_experience"] = (
            int(text("years_experience")) if text("years_experience").isdigit() else text("years_experience")
        )
    skills = [line.strip() for chunk in text("skills").splitlines() for line in chunk.split(";")]
    body["skills"] = [{"name": s} for s in dict.fromkeys(s for s in skills if s)]
    body["languages"] = [
        {"code": text(f"language_{i}").lower(), "level": text(f"level_{i}")}
        for i in range(LANGUAGE_ROWS)
        if text(f"language_{i}")
    ]
    windows = []
    for i in range(AVAILABILITY_ROWS):
        if text(f"start_{i}") or text(f"end_{i}"):
            window: dict[str, Any] = {
                "start_date": text(f"start_{i}"),
                "end_date": text(f"end_{i}"),
                "modes": listed(form.get(f"modes_{i}")),
            }
            if text(f"hours_{i}"):
                window["hours_per_week"] = (
                    int(text(f"hours_{i}")) if text(f"hours_{i}").isdigit() else text(f"hours_{i}")
                )
            windows.append(window)
    body["availability"] = windows
    if "credentials" in form:
        body["credentials"] = [_credential(line) for line in text("credentials").splitlines() if line.strip()]
    body["consent"] = {
        "visible_fields": [v for v in listed(form.get("visible")) if v in VISIBLE_FIELDS],
        "open_to_matching": form.get("open_to_matching") == "on",
        "open_to_contact": form.get("open_to_contact") == "on",
        "open_to_consultations": form.get("open_to_consultations") == "on",
    }
    return body


def keep_unedited(body: dict[str, Any], current: Profile | None) -> dict[str, Any]:
    """Saving replaces the whole profile: carry over what this page does not edit (sectors, credentials
    when the form has no such field, and each kept skill's level and taxonomy link), so that nothing is
    lost by saving here."""
    if current is None:
        return body
    body["sectors"] = list(current.sectors)
    if "credentials" in body:
        return _keep_skill_details(body, current)
    body["credentials"] = [
        {
            k: v
            for k, v in {"title": c.title, "issuer": c.issuer, "country": c.country, "year": c.year}.items()
            if v is not None
        }
        for c in current.credentials
    ]
    return _keep_skill_details(body, current)


def _keep_skill_details(body: dict[str, Any], current: Profile) -> dict[str, Any]:
    known = {s.name.casefold(): s for s in current.skills}
    for skill in body["skills"]:
        previous = known.get(skill["name"].casefold())
        if previous is not None:
            if previous.level:
                skill["level"] = previous.level
            if previous.taxonomy_id:
                skill["taxonomy_id"] = previous.taxonomy_id
    return body


class MemberPages(Controller):
    path = "/me"
    include_in_schema = False
    dependencies = {"user": Provide(provide_actor)}

    async def _page(
        self,
        request: Request[Any, Any, Any],
        session: AsyncSession,
        matching: MatchingEngine,
        user: Actor,
        *,
        form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        saved: FromQuery[bool] = False,
        status_code: int = 200,
    ) -> Template:
        profile = await profiles.load_own_profile(session, user.id, required=False)
        recommendations = occupation = None
        if profile is not None and not errors:
            recommendations = await recommendations_for_member(session, matching, user, limit=10)
            occupation = await occupation_choice(session, matching, user)
        context = {
            "user": user,
            "form": form if form is not None else form_from_profile(profile),
            "errors": errors or {},
            "saved": saved,
            "has_profile": profile is not None,
            "recommendations": recommendations.items if recommendations else [],
            "occupation": occupation,
            "invitations": await invitations.my_invitations(session, user),
            "interests": await my_interests(session, user),
            "consultations": [
                (await consultations.consultation_out(session, user, row, min_cell=0), answered)
                for row, answered in await consultations.for_member(session, user)
            ],
            "visible_help": visible_field_help(),
            "mode_labels": mode_labels(),
            "levels": [level.value for level in LanguageLevel],
            "language_rows": range(LANGUAGE_ROWS),
            "availability_rows": range(AVAILABILITY_ROWS),
        }
        return Template("me.html", context=context, status_code=status_code)

    @get("/", guards=[requires_member])
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
        saved: FromQuery[bool] = False,
    ) -> Template:
        return await self._page(request, db_session, matching, user, saved=saved)

    @post("/profile", status_code=200, guards=[requires_member])
    async def save_profile(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = await form_of(request)
        form["visible"] = listed(form.get("visible"))
        for i in range(AVAILABILITY_ROWS):
            form[f"modes_{i}"] = listed(form.get(f"modes_{i}"))
        current = await profiles.load_own_profile(db_session, user.id, required=False)
        saved = await submit(
            ProfileIn,
            keep_unedited(profile_body(form), current),
            lambda data: profiles.save_profile(db_session, user.id, data, actor_id=user.id),
        )
        if saved.ok:
            return Redirect("/me?saved=true#profile", status_code=303)
        return await self._page(
            request, db_session, matching, user, form=form, errors=saved.errors, status_code=400
        )

    @post("/occupation", status_code=303, guards=[requires_member])
    async def choose_occupation(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
    ) -> Redirect:
        form = await form_of(request)
        uri = str(form.get("uri") or "").strip() or None
        await choose_occupation(db_session, matching, user, uri)
        return Redirect("/me#occupation", status_code=303)

    @post("/invitations/{match_id:uuid}", status_code=303, guards=[requires_member])
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        match_id: FromPath[uuid.UUID],
    ) -> Redirect:
        form = await form_of(request)
        answer = "accept" if form.get("answer") == "accept" else "decline"
        await invitations.answer(db_session, user, match_id, AnswerIn(answer=answer))
        return Redirect("/me#invitations", status_code=303)

    @post("/interests/{interest_id:uuid}", status_code=303, guards=[requires_member])
    async def answer_interest(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        interest_id: FromPath[uuid.UUID],
    ) -> Redirect:
        form = await form_of(request)
        await answer_interest(db_session, user, interest_id, share=form.get("answer") == "share")
        return Redirect("/me#interests", status_code=303)

    @get("/export", guards=[requires_login])
    async def export(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Response[bytes]:
        data = await accounts.export_account(db_session, user.id)
        return Response(
            json.dumps(data, ensure_ascii=False, indent=2, default=str).encode(),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
        )

    @post("/delete", status_code=303, guards=[requires_login])
    async def delete(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = await form_of(request)
        if form.get("confirm") != "on":
            return await self._page(
                request,
                db_session,
                matching,
                user,
                errors={"confirm": _("Tick the box to confirm that everything should be deleted.")},
                status_code=400,
            )
        await accounts.erase_account(db_session, user.id)
        response = Redirect("/?deleted=true", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response
