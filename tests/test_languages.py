"""The language each profile and post is written in: identified, stored, returned, and shown where it
helps ("Written in Serbian" on a recommended post when the interface is in another language)."""

from __future__ import annotations

import pytest

from diaspora.matching.languages import display_group, identify
from tests.conftest import Api


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Kardiolog intervencues me përvojë në angiografi koronare", "sq"),
        ("Интервентни кардиолог, двонедељна мисија обуке у клиничком центру", "sr"),
        (
            "Бараме интервентен кардиолог со искуство во коронарна ангиографија за нашата болница во Скопје.",
            "mk",
        ),
        ("Interventioneller Kardiologe mit Erfahrung in der Koronarangiographie", "de"),
        ("Interventional cardiologist with experience in coronary angiography", "en"),
    ],
)
def test_the_language_of_a_text_is_identified(text: str, code: str) -> None:
    assert identify(text) == code


def test_too_little_text_says_nothing() -> None:
    assert identify("") is None
    assert identify("  42 ") is None


def test_latin_serbian_croatian_and_bosnian_are_named_together() -> None:
    assert display_group("hr", "Tražimo medicinsku sestru za dječji odjel") == ("bs", "hr", "cnr", "sr")
    assert display_group("sr", "Интервентни кардиолог") == ("sr",)
    assert display_group("sq", "Kardiolog") == ("sq",)
    assert display_group(None, "") == ()


CYRILLIC_POST = {
    "title": "Интервентни кардиолог, двонедељна мисија обуке",
    "description": "Клинички центар тражи интервентног кардиолога за обуку лекара у катетеризационој сали.",
    "required_skills": [{"name": "коронарна ангиографија"}],
    "country": "RS",
}


def test_profiles_and_posts_carry_their_language(api: Api) -> None:
    member = api.register("member")
    saved = api.profile(
        member,
        headline="Kardiolog intervencues",
        summary="Punoj si kardiolog në Mynih prej dhjetë vitesh.",
        skills=[{"name": "angiografi koronare"}],
    )
    assert saved["text_language"] == "sq"
    assert api.client.get("/api/profiles/me", headers=member).json()["text_language"] == "sq"
    staff, _ = api.organisation(country="RS")
    post = api.post(staff, **CYRILLIC_POST)
    assert post["text_language"] == "sr"
    english = api.post(staff, title="Interventional cardiologist, two-week training mission")
    assert english["text_language"] == "en"
    # An edit in another language changes it.
    changed = api.client.put(
        f"/api/posts/{english['id']}",
        headers=staff,
        json={
            **{k: english[k] for k in ("kind", "country", "start_date", "end_date", "status")},
            "title": "Kardiolog intervencues për një mision trajnimi dyjavor",
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["text_language"] == "sq"


@pytest.mark.slow  # ranks with the default encoder
def test_a_recommended_post_says_what_language_it_is_written_in(api: Api) -> None:
    staff, _ = api.organisation(country="RS")
    api.post(staff, **CYRILLIC_POST)
    member = api.register("member")
    api.profile(
        member,
        headline="Interventional cardiologist",
        skills=[{"name": "coronary angiography"}],
        consent={"visible_fields": ["headline", "skills"], "open_to_matching": True},
    )
    api.client.blocking_portal.call(api.client.app.state["matching"].refresh)
    page = api.client.get("/me", headers=member)
    assert page.status_code == 200, page.text
    assert "Written in Serbian" in page.text
    api.client.cookies.set("lang", "sq")
    assert "Shkruar në serbisht" in api.client.get("/me", headers=member).text
