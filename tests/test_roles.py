"""Roles are granted, never self-assigned: a self-registered ministry or organisation account sees nothing
personal until an admin verifies its organisation or attaches it to one; withdrawn consent is withdrawn in
every view."""

from __future__ import annotations

import pytest

from diaspora.platform.profiles.schemas import VISIBLE_FIELDS
from tests.conftest import Api

EVERYTHING = list(VISIBLE_FIELDS)


def _open_member(api: Api, phone: str = "+355 69 000 1111") -> tuple[dict[str, str], dict[str, object]]:
    member = api.register("member", phone=phone)
    profile = api.profile(
        member,
        availability=[{"start_date": "2027-05-01", "end_date": "2027-05-31", "modes": ["onsite_return"]}],
        consent={"visible_fields": EVERYTHING, "open_to_matching": True, "open_to_contact": True},
    )
    return member, profile


def test_self_registered_ministry_sees_nothing_personal(api: Api) -> None:
    admin = api.admin()
    _open_member(api)
    staff, _ = api.organisation(admin=admin)
    post = api.post(staff)
    ministry, ministry_org = api.ministry(verified=False)
    bare = api.register("ministry")
    for headers in (bare, ministry):
        assert api.client.get("/api/profiles", headers=headers).status_code == 403
        assert api.client.get(f"/api/posts/{post['id']}/matches", headers=headers).status_code == 403
        response = api.client.post(
            "/api/campaigns", headers=headers, json={"name": "Health week", "post_ids": [post["id"]]}
        )
        assert response.status_code == 403
        assert "verified" in response.json()["detail"] or "Register" in response.json()["detail"]
        assert api.client.get("/api/campaigns", headers=headers).status_code == 403
    # Verified by an admin, the same account gets its powers at the next request.
    api.client.post(f"/api/organisations/{ministry_org}/verify", headers=admin)
    assert api.client.get("/api/profiles", headers=ministry).json()["total"] == 1
    response = api.client.post(
        "/api/campaigns", headers=ministry, json={"name": "Health week", "post_ids": [post["id"]]}
    )
    assert response.status_code == 201, response.text
    # Unverified again (e.g. it turned out to be an impostor): the powers go at once.
    api.client.post(f"/api/organisations/{ministry_org}/unverify", headers=admin)
    assert api.client.get("/api/profiles", headers=ministry).status_code == 403
    assert api.client.get(f"/api/campaigns/{response.json()['id']}", headers=ministry).status_code == 403


def test_an_organisation_account_cannot_change_its_kind_to_ministry(api: Api) -> None:
    staff, organisation_id = api.organisation()
    response = api.client.patch(
        f"/api/organisations/{organisation_id}", headers=staff, json={"kind": "ministry"}
    )
    assert response.status_code == 403
    assert api.client.get(f"/api/organisations/{organisation_id}").json()["kind"] == "hospital"
    ministry = api.register("ministry")
    response = api.client.post(
        "/api/organisations",
        headers=ministry,
        json={"name": "A hospital", "kind": "hospital", "country": "AL"},
    )
    assert response.status_code == 403


def test_admins_attach_accounts_to_verified_organisations(api: Api) -> None:
    admin = api.admin()
    _open_member(api)
    _, organisation_id = api.organisation(admin=admin)
    colleague_email = "second.doctor@example.org"
    colleague = api.register("organisation_staff", email=colleague_email)
    assert api.client.get("/api/profiles", headers=colleague).status_code == 403
    url = f"/api/organisations/{organisation_id}/staff"
    # Only admins grant; the organisation's own staff cannot co-opt whoever they like.
    assert api.client.post(url, headers=colleague, json={"email": colleague_email}).status_code == 403
    granted = api.client.post(url, headers=admin, json={"email": colleague_email})
    assert granted.status_code == 200, granted.text
    assert granted.json()["role"] == "organisation_staff"
    assert api.client.get("/api/profiles", headers=colleague).json()["total"] == 1
    assert colleague_email in [s["email"] for s in api.client.get(url, headers=admin).json()["items"]]
    # A member who has a profile is not turned into staff; unknown emails are named.
    member, _ = _open_member(api)
    member_email = api.client.get("/api/me", headers=member).json()["email"]
    assert api.client.post(url, headers=admin, json={"email": member_email}).status_code == 409
    unknown = api.client.post(url, headers=admin, json={"email": "nobody@example.org"})
    assert unknown.status_code == 404
    assert unknown.json()["extra"][0]["key"] == "email"
    # Taken out again: the login stays, the powers go.
    account_id = granted.json()["account_id"]
    assert api.client.delete(f"{url}/{account_id}", headers=admin).status_code == 204
    assert api.client.get("/api/profiles", headers=colleague).status_code == 403
    assert api.client.get("/api/me", headers=colleague).status_code == 200


def test_a_ministry_is_granted_through_a_ministry_organisation(api: Api) -> None:
    admin = api.admin()
    _, ministry_org = api.ministry(admin=admin)
    email = "deputy.minister@example.org"
    deputy = api.register("member", email=email)
    response = api.client.post(
        f"/api/organisations/{ministry_org}/staff", headers=admin, json={"email": email}
    )
    assert response.json()["role"] == "ministry"
    assert api.client.get("/api/campaigns", headers=deputy).status_code == 200


@pytest.mark.slow
def test_withdrawn_contact_grant_hides_contact_from_the_campaign(api: Api) -> None:
    admin = api.admin()
    member, profile = _open_member(api, phone="+355 69 765 4321")
    staff, organisation_id = api.organisation(admin=admin)
    post = api.post(staff, required_skills=[{"name": "echocardiography"}])
    ministry, _ = api.ministry(admin=admin)
    campaign = api.client.post(
        "/api/campaigns", headers=ministry, json={"name": "Health week", "post_ids": [post["id"]]}
    ).json()
    base = f"/api/campaigns/{campaign['id']}"
    (pair,) = api.client.post(f"{base}/run", headers=ministry).json()["items"]
    assert pair["profile"]["id"] == profile["id"]
    assert "contact" not in pair["profile"]
    assert (
        api.client.post(f"{base}/invitations", headers=ministry, json={"match_ids": [pair["id"]]}).status_code
        == 200
    )
    answer = api.client.post(
        f"/api/me/invitations/{pair['id']}/answer", headers=member, json={"answer": "accept"}
    )
    assert answer.status_code == 200, answer.text

    def contacts(headers: dict[str, str]) -> list[object]:
        items = api.client.get(f"{base}/proposal", headers=headers).json()["items"]
        return [item["profile"].get("contact") for item in items]

    assert contacts(ministry)[0] == {
        "email": api.client.get("/api/me", headers=member).json()["email"],
        "phone": "+355 69 765 4321",
    }
    assert contacts(admin)[0] is not None
    revoked = api.client.delete(f"/api/profiles/me/contact-grants/{organisation_id}", headers=member)
    assert revoked.status_code == 204
    assert contacts(ministry) == [None]
    assert contacts(admin) == [None]
    assert "+355" not in api.client.get(f"{base}/dashboard", headers=ministry, params={"format": "csv"}).text
    page = api.client.get(f"/api/posts/{post['id']}/matches", headers=staff).json()["items"]
    assert all("contact" not in item["profile"] for item in page)
    # The member's export shows the grant gone too.
    exported = api.client.get("/api/me/export", headers=member).json()
    assert exported["profile"]["contact_granted_to"] == []
