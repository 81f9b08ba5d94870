"""Route guards made from the permission policy, shared by the JSON API and the pages.

Guards are coroutines so that Litestar calls them on the event loop instead of a worker thread.
An anonymous caller gets 401 on the API and a redirect to the login page on a page; a caller the policy
refuses gets 403 (problem JSON on the API, an error page in a browser). The same guard object serves
both, so a rule cannot differ between an endpoint and the page that does the same thing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from diaspora.platform.core import policy
from diaspora.platform.core.auth import API_PREFIX
from diaspora.platform.core.policy import Actor

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


class LoginRequired(HTTPException):
    """A page for logged-in people was asked for without a session: off to the login page."""

    status_code = 303

    def __init__(self, next_path: str) -> None:
        super().__init__(detail="login required")
        self.next_path = next_path


def login_redirect(request: Request[Any, Any, Any], exc: LoginRequired) -> Redirect:
    return Redirect(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The authenticated actor, or the anonymous caller's way to log in."""
    user = connection.scope.get("user")
    if isinstance(user, Actor):
        return user
    if connection.url.path.startswith(API_PREFIX):
        raise NotAuthorizedException("Log in first: this needs an authenticated account.")
    raise LoginRequired(connection.url.path)


def allow(predicate: Callable[[Actor], bool], refusal: str | Callable[[Actor], str]) -> Guard:
    """A guard admitting the actors `predicate` accepts; the others read `refusal`."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        actor = actor_of(connection)
        if not predicate(actor):
            raise PermissionDeniedException(refusal(actor) if callable(refusal) else refusal)

    guard.__name__ = f"allow_{predicate.__name__}"
    return guard


async def requires_login(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    actor_of(connection)


requires_member = allow(policy.is_member, "This is for member accounts of diaspora professionals.")
requires_admin = allow(policy.is_admin, "This needs an admin.")
requires_organisation_account = allow(
    policy.is_organisation_account, "This is for accounts of organisations and ministries."
)
requires_profile_viewer = allow(policy.may_see_profiles, policy.why_no_profiles)
requires_verified_staff = allow(policy.is_verified_staff, policy.why_not_verified)
requires_verified_ministry = allow(policy.is_verified_ministry, policy.why_no_campaigns)
requires_campaign_manager = allow(policy.may_manage_campaigns, policy.why_no_campaigns)
requires_map_viewer = allow(policy.may_see_map, policy.why_no_map)
requires_host = allow(policy.hosts_placements, policy.why_no_placements)


async def provide_actor(request: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    return actor_of(request)


async def provide_optional_actor(request: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    user = request.scope.get("user")
    return user if isinstance(user, Actor) else None


def _manages_something(actor: Actor) -> bool:
    return policy.is_admin(actor) or policy.is_organisation_account(actor)


# Changing an organisation's own posts and opportunities: its accounts and admins (the service checks which).
requires_organisation_manager = allow(
    _manages_something, "This is for the accounts of organisations and for admins."
)
