"""Return stories: told by the person placed or the host, published only with both their consent and an
admin's review, withdrawn by either at any time; public, searchable in any script, in a feed."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET  # our own feed, parsed to check it

import pytest

from diaspora.platform.db.models import MatchState
from tests.conftest import Api
from tests.test_pages import _csrf, _login_page
from tests.test_placement_outcomes import _placed

Headers = dict[str, str]

STORY = {
    "title": "Two weeks in the Tirana cath lab",
    "body": (
        "I came back for two weeks and trained six cardiologists in transradial access.\n\n"
        "We still talk every week."
    ),
}
SERBIAN = {
    "title": "Повратак у Ниш",
    "body": "Вратио сам се на две недеље и обучио сам младе лекаре у болници. Било је дивно.",
}


def _publish(api: Api, admin: Headers, story: str) -> None:
    response = api.client.post(
        f"/api/stories/{story}/moderation", headers=admin, json={"decision": "publish"}
    )
    assert response.status_code == 200, response.text


def test_a_story_is_public_only_after_both_agree_and_an_admin_publishes_it(api: Api) -> None:
    placed = _placed(api)
    admin = api.admin()
    written = api.client.post("/api/stories", headers=placed.member, json={"match_id": placed.match, **STORY})
    assert written.status_code == 201, written.text
    story = written.json()
    assert (story["status"], story["member_consented"], story["host_consented"]) == (
        "awaiting_consent",
        True,
        False,
    )
    assert story["language"] == "en"
    assert api.client.get(f"/api/stories/{story['id']}").status_code == 404  # not for the public yet
    assert api.client.get("/api/stories").json()["total"] == 0
    # An admin cannot publish what the host has not agreed to.
    refused = api.client.post(
        f"/api/stories/{story['id']}/moderation", headers=admin, json={"decision": "publish"}
    )
    assert refused.status_code == 409
    other, _ = api.organisation()
    assert api.client.post(f"/api/stories/{story['id']}/consent", headers=other).status_code == 404
    agreed = api.client.post(f"/api/stories/{story['id']}/consent", headers=placed.staff).json()
    assert agreed["status"] == "pending_review"
    queue = api.client.get("/api/stories", headers=admin, params={"status": "pending_review"}).json()
    assert [s["id"] for s in queue["items"]] == [story["id"]]
    assert api.client.get("/api/stories", params={"status": "pending_review"}).status_code == 403
    _publish(api, admin, story["id"])
    public = api.client.get(f"/api/stories/{story['id']}").json()
    assert (public["person"], public["organisation"], public["status"]) == (
        "Dr Arta Krasniqi",
        public["organisation"],
        "published",
    )
    assert public["moderation_note"] is None
    assert [s["id"] for s in api.client.get("/api/stories").json()["items"]] == [story["id"]]
    exported = api.client.get("/api/me/export", headers=placed.member).json()["stories"]
    assert [(s["title"], s["status"]) for s in exported] == [(STORY["title"], "published")]
    # Either party takes it back: it is gone at once.
    assert (
        api.client.post(f"/api/stories/{story['id']}/withdraw", headers=placed.staff).json()["status"]
        == "withdrawn"
    )
    assert api.client.get(f"/api/stories/{story['id']}").status_code == 404
    assert api.client.get("/api/stories").json()["total"] == 0


def test_only_the_people_of_a_placement_tell_its_story_once(api: Api) -> None:
    placed = _placed(api)
    body = {"match_id": placed.match, **STORY}
    other, _ = api.organisation()
    assert api.client.post("/api/stories", headers=other, json=body).status_code == 403
    stranger = api.register("member")
    assert api.client.post("/api/stories", headers=stranger, json=body).status_code == 403
    assert api.client.post("/api/stories", headers=placed.staff, json=body).status_code == 201
    again = api.client.post("/api/stories", headers=placed.member, json=body)
    assert again.status_code == 409
    too_short = api.client.post("/api/stories", headers=placed.member, json={**body, "body": "Great."})
    assert too_short.status_code == 400
    accepted = _placed(api, MatchState.ACCEPTED)
    response = api.client.post(
        "/api/stories", headers=accepted.member, json={"match_id": accepted.match, **STORY}
    )
    assert response.status_code == 404  # not placed (yet)


def test_stories_are_found_in_either_script_and_without_diacritics_and_show_their_language(api: Api) -> None:
    admin = api.admin()
    for story in (STORY, SERBIAN):
        placed = _placed(api)
        made = api.client.post(
            "/api/stories", headers=placed.member, json={"match_id": placed.match, **story}
        ).json()
        api.client.post(f"/api/stories/{made['id']}/consent", headers=placed.staff)
        _publish(api, admin, made["id"])

    def titles(**params: str) -> list[str]:
        return [s["title"] for s in api.client.get("/api/stories", params=params).json()["items"]]

    assert titles(q="nis") == [SERBIAN["title"]]  # Ниш, typed in Latin without the accent
    assert titles(q="обучио") == [SERBIAN["title"]]
    assert titles(q="cardiologists") == [STORY["title"]]
    assert titles(language="sr") == [SERBIAN["title"]]
    page = api.client.get("/stories").text
    assert "Written in Bosnian, Croatian, Montenegrin or Serbian" in page or "Written in Serbian" in page
    assert SERBIAN["title"] in api.client.get("/").text  # the home page shows the newest stories
    feed = api.client.get("/stories/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)  # noqa: S314 (the platform's own output)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert {e.findtext("a:title", namespaces=ns) for e in root.findall("a:entry", ns)} == {
        STORY["title"],
        SERBIAN["title"],
    }


def test_the_feed_escapes_what_people_write(api: Api) -> None:
    admin = api.admin()
    placed = _placed(api)
    story = {
        "title": "<script>alert(1)</script> & more",
        "body": "A body with <b>markup</b> & an ampersand, long enough.",
    }
    made = api.client.post(
        "/api/stories", headers=placed.member, json={"match_id": placed.match, **story}
    ).json()
    api.client.post(f"/api/stories/{made['id']}/consent", headers=placed.staff)
    _publish(api, admin, made["id"])
    feed = api.client.get("/stories/feed.atom")
    entry = ET.fromstring(feed.content).find("{http://www.w3.org/2005/Atom}entry")  # noqa: S314
    assert entry is not None
    assert entry.findtext("{http://www.w3.org/2005/Atom}title") == story["title"]
    assert "<script>" not in api.client.get(f"/stories/{made['id']}").text


def test_the_member_tells_the_story_and_the_host_agrees_on_their_pages(api: Api) -> None:
    placed = _placed(api)
    _login_page(api, placed.member_email)
    mine = api.client.get("/stories/mine")
    assert "Tell a placement" in mine.text
    bad = api.client.post(
        "/stories", data={"_csrf_token": _csrf(mine.text), "match_id": placed.match, "title": "Hi"}
    )
    assert bad.status_code == 400
    assert 'aria-invalid="true"' in bad.text
    saved = api.client.post(
        "/stories",
        data={"_csrf_token": _csrf(mine.text), "match_id": placed.match, **STORY},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    api.client.cookies.clear()
    _login_page(api, api.client.get("/api/me", headers=placed.staff).json()["email"])
    host_view = api.client.get("/stories/mine")
    assert STORY["title"] in host_view.text
    assert "I agree to publish it" in host_view.text
    story_id = api.client.get("/api/stories/mine", headers=placed.staff).json()[0]["id"]
    agreed = api.client.post(
        f"/stories/{story_id}/consent", data={"_csrf_token": _csrf(host_view.text)}, follow_redirects=False
    )
    assert agreed.status_code == 303
    assert api.client.get("/api/stories/mine", headers=placed.staff).json()[0]["status"] == "pending_review"


def _jpeg_with_gps() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (3000, 2000), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {1: "N", 2: (41.0, 19.0, 30.0), 3: "E", 4: (19.0, 49.0, 10.0)}  # GPS: Tirana
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_loses_its_metadata_and_asks_the_other_party_again(api: Api) -> None:
    from PIL import Image

    placed = _placed(api)
    admin = api.admin()
    story = api.client.post(
        "/api/stories", headers=placed.staff, json={"match_id": placed.match, **STORY}
    ).json()
    assert api.client.post(f"/api/stories/{story['id']}/consent", headers=placed.member).status_code == 200
    # The host agreed and the member agreed: then the member adds a photo, so the host is asked again.
    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)
    url = f"/api/stories/{story['id']}/photo"
    pending = api.client.get(f"/api/stories/{story['id']}", headers=placed.member).json()
    assert pending["status"] == "pending_review"
    refused = api.client.put(
        url,
        headers=placed.member,
        files={"photo": ("p.jpg", original, "image/jpeg")},
        data={"photo_alt": "The team"},
    )
    assert refused.status_code == 409  # agreed by both already: the photo cannot change under them
    fresh = _placed(api)
    story = api.client.post(
        "/api/stories", headers=fresh.staff, json={"match_id": fresh.match, **STORY}
    ).json()
    url = f"/api/stories/{story['id']}/photo"
    not_image = api.client.put(
        url,
        headers=fresh.member,
        files={"photo": ("p.jpg", b"GIF89a not really", "image/jpeg")},
        data={"photo_alt": "x"},
    )
    assert not_image.status_code == 422
    added = api.client.put(
        url,
        headers=fresh.member,
        files={"photo": ("p.jpg", original, "image/jpeg")},
        data={"photo_alt": "The cath lab team"},
    )
    assert added.status_code == 200, added.text
    assert (added.json()["member_consented"], added.json()["host_consented"]) == (True, False)
    assert api.client.get(f"/stories/{story['id']}/photo").status_code == 404  # not published yet
    api.client.post(f"/api/stories/{story['id']}/consent", headers=fresh.staff)
    _publish(api, admin, story["id"])
    served = api.client.get(f"/stories/{story['id']}/photo")
    assert served.headers["content-type"] == "image/jpeg"
    stored = Image.open(io.BytesIO(served.content))
    assert max(stored.size) == 1600
    assert not stored.getexif()  # no camera, no GPS position
    assert 'alt="The cath lab team"' in api.client.get(f"/stories/{story['id']}").text


@pytest.mark.slow  # the demo's finished campaign ranks its members with the default encoder
def test_the_demo_holds_a_finished_campaign_whose_people_told_their_stories(api: Api) -> None:
    api.load_demo(profiles=80)
    ministry = api.login("ministry@demo.example", "demo-password-2027")
    campaigns = api.client.get("/api/campaigns", headers=ministry).json()["items"]
    finished = [c for c in campaigns if c["status"] == "closed"]
    assert len(finished) == 1
    board = api.client.get(f"/api/campaigns/{finished[0]['id']}/dashboard", headers=ministry).json()
    assert board["capacity"]["placements"] == 3
    assert board["capacity"]["local_staff_trained"] > 0
    stories = api.client.get("/api/stories").json()
    assert stories["total"] == 2
    assert {s["language"] for s in stories["items"]} == {"en", "sq"}
    assert "U ktheva" in api.client.get("/stories").text
