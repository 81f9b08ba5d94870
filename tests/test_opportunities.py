"""Opportunities: who may write, review and see them, and what bad input gets."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SEARCH_EVENTS, Api, count_rows
from tests.test_search_api import INVESTMENT, VOLUNTEERING


def test_only_verified_organisations_post_and_only_admins_publish(api: Api) -> None:
    admin = api.admin()
    member = api.register()
    assert api.client.post("/api/opportunities", headers=member, json=INVESTMENT).status_code == 403
    unverified, _ = api.organisation(verified=False)
    response = api.client.post("/api/opportunities", headers=unverified, json=INVESTMENT)
    assert response.status_code == 409
    staff, _ = api.organisation(admin=admin)
    created = api.client.post("/api/opportunities", headers=staff, json=INVESTMENT).json()
    moderation = f"/api/opportunities/{created['id']}/moderation"
    assert api.client.post(moderation, headers=staff, json={"decision": "publish"}).status_code == 403
    # Staff see their own pending opportunity; others do not, and the public list does not show it.
    assert api.client.get(f"/api/opportunities/{created['id']}", headers=staff).status_code == 200
    assert api.client.get(f"/api/opportunities/{created['id']}", headers=member).status_code == 404
    queue = api.client.get("/api/opportunities", headers=admin, params={"status": "pending_review"}).json()
    assert [o["id"] for o in queue["items"]] == [created["id"]]
    assert api.client.get("/api/opportunities").json()["total"] == 0

    response = api.client.post(moderation, headers=admin, json={"decision": "reject", "note": "Add the land"})
    assert response.json()["status"] == "rejected"
    assert response.json()["moderation_note"] == "Add the land"
    assert (
        api.client.post(moderation, headers=admin, json={"decision": "publish"}).json()["status"]
        == "published"
    )
    assert api.client.get("/api/opportunities").json()["total"] == 1

    other, _ = api.organisation(admin=admin)
    url = f"/api/opportunities/{created['id']}"
    assert api.client.put(url, headers=other, json=VOLUNTEERING).status_code == 403
    assert api.client.delete(url, headers=other).status_code == 403
    assert api.client.delete(url, headers=staff).status_code == 204
    assert api.client.get(url, headers=admin).status_code == 404


@pytest.mark.shared_app
@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"ticket_min": 500, "ticket_max": 100}, None),
        ({"currency": None}, None),
        ({"currency": "euro"}, "currency"),
        ({"kind": "crowdfunding"}, "kind"),
        ({"sector": "alchemy"}, "sector"),
        ({"country": "Albania"}, "country"),
        ({"hours_per_week": 20}, None),  # time commitment on an investment
        ({"ticket_min": -5}, "ticket_min"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_url": "javascript:alert(1)"}, "contact_url"),
        ({"languages": ["sq", "sq"]}, None),
        ({"title": ""}, "title"),
        ({"surprise": True}, None),
    ],
)
def test_bad_opportunities_are_refused_and_write_nothing(
    api: Api, change: dict[str, Any], key: str | None
) -> None:
    staff, _ = api.organisation()
    body = {k: v for k, v in {**INVESTMENT, **change}.items() if v is not None}
    response = api.client.post("/api/opportunities", headers=staff, json=body)
    assert response.status_code == 400, response.text
    if key is not None:
        assert response.json()["extra"][0]["key"] == key
    url = api.client.app.state["settings"].effective_database_url
    assert count_rows(url, "opportunities") == 0
    assert count_rows(url, "outbox", SEARCH_EVENTS) == 0


def test_volunteering_rejects_a_ticket_size(api: Api) -> None:
    staff, _ = api.organisation()
    body = {**VOLUNTEERING, "ticket_min": 1000, "currency": "EUR"}
    assert api.client.post("/api/opportunities", headers=staff, json=body).status_code == 400
