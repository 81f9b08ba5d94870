"""Authentication (bearer tokens for the API, session cookies for pages) and role guards.

Both credentials are opaque random tokens whose SHA-256 is stored in `auth_sessions`, so a session can be
revoked (logout, erasure) at once and a database leak reveals no usable token. Cookie sessions are only
honoured on page routes, which carry CSRF protection; the JSON API under /api accepts bearer tokens only,
so a cross-site form can never act through the API with a member's cookie.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp
from sqlalchemy import select

from diaspora.platform.core.security import token_digest
from diaspora.platform.db.models import Account, AuthSession, Role

SESSION_COOKIE = "diaspora_session"
API_PREFIX = "/api"


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: uuid.UUID
    email: str
    role: Role
    organisation_id: uuid.UUID | None
    session_id: uuid.UUID

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the caller from a bearer token or session cookie; anonymous callers get `user=None`."""

    def __init__(self, app: ASGIApp, alchemy: SQLAlchemyAsyncConfig, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.alchemy = alchemy

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token, from_cookie = _credential(connection)
        if token is None:
            return AuthenticationResult(user=None, auth=None)
        async with self.alchemy.get_session() as session:
            row = (
                await session.execute(
                    select(AuthSession, Account)
                    .join(Account, Account.id == AuthSession.account_id)
                    .where(AuthSession.token_hash == token_digest(token))
                )
            ).first()
        if row is None or row[0].expires_at <= datetime.now(UTC) or not row[1].is_active:
            if from_cookie:
                # A stale cookie on a page just means "logged out"; the page offers to log in again.
                return AuthenticationResult(user=None, auth=None)
            raise NotAuthorizedException("The token is unknown, expired or revoked; log in again.")
        auth_session, account = row
        user = CurrentUser(
            id=account.id,
            email=account.email,
            role=Role(account.role),
            organisation_id=account.organisation_id,
            session_id=auth_session.id,
        )
        return AuthenticationResult(user=user, auth=auth_session.id)


def _credential(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str | None, bool]:
    """The presented token and whether it came from the session cookie."""
    header = connection.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthorizedException("Authorization header must be 'Bearer <token>'.")
        return value.strip(), False
    if connection.url.path.startswith(API_PREFIX):
        return None, False
    return connection.cookies.get(SESSION_COOKIE) or None, True


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    user = connection.scope.get("user")
    if not isinstance(user, CurrentUser):
        raise NotAuthorizedException("Log in first: this needs an authenticated account.")
    return user


def requires_login(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    current_user(connection)


def requires_role(*roles: Role) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard admitting only accounts with one of `roles`."""
    allowed = ", ".join(role.value for role in roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = current_user(connection)
        if not user.has_role(*roles):
            raise PermissionDeniedException(f"This needs one of the roles: {allowed}.")

    return guard


async def provide_user(request: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    return current_user(request)


async def provide_optional_user(request: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
    user = request.scope.get("user")
    return user if isinstance(user, CurrentUser) else None
