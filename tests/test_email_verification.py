"""A new account proves its address before its first login, and registration tells a stranger nothing
about who is already a member: a known address gets the same answer, and its owner a note by mail."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from litestar.testing import TestClient

from diaspora.platform.app import create_app
from diaspora.platform.settings import Settings
from tests.conftest import Api, _empty_all_tables, count_rows

PASSWORD = "correct horse battery"


def _register(api: Api, email: str, password: str = PASSWORD, name: str = "Arta") -> Any:
    body = {"email": email, "password": password, "display_name": name}
    return api.client.post("/api/auth/register", json=body)


def _login(api: Api, email: str, password: str = PASSWORD) -> Any:
    return api.client.post("/api/auth/login", json={"email": email, "password": password})


def _confirm(api: Api, token: str, password: str = PASSWORD) -> Any:
    return api.client.post("/api/auth/verify-email", json={"token": token, "password": password})


def test_the_first_login_waits_for_the_link_in_the_mail(api: Api) -> None:
    response = _register(api, "arta@example.org")
    assert response.status_code == 202
    assert "inbox" in response.json()["detail"]
    assert _login(api, "arta@example.org").status_code == 403  # the right password, not confirmed
    (message,) = api.mail_to("arta@example.org")
    assert message["subject"] == "Confirm your email address"
    token = api.link_token("arta@example.org", "/verify-email")

    # The link alone is not enough: whoever opens it must know the password chosen at registration.
    wrong = _confirm(api, token, "a guess at the password")
    assert wrong.status_code == 422
    assert wrong.json()["extra"][0]["key"] == "password"
    confirmed = _confirm(api, token)
    assert confirmed.status_code == 200, confirmed.text
    me = api.client.get("/api/me", headers={"Authorization": f"Bearer {confirmed.json()['token']}"})
    assert me.json()["email"] == "arta@example.org"
    assert _login(api, "arta@example.org").status_code == 200
    again = _confirm(api, token)  # single use
    assert again.status_code == 422
    assert again.json()["extra"][0]["key"] == "token"


def test_a_known_address_gets_the_same_answer_and_its_owner_a_note(api: Api) -> None:
    api.register("member", email="known@example.org")
    new = _register(api, "new@example.org", "another long password")
    known = _register(api, "Known@Example.org", "another long password", name="Impostor")
    assert known.status_code == new.status_code == 202
    assert known.json() == new.json()
    assert known.headers.get("content-length") == new.headers.get("content-length")

    note = api.mail_to("known@example.org")[-1]
    assert note["subject"] == "You already have an account"
    assert "/forgot-password" in note["body"]
    url = api.client.app.state["settings"].effective_database_url
    assert count_rows(url, "accounts", "email = 'known@example.org'") == 1
    assert _login(api, "known@example.org").status_code == 200  # nothing about the account changed
    assert _login(api, "known@example.org", "another long password").status_code == 401

    # Repeated attempts do not turn the platform into a way to flood a member's inbox.
    for _ in range(3):
        assert _register(api, "known@example.org", "another long password").status_code == 202
    assert [m["subject"] for m in api.mail_to("known@example.org")].count("You already have an account") == 1


def test_a_login_before_confirming_sends_a_new_link_at_most_every_ten_minutes(api: Api) -> None:
    _register(api, "late@example.org")
    first = api.link_token("late@example.org", "/verify-email")
    for _ in range(3):
        refused = _login(api, "late@example.org")
        assert refused.status_code == 403
        assert "Confirm your email" in refused.json()["detail"]
    assert len(api.mail_to("late@example.org")) == 1  # the first link still works and is young

    api.client.blocking_portal.call(_age_tokens, api, 11 * 60)
    assert _login(api, "late@example.org").status_code == 403
    assert len(api.mail_to("late@example.org")) == 2
    assert _confirm(api, first).status_code == 422  # only the newest link opens the account
    assert _confirm(api, api.link_token("late@example.org", "/verify-email")).status_code == 200


async def _age_tokens(api: Api, seconds: int) -> None:
    from datetime import timedelta

    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from diaspora.platform.db.models import AccountToken

    engine = create_async_engine(api.client.app.state["settings"].effective_database_url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            for token in await session.scalars(select(AccountToken)):
                token.created_at -= timedelta(seconds=seconds)
    finally:
        await engine.dispose()


def test_a_stranger_who_opened_an_account_in_my_name_cannot_keep_it(api: Api) -> None:
    """Pre-hijacking: the stranger registers my address with their password before I do."""
    _register(api, "victim@example.org", "the strangers password")
    token = api.link_token("victim@example.org", "/verify-email")
    # I open the link from my inbox, but my password is not the stranger's: nothing is confirmed.
    assert _confirm(api, token, "my own good password").status_code == 422
    assert _login(api, "victim@example.org", "the strangers password").status_code == 403
    # Registering myself tells me I have an account; a reset (to my inbox) makes it mine alone.
    _register(api, "victim@example.org", "my own good password")
    api.client.post("/api/auth/password-reset", json={"email": "victim@example.org"})
    reset = api.link_token("victim@example.org", "/reset-password")
    body = {"token": reset, "password": "my own good password"}
    assert api.client.post("/api/auth/password-reset/confirm", json=body).status_code == 200
    assert _login(api, "victim@example.org", "my own good password").status_code == 200
    assert _login(api, "victim@example.org", "the strangers password").status_code == 401


def test_each_link_does_only_its_own_job(api: Api) -> None:
    _register(api, "links@example.org")
    verify = api.link_token("links@example.org", "/verify-email")
    body = {"token": verify, "password": "a password set through the wrong door"}
    assert api.client.post("/api/auth/password-reset/confirm", json=body).status_code == 422
    assert _confirm(api, verify).status_code == 200
    api.client.post("/api/auth/password-reset", json={"email": "links@example.org"})
    reset = api.link_token("links@example.org", "/reset-password")
    assert _confirm(api, reset).status_code == 422


def test_registration_and_reset_answer_no_sooner_than_the_floor_known_or_not(settings: Settings) -> None:
    """The floor hides whether an account was written or a note queued; it is a lower bound, so the
    check is exact (how close the two timings are is measured in bench/enumeration.py)."""
    floor = settings.model_copy(update={"anonymous_answer_floor_ms": 300})
    with TestClient(create_app(floor), base_url="http://testserver.local") as client:
        api = Api(client)
        api.register("member", email="taken@example.org")
        for email in ("taken@example.org", "free@example.org"):
            started = time.monotonic()
            assert _register(api, email).status_code == 202
            assert time.monotonic() - started >= 0.3
            started = time.monotonic()
            response = client.post("/api/auth/password-reset", json={"email": email})
            assert response.status_code == 202
            assert time.monotonic() - started >= 0.3
    import asyncio

    asyncio.run(_empty_all_tables(settings.effective_database_url))


def _csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


@pytest.mark.parametrize("page", ["/register", "/forgot-password"])
def test_pages_answer_the_same_for_a_known_address(api: Api, page: str) -> None:
    api.register("member", email="page-known@example.org")
    answers = []
    for email in ("page-known@example.org", "page-unknown@example.org"):
        token = _csrf(api.client.get(page).text)
        form = {"email": email, "password": PASSWORD, "display_name": "Someone", "_csrf_token": token}
        response = api.client.post(page, data=form)
        assert response.status_code == 200
        answers.append(re.sub(r'value="[^"]+"', "", response.text.replace(email, "EMAIL")))
    assert answers[0] == answers[1]
    assert ("Check your inbox" if page == "/register" else "If an account has this email") in answers[0]


def test_the_link_opens_a_page_that_confirms_and_logs_in(api: Api) -> None:
    client = api.client
    form = _csrf(client.get("/register").text)
    body = {"email": "pages@example.org", "password": PASSWORD, "display_name": "Page", "_csrf_token": form}
    assert client.post("/register", data=body).status_code == 200
    token = api.link_token("pages@example.org", "/verify-email")
    opened = client.get(f"/verify-email?token={token}")  # opening it (or a mail scanner) changes nothing
    assert opened.status_code == 200
    assert _login(api, "pages@example.org").status_code == 403
    form = _csrf(opened.text)
    wrong = client.post("/verify-email", data={"token": token, "password": "nope", "_csrf_token": form})
    assert wrong.status_code == 400
    assert "not the one you chose" in wrong.text
    right = client.post(
        "/verify-email",
        data={"token": token, "password": PASSWORD, "_csrf_token": form},
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/me"
    assert client.get("/me").status_code == 200  # the session cookie is set
    assert _login(api, "pages@example.org").status_code == 200
