"""The three kinds of users' main journeys in a real browser (Debian's chromium, driven by playwright)
against a live server on loopback, with a form error each, and a screenshot of every main page.

Screenshots go to `test-artifacts/screenshots/` (or `DIASPORA_SCREENSHOTS_DIR`: `make screenshots`
regenerates the README's in `docs/screenshots/`). Skipped, visibly, without chromium or playwright,
and a failure instead when `DIASPORA_REQUIRE_BROWSER=1` (as in CI).
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from diaspora.platform.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("DIASPORA_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("DIASPORA_SCREENSHOTS_DIR", ROOT / "test-artifacts" / "screenshots"))
FOR_DOCS = "DIASPORA_SCREENSHOTS_DIR" in os.environ  # the README's: the visible part only, smaller files
PASSWORD = "demo-password-2027"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("live")
    return Settings(
        data_dir=data_dir,
        search_sync_interval_seconds=0.5,
        auth_attempts_per_minute=1000,
        match_link_by_meaning=False,  # its background jobs would encode 33,416 occupation labels (minutes)
    )


@pytest.fixture(scope="module")
def server(live_settings: Settings) -> Iterator[str]:
    problem = _missing()
    if problem:
        if os.environ.get("DIASPORA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {problem}")
        pytest.skip(problem)
    import uvicorn

    from diaspora.platform.app import create_app
    from diaspora.platform.db import migrate
    from diaspora.platform.demo.load import load_demo_data
    from diaspora.platform.wiring import open_database

    settings = live_settings
    migrate.upgrade(settings.effective_database_url)

    async def demo() -> None:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        engine = open_database(settings.effective_database_url)
        async with async_sessionmaker(engine)() as session, session.begin():
            await load_demo_data(session, profiles=80, seed=11)
        await engine.dispose()

    asyncio.run(demo())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not live.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.started, "the server did not start"
    base = f"http://127.0.0.1:{port}"
    # The server indexes the demo in the background (each document with its vector, the encoder loading
    # first): the journeys start once both indexes hold documents, as a person arriving later would find them.
    import httpx

    def indexed(index: str) -> bool:
        response = httpx.get(f"{base}/api/search/{index}", params={"per_page": 1}, timeout=30)
        assert response.status_code == 200, f"searching {index} while the demo is indexed: {response.text}"
        return bool(response.json()["total_hits"])

    while time.monotonic() < deadline + 120:
        if indexed("opportunities") and indexed("posts"):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the server did not index the demo data")
    yield base
    live.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(60_000)  # the first matching request loads the embedding model
    yield context.new_page()
    context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=not FOR_DOCS)


def log_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def mailed_link(settings: Settings, email: str, page: str) -> str:
    """The newest link to `page` in the mail the live server delivered to `email` (its background jobs
    send the outbox to the local mailbox within a second or so)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if settings.effective_mailbox_path.exists():
            for message in reversed(list(mailbox.mbox(settings.effective_mailbox_path))):
                body = message.get_payload(decode=True).decode()
                found = re.search("(" + re.escape(page) + r"\?token=[\w-]+)", body)
                if message["To"] == email and found:
                    return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no mail to {email} with a link to {page}")


def test_anyone_discovers_opportunities_with_typos_facets_and_shareable_urls(page: Any, server: str) -> None:
    page.goto("/opportunities")
    search = page.get_by_label("Search")
    search.fill("investmnt")  # a typo: results simply come
    page.wait_for_url("**/opportunities?q=investmnt")
    page.locator("#results article").first.wait_for()
    assert page.locator("#results article").count() > 0
    page.locator("#results").get_by_text("Investment").first.wait_for()
    page.get_by_role("checkbox", name="Energy").check()
    page.wait_for_url("**sector=energy**")
    # The address changes as the request leaves; the results are the filtered ones once it is back.
    page.locator('#results[aria-busy="false"]').wait_for()
    shared = page.url
    titles = page.locator("#results h3").all_inner_texts()
    assert titles
    shot(page, "opportunities")

    other = page.context.new_page()  # the URL is the search: a shared link shows the same results
    other.goto(shared)
    assert other.locator("#results h3").all_inner_texts() == titles
    assert other.get_by_role("checkbox", name="Energy").is_checked()
    other.close()

    # Open posts are searchable the same way.
    page.goto("/posts?q=cardiologst")
    page.locator("#results article").first.wait_for()
    assert page.locator("#results h3").count() > 0
    shot(page, "posts")

    # On a phone the page is one column, and still usable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(shared)
    box = page.locator("#results").bounding_box()
    assert box is not None
    assert box["width"] <= 390
    shot(page, "opportunities-phone")


