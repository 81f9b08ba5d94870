"""Every route by every kind of caller → the status they get, on SQLite and PostgreSQL.

The table below is the authorisation policy as a person would state it. A route the application serves
without a row here fails `test_every_route_has_a_row`, so a new endpoint cannot ship unreviewed.

Callers (columns):
  anon    nobody logged in
  member  a diaspora member with a profile (open to matching and contact); owns the invitations and
          interests the rows make
  other   another member
  staff   staff of the verified organisation that owns the post, the opportunity and the interests
  ostaff  staff of another verified organisation
  ustaff  staff of an organisation no admin has verified
  smin    a self-registered ministry with a ministry organisation no admin has verified
  min     a verified ministry, owner of the campaign
  admin   an admin

Success statuses are what the route answers when allowed; a 409 or 400 in a column means the caller
passed authorisation and met a business rule. Pages answer 303 to anonymous callers (the login page).
Each cell that changes something gets fresh objects, so no cell depends on another's order.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from diaspora.platform.db.models import CampaignMatch, MatchState, utcnow
from tests.conftest import Api

pytestmark = pytest.mark.slow  # encodes the small world it builds

CALLERS = ("anon", "member", "other", "staff", "ostaff", "ustaff", "smin", "min", "admin")
EVERYONE = ("member", "other", "staff", "ostaff", "ustaff", "smin", "min", "admin")

Headers = dict[str, str]


@dataclass
class World:
    api: Api
    callers: dict[str, Headers]
    admin: Headers
    staff: Headers
    ministry: Headers
    member_profile: str
    org: str
    other_org: str
    unverified_org: str
    ministry_org: str
    post: str
    opportunity: str
    campaign: str

    # -- fresh objects for cells that change things ----------------------------------------------------

    def fresh_post(self) -> str:
        return str(self.api.post(self.staff, title=f"Trainer {uuid.uuid4().hex[:6]}")["id"])

    def fresh_opportunity(self, *, published: bool = True) -> str:
        response = self.api.client.post("/api/opportunities", headers=self.staff, json=OPPORTUNITY)
        assert response.status_code == 201, response.text
        opportunity_id = str(response.json()["id"])
        if published:
            url = f"/api/opportunities/{opportunity_id}/moderation"
            assert (
                self.api.client.post(url, headers=self.admin, json={"decision": "publish"}).status_code == 200
            )
        return opportunity_id

    def fresh_organisation(self, *, verified: bool) -> str:
        return self.api.organisation(verified=verified, admin=self.admin)[1]

    def fresh_campaign(self) -> str:
        response = self.api.client.post(
            "/api/campaigns", headers=self.ministry, json={"name": "Health week", "post_ids": [self.post]}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_match(self, state: MatchState, campaign: str | None = None) -> str:
        """A pair of the member and the post in a campaign of the ministry, in the given state."""
        campaign_id = uuid.UUID(campaign or self.fresh_campaign())
        match_id = uuid.uuid4()
        now = utcnow()

        async def insert() -> None:
            engine = create_async_engine(self.api.client.app.state["settings"].effective_database_url)
            try:
                async with async_sessionmaker(engine)() as session, session.begin():
                    session.add(
                        CampaignMatch(
                            id=match_id,
                            campaign_id=campaign_id,
                            post_id=uuid.UUID(self.post),
                            profile_id=uuid.UUID(self.member_profile),
                            state=state.value,
                            score=0.5,
                            components={"semantic": 0.5},
                            explanation={"semantic_similarity": 0.5, "components": {"semantic": 0.5}},
                            invited_at=now if state is not MatchState.PROPOSED else None,
                            expires_at=now + timedelta(days=14) if state is not MatchState.PROPOSED else None,
                        )
                    )
            finally:
                await engine.dispose()

        asyncio.run(insert())
        return str(match_id)

    def fresh_story(self, *, host_agreed: bool = False, published: bool = False, photo: bool = False) -> str:
        """A story of a new placement of the member in the staff's post, told by the member."""
        body = {"match_id": self.fresh_match(MatchState.PLACED), **STORY}
        response = self.api.client.post("/api/stories", headers=self.callers["member"], json=body)
        assert response.status_code == 201, response.text
        story_id = str(response.json()["id"])
        if photo:
            added = self.api.client.put(
                f"/api/stories/{story_id}/photo", headers=self.callers["member"], files=PHOTO, data=PHOTO_ALT
            )
            assert added.status_code == 200, added.text
        if host_agreed or published:
            consent = self.api.client.post(f"/api/stories/{story_id}/consent", headers=self.staff)
            assert consent.status_code == 200, consent.text
        if published:
            url = f"/api/stories/{story_id}/moderation"
            published_now = self.api.client.post(url, headers=self.admin, json={"decision": "publish"})
            assert published_now.status_code == 200, published_now.text
        return story_id

    def fresh_consultation(self, *, by: str = "min", opened: bool = False) -> str:
        """A consultation of the ministry, or (`by="admin"`) of the platform, which asks every member who
        agreed to be consulted (`_consulted_first`: the member, not the other)."""
        body = CONSULTATION
        headers = self.admin if by == "admin" else self.ministry
        response = self.api.client.post("/api/consultations", headers=headers, json=body)
        assert response.status_code == 201, response.text
        consultation_id = str(response.json()["id"])
        if opened:
            opened_now = self.api.client.post(f"/api/consultations/{consultation_id}/open", headers=headers)
            assert opened_now.status_code == 200, opened_now.text
        return consultation_id

    def fresh_interest(self) -> str:
        post_id = self.fresh_post()
        response = self.api.client.post(
            f"/api/posts/{post_id}/interests", headers=self.staff, json={"profile_id": self.member_profile}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def fresh_email(self) -> str:
        email = f"someone-{uuid.uuid4().hex[:8]}@example.org"
        self.api.register("member", email=email)
        return email

    def fresh_confirmation(self) -> str:
        """The token of the link mailed to a new account, not confirmed yet (its password is the usual)."""
        email = f"unconfirmed-{uuid.uuid4().hex[:8]}@example.org"
        body = {"email": email, "password": "correct horse battery", "display_name": "New person"}
        assert self.api.client.post("/api/auth/register", json=body).status_code == 202
        return self.api.link_token(email, "/verify-email")

    def fresh_granted_account(self) -> str:
        email = self.fresh_email()
        response = self.api.client.post(
            f"/api/organisations/{self.org}/staff", headers=self.admin, json={"email": email}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["account_id"])

    def fresh_caller(self, name: str) -> Headers:
        """Another caller of the same kind, for cells that log out or erase the caller."""
        api = self.api
        if name == "anon":
            return {}
        if name in ("member", "other"):
            headers = api.register("member")
            api.profile(headers)
            return headers
        if name == "admin":
            return api.admin()
        if name == "smin":
            return api.register("ministry")
        email = self.fresh_email()
        organisation = {"staff": self.org, "ostaff": self.other_org, "ustaff": self.unverified_org}.get(
            name, self.ministry_org
        )
        response = api.client.post(
            f"/api/organisations/{organisation}/staff", headers=self.admin, json={"email": email}
        )
        assert response.status_code == 200, response.text
        return api.login(email)


OPPORTUNITY = {
    "kind": "investment",
    "title": "Solar farm near Korçë",
    "sector": "energy",
    "country": "AL",
    "ticket_min": 50_000,
    "ticket_max": 250_000,
    "currency": "EUR",
}


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 90, 160)).save(out, format="PNG")
    return out.getvalue()


