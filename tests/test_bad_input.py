"""Every invalid request gets a 4xx naming the problem, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import Api, count_rows


@pytest.fixture
def client(shared_client: TestClient[Any]) -> TestClient[Any]:
    return shared_client  # one app for the module: these probes are refused before they change anything


def _db(api: Api) -> str:
    return str(api.client.app.state["settings"].effective_database_url)


def _keys(response: Any) -> list[str]:
    return [item.get("key", "") for item in response.json().get("extra", [])]


@pytest.mark.parametrize(
    ("body", "key", "fragment"),
    [
        ({"headline": 42}, "headline", "Expected `str`"),
        ({"headline": "x" * 201}, "headline", "length <= 200"),
        ({"residence_country": "Germany"}, "residence_country", "matching regex"),
        ({"languages": [{"code": "sq", "level": "fluent"}]}, "languages[0].level", "Invalid enum value"),
        ({"languages": [{"code": "sq", "level": "C1"}, {"code": "sq", "level": "B1"}]}, "", "twice"),
        ({"skills": [{"name": ""}]}, "skills[0].name", "length >= 1"),
        (
            {"availability": [{"start_date": "2027-06-01", "end_date": "2027-05-01", "modes": ["remote"]}]},
            "availability[0]",
            "before `start_date`",
        ),
        (
            {"availability": [{"start_date": "2027-06-01", "end_date": "2027-07-01", "modes": ["teleport"]}]},
            "availability[0].modes[0]",
            "Invalid enum value",
        ),
        (
            {"availability": [{"start_date": "2027-13-01", "end_date": "2027-07-01", "modes": ["remote"]}]},
            "availability[0].start_date",
            "Invalid",
        ),
        ({"years_experience": -3}, "years_experience", ">= 0"),
        ({"favourite_colour": "blue"}, "", "favourite_colour"),
        ({"consent": {"visible_fields": ["password"]}}, "consent.visible_fields[0]", "Invalid enum value"),
    ],
)
def test_invalid_profiles_are_rejected_naming_the_field(
    api: Api, body: dict[str, Any], key: str, fragment: str
) -> None:
    member = api.register("member")
    before = api.profile(member, headline="Before")
    response = api.client.put("/api/profiles/me", headers=member, json=body)
    assert response.status_code == 400, response.text
    assert fragment in response.text
    if key:
        assert key in _keys(response)
    after = api.client.get("/api/profiles/me", headers=member).json()
    assert after == before  # nothing half-written


def test_malformed_json_is_a_400_and_writes_nothing(api: Api) -> None:
    accounts = count_rows(_db(api), "accounts")
    response = api.client.post(
        "/api/auth/register",
        content=b'{"email": "a@example.org", "password": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert count_rows(_db(api), "accounts") == accounts


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"email": "not-an-email", "password": "long enough password", "display_name": "X"}, "email"),
        ({"email": "a@example.org", "password": "short", "display_name": "X"}, "password"),
        ({"email": "a@example.org", "password": "long enough password", "display_name": ""}, "display_name"),
        (
            {
                "email": "a@example.org",
                "password": "long enough password",
                "display_name": "X",
                "role": "king",
            },
            "role",
        ),
        (
            {
                "email": "a@example.org",
                "password": "long enough password",
                "display_name": "X",
                "phone": "call me",
            },
            "phone",
        ),
        ({"password": "long enough password", "display_name": "X"}, ""),
    ],
)
def test_invalid_registrations(api: Api, body: dict[str, Any], key: str) -> None:
    response = api.client.post("/api/auth/register", json=body)
    assert response.status_code in (400, 422), response.text
    if key:
        assert key in _keys(response) or key in response.json()["detail"]
    assert count_rows(_db(api), "accounts") == 0


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"kind": "job_for_life"}, "kind"),
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"country": "ALB"}, "country"),
        ({"start_date": "2027-05-17", "end_date": "2027-05-03"}, ""),
        ({"places": 0}, "places"),
        ({"mode": "telepathic"}, "mode"),
        ({"status": "published"}, "status"),
        ({"languages": ["Albanian"]}, "languages[0]"),
        ({"required_skills": ["python"]}, "required_skills[0]"),
        ({"duration_days": "two weeks"}, "duration_days"),
    ],
)
def test_invalid_posts(api: Api, fields: dict[str, Any], key: str) -> None:
    staff, _ = api.organisation()
    body = {"kind": "short_term_return", "title": "Cardiologist", "country": "AL", **fields}
    response = api.client.post("/api/posts", headers=staff, json=body)
    assert response.status_code == 400, response.text
    if key:
        assert key in _keys(response)
    assert count_rows(_db(api), "posts") == 0
    assert count_rows(_db(api), "post_skills") == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/posts", {"limit": 0}),
        ("/api/posts", {"limit": 1000}),
        ("/api/posts", {"offset": -1}),
        ("/api/posts", {"offset": 10**9}),
        ("/api/posts", {"country": "albania"}),
        ("/api/posts", {"mode": "telepathic"}),
        ("/api/posts", {"q": "x" * 500}),
        ("/api/organisations", {"kind": "castle"}),
        ("/api/posts/not-a-uuid", {}),
    ],
)
def test_invalid_query_parameters(api: Api, path: str, params: dict[str, Any]) -> None:
    response = api.client.get(path, params=params)
    assert 400 <= response.status_code < 500, response.text


def test_oversized_body_is_rejected(api: Api) -> None:
    member = api.register("member")
    response = api.client.put(
        "/api/profiles/me",
        headers={**member, "content-type": "application/json"},
        content=b'{"summary": "' + b"x" * 2_000_000 + b'"}',
    )
    assert response.status_code == 413
    assert count_rows(_db(api), "profiles") == 0


def test_unknown_organisation_for_contact_grant(api: Api) -> None:
    member = api.register("member")
    api.profile(member)
    response = api.client.post(
        "/api/profiles/me/contact-grants",
        headers=member,
        json={"organisation_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert response.status_code == 404
    assert count_rows(_db(api), "contact_grants") == 0