def test_member_registers_fixes_a_form_error_fills_the_profile_and_sees_recommendations(
    page: Any, live_settings: Settings
) -> None:
    page.goto("/register")
    page.get_by_label("Your name").fill("Arta Krasniqi")
    page.get_by_label("Email").fill("arta.krasniqi@example.org")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create my account").click()
    page.get_by_text("Please correct the fields marked below.").wait_for()
    assert page.get_by_label("Your name").input_value() == "Arta Krasniqi"  # kept
    assert page.get_by_label("Email").input_value() == "arta.krasniqi@example.org"
    assert page.locator("#password-error").is_visible()
    shot(page, "register-error")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Create my account").click()
    page.get_by_text("Check your inbox").wait_for()
    shot(page, "register-check-inbox")
    # Logging in before confirming is refused, kindly.
    page.goto("/login")
    page.get_by_label("Email").fill("arta.krasniqi@example.org")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.locator("main").get_by_role("button", name="Log in").click()
    page.get_by_text("Confirm your email address first").wait_for()
    # The link in the mail, then the password chosen at registration, confirm the address and log in.
    page.goto(mailed_link(live_settings, "arta.krasniqi@example.org", "/verify-email"))
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Confirm and log in").click()
    page.get_by_text("The password is not the one you chose").wait_for()
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Confirm and log in").click()
    page.wait_for_url("**/me")

    page.get_by_label("Headline", exact=True).fill("Paediatric nurse in Zurich")
    page.get_by_label("Skills, one per line").fill("paediatric nursing\nneonatal care\nvaccination")
    page.get_by_label("Country you live in (two-letter code, e.g. DE)").fill("CH")
    page.get_by_label("Country of origin (e.g. AL, XK, RS)").fill("XK")
    page.locator("#language_0").fill("sq")
    page.locator("#level_0").select_option("native")
    page.locator("#start_0").fill("2027-03-01")
    page.locator("#end_0").fill("2027-12-31")
    page.locator("input[name=modes_0][value=onsite_return]").check()
    page.get_by_role("checkbox", name="Organisations may invite me").check()
    page.get_by_role("button", name="Save my profile").click()
    page.get_by_text("Your profile is saved.").wait_for()
    assert page.get_by_label("Headline", exact=True).input_value() == "Paediatric nurse in Zurich"
    page.locator("#recommendations-title").wait_for()
    assert page.locator("section[aria-labelledby=recommendations-title] article").count() > 0
    shot(page, "member-dashboard")

    # The interface in Albanian, remembered across pages.
    page.locator("#lang-select").select_option("sq")
    page.get_by_text("Paneli im").first.wait_for()
    page.goto("/opportunities")
    page.get_by_text("Investo ose bëj vullnetarizëm në atdhe").wait_for()
    shot(page, "opportunities-sq")


def test_member_forgets_the_password_and_sets_a_new_one_from_the_mailed_link(
    page: Any, live_settings: Settings
) -> None:
    email = "member40@demo.example"
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    page.get_by_text("If an account has this email").wait_for()
    page.goto(mailed_link(live_settings, email, "/reset-password"))
    page.get_by_label("New password").fill("a fresh passphrase for 2027")
    page.get_by_label("The same password again").fill("a fresh passphrase for 2028")
    page.get_by_role("button", name="Set the password").click()
    page.get_by_text("The two passwords differ.").wait_for()
    page.get_by_label("New password").fill("a fresh passphrase for 2027")
    page.get_by_label("The same password again").fill("a fresh passphrase for 2027")
    page.get_by_role("button", name="Set the password").click()
    page.get_by_text("Your password is set.").wait_for()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a fresh passphrase for 2027")
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/me")


