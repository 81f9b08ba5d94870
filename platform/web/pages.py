"""Server-rendered pages: cookie sessions live here, behind CSRF protection; the API uses bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.accounts import recovery
from diaspora.platform.accounts import services as accounts
from diaspora.platform.accounts.schemas import NewPasswordIn, RegistrationIn
from diaspora.platform.core.auth import SESSION_COOKIE
from diaspora.platform.core.errors import DomainError
from diaspora.platform.core.guards import provide_optional_actor
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.ratelimit import RATE_LIMITED, STORE_NAME
from diaspora.platform.core.timing import no_sooner_than
from diaspora.platform.db.models import Account, Incentive, OpportunityKind, Sector
from diaspora.platform.search.controllers import run_search
from diaspora.platform.search.sync import SearchSync
from diaspora.platform.settings import Settings
from diaspora.platform.stories import services as stories
from diaspora.platform.web import i18n
from diaspora.platform.web.forms import form_of, submit
from diaspora.platform.web.i18n import gettext as _

HOME_BY_ROLE = {"member": "/me", "organisation_staff": "/org", "ministry": "/campaigns"}


def labels() -> dict[str, str]:
    """Display names of the codes shown in pages, in the current language."""
    return {
        OpportunityKind.INVESTMENT.value: _("Investment"),
        OpportunityKind.VOLUNTEERING.value: _("Volunteering"),
        Sector.HEALTH.value: _("Health"),
        Sector.EDUCATION.value: _("Education"),
        Sector.RESEARCH.value: _("Research"),
        Sector.IT.value: _("IT"),
        Sector.ENGINEERING.value: _("Engineering"),
        Sector.ENERGY.value: _("Energy"),
        Sector.AGRICULTURE.value: _("Agriculture"),
        Sector.TOURISM.value: _("Tourism"),
        Sector.MANUFACTURING.value: _("Manufacturing"),
        Sector.FINANCE.value: _("Finance"),
        Sector.PUBLIC_ADMINISTRATION.value: _("Public administration"),
        Sector.CULTURE.value: _("Culture"),
        Sector.SOCIAL.value: _("Social"),
        Sector.ENVIRONMENT.value: _("Environment"),
        Sector.OTHER.value: _("Other"),
        "skill_need": _("Skill need"),
        "short_term_return": _("Short-term return"),
        "onsite": _("On site"),
        "remote": _("Remote"),
        "hybrid": _("Hybrid"),
        "paid": _("Paid"),
        "volunteer": _("Volunteer"),
        **incentive_labels(),
    }


def incentive_labels() -> dict[str, str]:
    return {
        Incentive.TRAVEL.value: _("Travel paid"),
        Incentive.ACCOMMODATION.value: _("Accommodation"),
        Incentive.STIPEND.value: _("Stipend"),
        Incentive.SUBSIDY.value: _("Subsidy programme"),
        Incentive.INSURANCE.value: _("Insurance"),
    }


def _safe_next(value: str | None) -> str | None:
    # Only paths of this site: never an open redirect to another host.
    return value if value and value.startswith("/") and not value.startswith("//") else None


async def _start_session(
    db_session: AsyncSession, settings: Settings, account: Account, target: str
) -> Redirect:
    ttl = timedelta(hours=settings.session_ttl_hours)
    token, _session = await accounts.open_session(db_session, account, kind="cookie", ttl=ttl)
    response = Redirect(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    return response


class PageController(Controller):
    include_in_schema = False
    dependencies = {"maybe_user": Provide(provide_optional_actor)}

    @get("/")
    async def home(
        self, db_session: NamedDependency[AsyncSession], maybe_user: NamedDependency[Actor | None]
    ) -> Template:
        rows, _total = await stories.list_stories(db_session, maybe_user, limit=3)
        return Template(
            "home.html", context={"user": maybe_user, "stories": [stories.story_out(s) for s in rows]}
        )

    @get("/login")
    async def login_form(
        self,
        maybe_user: NamedDependency[Actor | None],
        next: FromQuery[str | None] = None,
        password_set: FromQuery[bool] = False,
    ) -> Template:
        notice = _("Your password is set. Log in with it.") if password_set else None
        context = {"user": maybe_user, "email": "", "error": None, "next": next, "notice": notice}
        return Template("login.html", context=context)

    @get("/forgot-password")
    async def forgot_form(self, maybe_user: NamedDependency[Actor | None]) -> Template:
        return Template("forgot_password.html", context={"user": maybe_user, "sent": False})

    @post("/forgot-password", status_code=200, opt={RATE_LIMITED: True})
    async def forgot(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> Template:
        form = await form_of(request)
        async with no_sooner_than(settings.anonymous_answer_floor_ms):
            await recovery.request_reset(db_session, settings, str(form.get("email") or "")[:254])
            await db_session.commit()
        return Template("forgot_password.html", context={"user": None, "sent": True})

    @get("/verify-email")
    async def verify_form(self, token: FromQuery[str] = "") -> Template:
        # Opening the link changes nothing (mail scanners open links too): the person confirms below.
        return Template("verify_email.html", context={"user": None, "token": token[:128], "error": None})

    @post("/verify-email", status_code=200, opt={RATE_LIMITED: True})
    async def verify(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        form = await form_of(request)
        token, password = str(form.get("token") or "")[:128], str(form.get("password") or "")[:128]
        try:
            account = await recovery.confirm_email(db_session, token, password)
        except DomainError as exc:
            wrong_password = exc.field == "password"
            error = (
                _("The password is not the one you chose when you registered.")
                if wrong_password
                else _("This link is invalid, used or expired. Log in to get a new one.")
            )
            return Template(
                "verify_email.html",
                context={"user": None, "token": token if wrong_password else "", "error": error},
                status_code=400,
            )
        return await _start_session(db_session, settings, account, HOME_BY_ROLE.get(account.role, "/"))

    @get("/reset-password")
    async def reset_form(self, token: FromQuery[str] = "") -> Template:
        return Template("reset_password.html", context={"user": None, "token": token[:128], "error": None})

    @post("/reset-password", status_code=200, opt={RATE_LIMITED: True})
    async def reset(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template | Redirect:
        form = await form_of(request)
        token, password = str(form.get("token") or "")[:128], str(form.get("password") or "")
        error = None
        if password != str(form.get("repeat") or ""):
            error = _("The two passwords differ.")
        else:
            done = await submit(
                NewPasswordIn,
                {"token": token, "password": password},
                lambda data: recovery.set_password(db_session, data.token, data.password),
            )
            if done.ok:
                response = Redirect("/login?password_set=true", status_code=303)
                response.delete_cookie(SESSION_COOKIE)
                return response
            # A refused token says nothing more than that; a password too short says so.
            error = (
                _("Choose a password of at least 10 characters.")
                if "password" in done.errors
                else _("This link is invalid, used or expired; ask for a new one.")
            )
        return Template(
            "reset_password.html", context={"user": None, "token": token, "error": error}, status_code=400
        )

    @post("/login", status_code=200, opt={RATE_LIMITED: True})
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        data = await form_of(request)
        email = str(data.get("email") or "").strip()
        store = request.app.stores.get(STORE_NAME)
        try:
            account = await accounts.sign_in(
                db_session, store, settings, email, str(data.get("password") or "")
            )
        except accounts.EmailNotConfirmedError:
            # The right password: saying so tells nothing to someone who did not know it.
            context = {
                "user": None,
                "email": email,
                "error": _("Confirm your email address first: open the link we sent to it."),
                "notice": _("No mail? Log in again after ten minutes and we send a new link."),
                "next": data.get("next"),
            }
            return Template("login.html", context=context, status_code=403)
        if account is None:
            return Template(
                "login.html",
                context={
                    "user": None,
                    "email": email,
                    "error": _("Email or password is wrong."),
                    "next": data.get("next"),
                },
                status_code=401,
            )
        target = _safe_next(str(data.get("next") or "")) or HOME_BY_ROLE.get(account.role, "/")
        return await _start_session(db_session, settings, account, target)

    @get("/register")
    async def register_form(self, maybe_user: NamedDependency[Actor | None]) -> Template:
        return Template("register.html", context={"user": maybe_user, "form": {}, "errors": {}})

    @post("/register", status_code=200, opt={RATE_LIMITED: True})
    async def register(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect:
        form = await form_of(request)
        fields = {k: str(form.get(k) or "").strip() for k in ("email", "display_name", "role")}
        fields["role"] = fields["role"] or "member"

        async def register(data: RegistrationIn) -> RegistrationIn:
            async with no_sooner_than(settings.anonymous_answer_floor_ms):
                await accounts.register(db_session, settings, data)
                await db_session.commit()
            return data

        registered = await submit(
            RegistrationIn, {**fields, "password": str(form.get("password") or "")}, register
        )
        if registered.result is not None:
            # The same page whether or not the address had an account: its owner's inbox says which.
            context = {"user": None, "form": {"email": registered.result.email}, "errors": {}, "sent": True}
            return Template("register.html", context=context)
        return Template(
            "register.html",
            context={"user": None, "form": fields, "errors": registered.errors},
            status_code=400,
        )

    @post("/logout", status_code=303)
    async def logout(
        self, db_session: NamedDependency[AsyncSession], maybe_user: NamedDependency[Actor | None]
    ) -> Redirect:
        if maybe_user is not None:
            await accounts.close_session(db_session, maybe_user.session_id)
        response = Redirect("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @post("/language", status_code=303)
    async def language(self, request: Request[Any, Any, Any]) -> Redirect:
        data = await form_of(request)
        chosen = str(data.get("lang") or "")
        referer = request.headers.get("referer", "/")
        back = "/" + referer.split("://", 1)[-1].split("/", 1)[-1] if "://" in referer else "/"
        response = Redirect(_safe_next(back) or "/", status_code=303)
        if chosen in i18n.LANGUAGES:
            response.set_cookie(i18n.COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        return response

    @get("/opportunities")
    async def opportunities(
        self,
        request: Request[Any, Any, Any],
        maybe_user: NamedDependency[Actor | None],
        search: NamedDependency[SearchSync],
    ) -> Template:
        facets = [("kind", _("Kind")), ("sector", _("Sector")), ("country", _("Country"))]
        return await _discovery(request, maybe_user, search, "opportunities", facets)

    @get("/posts")
    async def posts(
        self,
        request: Request[Any, Any, Any],
        maybe_user: NamedDependency[Actor | None],
        search: NamedDependency[SearchSync],
    ) -> Template:
        facets = [
            ("kind", _("Kind")),
            ("country", _("Country")),
            ("mode", _("Work mode")),
            ("incentives", _("Incentives")),
        ]
        return await _discovery(request, maybe_user, search, "posts", facets)


async def _discovery(
    request: Request[Any, Any, Any],
    user: Actor | None,
    search: SearchSync,
    index: str,
    facet_titles: list[tuple[str, str]],
) -> Template:
    """Discovery: the form's fields are the search API's parameters: every search is a shareable URL."""
    params = {k: [v for v in request.query_params.getall(k) if v != ""] for k in request.query_params}
    partial = params.pop("partial", None) is not None
    params = {k: v for k, v in params.items() if v}
    params["facets"] = [",".join(name for name, _title in facet_titles)]
    error, result = None, None
    try:
        _q, result = await run_search(search, index, params)
    except ValidationException as exc:  # a bad parameter in a hand-edited URL: say so, show no results
        error = _("This search cannot be run: %(reason)s", reason=exc.detail)

    def page_query(page: int) -> str:
        pairs = [(k, v) for k, values in params.items() if k not in ("facets", "page") for v in values]
        return urlencode([*pairs, ("page", str(page))])

    context = {
        "user": user,
        "params": request.query_params,
        "result": result,
        "error": error,
        "facets": result.facets if result else {},
        "facet_titles": facet_titles,
        "labels": labels(),
        "page_query": page_query,
    }
    # `{index}.html` is the page; `{index}_results.html` the part that search-as-you-type replaces.
    return Template(f"{index}_results.html" if partial else f"{index}.html", context=context)
