"""Pages use session cookies behind CSRF protection; the JSON API never accepts those cookies."""

from __future__ import annotations

import re

from tests.conftest import Api


def _csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_login_page_sets_a_session_cookie_and_logout_clears_it(api: Api) -> None:
    api.register("member", email="page.user@example.org")
    client = api.client
    form = client.get("/login")
    assert form.status_code == 200
    assert 'for="email"' in form.text
    token = _csrf(form.text)

    wrong = client.post(
        "/login", data={"email": "page.user@example.org", "password": "nope", "_csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Email or password is wrong" in wrong.text
    assert 'value="page.user@example.org"' in wrong.text  # what the user typed is kept

    response = client.post(
        "/login",
        data={"email": "page.user@example.org", "password": "correct horse battery", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "diaspora_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax")
    home = client.get("/")
    assert "page.user@example.org" in home.text

    # The cookie alone is no credential for the JSON API.
    assert client.get("/api/me").status_code == 401

    logout = client.post("/logout", data={"_csrf_token": _csrf(home.text)}, follow_redirects=False)
    assert logout.status_code == 303
    assert "page.user@example.org" not in client.get("/").text


def test_forms_without_csrf_token_are_refused(api: Api) -> None:
    api.register("member", email="csrf.victim@example.org")
    api.client.get("/login")
    response = api.client.post(
        "/login", data={"email": "csrf.victim@example.org", "password": "correct horse battery"}
    )
    assert response.status_code == 403


def test_a_stale_cookie_means_logged_out_not_an_error(api: Api) -> None:
    api.client.cookies.set("diaspora_session", "revoked-or-made-up")
    response = api.client.get("/")
    assert response.status_code == 200
    assert "Log in" in response.text
