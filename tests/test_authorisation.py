"""Who may see and change what: consent, contact details, own profile, verification, posts."""

from __future__ import annotations

from diaspora.platform.profiles.schemas import VISIBLE_FIELDS
from tests.conftest import Api, count_rows

EVERYTHING = list(VISIBLE_FIELDS)


def test_organisation_sees_only_consented_fields(api: Api) -> None:
    member = api.register("member")
    api.profile(
        member,
        summary="Private summary",
        consent={"visible_fields": ["headline", "skills"], "open_to_matching": True, "open_to_contact": True},
    )
    staff, _ = api.organisation()
    seen = api.client.get("/api/profiles", headers=staff).json()["items"][0]
    assert set(seen) == {"id", "headline", "skills", "open_to_contact"}
    assert "summary" not in seen
    assert "languages" not in seen
    assert "origin_country" not in seen


def test_the_city_a_member_lives_in_is_shown_with_the_country_or_not_at_all(api: Api) -> None:
    member = api.register("member")
    own = api.profile(
        member,
        residence_city="Munich",
        consent={"visible_fields": ["headline"], "open_to_matching": True, "open_to_contact": True},
    )
    assert own["residence_city"] == "Munich"
    staff, _ = api.organisation()
    seen = api.client.get("/api/profiles", headers=staff).json()["items"][0]
    assert "residence_city" not in seen
    consent = {"visible_fields": ["headline", "residence_country"], "open_to_matching": True}
    assert api.client.put("/api/profiles/me/consent", headers=member, json=consent).status_code == 200
    seen = api.client.get("/api/profiles", headers=staff).json()["items"][0]
    assert (seen["residence_country"], seen["residence_city"]) == ("DE", "Munich")


def test_filters_never_reveal_hidden_fields(api: Api) -> None:
    hidden = api.register("member")
    api.profile(
        hidden, origin_country="XK", consent={"visible_fields": ["headline"], "open_to_matching": True}
    )
    shown = api.register("member")
    api.profile(shown, origin_country="XK", consent={"visible_fields": ["headline", "origin", "skills"]})
    staff, _ = api.organisation()
    by_origin = api.client.get("/api/profiles", headers=staff, params={"origin_country": "XK"}).json()
    assert by_origin["total"] == 1
    assert by_origin["items"][0]["origin_country"] == "XK"
    assert api.client.get("/api/profiles", headers=staff, params={"skill": "echo"}).json()["total"] == 1


def test_profiles_not_open_to_matching_are_invisible(api: Api) -> None:
    member = api.register("member")
    profile = api.profile(member, consent={"visible_fields": EVERYTHING, "open_to_matching": False})
    staff, _ = api.organisation()
    assert api.client.get("/api/profiles", headers=staff).json()["total"] == 0
    assert api.client.get(f"/api/profiles/{profile['id']}", headers=staff).status_code == 404


def test_contact_details_only_after_member_accepts(api: Api) -> None:
    member = api.register("member", phone="+355 69 123 4567")
    profile = api.profile(member, consent={"visible_fields": EVERYTHING, "open_to_contact": True})
    staff, organisation_id = api.organisation()
    other_staff, _ = api.organisation()
    url = f"/api/profiles/{profile['id']}"
    assert "contact" not in api.client.get(url, headers=staff).json()

    response = api.client.post(
        "/api/profiles/me/contact-grants", headers=member, json={"organisation_id": organisation_id}
    )
    assert response.status_code == 204
    contact = api.client.get(url, headers=staff).json()["contact"]
    assert contact["phone"] == "+355 69 123 4567"
    assert contact["email"].endswith("@example.org")
    assert "contact" not in api.client.get(url, headers=other_staff).json()

    # Closing contact altogether hides it again, even with the grant still recorded.
    api.client.put(
        "/api/profiles/me/consent",
        headers=member,
        json={"visible_fields": EVERYTHING, "open_to_contact": False},
    )
    assert "contact" not in api.client.get(url, headers=staff).json()
    api.client.put(
        "/api/profiles/me/consent",
        headers=member,
        json={"visible_fields": EVERYTHING, "open_to_contact": True},
    )
    assert (
        api.client.delete(f"/api/profiles/me/contact-grants/{organisation_id}", headers=member).status_code
        == 204
    )
    assert "contact" not in api.client.get(url, headers=staff).json()