PLEDGE = {"band": "10k_50k", "horizon": "1_year", "share_contact": True}
PHOTO = {"photo": ("ward.png", _png(), "image/png")}
PHOTO_ALT = {"photo_alt": "The ward's team"}
STORY = {"title": "Back for two weeks", "body": "I trained the nurses of the ward in triage; we talk weekly."}
PROFILE = {
    "headline": "Interventional cardiologist",
    "skills": [{"name": "echocardiography"}],
    "languages": [{"code": "sq", "level": "native"}],
    "consent": {
        "visible_fields": ["headline", "skills", "languages", "availability"],
        "open_to_matching": True,
        "open_to_contact": True,
        "open_to_consultations": True,
    },
}
CONSULTATION = {
    "title": "Coming back for a while",
    "questions": [{"kind": "single", "prompt": "Would you?", "options": ["Yes", "No"], "required": True}],
    "closes_on": (date.today() + timedelta(days=30)).isoformat(),
}
CONSULTATION_FORM = {
    "title": "Roads",
    "closes_on": (date.today() + timedelta(days=30)).isoformat(),
    "q0_prompt": "Which road first?",
    "q0_kind": "single",
    "q0_options": "North\nSouth",
}
POST_FORM = {"kind": "short_term_return", "title": "Nurse trainer", "country": "AL", "status": "draft"}
CSV_POSTS = (
    b"external_id,kind,title,country,required_skills,status\nx1,skill_need,Radiologist,AL,radiology,draft\n"
)
CSV_OPPORTUNITIES = b"external_id,kind,title,sector,country\no1,volunteering,Mentoring,education,AL\n"


def _statuses(spec: str) -> dict[str, int]:
    codes = spec.split()
    assert len(codes) == len(CALLERS), spec
    return dict(zip(CALLERS, (int(c) for c in codes), strict=True))


@dataclass
class Row:
    method: str
    path: str
    expected: str
    # Values for the path's parameters, by name: `f(world)`, or `f(world, values)` to see the values
    # chosen for the parameters before it (a pair of the campaign the cell made).
    params: dict[str, Callable[..., str]] = field(default_factory=dict)
    json: Callable[[World], Any] | None = None
    # A body that refers to the objects chosen for the path (e.g. a pair of the cell's own campaign).
    json_for_path: Callable[[World, dict[str, str]], Any] | None = None
    form: Callable[[World], dict[str, Any]] | None = None
    files: Callable[[World], dict[str, Any]] | None = None
    query: dict[str, str] = field(default_factory=dict)
    # The caller's own session or account is spent by the call: use a fresh caller of that kind.
    spends_caller: bool = False
    before: Callable[[World, str, Headers], None] | None = None


