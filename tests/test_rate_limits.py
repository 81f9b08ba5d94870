"""Brute force gets 429 with Retry-After, per client address and per account, counted where every process
sees it (the database, or Redis when configured)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from diaspora.platform.app import create_app
from diaspora.platform.settings import Settings
from tests.conftest import Api, _empty_all_tables

PASSWORD = "correct horse battery"


def _client(settings: Settings, **limits: Any) -> Iterator[TestClient[Any]]:
    app = create_app(settings.model_copy(update=limits))
    with TestClient(app, base_url="http://testserver.local") as client:
        yield client
    asyncio.run(_empty_all_tables(settings.effective_database_url))


@pytest.fixture
def per_address(settings: Settings) -> Iterator[TestClient[Any]]:
    yield from _client(settings, auth_attempts_per_minute=5, login_failures_per_account=1000)


@pytest.fixture
def per_account(settings: Settings) -> Iterator[TestClient[Any]]:
    yield from _client(settings, auth_attempts_per_minute=1000, login_failures_per_account=3)


def _login(client: TestClient[Any], email: str, password: str) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_sign_ins_from_one_address_are_limited(per_address: TestClient[Any]) -> None:
    api = Api(per_address)
    api.register("member", email="dr.hoxha@example.org")  # a registration and a sign-in: two attempts
    statuses = [_login(per_address, "dr.hoxha@example.org", "wrong password!").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    refused = _login(per_address, "dr.hoxha@example.org", PASSWORD)
    assert refused.status_code == 429  # even the right password: this address has tried too often
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Registration and the sign-in page count against the same address.
    page = per_address.post("/login", data={"email": "x@example.org", "password": "y"})
    assert page.status_code in (403, 429)  # the page also wants its CSRF token; either way no sign-in
    other = per_address.post(
        "/api/auth/register",
        json={"email": "new@example.org", "password": "a long passphrase", "display_name": "New"},
    )
    assert other.status_code == 429
    # Routes that are not about credentials are not limited.
    assert per_address.get("/api/posts").status_code == 200


def test_failed_sign_ins_lock_the_account_whoever_sends_them(per_account: TestClient[Any]) -> None:
    api = Api(per_account)
    api.register("member", email="dr.hoxha@example.org")
    for _ in range(3):
        assert _login(per_account, "dr.hoxha@example.org", "wrong password!").status_code == 401
    locked = _login(per_account, "dr.hoxha@example.org", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 60  # the account's window, minutes long
    # Another account is unaffected, and an unknown email is locked exactly the same way.
    api.register("member", email="other@example.org")
    assert _login(per_account, "other@example.org", PASSWORD).status_code == 200
    for _ in range(3):
        assert _login(per_account, "nobody@example.org", "wrong password!").status_code == 401
    assert _login(per_account, "nobody@example.org", "wrong password!").status_code == 429


def test_a_successful_sign_in_clears_the_failures(per_account: TestClient[Any]) -> None:
    api = Api(per_account)
    api.register("member", email="dr.hoxha@example.org")
    for _ in range(2):
        _login(per_account, "dr.hoxha@example.org", "wrong password!")
    assert _login(per_account, "dr.hoxha@example.org", PASSWORD).status_code == 200
    for _ in range(2):
        assert _login(per_account, "dr.hoxha@example.org", "wrong password!").status_code == 401
    assert _login(per_account, "dr.hoxha@example.org", PASSWORD).status_code == 200


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="Redis is not running on 127.0.0.1:6379")
def test_counters_in_redis_are_shared_by_processes(settings: Settings) -> None:
    limits = {"redis_url": "redis://127.0.0.1:6379/15", "auth_attempts_per_minute": 3}
    first, second = (create_app(settings.model_copy(update=limits)) for _ in range(2))
    with TestClient(first) as one, TestClient(second) as two:
        asyncio.run(_flush_redis())
        assert _login(one, "a@example.org", "wrong password!").status_code == 401
        assert _login(two, "a@example.org", "wrong password!").status_code == 401
        assert _login(one, "a@example.org", "wrong password!").status_code == 401
        assert _login(two, "a@example.org", "wrong password!").status_code == 429
    asyncio.run(_flush_redis())


async def _flush_redis() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        await client.flushdb()
    finally:
        await client.aclose()
