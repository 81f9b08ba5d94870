"""Members can take all their data with them, and leave without a trace but an anonymised audit trail."""

from __future__ import annotations

from tests.conftest import Api, count_rows


def test_export_contains_everything_the_member_gave(api: Api) -> None:
    member = api.register("member", email="export.me@example.org", phone="+41 79 555 1234")
    api.profile(
        member,
        summary="Structural engineer in Zurich",
        skills=[{"name": "bridge engineering"}],
        credentials=[{"title": "Dipl. Ing. ETH", "issuer": "ETH Zurich", "year": 2011}],
        availability=[{"start_date": "2027-07-01", "end_date": "2027-07-14", "modes": ["volunteer"]}],
    )
    _, organisation_id = api.organisation()
    api.client.post(
        "/api/profiles/me/contact-grants", headers=member, json={"organisation_id": organisation_id}
    )

    export = api.client.get("/api/me/export", headers=member).json()
    assert export["account"]["email"] == "export.me@example.org"
    assert export["account"]["phone"] == "+41 79 555 1234"
    profile = export["profile"]
    assert profile["summary"] == "Structural engineer in Zurich"
    assert profile["skills"][0]["name"] == "bridge engineering"
    assert profile["credentials"][0]["issuer"] == "ETH Zurich"
    assert profile["availability"][0]["modes"] == ["volunteer"]
    assert profile["contact_granted_to"] == [organisation_id]
    assert {"account.registered", "profile.created", "contact.granted"} <= {
        a["action"] for a in export["activity"]
    }
    assert export["sessions"]
    assert "token" not in str(export["sessions"])


def test_erasure_removes_the_member_everywhere(api: Api) -> None:
    url = api.client.app.state["settings"].effective_database_url
    member = api.register("member", email="forget.me@example.org")
    profile = api.profile(
        member,
        skills=[{"name": "triage"}],
        availability=[{"start_date": "2027-07-01", "end_date": "2027-07-14", "modes": ["remote"]}],
    )
    staff, organisation_id = api.organisation()
    api.client.post(
        "/api/profiles/me/contact-grants", headers=member, json={"organisation_id": organisation_id}
    )
    audit_before = count_rows(url, "audit_events")

    assert api.client.delete("/api/me", headers=member).status_code == 204

    assert api.client.get("/api/me", headers=member).status_code == 401
    assert api.client.get(f"/api/profiles/{profile['id']}", headers=staff).status_code == 404
    for table in (
        "profiles",
        "profile_skills",
        "profile_languages",
        "availability_windows",
        "consents",
        "contact_grants",
        "credentials",
    ):
        assert count_rows(url, table) == 0, table
    # Audit events stay (one more: the erasure itself), none of them points at the person any more.
    assert count_rows(url, "audit_events") == audit_before + 1
    export = api.client.get("/api/me/export", headers=staff).json()
    assert "forget.me" not in str(export)
    # The email is free again.
    again = api.register("member", email="forget.me@example.org")
    assert api.client.get("/api/me", headers=again).status_code == 200


def test_erasing_staff_keeps_the_organisation_and_its_posts(api: Api) -> None:
    staff, organisation_id = api.organisation()
    post = api.post(staff)
    assert api.client.delete("/api/me", headers=staff).status_code == 204
    assert api.client.get(f"/api/organisations/{organisation_id}").status_code == 200
    assert api.client.get(f"/api/posts/{post['id']}").status_code == 200
