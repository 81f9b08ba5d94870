"""Brute force gets nowhere: sign-in, registration and token endpoints are rate limited per client address
and, for sign-in, per account.

Per address: Litestar's rate-limit middleware, on the routes marked `opt={RATE_LIMITED: True}`, counting in
a store every process sees: PostgreSQL or SQLite through advanced-alchemy's store in embedded mode, Redis
when `DIASPORA_REDIS_URL` is set. A refused request gets 429 with `Retry-After`.

Per account: failed sign-ins for one email are counted in the same store, whoever sends them, and after
`DIASPORA_LOGIN_FAILURES_PER_ACCOUNT` within the window the email is refused for the rest of it. The count
is kept for any email, registered or not, so the refusal says nothing about who is a member.
"""

from __future__ import annotations

import hashlib
from time import time
from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from advanced_alchemy.extensions.litestar.store import SQLAlchemyStore
from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.stores.base import Store
from litestar.types import Receive, Scope, Send

from diaspora.platform.db.store import RateLimitEntry
from diaspora.platform.settings import Settings

RATE_LIMITED = "rate_limited"  # a handler's opt flag (the OpenAPI document then lists its 429)
STORE_NAME = "rate_limit"


class _WithRetryAfter(RateLimitMiddleware):
    """Litestar's middleware, refusing with the standard `Retry-After` beside its RateLimit-* headers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except TooManyRequestsException as exc:
            reset = int(exc.headers.get(self.config.rate_limit_reset_header_key, "60")) if exc.headers else 60
            exc.headers = {**(exc.headers or {}), "Retry-After": str(max(1, reset))}
            raise


async def _marked(request: Request[Any, Any, Any]) -> bool:
    return bool(request.route_handler.opt.get(RATE_LIMITED))


def middleware_config(settings: Settings) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", settings.auth_attempts_per_minute),
        check_throttle_handler=_marked,
        middleware_class=_WithRetryAfter,
        store=STORE_NAME,
    )


def build_store(settings: Settings, alchemy: SQLAlchemyAsyncConfig) -> Store:
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=settings.redis_url, namespace="diaspora-rate-limit")
    return SQLAlchemyStore(config=alchemy, model=RateLimitEntry, namespace="rate-limit")


class _Failures(msgspec.Struct):
    count: int
    reset: int


def _account_key(email: str) -> str:
    # Hashed: the store never holds an email address.
    return "login-failures:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


async def refuse_if_locked(store: Store, settings: Settings, email: str) -> None:
    raw = await store.get(_account_key(email))
    if raw is None:
        return
    failures = msgspec.json.decode(raw, type=_Failures)
    now = int(time())
    if failures.count >= settings.login_failures_per_account and failures.reset > now:
        raise TooManyRequestsException(
            "Too many failed sign-ins for this account; try again later.",
            headers={"Retry-After": str(failures.reset - now)},
        )


async def record_failure(store: Store, settings: Settings, email: str) -> None:
    key, now = _account_key(email), int(time())
    window = settings.login_failure_window_minutes * 60
    raw = await store.get(key)
    failures = msgspec.json.decode(raw, type=_Failures) if raw else _Failures(count=0, reset=now + window)
    if failures.reset <= now:
        failures = _Failures(count=0, reset=now + window)
    failures.count += 1
    await store.set(key, msgspec.json.encode(failures), expires_in=max(1, failures.reset - now))


async def forget_failures(store: Store, email: str) -> None:
    await store.delete(_account_key(email))
