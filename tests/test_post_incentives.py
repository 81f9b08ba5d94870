"""What a post offers besides the work (travel, accommodation, a stipend, a subsidy programme, insurance):
stated as fields, kept through every way a post is written, filterable and searchable."""

from __future__ import annotations

import io

import pytest

from tests.conftest import Api
from tests.test_pages import _csrf, _login_page
from tests.test_search_api import drain, found


def test_a_post_states_its_incentives_and_a_programme_or_an_amount_implies_its_kind(api: Api) -> None:
    staff, _ = api.organisation()
    post = api.post(
        staff, incentives=["travel"], stipend_eur=1200, subsidy_programme=" Brain Gain Programme "
    )
    assert post["incentives"] == ["travel", "subsidy", "stipend"]
    assert (post["stipend_eur"], post["subsidy_programme"]) == (1200, "Brain Gain Programme")
    plain = api.post(staff)
    assert (plain["incentives"], plain["stipend_eur"], plain["subsidy_programme"]) == ([], None, None)


@pytest.mark.shared_app
@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"incentives": ["travel", "travel"]}, "incentives"),
        ({"incentives": ["free lunch"]}, "incentives"),
        ({"stipend_eur": 0}, "stipend_eur"),
        ({"stipend_eur": "a lot"}, "stipend_eur"),
        ({"subsidy_programme": "x" * 201}, "subsidy_programme"),
    ],
)
def test_bad_incentives_are_refused_naming_the_field(api: Api, fields: dict[str, object], key: str) -> None:
    staff, _ = api.organisation()
    body = {"kind": "short_term_return", "title": "Trainer", "country": "AL", **fields}
    response = api.client.post("/api/posts", headers=staff, json=body)
    assert response.status_code == 400, response.text
    assert key in response.text
    assert api.client.get("/api/posts", headers=staff).json()["total"] == 0


def test_posts_are_found_by_what_they_offer(api: Api) -> None:
    staff, _ = api.organisation()
    travel = api.post(staff, title="Anaesthetist, training week", incentives=["travel", "accommodation"])
    funded = api.post(staff, title="Nurse educator", subsidy_programme="Diaspora Return Fund")
    api.post(staff, title="Radiographer")
    listed = api.client.get("/api/posts", params={"incentive": "travel"}).json()
    assert [p["id"] for p in listed["items"]] == [travel["id"]]
    assert api.client.get("/api/posts", params={"incentive": "teleport"}).status_code == 400
    drain(api)
    assert found(api, "posts", incentives="accommodation") == [travel["id"]]
    assert found(api, "posts", q="return fund") == [funded["id"]]
    facets = api.client.get("/api/search/posts", params={"facets": "incentives"}).json()["facets"]
    assert facets["incentives"] == {"travel": 1, "accommodation": 1, "subsidy": 1}


def test_the_post_form_keeps_incentives_and_everything_else_when_a_post_is_edited(api: Api) -> None:
    staff, _ = api.organisation()
    email = api.client.get("/api/me", headers=staff).json()["email"]
    post = api.post(
        staff,
        nice_to_have_skills=[{"name": "ultrasound"}],
        compensation="volunteer",
        incentives=["travel", "insurance"],
        stipend_eur=900,
    )
    _login_page(api, email)
    form = api.client.get(f"/org/posts/{post['id']}/edit")
    assert form.status_code == 200
    assert 'value="insurance" checked' in form.text
    # Saved again as it is shown, with one more incentive ticked: nothing else is lost.
    body = {
        "_csrf_token": _csrf(form.text),
        "title": post["title"],
        "kind": post["kind"],
        "country": post["country"],
        "required_skills": "echocardiography",
        "nice_to_have_skills": "ultrasound",
        "compensation": "volunteer",
        "incentives": ["travel", "insurance", "accommodation"],
        "stipend_eur": "900",
        "status": "open",
    }
    saved = api.client.post(f"/org/posts/{post['id']}/edit", data=body, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    after = api.client.get(f"/api/posts/{post['id']}").json()
    assert after["incentives"] == ["travel", "insurance", "accommodation", "stipend"]
    assert [s["name"] for s in after["nice_to_have_skills"]] == ["ultrasound"]
    assert (after["compensation"], after["stipend_eur"]) == ("volunteer", 900)


def test_a_posts_file_carries_incentives(api: Api) -> None:
    staff, _ = api.organisation()
    rows = (
        "external_id,kind,title,country,incentives,stipend_eur,subsidy_programme\n"
        "p-1,short_term_return,Surgeon for a week,AL,travel; accommodation,1500,Brain Gain Programme\n"
    )
    response = api.client.post(
        "/api/imports/posts",
        headers=staff,
        files={"file": ("posts.csv", io.BytesIO(rows.encode()), "text/csv")},
    )
    assert response.status_code == 200, response.text
    post = api.client.get("/api/posts", headers=staff).json()["items"][0]
    assert post["incentives"] == ["travel", "accommodation", "subsidy", "stipend"]
    assert (post["stipend_eur"], post["subsidy_programme"]) == (1500, "Brain Gain Programme")
