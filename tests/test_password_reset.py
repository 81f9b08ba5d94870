"""Password reset by a single-use, expiring link sent by mail: the request tells a stranger nothing, the
link works once, and setting the password ends every session."""

from __future__ import annotations

import asyncio
import mailbox
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from diaspora.platform.db.models import AccountToken, utcnow
from tests.conftest import Api

OLD, NEW = "correct horse battery", "a brand new passphrase"


def _mail(api: Api) -> list[Any]:
    """The reset and claim mail delivered so far (registration's confirmation mail left out)."""
    client = api.client
    client.blocking_portal.call(client.app.state["mail"].drain)
    path = client.app.state["settings"].effective_mailbox_path
    messages = list(mailbox.mbox(path)) if path.exists() else []
    return [m for m in messages if m["Subject"] != "Confirm your email address"]


def _token(message: Any) -> str:
    found = re.search(r"/reset-password\?token=([\w-]+)", message.get_payload(decode=True).decode())
    assert found, message.get_payload()
    return found.group(1)


def _login(api: Api, password: str) -> int:
    body = {"email": "dr.hoxha@example.org", "password": password}
    return api.client.post("/api/auth/login", json=body).status_code


def test_reset_by_mail_link_once_and_every_session_ends(api: Api) -> None:
    session = api.register("member", email="dr.hoxha@example.org")
    known = api.client.post("/api/auth/password-reset", json={"email": "Dr.Hoxha@example.org"})
    unknown = api.client.post("/api/auth/password-reset", json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()  # the answer says nothing about who is a member
    (message,) = _mail(api)
    assert message["To"] == "dr.hoxha@example.org"
    token = _token(message)

    weak = api.client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "short"})
    assert weak.status_code == 400
    done = api.client.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW})
    assert done.status_code == 200, done.text
    assert api.client.get("/api/me", headers=session).status_code == 401  # every session ended
    assert _login(api, OLD) == 401
    assert _login(api, NEW) == 200
    again = api.client.post("/api/auth/password-reset/confirm", json={"token": token, "password": OLD})
    assert again.status_code == 422
    assert again.json()["extra"][0]["key"] == "token"
    assert _login(api, NEW) == 200


def test_only_the_newest_link_works_and_links_expire(api: Api) -> None:
    api.register("member", email="dr.hoxha@example.org")
    for _ in range(2):
        api.client.post("/api/auth/password-reset", json={"email": "dr.hoxha@example.org"})
    first, second = (_token(m) for m in _mail(api))
    stale = api.client.post("/api/auth/password-reset/confirm", json={"token": first, "password": NEW})
    assert stale.status_code == 422

    async def expire() -> None:
        engine = create_async_engine(api.client.app.state["settings"].effective_database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        finally:
            await engine.dispose()

    asyncio.run(expire())
    late = api.client.post("/api/auth/password-reset/confirm", json={"token": second, "password": NEW})
    assert late.status_code == 422
    assert _login(api, OLD) == 200


def _csrf(api: Api, path: str) -> str:
    page = api.client.get(path)
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_the_pages_walk_a_person_through_it(api: Api) -> None:
    api.register("member", email="dr.hoxha@example.org")
    assert "/forgot-password" in api.client.get("/login").text
    sent = api.client.post(
        "/forgot-password",
        data={"email": "dr.hoxha@example.org", "_csrf_token": _csrf(api, "/forgot-password")},
    )
    assert sent.status_code == 200
    assert "is on its way" in sent.text
    token = _token(_mail(api)[0])
    form = api.client.get("/reset-password", params={"token": token})
    assert f'value="{token}"' in form.text
    csrf = _csrf(api, f"/reset-password?token={token}")
    differ = api.client.post(
        "/reset-password", data={"token": token, "password": NEW, "repeat": NEW + "!", "_csrf_token": csrf}
    )
    assert differ.status_code == 400
    assert "differ" in differ.text
    done = api.client.post(
        "/reset-password",
        data={"token": token, "password": NEW, "repeat": NEW, "_csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/login?password_set=true"
    assert "Your password is set" in api.client.get("/login?password_set=true").text
    assert _login(api, NEW) == 200
    albanian = api.client.get("/forgot-password", headers={"Accept-Language": "sq"})
    assert "Keni harruar fjalëkalimin?" in albanian.text


def test_members_created_by_an_import_claim_their_account_by_mail(api: Api) -> None:
    from diaspora.platform.accounts.recovery import invite_unclaimed
    from tests.test_import import SAMPLES, _import

    report = _import(api, "profiles", SAMPLES / "profiles.csv", source="consulate-2026")
    assert report.created >= 2
    assert api.client.post(
        "/api/auth/login", json={"email": "arben.hoxha@example.org", "password": ""}
    ).status_code in (400, 401)  # no password yet: nobody can sign in as them
    sessions = api.client.app.state["search"].sessions
    settings = api.client.app.state["settings"]

    async def invite(source: str | None) -> int:
        async with sessions() as session, session.begin():
            return await invite_unclaimed(session, settings, source=source)

    assert api.client.blocking_portal.call(invite, "another-source") == 0
    assert api.client.blocking_portal.call(invite, "consulate-2026") == report.created
    assert api.client.blocking_portal.call(invite, None) == 0  # a link that still works is not resent
    mails = {m["To"]: m for m in _mail(api)}
    assert len(mails) == report.created
    token = _token(mails["arben.hoxha@example.org"])
    claimed = api.client.post("/api/auth/password-reset/confirm", json={"token": token, "password": NEW})
    assert claimed.status_code == 200
    headers = api.login("arben.hoxha@example.org", NEW)
    assert (
        api.client.get("/api/profiles/me", headers=headers).json()["headline"]
        == "Interventional cardiologist"
    )