DEFAULT_PARAMS: dict[str, Callable[[World], str]] = {
    "organisation_id": lambda w: w.org,
    "post_id": lambda w: w.post,
    "profile_id": lambda w: w.member_profile,
    "opportunity_id": lambda w: w.opportunity,
    "campaign_id": lambda w: w.campaign,
    "file_path": lambda w: "site.css",
    "path": lambda w: "no-such-renderer",
}


def _pledge_first(world: World, caller: str, headers: Headers) -> None:
    if caller in ("member", "other"):
        response = world.api.client.put(
            f"/api/opportunities/{world.opportunity}/pledge", headers=headers, json=PLEDGE
        )
        assert response.status_code == 200, response.text


def _consulted_first(world: World, caller: str, headers: Headers) -> None:
    if caller in ("member", "other"):
        consent = {**PROFILE["consent"], "open_to_consultations": caller == "member"}
        response = world.api.client.put("/api/profiles/me/consent", headers=headers, json=consent)
        assert response.status_code == 200, response.text


def _grant_first(world: World, caller: str, headers: Headers) -> None:
    if caller in ("member", "other"):
        world.api.client.post(
            "/api/profiles/me/contact-grants", headers=headers, json={"organisation_id": world.org}
        )


# fmt: off
ROWS = [
    #                                                            anon mem oth stf ost ust smi min adm
    Row("GET", "/health",                                       "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/api/auth/login",                              "200 200 200 200 200 200 200 200 200",
        json=lambda w: {"email": w.fresh_email(), "password": "correct horse battery"}),
    Row("POST", "/api/auth/logout",                             "401 204 204 204 204 204 204 204 204",
        spends_caller=True),
    Row("POST", "/api/auth/register",                           "202 202 202 202 202 202 202 202 202",
        json=lambda w: {"email": f"new-{uuid.uuid4().hex[:8]}@example.org",
                        "password": "a long passphrase", "display_name": "New person"}),
    Row("POST", "/api/auth/verify-email",                       "200 200 200 200 200 200 200 200 200",
        json=lambda w: {"token": w.fresh_confirmation(), "password": "correct horse battery"}),
    Row("POST", "/api/auth/password-reset",                     "202 202 202 202 202 202 202 202 202",
        json=lambda w: {"email": w.fresh_email()}),
    Row("POST", "/api/auth/password-reset/confirm",             "422 422 422 422 422 422 422 422 422",
        json=lambda w: {"token": "not-a-real-token-at-all", "password": "a long passphrase"}),
    Row("DELETE", "/api/me",                                    "401 204 204 204 204 204 204 204 204",
        spends_caller=True),
    Row("GET", "/api/me",                                       "401 200 200 200 200 200 200 200 200"),
    Row("PATCH", "/api/me",                                     "401 200 200 200 200 200 200 200 200",
        json=lambda w: {"phone": "+49 30 1234567"}),
    Row("GET", "/api/me/export",                                "401 200 200 200 200 200 200 200 200"),
    Row("GET", "/api/profiles",                                 "401 403 403 200 200 403 403 200 200"),
    Row("GET", "/api/profiles/me",                              "401 200 200 403 403 403 403 403 403"),
    Row("PUT", "/api/profiles/me",                              "401 200 200 403 403 403 403 403 403",
        json=lambda w: PROFILE),
    Row("POST", "/api/profiles/me/contact-grants",              "401 204 204 403 403 403 403 403 403",
        json=lambda w: {"organisation_id": w.org}),
    Row("PUT", "/api/profiles/me/consent",                      "401 200 200 403 403 403 403 403 403",
        json=lambda w: PROFILE["consent"]),
    Row("DELETE", "/api/profiles/me/contact-grants/{organisation_id:uuid}",
                                                                "401 204 204 403 403 403 403 403 403",
        before=_grant_first),
    Row("GET", "/api/profiles/{profile_id:uuid}",               "401 403 403 200 200 403 403 200 200"),
    Row("GET", "/api/organisations/{organisation_id:uuid}",     "200 200 200 200 200 200 200 200 200"),
    Row("PATCH", "/api/organisations/{organisation_id:uuid}",   "401 403 403 200 403 403 403 403 200",
        json=lambda w: {"description": "Regional hospital"}),
    Row("GET", "/api/organisations/{organisation_id:uuid}/staff",
                                                                "401 403 403 200 403 403 403 403 200"),
    Row("POST", "/api/organisations/{organisation_id:uuid}/staff",
                                                                "401 403 403 403 403 403 403 403 200",
        json=lambda w: {"email": w.fresh_email()}),
    Row("GET", "/api/organisations",                            "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/api/organisations",                           "401 403 403 409 409 409 409 409 403",
        json=lambda w: {"name": "Another hospital", "kind": "hospital", "country": "AL"}),
    Row("DELETE", "/api/organisations/{organisation_id:uuid}/staff/{account_id:uuid}",
                                                                "401 403 403 403 403 403 403 403 204",
        params={"account_id": World.fresh_granted_account}),
    Row("POST", "/api/organisations/{organisation_id:uuid}/unverify",
                                                                "401 403 403 403 403 403 403 403 200",
        params={"organisation_id": lambda w: w.fresh_organisation(verified=True)}),
    Row("POST", "/api/organisations/{organisation_id:uuid}/verify",
                                                                "401 403 403 403 403 403 403 403 200",
        params={"organisation_id": lambda w: w.fresh_organisation(verified=False)}),
    Row("GET", "/api/posts",                                    "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/api/posts",                                   "401 403 403 201 201 201 201 201 403",
        json=lambda w: {**POST_FORM, "required_skills": [{"name": "nursing"}]}),
    Row("DELETE", "/api/posts/{post_id:uuid}",                  "401 403 403 204 403 403 403 403 204",
        params={"post_id": World.fresh_post}),
    Row("GET", "/api/posts/{post_id:uuid}",                     "200 200 200 200 200 200 200 200 200"),
    Row("PUT", "/api/posts/{post_id:uuid}",                     "401 403 403 200 403 403 403 403 200",
        params={"post_id": World.fresh_post},
        json=lambda w: {**POST_FORM, "status": "open", "required_skills": [{"name": "nursing"}]}),
    Row("POST", "/api/me/interests/{interest_id:uuid}/answer",  "401 200 404 403 403 403 403 403 403",
        params={"interest_id": World.fresh_interest}, json=lambda w: {"answer": "share"}),
    Row("POST", "/api/posts/{post_id:uuid}/interests",          "401 403 403 201 403 403 403 403 403",
        params={"post_id": World.fresh_post}, json=lambda w: {"profile_id": w.member_profile}),
    Row("GET", "/api/me/interests",                             "401 200 200 403 403 403 403 403 403"),
    Row("GET", "/api/posts/{post_id:uuid}/matches",             "401 403 403 200 403 403 403 200 200"),
    Row("GET", "/api/profiles/me/recommendations",              "401 200 200 403 403 403 403 403 403"),
    Row("GET", "/api/profiles/me/occupation",                   "401 200 200 403 403 403 403 403 403"),
    Row("PUT", "/api/profiles/me/occupation",                   "401 200 200 403 403 403 403 403 403",
        json=lambda w: {"uri": None}),
    Row("DELETE", "/api/admin/scoring-weights",                 "401 403 403 403 403 403 403 403 204"),
    Row("GET", "/api/admin/scoring-weights",                    "401 403 403 403 403 403 403 403 200"),
    Row("PUT", "/api/admin/scoring-weights",                    "401 403 403 403 403 403 403 403 200",
        json=lambda w: {"semantic": 0.6, "skills": 0.25, "availability": 0.1, "languages": 0.05}),
    Row("POST", "/api/imports/opportunities",                   "401 403 403 200 200 200 200 200 403",
        files=lambda w: {"file": ("opportunities.csv", CSV_OPPORTUNITIES, "text/csv")}),
    Row("POST", "/api/imports/posts",                           "401 403 403 200 200 200 200 200 403",
        files=lambda w: {"file": ("posts.csv", CSV_POSTS, "text/csv")}),
    Row("POST", "/api/opportunities/{opportunity_id:uuid}/close",
                                                                "401 403 403 200 403 403 403 403 200",
        params={"opportunity_id": World.fresh_opportunity}),
    Row("GET", "/api/opportunities",                            "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/api/opportunities",                           "401 403 403 201 201 409 409 201 403",
        json=lambda w: OPPORTUNITY),
    Row("DELETE", "/api/opportunities/{opportunity_id:uuid}",   "401 403 403 204 403 403 403 403 204",
        params={"opportunity_id": World.fresh_opportunity}),
    Row("GET", "/api/opportunities/{opportunity_id:uuid}",      "200 200 200 200 200 200 200 200 200"),
    Row("PUT", "/api/opportunities/{opportunity_id:uuid}",      "401 403 403 200 403 403 403 403 200",
        params={"opportunity_id": World.fresh_opportunity}, json=lambda w: OPPORTUNITY),
    Row("POST", "/api/opportunities/{opportunity_id:uuid}/moderation",
                                                                "401 403 403 403 403 403 403 403 200",
        params={"opportunity_id": lambda w: w.fresh_opportunity(published=False)},
        json=lambda w: {"decision": "publish"}),
    Row("GET", "/api/search/opportunities",                     "200 200 200 200 200 200 200 200 200",
        query={"q": "solar"}),
    Row("GET", "/api/search/posts",                             "200 200 200 200 200 200 200 200 200",
        query={"q": "cardiologist"}),
    Row("POST", "/api/campaigns/{campaign_id:uuid}/pairs",      "401 403 403 403 403 403 403 201 201",
        params={"campaign_id": World.fresh_campaign},
        json=lambda w: {"post_id": w.post, "profile_id": w.member_profile, "action": "pin"}),
    Row("PATCH", "/api/campaigns/{campaign_id:uuid}/matches/{match_id:uuid}",
                                                                "401 403 403 403 403 403 403 200 200",
        params={"campaign_id": World.fresh_campaign,
                "match_id": lambda w, p: w.fresh_match(MatchState.PROPOSED, p["campaign_id"])},
        json=lambda w: {"pinned": True}),
    Row("GET", "/api/campaigns",                                "401 403 403 403 403 403 403 200 200"),
    Row("POST", "/api/campaigns",                               "401 403 403 403 403 403 403 201 403",
        json=lambda w: {"name": "Teachers' summer", "post_ids": [w.post]}),
    Row("GET", "/api/campaigns/{campaign_id:uuid}/dashboard",   "401 403 403 403 403 403 403 200 200"),
    Row("GET", "/api/campaigns/{campaign_id:uuid}",             "401 403 403 403 403 403 403 200 200"),
    Row("PUT", "/api/campaigns/{campaign_id:uuid}",             "401 403 403 403 403 403 403 200 200",
        params={"campaign_id": World.fresh_campaign},
        json=lambda w: {"name": "Health week, renamed", "post_ids": [w.post]}),
    Row("POST", "/api/campaigns/{campaign_id:uuid}/invitations",
                                                                "401 403 403 403 403 403 403 200 200",
        params={"campaign_id": World.fresh_campaign},
        json_for_path=lambda w, p: {"match_ids": [w.fresh_match(MatchState.PROPOSED, p["campaign_id"])]}),
    Row("POST", "/api/campaigns/{campaign_id:uuid}/learn-weights",
                                                                "401 403 403 403 403 403 403 409 409"),
    Row("POST", "/api/campaigns/{campaign_id:uuid}/matches/{match_id:uuid}/place",
                                                                "401 403 403 403 403 403 403 200 200",
        params={"campaign_id": World.fresh_campaign,
                "match_id": lambda w, p: w.fresh_match(MatchState.ACCEPTED, p["campaign_id"])}),
    Row("GET", "/api/campaigns/{campaign_id:uuid}/proposal",    "401 403 403 403 403 403 403 200 200"),
    Row("POST", "/api/campaigns/{campaign_id:uuid}/run",        "401 403 403 403 403 403 403 200 200",
        params={"campaign_id": World.fresh_campaign}),
    Row("POST", "/api/campaigns/{campaign_id:uuid}/status",     "401 403 403 403 403 403 403 200 200",
        params={"campaign_id": World.fresh_campaign}, json=lambda w: {"status": "matching"}),
    Row("POST", "/api/me/invitations/{match_id:uuid}/answer",   "401 200 404 403 403 403 403 403 403",
        params={"match_id": lambda w: w.fresh_match(MatchState.INVITED)},
        json=lambda w: {"answer": "decline"}),
    Row("GET", "/api/me/invitations",                           "401 200 200 403 403 403 403 403 403"),
    Row("GET", "/api/taxonomy/skills",                          "200 200 200 200 200 200 200 200 200",
        query={"q": "echo"}),
    # -- pages ------------------------------------------------------------------------------------------
    Row("GET", "/",                                             "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/language",                                    "303 303 303 303 303 303 303 303 303",
        form=lambda w: {"language": "sq", "next": "/"}),
    Row("GET", "/login",                                        "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/login",                                       "303 303 303 303 303 303 303 303 303",
        form=lambda w: {"email": w.fresh_email(), "password": "correct horse battery"}),
    Row("POST", "/logout",                                      "303 303 303 303 303 303 303 303 303",
        spends_caller=True),
    Row("GET", "/forgot-password",                              "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/forgot-password",                             "200 200 200 200 200 200 200 200 200",
        form=lambda w: {"email": w.fresh_email()}),
    Row("GET", "/reset-password",                               "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/reset-password",                              "400 400 400 400 400 400 400 400 400",
        form=lambda w: {"token": "not-a-real-token-at-all", "password": "a long passphrase",
                        "repeat": "a long passphrase"}),
    Row("GET", "/verify-email",                                 "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/verify-email",                                "303 303 303 303 303 303 303 303 303",
        form=lambda w: {"token": w.fresh_confirmation(), "password": "correct horse battery"}),
    Row("GET", "/opportunities",                                "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/posts",                                        "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/register",                                     "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/register",                                    "200 200 200 200 200 200 200 200 200",
        form=lambda w: {"email": f"page-{uuid.uuid4().hex[:8]}@example.org", "password": "a long passphrase",
                        "display_name": "New person", "role": "member"}),
    Row("POST", "/me/invitations/{match_id:uuid}",              "303 303 404 403 403 403 403 403 403",
        params={"match_id": lambda w: w.fresh_match(MatchState.INVITED)},
        form=lambda w: {"answer": "accept"}),
    Row("POST", "/me/interests/{interest_id:uuid}",             "303 303 404 403 403 403 403 403 403",
        params={"interest_id": World.fresh_interest}, form=lambda w: {"answer": "share"}),
    Row("GET", "/me",                                           "303 200 200 403 403 403 403 403 403"),
    Row("POST", "/me/delete",                                   "303 303 303 303 303 303 303 303 303",
        spends_caller=True, form=lambda w: {"confirm": "on"}),
    Row("GET", "/me/export",                                    "303 200 200 200 200 200 200 200 200"),
    Row("POST", "/me/profile",                                  "303 303 303 403 403 403 403 403 403",
        form=lambda w: {"headline": "Cardiologist", "skills": "echocardiography", "visible": ["headline"]}),
    Row("POST", "/me/occupation",                               "303 303 303 403 403 403 403 403 403",
        form=lambda w: {"uri": ""}),
    Row("GET", "/org/posts/{post_id:uuid}",                     "303 403 403 200 403 403 403 200 200"),
    Row("POST", "/org/posts",                                   "303 403 403 303 303 303 303 303 403",
        form=lambda w: {**POST_FORM, "required_skills": "nursing"}),
    Row("GET", "/org/posts/{post_id:uuid}/edit",                "303 403 403 200 403 403 403 403 403"),
    Row("POST", "/org/posts/{post_id:uuid}/edit",               "303 403 403 303 403 403 403 403 403",
        params={"post_id": World.fresh_post}, form=lambda w: {**POST_FORM, "required_skills": "nursing"}),
    Row("GET", "/org",                                          "303 403 403 200 200 200 200 200 403"),
    Row("POST", "/org/posts/{post_id:uuid}/interest/{profile_id:uuid}",
                                                                "303 403 403 303 403 403 403 403 403",
        params={"post_id": World.fresh_post}),
    Row("POST", "/org/register",                                "303 403 403 400 400 400 400 400 403",
        form=lambda w: {"name": "Another hospital", "kind": "hospital", "country": "AL"}),
    Row("POST", "/org/upload",                                  "303 403 403 200 200 200 200 200 403",
        files=lambda w: {"file": ("posts.csv", CSV_POSTS, "text/csv")}),
    Row("POST", "/campaigns/{campaign_id:uuid}/act",            "303 403 403 403 403 403 403 303 303",
        params={"campaign_id": World.fresh_campaign}, form=lambda w: {"action": "invite"}),
    Row("GET", "/campaigns",                                    "303 403 403 403 403 403 403 200 200"),
    Row("POST", "/campaigns",                                   "303 403 403 403 403 403 403 303 403",
        form=lambda w: {"name": "Engineers' week"}),
    Row("GET", "/campaigns/{campaign_id:uuid}/export.csv",      "303 403 403 403 403 403 403 200 200"),
    Row("POST", "/campaigns/{campaign_id:uuid}/run",            "303 403 403 403 403 403 403 303 303",
        params={"campaign_id": World.fresh_campaign}),
    Row("GET", "/campaigns/{campaign_id:uuid}",                 "303 403 403 403 403 403 403 200 200"),
    Row("PUT", "/api/opportunities/{opportunity_id:uuid}/pledge", "401 200 200 403 403 403 403 403 403",
        json=lambda w: PLEDGE),
    Row("DELETE", "/api/opportunities/{opportunity_id:uuid}/pledge",
                                                                "401 204 204 403 403 403 403 403 403",
        before=_pledge_first),
    Row("GET", "/api/opportunities/{opportunity_id:uuid}/pledges",
                                                                "401 403 403 200 403 403 403 403 200"),
    Row("GET", "/api/me/pledges",                               "401 200 200 403 403 403 403 403 403"),
    Row("GET", "/opportunities/{opportunity_id:uuid}",          "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/opportunities/{opportunity_id:uuid}/pledge",  "303 303 303 403 403 403 403 403 403",
        form=lambda w: {"band": "under_10k", "horizon": "6_months"}),
    Row("POST", "/opportunities/{opportunity_id:uuid}/pledge/withdraw",
                                                                "303 303 303 403 403 403 403 403 403",
        before=_pledge_first),
    Row("GET", "/api/stories",                                  "200 200 200 200 200 200 200 200 200"),
    Row("POST", "/api/stories",                                 "401 201 403 201 403 403 403 403 403",
        json=lambda w: {"match_id": w.fresh_match(MatchState.PLACED), **STORY}),
    Row("GET", "/api/stories/mine",                             "401 200 200 200 200 200 200 200 200"),
    Row("GET", "/api/stories/{story_id:uuid}",                  "200 200 200 200 200 200 200 200 200",
        params={"story_id": lambda w: w.fresh_story(published=True)}),
    Row("POST", "/api/stories/{story_id:uuid}/consent",         "401 200 404 200 404 404 404 404 404",
        params={"story_id": World.fresh_story}),
    Row("POST", "/api/stories/{story_id:uuid}/withdraw",        "401 200 404 200 404 404 404 404 404",
        params={"story_id": World.fresh_story}),
    Row("POST", "/api/stories/{story_id:uuid}/moderation",      "401 403 403 403 403 403 403 403 200",
        params={"story_id": lambda w: w.fresh_story(host_agreed=True)},
        json=lambda w: {"decision": "publish"}),
    Row("PUT", "/api/stories/{story_id:uuid}/photo",            "401 200 404 200 404 404 404 404 404",
        params={"story_id": World.fresh_story}, files=lambda w: PHOTO, form=lambda w: PHOTO_ALT),
    Row("GET", "/stories/{story_id:uuid}/photo",                "200 200 200 200 200 200 200 200 200",
        params={"story_id": lambda w: w.fresh_story(published=True, photo=True)}),
    Row("POST", "/stories/{story_id:uuid}/photo",               "303 303 404 303 404 404 404 404 404",
        params={"story_id": World.fresh_story}, files=lambda w: PHOTO, form=lambda w: PHOTO_ALT),
    Row("GET", "/stories",                                      "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/stories/feed.atom",                            "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/stories/{story_id:uuid}",                      "200 200 200 200 200 200 200 200 200",
        params={"story_id": lambda w: w.fresh_story(published=True)}),
    Row("GET", "/stories/mine",                                 "303 200 200 200 200 200 200 200 200"),
    Row("POST", "/stories",                                     "303 303 403 303 403 403 403 403 403",
        form=lambda w: {"match_id": w.fresh_match(MatchState.PLACED), **STORY}),
    Row("POST", "/stories/{story_id:uuid}/consent",             "303 303 404 303 404 404 404 404 404",
        params={"story_id": World.fresh_story}),
    Row("POST", "/stories/{story_id:uuid}/withdraw",            "303 303 404 303 404 404 404 404 404",
        params={"story_id": World.fresh_story}),
    Row("GET", "/api/placements",                               "401 403 403 200 200 403 403 403 200"),
    Row("PUT", "/api/placements/{match_id:uuid}/outcome",       "401 403 403 200 403 403 403 403 200",
        params={"match_id": lambda w: w.fresh_match(MatchState.PLACED)},
        json=lambda w: {"local_staff_trained": 4, "transferred": "Triage training for the ward"}),
    Row("POST", "/org/placements/{match_id:uuid}/outcome",      "303 403 403 303 403 403 403 403 403",
        params={"match_id": lambda w: w.fresh_match(MatchState.PLACED)},
        form=lambda w: {"local_staff_trained": "4", "transferred": "Triage training for the ward"}),
    Row("GET", "/api/insights/map",                             "401 403 403 403 403 403 403 200 200",
        query={"sector": "health"}),
    Row("GET", "/api/insights/map/export",                      "401 403 403 403 403 403 403 200 200",
        query={"format": "xlsx"}),
    Row("GET", "/map",                                          "303 403 403 403 403 403 403 200 200"),
    Row("GET", "/map/export",                                   "303 403 403 403 403 403 403 200 200",
        query={"format": "csv"}),
    Row("GET", "/api/consultations",                            "401 403 403 403 403 403 403 200 200"),
    Row("POST", "/api/consultations",                           "401 403 403 403 403 403 403 201 201",
        json=lambda w: CONSULTATION),
    Row("GET", "/api/consultations/mine",                       "401 200 200 200 200 200 200 200 200"),
    Row("GET", "/api/consultations/{consultation_id:uuid}",     "401 200 404 404 404 404 404 404 200",
        params={"consultation_id": lambda w: w.fresh_consultation(by="admin", opened=True)},
        before=_consulted_first),
    Row("PUT", "/api/consultations/{consultation_id:uuid}",     "401 403 403 403 403 403 403 200 200",
        params={"consultation_id": World.fresh_consultation}, json=lambda w: CONSULTATION),
    Row("DELETE", "/api/consultations/{consultation_id:uuid}",  "401 403 403 403 403 403 403 204 204",
        params={"consultation_id": World.fresh_consultation}),
    Row("POST", "/api/consultations/{consultation_id:uuid}/open",
                                                                "401 403 403 403 403 403 403 200 200",
        params={"consultation_id": World.fresh_consultation}),
    Row("POST", "/api/consultations/{consultation_id:uuid}/close",
                                                                "401 403 403 403 403 403 403 200 200",
        params={"consultation_id": lambda w: w.fresh_consultation(opened=True)}),
    Row("GET", "/api/consultations/{consultation_id:uuid}/results",
                                                                "401 403 403 403 403 403 403 200 200",
        params={"consultation_id": lambda w: w.fresh_consultation(opened=True)}),
    Row("GET", "/api/consultations/{consultation_id:uuid}/results/export",
                                                                "401 403 403 403 403 403 403 200 200",
        params={"consultation_id": lambda w: w.fresh_consultation(opened=True)}, query={"format": "xlsx"}),
    Row("GET", "/api/consultations/{consultation_id:uuid}/response",
                                                                "401 200 404 404 404 404 404 404 200",
        params={"consultation_id": lambda w: w.fresh_consultation(by="admin", opened=True)},
        before=_consulted_first),
    # An admin organises; only the members asked answer.
    Row("PUT", "/api/consultations/{consultation_id:uuid}/response",
                                                                "401 200 404 404 404 404 404 404 403",
        params={"consultation_id": lambda w: w.fresh_consultation(by="admin", opened=True)},
        before=_consulted_first,
        json=lambda w: {"answers": {"q1": 0}}),
    Row("GET", "/consultations",                                "303 403 403 403 403 403 403 200 200"),
    Row("POST", "/consultations",                               "303 403 403 403 403 403 403 303 303",
        form=lambda w: CONSULTATION_FORM),
    Row("GET", "/consultations/{consultation_id:uuid}",         "303 200 404 404 404 404 404 404 200",
        params={"consultation_id": lambda w: w.fresh_consultation(by="admin", opened=True)},
        before=_consulted_first),
    Row("POST", "/consultations/{consultation_id:uuid}",        "303 403 403 403 403 403 403 303 303",
        params={"consultation_id": World.fresh_consultation}, form=lambda w: CONSULTATION_FORM),
    Row("POST", "/consultations/{consultation_id:uuid}/open",   "303 403 403 403 403 403 403 303 303",
        params={"consultation_id": World.fresh_consultation}),
    Row("POST", "/consultations/{consultation_id:uuid}/close",  "303 403 403 403 403 403 403 303 303",
        params={"consultation_id": lambda w: w.fresh_consultation(opened=True)}),
    Row("POST", "/consultations/{consultation_id:uuid}/delete", "303 403 403 403 403 403 403 303 303",
        params={"consultation_id": World.fresh_consultation}),
    Row("GET", "/consultations/{consultation_id:uuid}/export",  "303 403 403 403 403 403 403 200 200",
        params={"consultation_id": lambda w: w.fresh_consultation(opened=True)}),
    Row("POST", "/consultations/{consultation_id:uuid}/answer", "303 303 404 404 404 404 404 404 403",
        params={"consultation_id": lambda w: w.fresh_consultation(by="admin", opened=True)},
        before=_consulted_first,
        form=lambda w: {"q1": "0"}),
    Row("GET", "/static/{file_path:path}",                      "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/schema",                                       "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/schema/openapi.json",                          "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/schema/swagger",                               "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/schema/scalar",                                "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/schema/oauth2-redirect.html",                  "200 200 200 200 200 200 200 200 200"),
    Row("GET", "/schema/{path:str}",                            "404 404 404 404 404 404 404 404 404"),
]
# fmt: on