def test_members_cannot_browse_or_touch_other_profiles(api: Api) -> None:
    alice = api.register("member")
    alice_profile = api.profile(alice, headline="Alice the anaesthesiologist")
    bob = api.register("member")
    api.profile(bob, headline="Bob the welder")
    assert api.client.get("/api/profiles", headers=bob).status_code == 403
    assert api.client.get(f"/api/profiles/{alice_profile['id']}", headers=bob).status_code == 403
    # PUT /me only ever writes the caller's own profile.
    api.profile(bob, headline="Bob again")
    assert (
        api.client.get("/api/profiles/me", headers=alice).json()["headline"] == "Alice the anaesthesiologist"
    )
    assert api.client.get("/api/profiles").status_code == 401


def test_unverified_organisation_staff_cannot_see_profiles(api: Api) -> None:
    member = api.register("member")
    api.profile(member)
    staff, _ = api.organisation(verified=False)
    response = api.client.get("/api/profiles", headers=staff)
    assert response.status_code == 403
    assert "verified" in response.json()["detail"]


def test_only_admins_verify_organisations(api: Api) -> None:
    staff, organisation_id = api.organisation(verified=False)
    ministry = api.register("ministry")
    member = api.register("member")
    for headers in (staff, ministry, member):
        assert (
            api.client.post(f"/api/organisations/{organisation_id}/verify", headers=headers).status_code
            == 403
        )
    assert api.client.post(f"/api/organisations/{organisation_id}/verify").status_code == 401
    assert (
        api.client.post(f"/api/organisations/{organisation_id}/verify", headers=api.admin()).status_code
        == 200
    )


def test_staff_change_only_their_own_posts_and_organisation(api: Api) -> None:
    admin = api.admin()
    staff, organisation_id = api.organisation(admin=admin)
    intruder, _ = api.organisation(admin=admin)
    post = api.post(staff)
    body = {"kind": "skill_need", "title": "Hijacked", "country": "AL"}
    assert api.client.put(f"/api/posts/{post['id']}", headers=intruder, json=body).status_code == 403
    assert api.client.delete(f"/api/posts/{post['id']}", headers=intruder).status_code == 403
    assert (
        api.client.patch(
            f"/api/organisations/{organisation_id}", headers=intruder, json={"name": "Hijacked"}
        ).status_code
        == 403
    )
    member = api.register("member")
    assert api.client.post("/api/posts", headers=member, json=body).status_code == 403
    assert api.client.get(f"/api/posts/{post['id']}").json()["title"] == post["title"]
    assert api.client.delete(f"/api/posts/{post['id']}", headers=staff).status_code == 204
    assert api.client.get(f"/api/posts/{post['id']}").status_code == 404


def test_renaming_a_verified_organisation_needs_verification_again(api: Api) -> None:
    staff, organisation_id = api.organisation()
    response = api.client.patch(
        f"/api/organisations/{organisation_id}", headers=staff, json={"name": "New name"}
    )
    assert response.status_code == 200
    assert response.json()["verified"] is False
    response = api.client.patch(
        f"/api/organisations/{organisation_id}", headers=staff, json={"description": "Only the description"}
    )
    assert response.status_code == 200


def test_tokens_logout_and_bad_credentials(api: Api) -> None:
    member = api.register("member", email="someone@example.org")
    assert api.client.get("/api/me", headers=member).json()["email"] == "someone@example.org"
    assert (
        api.client.post(
            "/api/auth/login", json={"email": "someone@example.org", "password": "wrong password"}
        ).status_code
        == 401
    )
    assert (
        api.client.post(
            "/api/auth/login", json={"email": "nobody@example.org", "password": "whatever123"}
        ).status_code
        == 401
    )
    assert api.client.get("/api/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert api.client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.client.post("/api/auth/logout", headers=member).status_code == 204
    assert api.client.get("/api/me", headers=member).status_code == 401
    # Emails are case-insensitive: the same person cannot register twice (and is told so by mail only).
    response = api.client.post(
        "/api/auth/register",
        json={"email": "SomeOne@Example.org", "password": "another long password", "display_name": "Dup"},
    )
    assert response.status_code == 202
    assert [m["subject"] for m in api.mail_to("someone@example.org")][-1] == "You already have an account"
    url = api.client.app.state["settings"].effective_database_url
    assert count_rows(url, "accounts", "lower(email) = 'someone@example.org'") == 1


def test_admin_role_cannot_be_self_registered(api: Api) -> None:
    response = api.client.post(
        "/api/auth/register",
        json={
            "email": "sneaky@example.org",
            "password": "long enough password",
            "display_name": "X",
            "role": "admin",
        },
    )
    assert response.status_code == 400
    assert "role" in response.text
