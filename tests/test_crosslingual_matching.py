"""Matching across the region's languages and scripts with the default encoder: a member who writes in
Albanian finds the cardiology post written in English, and a post written in Serbian Cyrillic finds the
English-speaking cardiologist."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

WINDOW = [{"start_date": "2026-01-01", "end_date": "2030-12-31", "modes": ["onsite_return", "remote"]}]


def _refresh(api: Api) -> None:
    api.client.blocking_portal.call(api.client.app.state["matching"].refresh)


def _member(api: Api, headline: str, skills: list[str], **fields: Any) -> dict[str, str]:
    headers = api.register("member")
    api.profile(
        headers,
        headline=headline,
        skills=[{"name": s} for s in skills],
        availability=WINDOW,
        consent={"visible_fields": ["headline", "skills", "languages"], "open_to_matching": True},
        **fields,
    )
    return headers


@pytest.mark.parametrize(
    ("headline", "skills", "expected"),
    [
        ("Kardiolog intervencues", ["angiografi koronare"], "cardiologist"),
        ("Infermiere pediatrike", ["kujdes intensiv për të porsalindurit", "triazh"], "paediatric nurse"),
    ],
)
def test_an_albanian_profile_gets_the_post_of_its_profession_first(
    api: Api, headline: str, skills: list[str], expected: str
) -> None:
    api.load_demo(profiles=20)
    member = _member(
        api, headline, skills, languages=[{"code": "sq", "level": "native"}, {"code": "de", "level": "C1"}]
    )
    _refresh(api)
    response = api.client.get("/api/profiles/me/recommendations", headers=member, params={"limit": 10})
    assert response.status_code == 200, response.text
    titles = [item["post"]["title"] for item in response.json()["items"]]
    assert expected in titles[0].lower(), titles


def test_a_serbian_cyrillic_post_finds_the_english_speaking_cardiologist(api: Api) -> None:
    staff, _ = api.organisation(country="RS")
    cardiologist = _member(
        api,
        "Interventional cardiologist",
        ["coronary angiography", "echocardiography"],
        languages=[{"code": "en", "level": "C2"}],
    )
    for headline, skills in (
        ("Paediatric nurse", ["neonatal intensive care", "triage"]),
        ("Structural engineer", ["reinforced concrete design", "seismic analysis"]),
        ("Software developer", ["python", "cloud infrastructure"]),
        ("Radiologist", ["magnetic resonance imaging", "computed tomography"]),
    ):
        _member(api, headline, skills, languages=[{"code": "en", "level": "C2"}])
    mine = api.client.get("/api/profiles/me", headers=cardiologist).json()["id"]
    post = api.post(
        staff,
        title="Интервентни кардиолог, двонедељна мисија обуке",
        country="RS",
        description="Клинички центар тражи интервентног кардиолога за обуку лекара у катетеризационој сали.",
        required_skills=[{"name": "коронарна ангиографија"}],
    )
    _refresh(api)
    response = api.client.get(f"/api/posts/{post['id']}/matches", headers=staff)
    assert response.status_code == 200, response.text
    ranked = [item["profile"]["id"] for item in response.json()["items"]]
    assert ranked[0] == mine, response.json()["items"][:2]