def test_organisation_staff_write_a_post_see_candidates_and_upload_a_file(page: Any) -> None:
    log_in(page, "staff1@demo.example")
    page.wait_for_url("**/org")
    shot(page, "organisation")
    page.get_by_label("Title", exact=True).fill("Neonatologist, two-week training mission")
    page.get_by_label("Required skills, one per line").fill("neonatal intensive care\npaediatrics")
    page.locator("#start_date").fill("2027-06-14")
    page.locator("#end_date").fill("2027-06-01")  # before the start: a form error
    page.get_by_role("radio", name="Open it now (verified organisations)").check()
    page.get_by_role("button", name="Save post").click()
    page.get_by_text("nothing was saved").wait_for()
    assert page.get_by_label("Title", exact=True).input_value() == "Neonatologist, two-week training mission"
    page.locator("#end_date").fill("2027-06-28")
    page.get_by_role("button", name="Save post").click()
    page.wait_for_url("**/org/posts/**")
    page.get_by_role("heading", name="Best candidates").wait_for()
    assert page.locator("main article").count() > 0
    shot(page, "candidates")
    interested = page.get_by_role("button", name="Express interest")
    assert interested.count() > 0  # the demo has candidates open to contact for this post
    interested.first.click()
    page.get_by_text("We told the candidate that you are interested.").wait_for()

    # Edit it: the form comes back filled in; the change shows on the candidates page.
    page.goto("/org")
    page.get_by_role("link", name="Edit Neonatologist, two-week training mission").click()
    assert page.get_by_label("Title", exact=True).input_value() == "Neonatologist, two-week training mission"
    page.get_by_label("Title", exact=True).fill("Neonatologist, three-week training mission")
    page.get_by_role("button", name="Save post").click()
    page.get_by_role("heading", name="Neonatologist, three-week training mission").wait_for()

    page.goto("/org")
    page.set_input_files("#file", str(ROOT / "ingest" / "samples" / "posts.csv"))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Report for posts.csv").wait_for()
    shot(page, "upload-report")


def test_ministry_runs_a_campaign_and_invites(page: Any) -> None:
    log_in(page, "ministry@demo.example")
    page.wait_for_url("**/campaigns")
    page.get_by_role("button", name="Create campaign").click()  # no name: a form error
    page.locator("#name-error").wait_for()
    page.get_by_label("Name", exact=True).fill("Health Week 2027")
    page.get_by_label("Countries (codes, comma-separated; empty: all)").fill("AL, XK, BA, ME")
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url("**/campaigns/*")
    page.get_by_role("button", name="Match the whole campaign").click()
    page.get_by_text("The campaign is matched.").wait_for()
    assert page.locator("input[name=match]").count() > 0
    page.get_by_role("button", name="Invite the ticked people").click()
    page.get_by_text("Tick the people to invite first.").wait_for()
    page.locator("input[name=match]").first.check()
    page.get_by_role("button", name="Invite the ticked people").click()
    page.wait_for_load_state()
    # Either invited, or refused because that member is not open to contact: both are clear.
    assert (
        page.get_by_text("Invitations sent.").count() + page.get_by_text("not open to contact").count() == 1
    )
    page.get_by_role("heading", name="Funnel").wait_for()
    page.get_by_role("heading", name="Skill gaps").wait_for()
    shot(page, "campaign")


def test_ministry_reads_the_diaspora_map_filters_it_and_downloads_it(page: Any) -> None:
    log_in(page, "ministry@demo.example")
    page.wait_for_url("**/campaigns")
    page.get_by_role("link", name="Diaspora map").click()
    page.wait_for_url("**/map")
    page.get_by_role("heading", name="Diaspora map", level=1).wait_for()
    assert page.locator("svg.choropleth").count() == 2
    total = page.locator("#map-total").inner_text()
    assert "members" in total
    # Every count shown is a group of at least five; the others read "fewer than 5".
    shown = [
        int(t.replace(",", "")) for t in page.locator("table .bar span").all_inner_texts() if t.strip("0")
    ]
    assert shown
    assert all(n >= 5 for n in shown)
    shot(page, "diaspora-map")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "diaspora-map.csv"
    page.get_by_label("Sector").select_option("health")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/map?**sector=health**")
    # Either the health professionals' figures or, if they are fewer than five, a notice that says so.
    page.locator("#map-total, p.notice").first.wait_for()


def _place_member1(settings: Settings) -> str:
    """A finished campaign of the demo ministry that placed member1 in an open post; returns the email of
    the host's staff. (The demo holds no campaign: its other journeys start from none.)"""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from diaspora.platform.db.models import Account, Campaign, CampaignMatch, Organisation, Post, Profile

    async def place() -> str:
        engine = create_async_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                ministry = await session.scalar(select(Organisation).where(Organisation.kind == "ministry"))
                post = await session.scalar(select(Post).where(Post.status == "open").order_by(Post.title))
                profile = await session.scalar(
                    select(Profile).join(Account).where(Account.email == "member1@demo.example")
                )
                assert ministry is not None
                assert post is not None
                assert profile is not None
                host = await session.scalar(
                    select(Account.email).where(Account.organisation_id == post.organisation_id)
                )
                assert host is not None
                campaign = Campaign(
                    organisation_id=ministry.id, name="Health Week (finished)", status="closed"
                )
                session.add(campaign)
                await session.flush()
                session.add(
                    CampaignMatch(
                        campaign_id=campaign.id, post_id=post.id, profile_id=profile.id, state="placed"
                    )
                )
                return str(host)
        finally:
            await engine.dispose()

    # In a thread of its own: playwright's synchronous API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, place()).result()


