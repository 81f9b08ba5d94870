"""The foundation's main journey through the API: member, organisation, admin verification, post."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


def test_member_organisation_admin_post_journey(api: Api) -> None:
    client = api.client
    member = api.register("member", phone="+49 170 1234567")
    profile = api.profile(
        member,
        summary="Consultant cardiologist in Munich.",
        years_experience=14,
        sectors=["health"],
        skills=[{"name": "coronary angiography", "level": "expert"}, {"name": "echocardiography"}],
        credentials=[{"title": "Board certification in cardiology", "country": "DE", "year": 2015}],
        availability=[
            {
                "start_date": "2027-05-01",
                "end_date": "2027-05-31",
                "modes": ["onsite_return", "remote"],
                "hours_per_week": 40,
            }
        ],
    )
    assert [s["name"] for s in profile["skills"]] == ["coronary angiography", "echocardiography"]
    assert profile["availability"][0]["modes"] == ["onsite_return", "remote"]
    assert profile["consent"]["open_to_matching"] is True
    assert profile["consent"]["open_to_contact"] is False

    staff = api.register("organisation_staff")
    response = client.post(
        "/api/organisations",
        headers=staff,
        json={
            "name": "University Hospital Centre Mother Teresa",
            "kind": "hospital",
            "country": "AL",
            "municipality": "Tirana",
            "website": "https://qsut.example",
        },
    )
    assert response.status_code == 201, response.text
    organisation = response.json()
    assert organisation["verified"] is False

    draft = {
        "kind": "short_term_return",
        "title": "Interventional cardiologist, 2-week training mission",
        "country": "AL",
        "municipality": "Tirana",
        "required_skills": [{"name": "coronary angiography"}],
        "nice_to_have_skills": [{"name": "clinical teaching"}],
        "languages": ["sq"],
        "start_date": "2027-05-03",
        "end_date": "2027-05-17",
        "duration_days": 14,
        "mode": "onsite",
    }
    # Not live before verification: opening the post is refused, a draft is fine but invisible to the public.
    response = client.post("/api/posts", headers=staff, json={**draft, "status": "open"})
    assert response.status_code == 409
    assert "verified" in response.json()["detail"]
    response = client.post("/api/posts", headers=staff, json=draft)
    assert response.status_code == 201, response.text
    post_id = response.json()["id"]
    assert response.json()["live"] is False
    assert client.get(f"/api/posts/{post_id}").status_code == 404
    assert client.get("/api/posts").json()["total"] == 0
    assert client.get(f"/api/organisations/{organisation['id']}").status_code == 404

    admin = api.admin()
    unverified = client.get("/api/organisations", params={"verified": "false"}, headers=admin).json()
    assert [o["id"] for o in unverified["items"]] == [organisation["id"]]
    response = client.post(f"/api/organisations/{organisation['id']}/verify", headers=admin)
    assert response.status_code == 200
    assert response.json()["verified"] is True

    response = client.put(f"/api/posts/{post_id}", headers=staff, json={**draft, "status": "open"})
    assert response.status_code == 200, response.text
    public = client.get(f"/api/posts/{post_id}").json()
    assert public["live"] is True
    assert public["organisation_name"] == "University Hospital Centre Mother Teresa"
    assert [s["name"] for s in public["required_skills"]] == ["coronary angiography"]
    assert [s["name"] for s in public["nice_to_have_skills"]] == ["clinical teaching"]

    # The verified organisation's staff now see the member's profile, without contact details.
    listing = client.get("/api/profiles", headers=staff).json()
    assert listing["total"] == 1
    seen: dict[str, Any] = listing["items"][0]
    assert seen["id"] == profile["id"]
    assert seen["headline"] == "Interventional cardiologist"
    assert "contact" not in seen
    assert "name" not in seen


def test_post_listing_filters_and_paginates(api: Api) -> None:
    admin = api.admin()
    staff_al, _ = api.organisation(country="AL", admin=admin)
    staff_rs, _ = api.organisation(country="RS", admin=admin)
    for i in range(5):
        api.post(staff_al, title=f"Nurse trainer {i}", country="AL", mode="onsite", languages=["sq"])
    api.post(staff_rs, title="Remote data scientist", country="RS", mode="remote", compensation="volunteer")
    api.post(staff_rs, title="Draft never shown", country="RS", status="draft")
    client = api.client

    everything = client.get("/api/posts").json()
    assert everything["total"] == 6
    page = client.get("/api/posts", params={"limit": 2, "offset": 4}).json()
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (6, 2, 2, 4)
    first_pages = [
        p["id"]
        for o in (0, 2, 4)
        for p in client.get("/api/posts", params={"limit": 2, "offset": o}).json()["items"]
    ]
    assert len(set(first_pages)) == 6

    assert client.get("/api/posts", params={"country": "RS"}).json()["total"] == 1
    assert (
        client.get("/api/posts", params={"mode": "remote"}).json()["items"][0]["title"]
        == "Remote data scientist"
    )
    assert client.get("/api/posts", params={"compensation": "volunteer"}).json()["total"] == 1
    assert client.get("/api/posts", params={"language": "sq"}).json()["total"] == 5
    assert client.get("/api/posts", params={"q": "DATA sci"}).json()["total"] == 1
    # Staff see their own drafts; nobody else does.
    assert client.get("/api/posts", headers=staff_rs, params={"status": "draft"}).json()["total"] == 1
    assert client.get("/api/posts", headers=staff_al, params={"status": "draft"}).json()["total"] == 0


def test_organisation_listing_is_public_for_verified_only(api: Api) -> None:
    admin = api.admin()
    api.organisation(country="AL", admin=admin)
    api.organisation(country="XK", kind="university", admin=admin)
    api.organisation(verified=False)
    client = api.client
    listing = client.get("/api/organisations").json()
    assert listing["total"] == 2
    assert all(o["verified"] for o in listing["items"])
    assert client.get("/api/organisations", params={"kind": "university"}).json()["total"] == 1
    assert client.get("/api/organisations", params={"country": "XK"}).json()["total"] == 1
    assert client.get("/api/organisations", params={"verified": "false"}).status_code == 403
    assert client.get("/api/organisations", headers=admin).json()["total"] == 3


def test_health_and_openapi_schema(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    schema = api.client.get("/schema/openapi.json").json()
    assert "/api/posts" in schema["paths"]
    assert "/api/profiles/me" in schema["paths"]
    # Completed before it is served: error responses as problem JSON, search parameters from the config.
    put = schema["paths"]["/api/profiles/me"]["put"]["responses"]
    assert {"400", "401", "403"} <= set(put)
    assert put["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/Problem")
    search = schema["paths"]["/api/search/posts"]["get"]["parameters"]
    assert {"facets", "sort", "country"} <= {p["name"] for p in search}
    assert api.client.get("/schema/openapi.json").json() == schema  # the same document, completed once
