"""What a security reviewer checks from outside: headers on every response, production mode refusing unsafe
settings, sessions that end when unused."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from diaspora.platform.app import UnsafeProductionSettings, create_app
from diaspora.platform.db.models import AuthSession, utcnow
from diaspora.platform.settings import Settings, filesystem_type
from tests.conftest import Api

REQUIRED = {
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
}


def _page_paths(api: Api) -> list[str]:
    """Every page a browser can open without parameters of its own, plus error pages."""
    paths = {
        route.path
        for route in api.client.app.routes
        if isinstance(route, HTTPRoute) and "GET" in route.route_handler_map and "{" not in route.path
    }
    return sorted(paths | {"/no-such-page", "/api/no-such-endpoint", "/static/site.js"})


@pytest.mark.shared_app
@pytest.mark.parametrize("who", ["anonymous", "member", "staff"])
def test_every_response_carries_the_security_headers(api: Api, who: str) -> None:
    headers = {"anonymous": {}, "member": api.register("member"), "staff": api.organisation()[0]}[who]
    for path in _page_paths(api):
        response = api.client.get(path, headers=headers, follow_redirects=False)
        missing = REQUIRED - {name.lower() for name in response.headers}
        assert not missing, f"{path}: {missing}"
        policy = response.headers["content-security-policy"]
        if not path.startswith("/schema"):
            script = next(part for part in policy.split(";") if part.strip().startswith("script-src "))
            assert "unsafe-inline" not in script, path
            assert "frame-ancestors 'none'" in policy
        if not path.startswith("/static/"):
            assert response.headers["cache-control"] == "no-store", path
    assert api.client.get("/", headers={"Accept": "text/html"}).headers["x-frame-options"] == "DENY"


def test_pages_hold_no_inline_script() -> None:
    templates = Path(__file__).resolve().parent.parent / "frontend_templates"
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=", re.IGNORECASE)
    for template in templates.glob("*.html"):
        assert not inline_script.search(template.read_text()), template.name


def test_hsts_and_secure_cookies_follow_https(settings: Settings) -> None:
    from litestar.testing import TestClient

    plain = TestClient(create_app(settings), base_url="http://testserver.local")
    with plain:
        assert "strict-transport-security" not in plain.get("/health").headers
    secured = settings.model_copy(update={"hsts": True, "cookie_secure": True})
    with TestClient(create_app(secured), base_url="https://testserver.local") as client:
        assert client.get("/health").headers["strict-transport-security"].startswith("max-age=31536000")
        csrf_cookie = client.get("/login").headers["set-cookie"]
        assert "csrftoken=" in csrf_cookie
        assert "secure" in csrf_cookie.lower()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({}, "DIASPORA_SECRET_KEY"),
        ({"secret_key": "x" * 40, "cookie_secure": False}, "DIASPORA_COOKIE_SECURE"),
        ({"secret_key": "x" * 40}, "password hashing"),  # the test settings hash cheaply
    ],
)
def test_production_mode_refuses_unsafe_settings(
    settings: Settings, change: dict[str, Any], named: str
) -> None:
    unsafe = settings.model_copy(
        update={"production": True, "secret_key": Settings.model_fields["secret_key"].default, **change}
    )
    with pytest.raises(UnsafeProductionSettings, match=named):
        create_app(unsafe)
    safe = settings.model_copy(
        update={
            "production": True,
            "secret_key": "k" * 48,
            "password_hash_time_cost": 3,
            "password_hash_memory_kib": 65_536,
        }
    )
    assert safe.secure_cookies
    assert safe.send_hsts
    create_app(safe)  # starts


def test_sqlite_on_a_network_file_system_is_recognised(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\nserver:/export /mnt/shared nfs4 rw 0 0\n//nas/data /srv/nas cifs rw 0 0\n"
    )
    assert filesystem_type(Path("/mnt/shared/diaspora/data"), mounts) == "nfs4"
    assert filesystem_type(Path("/srv/nas"), mounts) == "cifs"
    assert filesystem_type(Path("/home/someone"), mounts) == "ext4"
    assert filesystem_type(Path("/mnt/sharedother"), mounts) == "ext4"


def _age_sessions(url: str, *, idle: timedelta) -> None:
    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(AuthSession).values(last_used_at=utcnow() - idle))
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_an_unused_session_ends(api: Api) -> None:
    member = api.register("member")
    assert api.client.get("/api/me", headers=member).status_code == 200
    settings = api.client.app.state["settings"]
    _age_sessions(settings.effective_database_url, idle=timedelta(minutes=settings.session_idle_minutes - 5))
    assert api.client.get("/api/me", headers=member).status_code == 200  # used: it goes on
    _age_sessions(settings.effective_database_url, idle=timedelta(minutes=settings.session_idle_minutes + 1))
    response = api.client.get("/api/me", headers=member)
    assert response.status_code == 401
    assert "log in again" in response.json()["detail"]
