"""Investment pledges: a member states a band and a horizon; the opportunity's organisation sees counts,
totals and only the contacts shared with it; a ministry sees its diaspora's pledges by sector and place,
never a group under five people."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.test_pages import _csrf, _login_page
from tests.test_search_api import INVESTMENT, VOLUNTEERING, publish

Headers = dict[str, str]


def _opportunity(api: Api, staff: Headers, admin: Headers, **fields: Any) -> str:
    response = api.client.post("/api/opportunities", headers=staff, json={**INVESTMENT, **fields})
    assert response.status_code == 201, response.text
    opportunity_id = str(response.json()["id"])
    publish(api, admin, opportunity_id)
    return opportunity_id


def _member(api: Api, name: str = "Member") -> Headers:
    headers = api.register("member", display_name=name)
    api.profile(headers)
    return headers


def test_a_member_pledges_changes_and_withdraws_and_the_organisation_sees_what_is_shared(api: Api) -> None:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    opportunity = _opportunity(api, staff, admin)
    open_member, quiet_member = _member(api, "Arben Open"), _member(api, "Quiet Person")
    url = f"/api/opportunities/{opportunity}/pledge"
    body = {"band": "10k_50k", "horizon": "1_year", "share_contact": True}
    first = api.client.put(url, headers=open_member, json=body)
    assert first.status_code == 200, first.text
    assert (first.json()["band"], first.json()["share_contact"]) == ("10k_50k", True)
    # A second pledge replaces the first: one per member and opportunity.
    changed = api.client.put(url, headers=open_member, json={**body, "band": "50k_250k"})
    assert changed.json()["band"] == "50k_250k"
    assert (
        api.client.put(url, headers=quiet_member, json={"band": "over_1m", "horizon": "3_years"}).status_code
        == 200
    )
    mine = api.client.get("/api/me/pledges", headers=open_member).json()
    assert [(p["opportunity_id"], p["band"]) for p in mine] == [(opportunity, "50k_250k")]

    summary = api.client.get(f"/api/opportunities/{opportunity}/pledges", headers=staff).json()
    assert summary["pledges"] == 2
    by_band = {b["band"]: b["pledges"] for b in summary["by_band"]}
    assert (by_band["50k_250k"], by_band["over_1m"], by_band["under_10k"]) == (1, 1, 0)
    assert (summary["total_min_eur"], summary["total_max_eur"]) == (1_050_000, None)  # over 1 million is open
    assert [c["name"] for c in summary["contacts"]] == ["Arben Open"]  # the quiet one stays a count
    assert "Quiet Person" not in str(summary)

    other, _ = api.organisation(admin=admin)
    assert api.client.get(f"/api/opportunities/{opportunity}/pledges", headers=other).status_code == 403
    assert api.client.get(f"/api/opportunities/{opportunity}/pledges", headers=open_member).status_code == 403

    exported = api.client.get("/api/me/export", headers=open_member).json()["pledges"]
    assert [(p["opportunity_id"], p["band"], p["share_contact"]) for p in exported] == [
        (opportunity, "50k_250k", True)
    ]

    assert api.client.delete(url, headers=open_member).status_code == 204
    assert api.client.delete(url, headers=open_member).status_code == 404
    assert api.client.get(f"/api/opportunities/{opportunity}/pledges", headers=staff).json()["pledges"] == 1


def test_pledges_are_for_published_investments_and_firms_answer_where_partners_are_sought(api: Api) -> None:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    member = _member(api)
    body = {"band": "under_10k", "horizon": "6_months"}
    volunteering = api.client.post("/api/opportunities", headers=staff, json=VOLUNTEERING).json()["id"]
    publish(api, admin, volunteering)
    assert (
        api.client.put(f"/api/opportunities/{volunteering}/pledge", headers=member, json=body).status_code
        == 409
    )
    pending = api.client.post("/api/opportunities", headers=staff, json=INVESTMENT).json()["id"]
    assert (
        api.client.put(f"/api/opportunities/{pending}/pledge", headers=member, json=body).status_code == 404
    )
    plain = _opportunity(api, staff, admin)
    as_firm = {**body, "firm": "Krasniqi Engineering GmbH"}
    refused = api.client.put(f"/api/opportunities/{plain}/pledge", headers=member, json=as_firm)
    assert refused.status_code == 409
    assert "firm" in refused.text
    seeking = _opportunity(api, staff, admin, seeking_partners=True)
    assert api.client.get(f"/api/opportunities/{seeking}").json()["seeking_partners"] is True
    assert (
        api.client.put(f"/api/opportunities/{seeking}/pledge", headers=member, json=as_firm).status_code
        == 200
    )
    assert api.client.get(f"/api/opportunities/{seeking}/pledges", headers=staff).json()["firms"] == 1


@pytest.mark.shared_app
@pytest.mark.parametrize(
    "body",
    [
        {"band": "a lot", "horizon": "1_year"},
        {"band": "under_10k", "horizon": "someday"},
        {"horizon": "1_year"},
        {"band": "under_10k", "horizon": "1_year", "firm": "x" * 201},
    ],
)
def test_a_bad_pledge_is_refused_and_nothing_is_saved(api: Api, body: dict[str, Any]) -> None:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    opportunity = _opportunity(api, staff, admin)
    member = _member(api)
    response = api.client.put(f"/api/opportunities/{opportunity}/pledge", headers=member, json=body)
    assert response.status_code == 400, response.text
    assert api.client.get("/api/me/pledges", headers=member).json() == []


def test_a_ministry_sees_its_diasporas_pledges_by_sector_only_from_five_members(api: Api) -> None:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    energy = _opportunity(api, staff, admin)  # sector energy, in Prizren
    ministry, _ = api.ministry(admin=admin, country="AL")
    members = [_member(api) for _ in range(5)]  # their profiles come from Albania
    for member in members[:4]:
        body = {"band": "10k_50k", "horizon": "1_year"}
        assert (
            api.client.put(f"/api/opportunities/{energy}/pledge", headers=member, json=body).status_code
            == 200
        )
    board = api.client.get("/api/insights/map", headers=ministry).json()
    assert board["pledges_by_sector"] == [
        {
            "key": "energy",
            "members": None,
            "pledges": None,
            "total_min_eur": None,
            "total_max_eur": None,
            "label": None,
        }
    ]
    body = {"band": "10k_50k", "horizon": "1_year"}
    assert (
        api.client.put(f"/api/opportunities/{energy}/pledge", headers=members[4], json=body).status_code
        == 200
    )
    board = api.client.get("/api/insights/map", headers=ministry).json()
    sector = board["pledges_by_sector"][0]
    assert (sector["members"], sector["total_min_eur"], sector["total_max_eur"]) == (5, 50_000, 250_000)
    place = board["pledges_by_place"][0]
    assert (place["key"], place["label"], place["members"]) == ("XK:prizren", "Prizren", 5)


def test_a_member_pledges_on_the_opportunity_page_and_its_organisation_reads_them_there(api: Api) -> None:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    opportunity = _opportunity(api, staff, admin)
    member = api.register("member", display_name="Drita Berisha")
    api.profile(member)
    _login_page(api, api.client.get("/api/me", headers=member).json()["email"])
    page = api.client.get(f"/opportunities/{opportunity}")
    assert page.status_code == 200
    assert "Pledge to invest" in page.text
    bad = api.client.post(
        f"/opportunities/{opportunity}/pledge", data={"_csrf_token": _csrf(page.text), "band": ""}
    )
    assert bad.status_code == 400
    assert 'aria-invalid="true"' in bad.text
    saved = api.client.post(
        f"/opportunities/{opportunity}/pledge",
        data={
            "_csrf_token": _csrf(page.text),
            "band": "50k_250k",
            "horizon": "1_year",
            "share_contact": "yes",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert "Change my pledge" in api.client.get(f"/opportunities/{opportunity}").text
    api.client.cookies.clear()
    _login_page(api, api.client.get("/api/me", headers=staff).json()["email"])
    owner_view = api.client.get(f"/opportunities/{opportunity}").text
    assert "Drita Berisha" in owner_view
    assert "1 pledge" in owner_view