def _build_world(api: Api) -> World:
    admin = api.admin()
    staff, org = api.organisation(admin=admin)
    ostaff, other_org = api.organisation(admin=admin)
    ustaff, unverified_org = api.organisation(verified=False)
    smin, _ = api.ministry(verified=False)
    ministry, ministry_org = api.ministry(admin=admin)
    member = api.register("member")
    member_profile = str(
        api.profile(
            member,
            availability=[{"start_date": "2027-05-01", "end_date": "2027-05-31", "modes": ["onsite_return"]}],
            consent=PROFILE["consent"],
        )["id"]
    )
    other = api.register("member")
    api.profile(other, consent=PROFILE["consent"])
    post = str(api.post(staff)["id"])
    world = World(
        api=api,
        callers={
            "anon": {},
            "member": member,
            "other": other,
            "staff": staff,
            "ostaff": ostaff,
            "ustaff": ustaff,
            "smin": smin,
            "min": ministry,
            "admin": admin,
        },
        admin=admin,
        staff=staff,
        ministry=ministry,
        member_profile=member_profile,
        org=org,
        other_org=other_org,
        unverified_org=unverified_org,
        ministry_org=ministry_org,
        post=post,
        opportunity="",
        campaign="",
    )
    world.opportunity = world.fresh_opportunity()
    world.campaign = world.fresh_campaign()
    return world