def test_a_return_story_is_told_agreed_reviewed_and_read(
    page: Any, live_settings: Settings, server: str
) -> None:
    import httpx

    host = _place_member1(live_settings)
    log_in(page, "member1@demo.example")
    page.goto("/stories/mine")
    page.get_by_label("Title").fill("Back home")  # too short a story: a form error
    page.get_by_role("button", name="Save the story").click()
    page.locator("#body-error").wait_for()
    page.get_by_label("Your story", exact=True).fill(
        "I came back for two weeks and trained the young doctors of the ward in echocardiography. "
        "We still share cases every Friday, and I will come back in spring."
    )
    page.get_by_role("button", name="Save the story").click()
    page.wait_for_url("**/stories/*")
    page.get_by_text("Not published yet").wait_for()
    story_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="Log out").click()

    log_in(page, host)
    page.goto("/stories/mine")
    page.get_by_role("button", name="I agree to publish it").click()
    page.get_by_text("pending review").first.wait_for()
    page.get_by_role("button", name="Log out").click()

    token = httpx.post(
        f"{server}/api/auth/login", json={"email": "admin@demo.example", "password": PASSWORD}
    ).json()
    published = httpx.post(
        f"{server}/api/stories/{story_id}/moderation",
        headers={"Authorization": f"Bearer {token['token']}"},
        json={"decision": "publish"},
    )
    assert published.status_code == 200, published.text
    page.goto("/")
    page.get_by_role("link", name="Back home").click()
    page.wait_for_url(f"**/stories/{story_id}")
    page.get_by_role("heading", name="Back home", level=1).wait_for()
    shot(page, "story")
    page.goto("/stories?q=echocardiography")
    assert page.get_by_role("link", name="Back home").count() == 1


def test_a_consultation_is_written_opened_answered_and_read_in_totals(page: Any) -> None:
    log_in(page, "ministry@demo.example")
    page.wait_for_url("**/campaigns")
    page.get_by_role("link", name="Consultations").click()
    page.wait_for_url("**/consultations")
    page.locator("summary").filter(has_text="New consultation").click()
    page.get_by_label("Title").fill("Roads and schools")
    page.get_by_label("Question 1", exact=True).fill("What should come first?")
    page.locator("#q0_options").fill("Roads")  # one option: a form error next to the question
    page.get_by_role("button", name="Save the draft").click()
    page.locator("#q0-error").wait_for()
    assert page.get_by_label("Question 1", exact=True).input_value() == "What should come first?"
    page.locator("#q0_options").fill("Roads\nSchools\nClinics")
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url("**/consultations/*")
    page.locator("#consultation-audience").wait_for()
    page.get_by_role("button", name="Open it and email the members").click()
    page.wait_for_url("**/consultations/*")
    assert page.locator("#consultation-status").inner_text() == "Open"
    page.get_by_role("button", name="Log out").click()

    # The first member agreed to be consulted: the platform's own consultation waits on their page.
    log_in(page, "member1@demo.example")
    page.goto("/me")
    page.locator("#consultations").get_by_role("link", name="Answer").first.click()
    page.wait_for_url("**/consultations/*")
    page.get_by_role("button", name="Send my answers").click()  # the scale is required
    page.locator("p.field-error").first.wait_for()
    page.locator("fieldset#q1").get_by_label("4").check()
    page.locator("fieldset#q2").get_by_label("Mentoring").check()
    page.locator("fieldset#q3 textarea").fill("A list of schools for our children during a mission.")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url("**/consultations/*?saved=true")
    assert page.locator("fieldset#q1").get_by_label("4").is_checked()
    assert page.get_by_role("button", name="Change my answers").count() == 1
    shot(page, "consultation")
    page.get_by_role("button", name="Log out").click()

    log_in(page, "admin@demo.example")
    page.goto("/consultations")
    page.get_by_role("link", name="How can this platform serve you better?").click()
    page.locator("#consultation-results").wait_for()
    # Every count shown is a group of at least five; the others read "fewer than 5".
    shown = [int(t) for t in page.locator("table .bar span").all_inner_texts() if t.strip()]
    assert shown
    assert all(n >= 5 for n in shown)
    assert "member1" not in page.content()
    shot(page, "consultation-results")
