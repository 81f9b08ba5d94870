from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.accounts import recovery, services
from diaspora.platform.accounts.schemas import (
    AccountOut,
    AccountUpdateIn,
    ConfirmEmailIn,
    LoginIn,
    NewPasswordIn,
    Notice,
    RegistrationIn,
    ResetRequestIn,
    TokenOut,
)
from diaspora.platform.core.guards import provide_actor, requires_login
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.ratelimit import RATE_LIMITED, STORE_NAME
from diaspora.platform.core.timing import no_sooner_than
from diaspora.platform.db.models import Account
from diaspora.platform.settings import Settings

RESET_NOTICE = "If an account has this email, a link to choose a new password is on its way."
REGISTER_NOTICE = "Check your inbox: we have sent a message to this address. Open the link in it to finish."


class AuthController(Controller):
    path = "/api/auth"
    tags = ["accounts"]

    @post(
        "/register",
        status_code=202,
        opt={RATE_LIMITED: True},
        summary="Register an account (member, organisation staff or ministry); a link to confirm the email "
        "is mailed to it. Answers the same for an email that already has an account (its owner is told).",
    )
    async def register(
        self,
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[RegistrationIn],
        settings: NamedDependency[Settings],
    ) -> Notice:
        async with no_sooner_than(settings.anonymous_answer_floor_ms):
            await services.register(db_session, settings, data)
            await db_session.commit()
        return Notice(REGISTER_NOTICE)

    @post(
        "/verify-email",
        status_code=200,
        opt={RATE_LIMITED: True},
        summary="Confirm the email with the mailed link's token and the password chosen at registration; "
        "answers with a bearer token, as a login does",
    )
    async def verify_email(
        self,
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[ConfirmEmailIn],
        settings: NamedDependency[Settings],
    ) -> TokenOut:
        account = await recovery.confirm_email(db_session, data.token, data.password)
        return await self._token_for(db_session, settings, account)

    @post(
        "/login",
        status_code=200,
        opt={RATE_LIMITED: True},
        summary="Exchange email and password for a bearer token",
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[LoginIn],
        settings: NamedDependency[Settings],
    ) -> TokenOut:
        store = request.app.stores.get(STORE_NAME)
        account = await services.sign_in(db_session, store, settings, data.email, data.password)
        if account is None:
            raise NotAuthorizedException("Email or password is wrong.")
        return await self._token_for(db_session, settings, account)

    @staticmethod
    async def _token_for(db_session: AsyncSession, settings: Settings, account: Account) -> TokenOut:
        token, expires_at = await services.open_session(
            db_session, account, kind="api", ttl=timedelta(hours=settings.session_ttl_hours)
        )
        return TokenOut(
            token=token,
            token_type="bearer",  # noqa: S106 - the token scheme's name, not a secret
            expires_at=expires_at,
            account=services.account_out(account),
        )

    @post(
        "/password-reset",
        status_code=202,
        opt={RATE_LIMITED: True},
        summary="Mail a link to choose a new password (answers the same for any email)",
    )
    async def request_reset(
        self,
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[ResetRequestIn],
        settings: NamedDependency[Settings],
    ) -> Notice:
        async with no_sooner_than(settings.anonymous_answer_floor_ms):
            await recovery.request_reset(db_session, settings, data.email)
            await db_session.commit()
        return Notice(RESET_NOTICE)

    @post(
        "/password-reset/confirm",
        status_code=200,
        opt={RATE_LIMITED: True},
        summary="Set a new password with the link's token (single use); every session of the account ends",
    )
    async def confirm_reset(
        self, db_session: NamedDependency[AsyncSession], data: JSONBody[NewPasswordIn]
    ) -> Notice:
        await recovery.set_password(db_session, data.token, data.password)
        return Notice("Your password is set. Log in with it.")

    @post(
        "/logout",
        guards=[requires_login],
        status_code=204,
        summary="Revoke the token used for this call",
        dependencies={"user": Provide(provide_actor)},
    )
    async def logout(self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor]) -> None:
        await services.close_session(db_session, user.session_id)


class MeController(Controller):
    path = "/api/me"
    tags = ["accounts"]
    guards = [requires_login]
    dependencies = {"user": Provide(provide_actor)}

    @get("/", summary="The calling account")
    async def me(self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor]) -> AccountOut:
        return services.account_out(await services.get_account(db_session, user.id))

    @patch("/", summary="Change display name or phone")
    async def update_me(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        data: JSONBody[AccountUpdateIn],
    ) -> AccountOut:
        account = await services.get_account(db_session, user.id)
        if data.display_name is not None:
            await services.rename(db_session, account, data.display_name.strip())
        if data.phone is not None:
            account.phone = data.phone
        await db_session.flush()
        return services.account_out(account)

    @get("/export", summary="Everything the platform holds about you, as JSON")
    async def export(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Response[dict[str, Any]]:
        export = await services.export_account(db_session, user.id)
        return Response(
            export, headers={"Content-Disposition": 'attachment; filename="diaspora-export.json"'}
        )

    @delete("/", status_code=204, summary="Erase your account and everything that references it")
    async def erase(self, db_session: NamedDependency[AsyncSession], user: NamedDependency[Actor]) -> None:
        await services.erase_account(db_session, user.id)
