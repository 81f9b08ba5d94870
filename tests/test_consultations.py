"""Consultations: a ministry or municipality asks its diaspora a short questionnaire.

Who is asked (the organisation's scope and the map's filters, among those who agreed to be consulted), one
mail each, one response per member changed until it closes, and results nobody can be singled out in.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from diaspora.platform.consultations.services import without_names
from tests.conftest import Api, count_rows
from tests.test_pages import _csrf, _login_page

QUESTIONS = [
    {
        "kind": "single",
        "prompt": "Would you come back for a month?",
        "options": ["Yes", "No", "Maybe"],
        "required": True,
    },
    {"kind": "multiple", "prompt": "What holds you back?", "options": ["Pay", "Family", "Paperwork"]},
    {"kind": "scale", "prompt": "How much do you trust local institutions?", "scale_max": 5},
    {"kind": "text", "prompt": "What should the municipality do first?"},
]


def consultation_body(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Coming back for a while",
        "intro": "We plan next year's return programme.",
        "questions": QUESTIONS,
        "closes_on": (date.today() + timedelta(days=14)).isoformat(),
        "filters": {"residence_country": ["DE"]},
        **fields,
    }


def member(api: Api, name: str, *, consulted: bool = True, **profile: Any) -> tuple[dict[str, str], str]:
    email = f"{name}-{uuid.uuid4().hex[:6]}@example.org"
    headers = api.register("member", email=email)
    consent = {"open_to_matching": True, "open_to_consultations": consulted}
    api.profile(headers, consent=consent, **profile)
    return headers, email


def draft(api: Api, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = api.client.post("/api/consultations", headers=headers, json=consultation_body(**fields))
    assert response.status_code == 201, response.text
    return dict(response.json())


def answer(api: Api, headers: dict[str, str], consultation_id: str, **answers: Any) -> Any:
    return api.client.put(
        f"/api/consultations/{consultation_id}/response", headers=headers, json={"answers": answers}
    )


def test_a_consultation_asks_whom_it_targets_once_and_shows_results_nobody_can_be_singled_out_in(
    api: Api,
) -> None:
    ministry, _ = api.ministry(country="AL")
    asked = [member(api, f"asked{i}", residence_country="DE") for i in range(6)]
    not_consulted, not_consulted_email = member(api, "quiet", consulted=False, residence_country="DE")
    elsewhere, elsewhere_email = member(api, "vienna", residence_country="AT")
    other_country, other_email = member(api, "nis", residence_country="DE", origin_country="RS")

    made = draft(api, ministry)
    assert made["status"] == "draft"
    assert made["audience"] == 6  # the opted-in members from Albania living in Germany
    assert made["scope"] == {"origin_country": "AL", "origin_municipality": None}
    cid = made["id"]
    assert [q["key"] for q in made["questions"]] == ["q1", "q2", "q3", "q4"]
    # A draft is nobody's business but its organisers'.
    assert api.client.get("/api/consultations/mine", headers=asked[0][0]).json() == []
    assert api.client.get(f"/api/consultations/{cid}", headers=asked[0][0]).status_code == 404

    opened = api.client.post(f"/api/consultations/{cid}/open", headers=ministry)
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    assert opened.json()["invited"] == 6
    assert api.client.post(f"/api/consultations/{cid}/open", headers=ministry).status_code == 409
    for _headers, email in asked:
        mails = [m for m in api.mail_to(email) if m["subject"].startswith("Consultation")]
        assert len(mails) == 1, mails  # one mail, however often "open" is pressed
        assert f"/consultations/{cid}" in mails[0]["body"]
    for email in (not_consulted_email, elsewhere_email, other_email):
        assert not [m for m in api.mail_to(email) if m["subject"].startswith("Consultation")]

    # Those asked see it; those not asked neither see it nor can answer it.
    mine = api.client.get("/api/consultations/mine", headers=asked[0][0]).json()
    assert [c["id"] for c in mine] == [cid]
    assert mine[0]["answered"] is False
    assert mine[0]["filters"] is None
    assert mine[0]["audience"] is None
    for headers in (not_consulted, elsewhere, other_country):
        assert api.client.get("/api/consultations/mine", headers=headers).json() == []
        assert api.client.get(f"/api/consultations/{cid}", headers=headers).status_code == 404
        assert answer(api, headers, cid, q1=0).status_code == 404

    # Four answers: too few to show anything.
    texts = [
        "Fix the hospital's equipment, write to me at ana@example.org",
        "Open a coworking space",
        "Pay doctors on time",
        "Fewer forms",
    ]
    for i, (headers, _email) in enumerate(asked[:4]):
        response = answer(api, headers, cid, q1=i % 2, q2=[0, 2] if i % 2 else [1], q3=4, q4=texts[i])
        assert response.status_code == 200, response.text
    results = api.client.get(f"/api/consultations/{cid}/results", headers=ministry).json()
    assert results["respondents"] is None
    assert all(q["answered"] is None and not q["cells"] and not q["texts"] for q in results["questions"])

    # A fifth answer, and the first member changes theirs: still one response each.
    assert answer(api, asked[4][0], cid, q1=0, q3=2).status_code == 200
    changed = answer(api, asked[0][0], cid, q1=2, q2=[1], q3=5, q4=texts[0])
    assert changed.status_code == 200
    assert changed.json()["answers"]["q1"] == 2
    url = api.client.app.state["settings"].effective_database_url
    assert count_rows(url, "consultation_responses") == 5
    mine = api.client.get(f"/api/consultations/{cid}/response", headers=asked[0][0]).json()
    assert mine["answers"] == {"q1": 2, "q2": [1], "q3": 5, "q4": texts[0]}

    results = api.client.get(f"/api/consultations/{cid}/results", headers=ministry).json()
    assert results["respondents"] == 5
    q1, q2, q3, q4 = results["questions"]
    # "Yes" 2, "No" 2, "Maybe" 1: all under five, so none is shown, only the total.
    assert q1["answered"] == 5
    assert [(c["label"], c["count"]) for c in q1["cells"]] == [("Yes", None), ("No", None), ("Maybe", None)]
    assert q2["answered"] is None  # four answered it
    assert q3["answered"] == 5
    assert q3["mean"] == round((5 + 4 + 4 + 4 + 2) / 5, 2)
    assert q4["answered"] is None
    assert answer(api, asked[4][0], cid, q1=0, q3=2, q4="More flights").status_code == 200
    q4 = api.client.get(f"/api/consultations/{cid}/results", headers=ministry).json()["questions"][3]
    assert q4["answered"] == 5
    assert "ana@example.org" not in " ".join(q4["texts"])  # free text without names or addresses
    assert q4["texts"] == sorted(q4["texts"], key=str.casefold)  # in no order that tells who wrote what
    assert "respondents" in api.client.get(f"/api/consultations/{cid}/results/export", headers=ministry).text

    # Closing ends the answering; answers stay.
    closed = api.client.post(f"/api/consultations/{cid}/close", headers=ministry)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert answer(api, asked[5][0], cid, q1=0).status_code == 409
    assert answer(api, asked[0][0], cid, q1=0).status_code == 409
    assert api.client.get("/api/consultations/mine", headers=asked[0][0]).json() == []


def test_answers_are_checked_against_the_questions_and_a_refused_answer_changes_nothing(api: Api) -> None:
    ministry, _ = api.ministry(country="AL")
    headers, _email = member(api, "checked", residence_country="DE")
    cid = draft(api, ministry)["id"]
    assert api.client.post(f"/api/consultations/{cid}/open", headers=ministry).status_code == 200
    for bad in (
        {"q2": [0]},  # the required question left out
        {"q1": 3},  # no fourth option
        {"q1": 0, "q2": [7]},
        {"q1": 0, "q3": 6},  # off the scale
        {"q1": 0, "q4": 12},  # a number for a text
        {"q1": 0, "q9": 1},  # no such question
        {"q1": 0, "q4": "x" * 2001},
        {"q1": 0, "q4": "bad\u202ebytes"},
    ):
        response = answer(api, headers, cid, **bad)
        assert response.status_code in (400, 422), (bad, response.text)
    url = api.client.app.state["settings"].effective_database_url
    assert count_rows(url, "consultation_responses") == 0


def test_organisers_write_valid_questionnaires_and_change_only_drafts(api: Api) -> None:
    ministry, _ = api.ministry(country="AL")
    bad_bodies = [
        {"questions": []},
        {"questions": [{"kind": "single", "prompt": "One option?", "options": ["Only"]}]},
        {"questions": [{"kind": "single", "prompt": "Twice?", "options": ["A", "a"]}]},
        {"questions": [{"kind": "text", "prompt": "Options?", "options": ["A", "B"]}]},
        {"questions": [{"kind": "scale", "prompt": "Scale?", "scale_max": 40}]},
        {"closes_on": (date.today() - timedelta(days=1)).isoformat()},
        {"closes_on": (date.today() + timedelta(days=800)).isoformat()},
        {"filters": {"mode": ["teleport"]}},
        {"filters": {"residence_country": ["Germany"]}},
    ]
    for fields in bad_bodies:
        response = api.client.post("/api/consultations", headers=ministry, json=consultation_body(**fields))
        assert response.status_code in (400, 422), (fields, response.text)
    url = api.client.app.state["settings"].effective_database_url
    assert count_rows(url, "consultations") == 0

    cid = draft(api, ministry)["id"]
    changed = api.client.put(
        f"/api/consultations/{cid}", headers=ministry, json=consultation_body(title="New")
    )
    assert changed.status_code == 200
    assert changed.json()["title"] == "New"
    api.client.post(f"/api/consultations/{cid}/open", headers=ministry)
    refused = api.client.put(
        f"/api/consultations/{cid}", headers=ministry, json=consultation_body(title="Again")
    )
    assert refused.status_code == 409
    assert api.client.delete(f"/api/consultations/{cid}", headers=ministry).status_code == 409
    other = draft(api, ministry)["id"]
    assert api.client.delete(f"/api/consultations/{other}", headers=ministry).status_code == 204
    assert [c["id"] for c in api.client.get("/api/consultations", headers=ministry).json()] == [cid]


def test_only_the_asking_organisation_sees_its_consultation(api: Api) -> None:
    admin = api.admin()
    ministry, _ = api.ministry(country="AL", admin=admin)
    cid = draft(api, ministry)["id"]
    other_ministry, _ = api.ministry(country="AL", admin=admin)
    hospital, _ = api.organisation(admin=admin)
    applicant, _ = api.ministry(country="AL", verified=False)
    for headers in (other_ministry,):
        assert api.client.get(f"/api/consultations/{cid}", headers=headers).status_code == 404
        assert api.client.get(f"/api/consultations/{cid}/results", headers=headers).status_code == 404
        assert api.client.post(f"/api/consultations/{cid}/open", headers=headers).status_code == 404
    for headers in (hospital, applicant):
        assert (
            api.client.post("/api/consultations", headers=headers, json=consultation_body()).status_code
            == 403
        )
        assert api.client.get(f"/api/consultations/{cid}/results", headers=headers).status_code == 403
    assert api.client.get(f"/api/consultations/{cid}/results", headers=admin).status_code == 200
    assert api.client.get("/api/consultations", headers=other_ministry).json() == []


def test_a_municipality_asks_the_diaspora_of_its_own_town(api: Api) -> None:
    staff, _ = api.organisation(kind="municipality", country="AL")  # its municipality is Tirana
    from_tirana, _e = member(api, "tirana", origin_municipality="TIRANA", residence_country="DE")
    from_durres, _e = member(api, "durres", origin_municipality="Durrës", residence_country="DE")
    made = draft(api, staff, filters={})
    assert made["scope"] == {"origin_country": "AL", "origin_municipality": "Tirana"}
    api.client.post(f"/api/consultations/{made['id']}/open", headers=staff)
    assert [c["id"] for c in api.client.get("/api/consultations/mine", headers=from_tirana).json()] == [
        made["id"]
    ]
    assert api.client.get("/api/consultations/mine", headers=from_durres).json() == []


def test_free_text_loses_its_writers_name_and_contact_details() -> None:
    text = "I am Ana Hoxha, call +49 170 1234567 or ana.hoxha@example.org, see https://ana.example"
    cleaned = without_names(text, "Ana Hoxha")
    for gone in ("Ana", "Hoxha", "1234567", "example.org", "https://"):
        assert gone not in cleaned, cleaned
    assert cleaned.startswith("I am [")
    assert without_names("Build a bridge", "Ana Hoxha") == "Build a bridge"


@pytest.mark.slow  # the member page ranks recommendations with the default encoder
def test_members_answer_on_their_page_and_organisers_read_results_on_theirs(api: Api) -> None:
    ministry, _ = api.ministry(country="AL")
    _headers, email = member(api, "paged", residence_country="DE")
    cid = draft(api, ministry)["id"]
    api.client.post(f"/api/consultations/{cid}/open", headers=ministry)

    _login_page(api, email)
    dashboard = api.client.get("/me")
    assert f"/consultations/{cid}" in dashboard.text
    page = api.client.get(f"/consultations/{cid}")
    assert page.status_code == 200
    assert "Would you come back for a month?" in page.text
    token = _csrf(page.text)
    missing = api.client.post(f"/consultations/{cid}/answer", data={"_csrf_token": token, "q4": "Roads"})
    assert missing.status_code == 400
    assert "q4" in missing.text
    assert "Roads" in missing.text
    saved = api.client.post(
        f"/consultations/{cid}/answer",
        data={"_csrf_token": token, "q1": "2", "q2": ["0", "2"], "q3": "4", "q4": "Roads"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    again = api.client.get(f"/consultations/{cid}?saved=true")
    assert 'value="2" checked' in again.text
    assert "Roads" in again.text
    # The consent is on the profile form.
    assert 'name="open_to_consultations" checked' in dashboard.text

    api.client.cookies.clear()
    _login_page(api, api.client.get("/api/me", headers=ministry).json()["email"])
    listing = api.client.get("/consultations")
    assert listing.status_code == 200
    assert "Coming back for a while" in listing.text
    shown = api.client.get(f"/consultations/{cid}")
    assert shown.status_code == 200
    assert 'id="consultation-results"' in shown.text
    assert "Roads" not in shown.text  # one answer: nothing shown
    new = api.client.post(
        "/consultations",
        data={
            "_csrf_token": _csrf(listing.text),
            "title": "Roads",
            "closes_on": (date.today() + timedelta(days=3)).isoformat(),
            "q0_prompt": "Which road first?",
            "q0_kind": "single",
            "q0_options": "North\n",
        },
    )
    assert new.status_code == 400
    assert "q0-error" in new.text
    assert "Which road first?" in new.text
    made = api.client.post(
        "/consultations",
        data={
            "_csrf_token": _csrf(listing.text),
            "title": "Roads",
            "closes_on": (date.today() + timedelta(days=3)).isoformat(),
            "residence_country": "de, at",
            "q0_prompt": "Which road first?",
            "q0_kind": "single",
            "q0_options": "North\nSouth\n",
            "q0_required": "on",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    created = api.client.get(made.headers["location"])
    assert "Which road first?" in created.text
    assert "DE, AT" in created.text


def test_filters_on_how_members_want_to_contribute_reach_those_available_that_way(api: Api) -> None:
    admin = api.admin()
    window = [{"start_date": "2027-05-01", "end_date": "2027-05-31", "modes": ["onsite_return"]}]
    coming, _e = member(api, "coming", availability=window)
    staying, _e = member(api, "staying")
    made = draft(api, admin, filters={"mode": ["onsite_return"]})
    assert made["scope"] == {"origin_country": None, "origin_municipality": None}
    api.client.post(f"/api/consultations/{made['id']}/open", headers=admin)
    assert [c["id"] for c in api.client.get("/api/consultations/mine", headers=coming).json()] == [made["id"]]
    assert api.client.get("/api/consultations/mine", headers=staying).json() == []


def test_a_members_answers_are_in_their_data_export_and_leave_with_their_account(api: Api) -> None:
    ministry, _ = api.ministry(country="AL")
    headers, _email = member(api, "exported", residence_country="DE")
    cid = draft(api, ministry)["id"]
    api.client.post(f"/api/consultations/{cid}/open", headers=ministry)
    assert answer(api, headers, cid, q1=1, q4="More flights").status_code == 200
    exported = api.client.get("/api/me/export", headers=headers).json()["consultation_answers"]
    assert exported[0]["consultation"] == "Coming back for a while"
    assert exported[0]["answers"] == {"q1": 1, "q4": "More flights"}
    assert exported[0]["questions"]["q1"] == "Would you come back for a month?"
    url = api.client.app.state["settings"].effective_database_url
    assert api.client.delete("/api/me", headers=headers).status_code == 204
    assert count_rows(url, "consultation_responses") == 0


def test_the_demo_holds_consultations_with_answers_and_one_waiting_for_the_first_member(api: Api) -> None:
    api.load_demo(profiles=80)
    admin = api.login("admin@demo.example", "demo-password-2027")
    ministry = api.login("ministry@demo.example", "demo-password-2027")
    first = api.login("member1@demo.example", "demo-password-2027")
    statuses = sorted(c["status"] for c in api.client.get("/api/consultations", headers=ministry).json())
    assert statuses == ["draft", "open"]
    waiting = api.client.get("/api/consultations/mine", headers=first).json()
    assert waiting
    assert not any(c["answered"] for c in waiting)
    everything = api.client.get("/api/consultations", headers=admin).json()
    platform_wide = next(c for c in everything if c["asked_by"] is None)
    results = api.client.get(f"/api/consultations/{platform_wide['id']}/results", headers=admin).json()
    assert results["respondents"] is not None
    assert results["respondents"] >= 5
