"""After a placement the host records what it left behind (local staff trained, what was transferred);
only the host's staff can, and the campaign's dashboard sums it."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from diaspora.platform.db.models import CampaignMatch, MatchState
from tests.conftest import Api
from tests.test_pages import _csrf, _login_page

Headers = dict[str, str]


@dataclass
class Placed:
    staff: Headers
    ministry: Headers
    campaign: str
    post: str
    match: str
    member: Headers
    member_email: str


def _pair(api: Api, campaign: str, post: str, profile: str, state: MatchState) -> str:
    match_id = uuid.uuid4()

    async def insert() -> None:
        engine = create_async_engine(api.client.app.state["settings"].effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                session.add(
                    CampaignMatch(
                        id=match_id,
                        campaign_id=uuid.UUID(campaign),
                        post_id=uuid.UUID(post),
                        profile_id=uuid.UUID(profile),
                        state=state.value,
                        score=0.5,
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(insert())
    return str(match_id)


def _placed(api: Api, state: MatchState = MatchState.PLACED) -> Placed:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    ministry, _ = api.ministry(admin=admin, country="AL")
    post = str(api.post(staff, title="Cardiologist, training fortnight")["id"])
    response = api.client.post(
        "/api/campaigns", headers=ministry, json={"name": "Health week", "post_ids": [post]}
    )
    assert response.status_code == 201, response.text
    campaign = str(response.json()["id"])
    member = api.register("member", display_name="Dr Arta Krasniqi")
    profile = str(api.profile(member)["id"])
    email = api.client.get("/api/me", headers=member).json()["email"]
    return Placed(staff, ministry, campaign, post, _pair(api, campaign, post, profile, state), member, email)


def test_the_host_records_what_a_placement_left_and_sees_it_listed(api: Api) -> None:
    placed = _placed(api)
    listed = api.client.get("/api/placements", headers=placed.staff).json()
    assert [(p["id"], p["person"], p["post_title"]) for p in listed] == [
        (placed.match, "Dr Arta Krasniqi", "Cardiologist, training fortnight")
    ]
    assert listed[0]["local_staff_trained"] is None
    body = {
        "local_staff_trained": 12,
        "transferred": " Transradial catheterisation; a checklist for the ward ",
    }
    response = api.client.put(f"/api/placements/{placed.match}/outcome", headers=placed.staff, json=body)
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert (outcome["local_staff_trained"], outcome["transferred"]) == (
        12,
        "Transradial catheterisation; a checklist for the ward",
    )
    assert outcome["outcome_recorded_at"]
    # Recorded again (a correction): the new figures stand.
    body["local_staff_trained"] = 14
    assert (
        api.client.put(f"/api/placements/{placed.match}/outcome", headers=placed.staff, json=body).json()[
            "local_staff_trained"
        ]
        == 14
    )


@pytest.mark.shared_app
@pytest.mark.parametrize(
    "body",
    [
        {"local_staff_trained": -1, "transferred": "x"},
        {"local_staff_trained": 3, "transferred": ""},
        {"local_staff_trained": "many", "transferred": "x"},
        {"transferred": "x"},
    ],
)
def test_a_bad_outcome_is_refused_and_changes_nothing(api: Api, body: dict[str, object]) -> None:
    placed = _placed(api)
    response = api.client.put(f"/api/placements/{placed.match}/outcome", headers=placed.staff, json=body)
    assert response.status_code == 400, response.text
    assert api.client.get("/api/placements", headers=placed.staff).json()[0]["outcome_recorded_at"] is None


def test_only_the_host_records_and_only_a_placement(api: Api) -> None:
    placed = _placed(api)
    body = {"local_staff_trained": 3, "transferred": "Triage training"}
    other, _ = api.organisation()
    assert (
        api.client.put(f"/api/placements/{placed.match}/outcome", headers=other, json=body).status_code == 403
    )
    assert api.client.get("/api/placements", headers=other).json() == []
    assert (
        api.client.put(
            f"/api/placements/{placed.match}/outcome", headers=placed.ministry, json=body
        ).status_code
        == 403
    )
    member = api.register("member")
    assert api.client.get("/api/placements", headers=member).status_code == 403
    accepted = _placed(api, MatchState.ACCEPTED)
    response = api.client.put(f"/api/placements/{accepted.match}/outcome", headers=accepted.staff, json=body)
    assert response.status_code == 404
    assert api.client.get("/api/placements", headers=accepted.staff).json() == []


def test_the_host_records_the_outcome_on_its_page(api: Api) -> None:
    placed = _placed(api)
    _login_page(api, api.client.get("/api/me", headers=placed.staff).json()["email"])
    page = api.client.get("/org")
    assert "People placed with us" in page.text
    assert "Dr Arta Krasniqi" in page.text
    action = f"/org/placements/{placed.match}/outcome"
    bad = api.client.post(
        action, data={"_csrf_token": _csrf(page.text), "local_staff_trained": "lots", "transferred": "Triage"}
    )
    assert bad.status_code == 400
    assert "Enter a whole number." in bad.text
    assert 'value="lots"' in bad.text  # what was typed stays
    saved = api.client.post(
        action,
        data={
            "_csrf_token": _csrf(page.text),
            "local_staff_trained": "7",
            "transferred": "Ultrasound-guided blocks",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert "Ultrasound-guided blocks" in api.client.get("/org").text


@pytest.mark.slow  # the dashboard encodes the campaign's skills
def test_the_campaign_dashboard_sums_what_the_placements_left(api: Api) -> None:
    placed = _placed(api)
    body = {"local_staff_trained": 12, "transferred": "Transradial catheterisation"}
    assert (
        api.client.put(f"/api/placements/{placed.match}/outcome", headers=placed.staff, json=body).status_code
        == 200
    )
    board = api.client.get(f"/api/campaigns/{placed.campaign}/dashboard", headers=placed.ministry).json()
    assert board["capacity"]["placements"] == 1
    assert board["capacity"]["outcomes_recorded"] == 1
    assert board["capacity"]["local_staff_trained"] == 12
    assert board["capacity"]["transfers"][0]["transferred"] == "Transradial catheterisation"
    exported = api.client.get(
        f"/api/campaigns/{placed.campaign}/dashboard", headers=placed.ministry, params={"format": "csv"}
    )
    assert ["capacity", "local_staff_trained", "12", ""] in list(csv.reader(io.StringIO(exported.text)))