_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _call(world: World, row: Row, caller: str) -> int:
    api = world.api
    headers = dict(world.fresh_caller(caller) if row.spends_caller else world.callers[caller])
    if row.before is not None:
        row.before(world, caller, headers)
    values: dict[str, str] = {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            make = row.params.get(name) or DEFAULT_PARAMS[name]
            required = [p for p in inspect.signature(make).parameters.values() if p.default is p.empty]
            takes_values = len(required) == 2
            values[name] = make(world, values) if takes_values else make(world)
        return values[name]

    path = _PARAM.sub(value, row.path)
    kwargs: dict[str, Any] = {"headers": headers, "params": row.query, "follow_redirects": False}
    if not path.startswith(("/api/", "/health", "/schema", "/static")) and row.method != "GET":
        # Pages are CSRF-protected: send the token the way the page's form does.
        token = api.client.cookies.get("csrftoken") or _csrf_token(api)
        kwargs["headers"] = {**headers, "x-csrftoken": token}
    if row.json is not None:
        kwargs["json"] = row.json(world)
    if row.json_for_path is not None:
        kwargs["json"] = row.json_for_path(world, values)
    if row.form is not None:
        kwargs["data"] = row.form(world)
    if row.files is not None:
        kwargs["files"] = row.files(world)
    response = api.client.request(row.method, path, **kwargs)
    # A page login leaves a session cookie behind; the next cell's caller must not inherit it.
    api.client.cookies.delete("diaspora_session")
    return response.status_code


def _csrf_token(api: Api) -> str:
    api.client.get("/login")
    token = api.client.cookies.get("csrftoken")
    assert token
    return str(token)


def test_every_route_has_a_row(api: Api) -> None:
    served = {
        (method, route.path)
        for route in api.client.app.routes
        if isinstance(route, HTTPRoute)
        for method in route.route_handler_map
        if method not in ("HEAD", "OPTIONS")
    }
    tabled = {(row.method, row.path) for row in ROWS}
    assert sorted(served - tabled) == [], "routes without a row in the authorisation matrix"
    assert sorted(tabled - served) == [], "rows for routes the application no longer serves"


def test_every_route_answers_every_caller_as_the_policy_says(api: Api) -> None:
    world = _build_world(api)
    wrong = []
    for row in ROWS:
        expected = _statuses(row.expected)
        for caller in CALLERS:
            got = _call(world, row, caller)
            if got != expected[caller]:
                wrong.append(f"{row.method} {row.path} as {caller}: expected {expected[caller]}, got {got}")
    assert wrong == [], "\n".join(wrong)
