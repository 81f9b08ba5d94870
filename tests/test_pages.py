"""Pages use session cookies behind CSRF protection; the JSON API never accepts those cookies."""

from __future__ import annotations

import re
from typing import Any

import pytest

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


def _login_page(api: Api, email: str) -> None:
    form = api.client.get("/login")
    response = api.client.post(
        "/login",
        data={"email": email, "password": "correct horse battery", "_csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_pages_for_logged_in_people_send_others_to_the_login_page(client: Any) -> None:
    for path in ("/me", "/org", "/campaigns"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(api: Api) -> None:
    api.register("member", email="back.again@example.org")
    form = api.client.get("/login?next=/me")
    assert 'name="next" value="/me"' in form.text
    for asked, landing in (("/me", "/me"), ("//evil.example/", "/me"), ("https://evil.example/", "/me")):
        api.client.cookies.clear()
        token = _csrf(api.client.get("/login").text)
        response = api.client.post(
            "/login",
            data={
                "email": "back.again@example.org",
                "password": "correct horse battery",
                "next": asked,
                "_csrf_token": token,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == landing


def test_a_member_cannot_open_ministry_pages(api: Api) -> None:
    api.register("member", email="curious@example.org")
    _login_page(api, "curious@example.org")
    response = api.client.get("/campaigns")
    assert response.status_code == 403


def test_a_refused_profile_form_keeps_what_was_typed_and_saves_nothing(api: Api) -> None:
    api.register("member", email="typo@example.org")
    _login_page(api, "typo@example.org")
    page = api.client.get("/me")
    response = api.client.post(
        "/me/profile",
        data={
            "_csrf_token": _csrf(page.text),
            "headline": "Anaesthetist in Vienna",
            "residence_country": "Austria",  # not a two-letter code
            "skills": "airway management\nregional anaesthesia",
        },
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text
    assert 'value="Anaesthetist in Vienna"' in response.text
    assert "airway management" in response.text
    assert "nothing was saved" in response.text
    assert api.client.get("/api/profiles/me", headers=api.login("typo@example.org")).status_code == 404


def test_the_discovery_page_is_a_shareable_search(api: Api) -> None:
    response = api.client.get("/opportunities", params={"q": "solar", "kind": "investment"})
    assert response.status_code == 200
    assert 'value="solar"' in response.text
    partial = api.client.get("/opportunities", params={"q": "solar", "partial": "1"})
    assert "<html" not in partial.text  # only the results, for search as you type
    posts = api.client.get("/posts", params={"q": "cardiologist", "mode": "onsite"})
    assert posts.status_code == 200
    assert 'action="/posts"' in posts.text
    bad = api.client.get("/opportunities", params={"colour": "red"})
    assert bad.status_code == 200
    assert "This search cannot be run" in bad.text


@pytest.mark.slow  # the member page ranks recommendations with the default encoder
def test_saving_the_profile_page_keeps_what_the_page_does_not_edit(api: Api) -> None:
    headers = api.register("member", email="keeper@example.org")
    api.profile(
        headers,
        sectors=["health"],
        skills=[{"name": "echocardiography", "level": "expert"}],
        credentials=[{"title": "Board certification in cardiology", "country": "DE", "year": 2015}],
    )
    _login_page(api, "keeper@example.org")
    page = api.client.get("/me")
    assert "echocardiography" in page.text
    response = api.client.post(
        "/me/profile",
        data={
            "_csrf_token": _csrf(page.text),
            "headline": "Cardiologist in Berlin",
            "skills": "echocardiography\nstress testing",
            "language_0": "sq",
            "level_0": "native",
            "visible": ["headline", "skills"],
            "open_to_matching": "on",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    saved = api.client.get("/api/profiles/me", headers=headers).json()
    assert saved["headline"] == "Cardiologist in Berlin"
    assert saved["sectors"] == ["health"]
    assert [c["title"] for c in saved["credentials"]] == ["Board certification in cardiology"]
    assert {s["name"]: s["level"] for s in saved["skills"]} == {
        "echocardiography": "expert",
        "stress testing": None,
    }
    assert saved["consent"]["visible_fields"] == ["headline", "skills"]


@pytest.mark.slow  # the member page ranks recommendations with the default encoder
def test_credentials_are_edited_one_per_line(api: Api) -> None:
    headers = api.register("member", email="nurse@example.org")
    _login_page(api, "nurse@example.org")
    page = api.client.get("/me")
    fields = {"_csrf_token": _csrf(page.text), "headline": "Nurse", "open_to_matching": "on"}
    bad = api.client.post(
        "/me/profile", data={**fields, "credentials": "Licensed nurse; Swiss Red Cross; CH; last year"}
    )
    assert bad.status_code == 400
    assert 'id="credentials-error"' in bad.text
    assert "last year" in bad.text  # kept
    good = api.client.post(
        "/me/profile",
        data={**fields, "credentials": "Licensed nurse; Swiss Red Cross; ch; 2016\nBLS instructor"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    saved = api.client.get("/api/profiles/me", headers=headers).json()["credentials"]
    assert [(c["title"], c["issuer"], c["country"], c["year"]) for c in saved] == [
        ("Licensed nurse", "Swiss Red Cross", "CH", 2016),
        ("BLS instructor", None, None, None),
    ]
    assert "Licensed nurse; Swiss Red Cross; CH; 2016" in api.client.get("/me").text


def test_browsers_get_an_error_page_and_api_clients_problem_json(api: Api) -> None:
    api.register("member", email="wanderer@example.org")
    _login_page(api, "wanderer@example.org")
    page = api.client.get("/campaigns", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 403
    assert "<h1>Not allowed</h1>" in page.text
    assert "This page is not for your kind of account." in page.text
    missing = api.client.get(
        "/org/posts/00000000-0000-0000-0000-000000000000", headers={"Accept": "text/html"}
    )
    assert missing.status_code in (403, 404)
    assert "<!doctype html>" in missing.text
    api_error = api.client.get(
        "/api/posts/00000000-0000-0000-0000-000000000000", headers={"Accept": "text/html"}
    )
    assert api_error.status_code == 404
    assert api_error.json()["detail"] == "Post not found."


@pytest.mark.slow  # the member page ranks recommendations and links the headline with the default encoder
def test_a_member_chooses_their_occupation_on_their_page_and_keeps_it_when_saving(api: Api) -> None:
    headers = api.register("member", email="heart@example.org")
    api.profile(headers, headline="Cardiologist")
    _login_page(api, "heart@example.org")
    page = api.client.get("/me")
    offered = re.findall(r'name="uri" value="(http[^"]+)"', page.text)
    assert offered, "the headline's links are offered"
    response = api.client.post(
        "/me/occupation", data={"_csrf_token": _csrf(page.text), "uri": offered[0]}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert api.client.get("/api/profiles/me", headers=headers).json()["occupation_uri"] == offered[0]
    page = api.client.get("/me")
    assert f'value="{offered[0]}" checked' in page.text
    # Saving the profile form, which does not edit it, keeps the choice.
    saved = api.client.post(
        "/me/profile",
        data={
            "_csrf_token": _csrf(page.text),
            "headline": "Cardiologist in Berlin",
            "open_to_matching": "on",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert api.client.get("/api/profiles/me", headers=headers).json()["occupation_uri"] == offered[0]
    # Back to links from the headline.
    page = api.client.get("/me")
    api.client.post("/me/occupation", data={"_csrf_token": _csrf(page.text), "uri": ""})
    assert api.client.get("/api/profiles/me", headers=headers).json()["occupation_uri"] is None
