"""Authentication: bearer tokens for the API, session cookies for pages. Who may do what is `core.policy`.

Both credentials are opaque random tokens whose SHA-256 is stored in `auth_sessions`, so a session can be
revoked (logout, erasure) at once and a database leak reveals no usable token. Cookie sessions are only
honoured on page routes, which carry CSRF protection; the JSON API under /api accepts bearer tokens only,
so a cross-site form can never act through the API with a member's cookie.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.core.policy import Actor
from diaspora.platform.core.security import token_digest
from diaspora.platform.db.models import Account, AuthSession, Organisation, Role

SESSION_COOKIE = "diaspora_session"
API_PREFIX = "/api"


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the caller from a bearer token or session cookie; anonymous callers get `user=None`."""

    def __init__(
        self,
        app: ASGIApp,
        alchemy: SQLAlchemyAsyncConfig,
        idle: timedelta = timedelta(hours=2),
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.alchemy = alchemy
        self.idle = idle

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token, from_cookie = _credential(connection)
        if token is None:
            return AuthenticationResult(user=None, auth=None)
        now = datetime.now(UTC)
        async with self.alchemy.get_session() as session:
            row = (
                await session.execute(
                    select(AuthSession, Account, Organisation.verified, Organisation.kind)
                    .join(Account, Account.id == AuthSession.account_id)
                    .outerjoin(Organisation, Organisation.id == Account.organisation_id)
                    .where(AuthSession.token_hash == token_digest(token))
                )
            ).first()
            if row is not None and _usable(row[0], row[1], now, self.idle):
                await _touch(session, row[0], now)
            else:
                row = None
        if row is None:
            if from_cookie:
                # A stale cookie on a page just means "logged out"; the page offers to log in again.
                return AuthenticationResult(user=None, auth=None)
            raise NotAuthorizedException("The token is unknown, expired or revoked; log in again.")
        auth_session, account, verified, kind = row
        # Rebuilt on every request: a verification withdrawn takes the powers away at once.
        user = Actor(
            id=account.id,
            email=account.email,
            role=Role(account.role),
            organisation_id=account.organisation_id,
            session_id=auth_session.id,
            organisation_verified=bool(verified),
            organisation_kind=kind,
        )
        return AuthenticationResult(user=user, auth=auth_session.id)


def _usable(auth_session: AuthSession, account: Account, now: datetime, idle: timedelta) -> bool:
    last_used = auth_session.last_used_at or auth_session.created_at
    return auth_session.expires_at > now and now - last_used < idle and account.is_active


async def _touch(session: AsyncSession, auth_session: AuthSession, now: datetime) -> None:
    # At most one write a minute per session: enough for an idle timeout counted in minutes.
    last_used = auth_session.last_used_at or auth_session.created_at
    if now - last_used >= timedelta(minutes=1):
        await session.execute(
            update(AuthSession).where(AuthSession.id == auth_session.id).values(last_used_at=now)
        )
        await session.commit()


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
