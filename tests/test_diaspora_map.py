"""The diaspora map: aggregates a ministry or municipality can act on, and nothing that singles a person out.

The registry here is crafted so that each rule shows: small groups hidden, a second group hidden where a
total would give the first away, a small selection shown as nothing at all, each viewer held to its own
country or municipality, and the exports holding exactly what the page holds.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from diaspora.platform.db.models import Account, AvailabilityWindow, Profile
from diaspora.platform.insights.services import municipality_key, suppress
from tests.conftest import Api
from tests.test_pages import _login_page

# origin country, municipality as the member wrote it, residence country and city, sectors, modes
PEOPLE: list[tuple[str, str, str, str | None, list[str], list[str]]] = (
    [("AL", "Tirana", "DE", "Munich", ["health"], ["onsite_return"])] * 3
    + [("AL", "Tirana", "DE", "MUNICH", ["health"], ["onsite_return"])] * 2
    + [("AL", "TIRANA ", "DE", None, ["health", "research"], ["remote"])] * 3
    + [("AL", "Tirana", "CH", "Zurich", ["it"], ["remote"])] * 6
    + [("AL", "Durrës", "AT", "Vienna", ["health"], [])] * 2
    + [("AL", "Durres", "AT", "Vienna", ["engineering"], ["invest"])] * 1
    + [("RS", "Niš", "DE", "Munich", ["health"], ["volunteer"])] * 3
)


def _insert_people(api: Api) -> None:
    url = api.client.app.state["settings"].effective_database_url

    async def insert() -> None:
        engine = create_async_engine(url)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                for n, (origin, town, residence, city, sectors, modes) in enumerate(PEOPLE):
                    account = Account(
                        email=f"mapped-{n}-{uuid.uuid4().hex[:6]}@example.org",
                        password_hash="x",
                        display_name=f"Person {n}",
                        email_verified_at=datetime.now(UTC),
                    )
                    session.add(account)
                    await session.flush()
                    profile = Profile(
                        account_id=account.id,
                        headline="Someone",
                        origin_country=origin,
                        origin_municipality=town,
                        residence_country=residence,
                        residence_city=city,
                        sectors=sectors,
                        created_at=datetime(2026, 10, 5, tzinfo=UTC)
                        if n % 2
                        else datetime(2025, 1, 5, tzinfo=UTC),
                    )
                    session.add(profile)
                    await session.flush()
                    if modes:
                        session.add(
                            AvailabilityWindow(
                                profile_id=profile.id,
                                start_date=date.today(),
                                end_date=date.today() + timedelta(days=400),
                                modes=modes,
                            )
                        )
        finally:
            await engine.dispose()

    asyncio.run(insert())


def _cells(board: dict[str, Any], name: str) -> dict[str, int | None]:
    return {cell["key"]: cell["count"] for cell in board[name]}


def test_small_groups_are_hidden_and_cannot_be_worked_out_from_the_total() -> None:
    cells = suppress(Counter({"DE": 8, "CH": 6, "AT": 3}), 5, partition=True)
    # AT alone hidden would read as total - 8 - 6 = 3: CH, the smallest shown, is hidden with it.
    assert {c.key: c.count for c in cells} == {"DE": 8, "CH": None, "AT": None}
    # Where people count in several groups there is no such total: only the small group goes.
    cells = suppress(Counter({"health": 8, "it": 6, "energy": 3}), 5, partition=False)
    assert {c.key: c.count for c in cells} == {"health": 8, "it": 6, "energy": None}
    # Two hidden groups together under the threshold still give each other away: a third is hidden.
    cells = suppress(Counter({"a": 9, "b": 7, "c": 2, "d": 1}), 5, partition=True)
    assert [c.count for c in cells] == [9, None, None, None]


def test_a_town_is_one_group_however_it_is_written() -> None:
    assert municipality_key("Priština") == municipality_key("PRISTINA") == municipality_key("Приштина")
    assert municipality_key(" Durrës ") == municipality_key("durres")
    assert municipality_key("Tirana") != municipality_key("Durrës")


def test_a_ministry_sees_its_own_diaspora_in_groups_of_at_least_five(api: Api) -> None:
    _insert_people(api)
    ministry, _ = api.ministry(country="AL")
    response = api.client.get("/api/insights/map", headers=ministry)
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["scope"] == {"origin_country": "AL", "origin_municipality": None}
    assert board["min_cell"] == 5
    assert board["total"] == 17  # the Serbian members are not Albania's to see
    # Residence: DE 8, CH 6, AT 3: AT is hidden, and CH with it.
    assert _cells(board, "residence_countries") == {"DE": 8, "CH": None, "AT": None}
    # Munich 5 (two spellings), Zurich 6; Vienna 3 and "somewhere in Germany" 3 hidden, together 6.
    assert _cells(board, "residence_cities") == {
        "CH:zurich": 6,
        "DE:munich": 5,
        "DE:": None,
        "AT:vienna": None,
    }
    assert {c["key"]: c["label"] for c in board["residence_cities"]}["DE:munich"] == "Munich"
    # Towns meet across spellings: Tirana 14, Durrës 3 (hidden, and the only other group, so Tirana too).
    assert _cells(board, "origin_municipalities") == {"tirana": None, "durres": None}
    assert _cells(board, "sectors") == {"health": 10, "it": 6, "research": None, "engineering": None}
    assert _cells(board, "modes") == {"remote": 9, "onsite_return": 5, "invest": None}
    # Everyone who gave a window is available in each of the next four quarters.
    assert [c["count"] for c in board["availability"]] == [15, 15, 15, 15]
    shown = [c["count"] for cells in board.values() if isinstance(cells, list) for c in cells]
    assert all(n is None or n == 0 or n >= 5 for n in shown), shown


def test_filters_narrow_every_breakdown_and_a_small_selection_shows_nothing(api: Api) -> None:
    _insert_people(api)
    ministry, _ = api.ministry(country="AL")
    board = api.client.get("/api/insights/map", headers=ministry, params={"residence_country": "CH"}).json()
    assert board["total"] == 6
    assert _cells(board, "sectors") == {"it": 6}
    board = api.client.get(
        "/api/insights/map", headers=ministry, params={"mode": ["invest", "remote"]}
    ).json()
    assert board["total"] == 10
    small = api.client.get("/api/insights/map", headers=ministry, params={"residence_country": "AT"}).json()
    assert small["total"] is None
    assert all(small[name] == [] for name in ("residence_countries", "sectors", "skills", "registrations"))
    # Another country's diaspora is not reachable through a filter.
    other = api.client.get("/api/insights/map", headers=ministry, params={"origin_country": "RS"}).json()
    assert other["total"] is None
    assert (
        api.client.get("/api/insights/map", headers=ministry, params={"sector": "HEALTH "}).json()["total"]
        == 10
    )
    bad = api.client.get("/api/insights/map", headers=ministry, params={"mode": "astrology"})
    assert bad.status_code == 400
    assert "astrology" in bad.text
    bad = api.client.get("/api/insights/map", headers=ministry, params={"residence_country": "Deutschland"})
    assert bad.status_code == 400


def test_a_municipality_sees_the_diaspora_of_its_own_town(api: Api) -> None:
    _insert_people(api)
    staff, _ = api.organisation(kind="municipality", country="AL")  # its municipality is Tirana
    board = api.client.get("/api/insights/map", headers=staff).json()
    assert board["scope"] == {"origin_country": "AL", "origin_municipality": "Tirana"}
    assert board["total"] == 14
    assert _cells(board, "residence_countries") == {"DE": 8, "CH": 6}
    hospital, _ = api.organisation(kind="hospital", country="AL")
    assert api.client.get("/api/insights/map", headers=hospital).status_code == 403
    member = api.register("member")
    assert api.client.get("/api/insights/map", headers=member).status_code == 403
    assert api.client.get("/api/insights/map").status_code == 401


def test_an_admin_sees_every_country_and_the_exports_hold_what_the_page_holds(api: Api) -> None:
    _insert_people(api)
    admin = api.admin()
    board = api.client.get("/api/insights/map", headers=admin).json()
    assert board["scope"] == {"origin_country": None, "origin_municipality": None}
    assert board["total"] == 20
    # RS (3) is hidden, and AL with it: the total, 20, would give RS away.
    assert _cells(board, "origin_countries") == {"AL": None, "RS": None}
    exported = api.client.get("/api/insights/map/export", headers=admin, params={"format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["breakdown", "key", "label", "members", "pledged_min_eur", "pledged_max_eur"]
    assert ["total", "", "", "20", "", ""] in rows
    assert ["origin_countries", "RS", "", "<5", "", ""] in rows
    counts = [row[3] for row in rows[1:]]
    assert all(c == "<5" or int(c) == 0 or int(c) >= 5 for c in counts), counts
    workbook = api.client.get("/api/insights/map/export", headers=admin, params={"format": "xlsx"})
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()][1] == [
        "total",
        None,
        None,
        20,
        None,
        None,
    ]


def test_the_map_page_draws_both_maps_and_offers_the_downloads(api: Api) -> None:
    _insert_people(api)
    ministry, _ = api.ministry(country="AL")
    email = api.client.get("/api/me", headers=ministry).json()["email"]
    _login_page(api, email)
    html = api.client.get("/map").text
    assert html.count('<svg class="choropleth"') == 2
    assert "17 members" in html
    assert 'href="/map/export?format=xlsx"' in html
    assert "fewer than 5" in html
    filtered = api.client.get("/map", params={"residence_country": "CH"}).text
    assert "6 members" in filtered
    download = api.client.get("/map/export", params={"format": "csv", "residence_country": "CH"})
    assert ["total", "", "", "6", "", ""] in list(csv.reader(io.StringIO(download.text)))


@pytest.mark.parametrize("town", ["Tirana", "tirana", "Тирана"])
def test_a_filter_by_town_meets_every_spelling(api: Api, town: str) -> None:
    _insert_people(api)
    ministry, _ = api.ministry(country="AL")
    board = api.client.get("/api/insights/map", headers=ministry, params={"origin_municipality": town}).json()
    assert board["total"] == 14
