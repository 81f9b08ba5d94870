"""Matches and recommendations through the API, on both databases, with the real model."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from diaspora.platform.profiles.schemas import VISIBLE_FIELDS
from tests.conftest import Api, count_rows

pytestmark = pytest.mark.slow
EVERYTHING = list(VISIBLE_FIELDS)
MAY = [{"start_date": "2027-05-01", "end_date": "2027-05-31", "modes": ["onsite_return"]}]


def _member(
    api: Api,
    headline: str,
    skills: list[str],
    *,
    languages: tuple[str, ...] = ("sq",),
    availability: list[dict[str, Any]] | None = None,
    **consent: Any,
) -> tuple[dict[str, str], str]:
    headers = api.register("member")
    profile = api.profile(
        headers,
        headline=headline,
        skills=[{"name": s} for s in skills],
        languages=[{"code": c, "level": "C1"} for c in languages],
        availability=MAY if availability is None else availability,
        consent={
            "visible_fields": consent.pop("visible_fields", EVERYTHING),
            "open_to_matching": True,
            "open_to_contact": True,
            **consent,
        },
    )
    return headers, profile["id"]


def _cardiology_post(api: Api, staff: dict[str, str]) -> str:
    return api.post(
        staff,
        title="Interventional cardiologist, two-week training mission",
        description="Teach coronary angiography and echocardiography to residents.",
        required_skills=[{"name": "echocardiography"}, {"name": "coronary angiography"}],
        languages=["sq"],
        start_date="2027-05-03",
        end_date="2027-05-16",
        mode="onsite",
    )["id"]


def test_post_matches_are_ranked_filtered_explained_and_consent_aware(api: Api) -> None:
    staff, _ = api.organisation()
    _, cardiologist = _member(
        api, "Interventional cardiologist", ["coronary angiography", "echocardiography"]
    )
    _, welder = _member(api, "Welder in a shipyard", ["tig welding"])
    _, discreet = _member(api, "Cardiologist", ["echocardiography"], visible_fields=["headline"])
    _, faceless = _member(api, "Cardiologist", ["echocardiography"], visible_fields=["skills"])
    _, closed = _member(api, "Cardiologist", ["echocardiography"], open_to_matching=False)
    _, no_albanian = _member(api, "Cardiologist", ["echocardiography"], languages=("de",))
    _, june_only = _member(
        api,
        "Cardiologist",
        ["echocardiography"],
        availability=[{"start_date": "2027-06-01", "end_date": "2027-06-30", "modes": ["onsite_return"]}],
    )
    post_id = _cardiology_post(api, staff)

    response = api.client.get(f"/api/posts/{post_id}/matches", headers=staff)
    assert response.status_code == 200, response.text
    body = response.json()
    ids = [item["profile"]["id"] for item in body["items"]]
    assert ids[0] == cardiologist
    assert welder in ids
    assert discreet in ids
    assert ids.index(cardiologist) < ids.index(welder)
    assert not {closed, no_albanian, june_only} & set(ids)
    assert body["model_id"]

    best = body["items"][0]
    explanation = best["explanation"]
    assert {c["required"] for c in explanation["covered_skills"]} == {
        "echocardiography",
        "coronary angiography",
    }
    assert explanation["missing_skills"] == []
    assert explanation["availability_overlap_days"] == 14
    assert explanation["languages_matched"] == ["sq"]
    # Post title and headline are both linked to ESCO's occupation, and the explanation names it.
    assert explanation["occupation"]["via"] == "occupation"
    assert explanation["occupation"]["uri"].startswith("http://data.europa.eu/esco/occupation/")
    assert explanation["components"]["occupation"] > 0.5
    # The titles' shared wording is a component, and the explanation names the words.
    assert explanation["shared_words"] == ["interventional", "cardiologist"]
    assert explanation["components"]["lexical"] > 0
    assert "contact" not in best["profile"]
    assert best["score"] > next(i["score"] for i in body["items"] if i["profile"]["id"] == welder)

    # What the member hides stays hidden, in the profile and in the explanation.
    hidden = next(i for i in body["items"] if i["profile"]["id"] == discreet)
    assert set(hidden["profile"]) == {"id", "headline", "open_to_contact"}
    assert "covered_skills" not in hidden["explanation"]
    assert "languages_matched" not in hidden["explanation"]
    assert "availability_overlap_days" not in hidden["explanation"]
    # The headline is shown, and the occupation link and shared wording are read from it.
    assert set(hidden["explanation"]["components"]) == {"semantic", "occupation", "lexical"}
    assert hidden["explanation"]["shared_words"] == ["cardiologist"]
    # A member who hides the headline hides the link and the shared words too.
    headless = next(i for i in body["items"] if i["profile"]["id"] == faceless)
    assert "occupation" not in headless["explanation"]
    assert "occupation" not in headless["explanation"]["components"]
    assert "shared_words" not in headless["explanation"]
    assert "lexical" not in headless["explanation"]["components"]
    assert "covered_skills" in headless["explanation"]


def test_a_member_chooses_the_occupation_their_headline_stands_for(api: Api) -> None:
    staff, _ = api.organisation()
    headers, profile_id = _member(api, "Cardiologist", ["echocardiography"])
    url = "/api/profiles/me/occupation"

    # Without a choice the headline is linked automatically, and those links are offered.
    offered = api.client.get(url, headers=headers).json()
    assert offered["chosen"] is None
    cardiologist = offered["suggested"][0]  # ESCO: "specialised doctor", named "cardiologist" too
    assert cardiologist["uri"].startswith("http://data.europa.eu/esco/occupation/")
    assert cardiologist["matched_label"] == "cardiologist"
    assert cardiologist["confidence"] > 0.6

    # A headline no label spells: a member says what it stands for, and matching follows the choice.
    api.profile(
        headers,
        headline="Doktor za srce",
        skills=[{"name": "echocardiography"}],
        languages=[{"code": "sq", "level": "C1"}],
        availability=MAY,
        consent={"visible_fields": EVERYTHING, "open_to_matching": True, "open_to_contact": True},
    )
    # Refused: what the taxonomy does not know, and a body that is not one; nothing changes.
    for bad in ({"uri": "http://data.europa.eu/esco/occupation/no-such"}, {"uri": 7}, {"url": None}):
        assert api.client.put(url, headers=headers, json=bad).status_code == 400
    assert api.client.get(url, headers=headers).json()["chosen"] is None
    chosen = api.client.put(url, headers=headers, json={"uri": cardiologist["uri"]})
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["chosen"]["label"] == cardiologist["label"]

    post_id = _cardiology_post(api, staff)
    items = api.client.get(f"/api/posts/{post_id}/matches", headers=staff).json()["items"]
    mine = next(i for i in items if i["profile"]["id"] == profile_id)
    assert mine["explanation"]["occupation"]["via"] == "occupation"
    assert mine["explanation"]["occupation"]["chosen"] is True
    assert mine["explanation"]["components"]["occupation"] > 0.5
    # The member's own data says so, in the profile and in the export.
    assert api.client.get("/api/profiles/me", headers=headers).json()["occupation_uri"] == cardiologist["uri"]
    exported = api.client.get("/api/me/export", headers=headers).json()
    assert cardiologist["uri"] in str(exported)

    # Cleared: the headline is linked automatically again.
    cleared = api.client.put(url, headers=headers, json={"uri": None})
    assert cleared.json()["chosen"] is None
    items = api.client.get(f"/api/posts/{post_id}/matches", headers=staff).json()["items"]
    mine = next(i for i in items if i["profile"]["id"] == profile_id)
    assert mine["explanation"].get("occupation", {}).get("chosen") is not True


def test_who_may_see_a_posts_candidates(api: Api) -> None:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    other_staff, _ = api.organisation(admin=admin)
    member, _ = _member(api, "Cardiologist", ["echocardiography"])
    post_id = _cardiology_post(api, staff)
    url = f"/api/posts/{post_id}/matches"
    assert api.client.get(url, headers=other_staff).status_code == 403
    assert api.client.get(url, headers=member).status_code == 403
    assert api.client.get(url).status_code == 401
    # A ministry sees candidates once an admin verified it; a self-registered one sees nothing.
    assert api.client.get(url, headers=api.register("ministry")).status_code == 403
    assert api.client.get(url, headers=api.ministry(verified=False)[0]).status_code == 403
    assert api.client.get(url, headers=api.ministry(admin=admin)[0]).status_code == 200
    assert api.client.get(url, headers=admin).status_code == 200
    assert api.client.get(url, headers=staff, params={"limit": 0}).status_code == 400


def test_recommendations_for_a_member(api: Api) -> None:
    staff, _ = api.organisation()
    cardiology = _cardiology_post(api, staff)
    api.post(
        staff,
        title="Senior Python developer",
        required_skills=[{"name": "python"}],
        mode="onsite",
        start_date="2027-05-03",
        end_date="2027-05-16",
    )
    api.post(staff, title="Cardiology draft", required_skills=[{"name": "echocardiography"}], status="draft")
    unverified, _ = api.organisation(verified=False)
    api.post(unverified, title="Cardiologist wanted (unverified organisation)", status="draft")
    member, _ = _member(api, "Interventional cardiologist", ["echocardiography", "coronary angiography"])

    response = api.client.get("/api/profiles/me/recommendations", headers=member)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    titles = [i["post"]["title"] for i in items]
    assert items[0]["post"]["id"] == cardiology
    assert "Cardiology draft" not in titles
    assert not any("unverified" in t for t in titles)
    assert items[0]["explanation"]["covered_skills"]
    assert api.client.get("/api/profiles/me/recommendations", headers=staff).status_code == 403


def test_recommendations_show_each_post_as_it_is_now(api: Api) -> None:
    # What a recommendation shows of a post is remembered between requests; a change to the post or to
    # its organisation shows at the next one.
    admin = api.admin()
    staff, organisation = api.organisation(admin=admin)
    cardiology = _cardiology_post(api, staff)
    member, _ = _member(api, "Interventional cardiologist", ["echocardiography", "coronary angiography"])

    def shown() -> dict[str, Any]:
        response = api.client.get("/api/profiles/me/recommendations", headers=member)
        assert response.status_code == 200, response.text
        return next(i["post"] for i in response.json()["items"] if i["post"]["id"] == cardiology)

    assert shown()["organisation_name"].startswith("Hospital")
    renamed = api.client.patch(
        f"/api/organisations/{organisation}",
        headers=admin,
        json={"name": "Mother Teresa University Hospital"},
    )
    assert renamed.status_code == 200, renamed.text
    assert shown()["organisation_name"] == "Mother Teresa University Hospital"
    changed = api.client.put(
        f"/api/posts/{cardiology}",
        headers=staff,
        json={**{k: v for k, v in shown().items() if k in _POST_FIELDS}, "title": "Cardiologist, mission"},
    )
    assert changed.status_code == 200, changed.text
    assert shown()["title"] == "Cardiologist, mission"


def test_a_posts_candidates_show_each_profile_as_it_is_now(api: Api) -> None:
    # What a post's candidates list shows of each profile is remembered between requests; a change to the
    # profile, to its account's name or to what the member shows is seen at the next one, and contact
    # details only once the member shared them with the viewer's organisation.
    staff, _ = api.organisation()
    post_id = _cardiology_post(api, staff)
    member, profile_id = _member(api, "Interventional cardiologist", ["echocardiography"])

    def shown() -> dict[str, Any]:
        response = api.client.get(f"/api/posts/{post_id}/matches", headers=staff)
        assert response.status_code == 200, response.text
        return next(i["profile"] for i in response.json()["items"] if i["profile"]["id"] == profile_id)

    first = shown()
    assert first["headline"] == "Interventional cardiologist"
    assert first["skills"]
    assert "contact" not in first
    renamed = api.client.patch("/api/me", headers=member, json={"display_name": "Arta Krasniqi"})
    assert renamed.status_code == 200, renamed.text
    assert shown()["name"] == "Arta Krasniqi"
    api.profile(
        member,
        headline="Paediatric cardiologist",
        skills=[{"name": "echocardiography"}],
        languages=[{"code": "sq", "level": "C1"}],
        availability=MAY,
        consent={"visible_fields": EVERYTHING, "open_to_matching": True, "open_to_contact": True},
    )
    assert shown()["headline"] == "Paediatric cardiologist"

    # Contact details once shared, and current: a new phone number shows at the next request.
    sent = api.client.post(f"/api/posts/{post_id}/interests", headers=staff, json={"profile_id": profile_id})
    assert sent.status_code == 201, sent.text
    interest = api.client.get("/api/me/interests", headers=member).json()["items"][0]["id"]
    answer = f"/api/me/interests/{interest}/answer"
    assert api.client.post(answer, headers=member, json={"answer": "share"}).status_code in (200, 201)
    assert shown()["contact"]["email"].startswith("member")
    assert api.client.patch("/api/me", headers=member, json={"phone": "+355 69 000 1111"}).status_code == 200
    assert shown()["contact"]["phone"] == "+355 69 000 1111"

    # Hiding parts hides them at once; withdrawing contact hides the details.
    hidden = api.client.put(
        "/api/profiles/me/consent",
        headers=member,
        json={"visible_fields": ["headline"], "open_to_matching": True, "open_to_contact": False},
    )
    assert hidden.status_code == 200, hidden.text
    assert set(shown()) == {"id", "headline"}  # open_to_contact false: left out, as every default


_POST_FIELDS = (
    "kind",
    "description",
    "required_skills",
    "languages",
    "country",
    "start_date",
    "end_date",
    "mode",
    "status",
)


def test_embedding_store_encodes_only_changed_texts_and_forgets_erased_members(api: Api) -> None:
    engine = api.client.app.state["matching"]
    url = api.client.app.state["settings"].effective_database_url
    staff, _ = api.organisation()
    _cardiology_post(api, staff)
    first, _ = _member(api, "Cardiologist", ["echocardiography"])
    _member(api, "Welder", ["tig welding"])

    report = api.client.blocking_portal.call(engine.refresh)
    assert (report.encoded, report.reused) == (3, 0)
    assert count_rows(url, "embeddings") == 3
    report = api.client.blocking_portal.call(engine.refresh)
    assert report.encoded == 0  # nothing changed: recent rows are re-read but not re-encoded

    api.profile(first, headline="Cardiologist and lecturer", skills=[{"name": "echocardiography"}])
    assert api.client.blocking_portal.call(engine.refresh).encoded == 1
    # Consent changes do not change the text: no re-encoding, but the filter sees them.
    api.client.put("/api/profiles/me/consent", headers=first, json={"open_to_matching": False})
    assert api.client.blocking_portal.call(engine.refresh).encoded == 0

    assert api.client.delete("/api/me", headers=first).status_code == 204
    assert count_rows(url, "embeddings") == 2
    assert api.client.blocking_portal.call(engine.refresh).removed == 1
    assert len(engine.profiles) == 1


def test_a_profile_another_process_deletes_is_never_shown_and_leaves_the_index_within_the_interval(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy
    from sqlalchemy.ext.asyncio import create_async_engine

    from diaspora.platform.db.models import (
        AvailabilityWindow,
        Consent,
        Profile,
        ProfileLanguage,
        ProfileSkill,
    )
    from diaspora.platform.matches import engine as matches_engine

    engine = api.client.app.state["matching"]
    url = api.client.app.state["settings"].effective_database_url
    staff, _ = api.organisation()
    post_id = _cardiology_post(api, staff)
    _, gone = _member(api, "Interventional cardiologist", ["coronary angiography"])
    _, stays = _member(api, "Cardiologist", ["echocardiography"])
    api.client.blocking_portal.call(engine.refresh)
    assert engine.profiles is not None
    assert {gone, stays} <= set(engine.profiles.ids())

    async def delete_elsewhere() -> None:  # not through this process's sessions, as another process would
        other = create_async_engine(url)
        async with other.begin() as connection:
            for model in (Consent, ProfileSkill, ProfileLanguage, AvailabilityWindow):
                table = model.__table__
                await connection.execute(
                    sqlalchemy.delete(table).where(table.c.profile_id == uuid.UUID(gone))
                )
            table = Profile.__table__
            await connection.execute(sqlalchemy.delete(table).where(table.c.id == uuid.UUID(gone)))
        await other.dispose()

    api.client.blocking_portal.call(delete_elsewhere)
    # Counting the whole table to find deletions is left to every PROFILE_DELETIONS_EVERY seconds: the
    # index still holds the profile, but a post's candidates never show it.
    assert api.client.blocking_portal.call(engine.refresh).removed == 0
    assert gone in set(engine.profiles.ids())
    shown = api.client.get(f"/api/posts/{post_id}/matches", headers=staff).json()["items"]
    assert [item["profile"]["id"] for item in shown] == [stays]
    monkeypatch.setattr(matches_engine, "PROFILE_DELETIONS_EVERY", 0.0)
    assert api.client.blocking_portal.call(engine.refresh).removed == 1
    assert gone not in set(engine.profiles.ids())


def test_matches_and_recommendations_on_the_demo_data(api: Api) -> None:
    from diaspora.platform.demo.load import DEMO_PASSWORD

    api.load_demo(profiles=80)
    staff = api.login("staff1@demo.example", DEMO_PASSWORD)
    posts = api.client.get("/api/posts", headers=staff, params={"limit": 100}).json()["items"]
    own = [p for p in posts if p["organisation_name"].startswith("University Hospital Centre Mother Teresa")]
    assert own, "the first demo organisation has posts"
    ranked = api.client.get(f"/api/posts/{own[0]['id']}/matches", headers=staff).json()["items"]
    assert ranked, "demo posts find candidates"
    assert all(item["explanation"]["semantic_similarity"] > 0 for item in ranked)
    assert [i["score"] for i in ranked] == sorted((i["score"] for i in ranked), reverse=True)
    assert all("contact" not in item["profile"] or item["profile"]["open_to_contact"] for item in ranked)

    member = api.login("member1@demo.example", DEMO_PASSWORD)
    recommended = api.client.get("/api/profiles/me/recommendations", headers=member).json()["items"]
    assert all(item["post"]["live"] for item in recommended)


def test_a_new_process_loads_fresh_vectors_in_bulk_and_filters_the_same(api: Api) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from diaspora.matching.documents import PostDocument
    from diaspora.platform.matches.engine import MatchingEngine
    from diaspora.platform.wiring import open_database

    settings = api.client.app.state["settings"]
    warm = api.client.app.state["matching"]
    _member(api, "Cardiologist", ["echocardiography"])
    _member(
        api,
        "Remote developer",
        ["python"],
        languages=("sq", "en"),
        availability=[{"start_date": "2027-05-01", "end_date": "2027-05-31", "modes": ["remote"]}],
    )
    changed, _ = _member(api, "Welder", ["tig welding"])
    api.client.blocking_portal.call(warm.refresh)
    # Changed after its vector was stored (consent only): the bulk path leaves it to the regular one.
    api.client.put("/api/profiles/me/consent", headers=changed, json={"open_to_matching": False})

    async def cold() -> tuple[MatchingEngine, object]:
        engine = open_database(settings.effective_database_url)
        fresh = MatchingEngine(settings, async_sessionmaker(engine, expire_on_commit=False))
        report = await fresh.refresh()
        await engine.dispose()
        return fresh, report

    async def loaded_in_bulk() -> set[str]:
        from diaspora.matching.index import ProfileIndex

        engine = open_database(settings.effective_database_url)
        fresh = MatchingEngine(settings, async_sessionmaker(engine, expire_on_commit=False))
        async with fresh.sessions() as session:
            index = ProfileIndex(warm.profiles.dimension)
            loaded = await fresh._bulk_load_profiles(session, index)
        await engine.dispose()
        return {str(i) for i in loaded}

    changed_id = api.client.get("/api/profiles/me", headers=changed).json()["id"]
    assert changed_id not in api.client.blocking_portal.call(loaded_in_bulk)
    fresh, report = api.client.blocking_portal.call(cold)
    assert report.encoded == 0
    assert report.reused >= 3
    # The regular path found its stored vector still true to its text and stamped it so: the next process
    # to start loads it in bulk too, rather than read it through the regular path at every start.
    assert changed_id in api.client.blocking_portal.call(loaded_in_bulk)
    api.client.blocking_portal.call(warm.refresh)
    assert fresh.profiles is not None
    assert warm.profiles is not None
    assert sorted(fresh.profiles.ids()) == sorted(warm.profiles.ids())

    def allowed(index: Any, post: PostDocument) -> set[str]:
        return {index.id_at(i) for i, ok in enumerate(index.filter_mask(post)) if ok}

    for post in (
        PostDocument("p", languages=("en",), work_mode="remote"),
        PostDocument("p", work_mode="onsite"),
        PostDocument("p", languages=("sq",)),
    ):
        assert allowed(fresh.profiles, post) == allowed(warm.profiles, post)
    for profile_id in warm.profiles.ids():
        assert (fresh.profiles.vector_of(profile_id) == warm.profiles.vector_of(profile_id)).all()


def test_interest_lets_the_member_choose_to_share_their_contact(api: Api) -> None:
    staff, organisation_id = api.organisation()
    post = api.post(staff, title="Cardiologist for a training fortnight")
    member = api.register()
    profile = api.profile(
        member,
        consent={"visible_fields": ["headline", "skills"], "open_to_matching": True, "open_to_contact": True},
    )
    shy = api.register()
    shy_profile = api.profile(shy, consent={"open_to_matching": True, "open_to_contact": False})
    url = f"/api/posts/{post['id']}/interests"
    assert api.client.post(url, headers=staff, json={"profile_id": shy_profile["id"]}).status_code == 409
    assert api.client.post(url, headers=member, json={"profile_id": profile["id"]}).status_code == 403
    sent = api.client.post(url, headers=staff, json={"profile_id": profile["id"]})
    assert sent.status_code == 201, sent.text
    again = api.client.post(url, headers=staff, json={"profile_id": profile["id"]})
    assert again.json()["status"] == "already sent"  # a second click sends no second mail

    mine = api.client.get("/api/me/interests", headers=member).json()["items"]
    assert [(i["post_title"], i["answer"]) for i in mine] == [("Cardiologist for a training fortnight", None)]
    seen = api.client.get(f"/api/profiles/{profile['id']}", headers=staff).json()
    assert "contact" not in seen  # nothing revealed by the interest itself
    answer = f"/api/me/interests/{mine[0]['id']}/answer"
    assert api.client.post(answer, headers=shy, json={"answer": "share"}).status_code == 404  # not theirs
    shared = api.client.post(answer, headers=member, json={"answer": "share"})
    assert shared.json()["items"][0]["answer"] == "shared"
    assert api.client.post(answer, headers=member, json={"answer": "decline"}).status_code == 409
    seen = api.client.get(f"/api/profiles/{profile['id']}", headers=staff).json()
    assert seen["contact"]["email"].startswith("member")
    assert organisation_id
