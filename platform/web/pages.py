"""Server-rendered pages: cookie sessions live here, behind CSRF protection; the API uses bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.accounts import services as accounts
from diaspora.platform.core.auth import SESSION_COOKIE, CurrentUser, provide_optional_user
from diaspora.platform.settings import Settings

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class PageController(Controller):
    include_in_schema = False
    dependencies = {"maybe_user": Provide(provide_optional_user)}

    @get("/")
    async def home(self, maybe_user: NamedDependency[CurrentUser | None]) -> Template:
        return Template("home.html", context={"user": maybe_user})

    @get("/login")
    async def login_form(self, maybe_user: NamedDependency[CurrentUser | None]) -> Template:
        return Template("login.html", context={"user": maybe_user, "email": "", "error": None})

    @post("/login", status_code=200)
    async def login(
        self, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], data: FormData
    ) -> Template | Redirect:
        email = (data.get("email") or "").strip()
        account = await accounts.authenticate(db_session, email, data.get("password") or "")
        if account is None:
            return Template(
                "login.html",
                context={"user": None, "email": email, "error": "Email or password is wrong."},
                status_code=401,
            )
        ttl = timedelta(hours=settings.session_ttl_hours)
        token, _ = await accounts.open_session(db_session, account, kind="cookie", ttl=ttl)
        response = Redirect("/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(ttl.total_seconds()),
            httponly=True,
            secure=settings.cookie_secure,
            samesite="lax",
        )
        return response

    @post("/logout", status_code=303)
    async def logout(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[CurrentUser | None],
        request: Request[Any, Any, Any],
    ) -> Redirect:
        if maybe_user is not None:
            await accounts.close_session(db_session, maybe_user.session_id)
        response = Redirect("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response
