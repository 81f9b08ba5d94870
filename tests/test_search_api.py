"""Opportunities and posts reach search through the outbox; an outage of the index loses nothing."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from diaspora.platform.search.backend import Document, SearchBackend
from diaspora.platform.search.config import IndexConfig, load
from diaspora.platform.search.query import SearchRequest, SearchResult
from diaspora.platform.search.sync import SearchSync
from tests.conftest import SEARCH_EVENTS, Api, _empty_all_tables, count_rows

INVESTMENT = {
    "kind": "investment",
    "title": "Solar park in Prizren looking for diaspora investors",
    "sector": "energy",
    "country": "XK",
    "municipality": "Prizren",
    "description": "An investment in a 5 MW park on municipal land.",
    "ticket_min": 50000,
    "ticket_max": 250000,
    "currency": "EUR",
    "languages": ["sq", "en"],
    "contact_email": "invest@prizren.example",
}
VOLUNTEERING = {
    "kind": "volunteering",
    "title": "Volunteer physiotherapists for a rehabilitation week",
    "sector": "health",
    "country": "AL",
    "hours_per_week": 30,
    "duration_weeks": 1,
    "mode": "onsite",
    "languages": ["sq"],
}


def sync_of(api: Api) -> SearchSync:
    return api.client.app.state["search"]  # type: ignore[no-any-return]


def drain(api: Api) -> Any:
    return api.client.blocking_portal.call(sync_of(api).drain)


def found(api: Api, index: str = "opportunities", **params: Any) -> list[str]:
    response = api.client.get(f"/api/search/{index}", params=params)
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["hits"]]


def publish(api: Api, admin: dict[str, str], opportunity_id: str) -> dict[str, Any]:
    response = api.client.post(
        f"/api/opportunities/{opportunity_id}/moderation", headers=admin, json={"decision": "publish"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_opportunity_is_found_once_published_and_leaves_search_when_changed_or_closed(api: Api) -> None:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    response = api.client.post("/api/opportunities", headers=staff, json=INVESTMENT)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending_review"
    drain(api)
    assert found(api, q="solar") == []  # waiting for review: not public
    assert api.client.get(f"/api/opportunities/{created['id']}").status_code == 404

    publish(api, admin, created["id"])
    drain(api)
    assert found(api, q="solar") == [created["id"]]
    assert found(api, q="investim") == [created["id"]]  # Albanian synonym of investment
    assert found(api, q="prizern") == [created["id"]]  # typo
    assert api.client.get(f"/api/opportunities/{created['id']}").json()["title"].startswith("Solar park")

    changed = {**INVESTMENT, "title": "Wind park in Prizren looking for diaspora investors"}
    response = api.client.put(f"/api/opportunities/{created['id']}", headers=staff, json=changed)
    assert response.status_code == 200
    assert response.json()["status"] == "pending_review"  # what the admin approved has changed
    drain(api)
    assert found(api, q="wind") == []
    publish(api, admin, created["id"])
    drain(api)
    assert found(api, q="wind") == [created["id"]]
    assert found(api, q="solar") == []

    assert api.client.post(f"/api/opportunities/{created['id']}/close", headers=staff).status_code == 200
    drain(api)
    assert found(api, q="wind") == []


def test_facets_filters_and_pages_through_the_api(api: Api) -> None:
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    for body in (INVESTMENT, VOLUNTEERING, {**VOLUNTEERING, "title": "Volunteer nurses", "country": "XK"}):
        publish(api, admin, api.client.post("/api/opportunities", headers=staff, json=body).json()["id"])
    drain(api)
    params = {"kind": "volunteering", "facets": "country,sector", "per_page": 1}
    response = api.client.get("/api/search/opportunities", params=params)
    body = response.json()
    assert body["total_hits"] == 2
    assert body["total_pages"] == 2
    assert len(body["hits"]) == 1
    assert body["facets"] == {"country": {"AL": 1, "XK": 1}, "sector": {"health": 2}}
    assert len(found(api, country=["AL", "XK"])) == 3
    assert len(found(api, **{"ticket_max.lte": 300000})) == 1
    assert found(api, **{"ticket_max.lte": 1000}) == []


def test_posts_are_searchable_while_live(api: Api) -> None:
    admin = api.admin()
    staff, organisation_id = api.organisation(admin=admin)
    live = api.post(staff, title="Paediatric surgeon for a training fortnight")
    api.post(staff, title="Paediatric nurse, draft", status="draft")
    drain(api)
    assert found(api, "posts", q="paediatric") == [live["id"]]
    assert found(api, "posts", q="pediatric") == [live["id"]]  # one typo in ten letters
    # The organisation loses its verification: its posts leave search with it.
    response = api.client.post(f"/api/organisations/{organisation_id}/unverify", headers=admin)
    assert response.status_code == 200, response.text
    drain(api)
    assert found(api, "posts", q="paediatric") == []
    api.client.post(f"/api/organisations/{organisation_id}/verify", headers=admin)
    drain(api)
    assert found(api, "posts", q="paediatric") == [live["id"]]
    assert api.client.delete(f"/api/posts/{live['id']}", headers=staff).status_code == 204
    drain(api)
    assert found(api, "posts", q="paediatric") == []


@pytest.mark.shared_app
@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("colour=red", "colour"),
        ("ticket_min.gte=lots", "ticket_min.gte"),
        ("page=100000", "page"),
        ("page=-1", "page"),
        ("q=", "q"),
        ("q=" + "x" * 500, "q"),
        ("facets=description", "facets"),
        ("sort=title:asc", "sort"),
    ],
)
def test_bad_search_parameters_are_a_clear_400(client: TestClient[Any], query: str, key: str) -> None:
    response = client.get(f"/api/search/opportunities?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == key


class FlakyBackend:
    """Wraps a back end; while `down`, every write fails as an unreachable server would."""

    def __init__(self, inner: SearchBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.down = False
        self.failed_writes = 0

    def _check(self) -> None:
        if self.down:
            self.failed_writes += 1
            raise ConnectionError("search back end unreachable")

    async def prepare(self, config: IndexConfig, *, dimensions: int | None = None) -> None:
        await self.inner.prepare(config, dimensions=dimensions)

    async def upsert(self, config: IndexConfig, documents: list[Document]) -> None:
        self._check()
        await self.inner.upsert(config, documents)

    async def delete(self, config: IndexConfig, ids: list[str]) -> None:
        self._check()
        await self.inner.delete(config, ids)

    async def search(self, config: IndexConfig, request: SearchRequest) -> SearchResult:
        return await self.inner.search(config, request)

    async def rebuild(self, config: IndexConfig, batches: Any, progress: Any = None) -> int:
        return await self.inner.rebuild(config, batches, progress)

    async def document_ids(self, config: IndexConfig) -> set[str]:
        return await self.inner.document_ids(config)

    async def close(self) -> None:
        await self.inner.close()


def _public_ids(api: Api, index: str) -> set[str]:
    sync = sync_of(api)

    async def run() -> set[str]:
        from diaspora.platform.search.documents import SOURCES, all_documents

        async with sync.sessions() as session:
            return {d["id"] async for batch in all_documents(session, SOURCES[index]) for d in batch}

    return api.client.blocking_portal.call(run)


def test_an_outage_during_writes_loses_nothing(api: Api) -> None:
    sync = sync_of(api)
    flaky = FlakyBackend(sync.backend)
    sync.backend = flaky
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    first = api.client.post("/api/opportunities", headers=staff, json=INVESTMENT).json()
    publish(api, admin, first["id"])
    drain(api)

    flaky.down = True  # the index goes away while people keep writing
    second = api.client.post("/api/opportunities", headers=staff, json=VOLUNTEERING).json()
    publish(api, admin, second["id"])
    api.client.post(f"/api/opportunities/{first['id']}/close", headers=staff)
    live = api.post(staff, title="Anaesthetist for a week of surgery")
    tried_from = api.client.blocking_portal.call(_now)
    report = drain(api)
    assert report.failed > 0
    assert flaky.failed_writes > 0
    url = sync.settings.effective_database_url
    assert count_rows(url, "outbox", SEARCH_EVENTS) > 0  # kept for retry, with a backoff
    assert found(api, q="solar") == [first["id"]]  # the index is stale, not broken

    # Retries wait for their backoff (read from the rows: a second drain could race the clock)...
    # (each retry lies at least the first backoff, 0.5 to 1 s with jitter, after the drain began)
    assert min(api.client.blocking_portal.call(_retry_times, sync)) > tried_from + timedelta(seconds=0.45)
    flaky.down = False
    api.client.blocking_portal.call(_make_due, sync)  # ...which we skip here rather than sleep through
    drain(api)
    assert count_rows(url, "outbox", SEARCH_EVENTS) == 0
    for index in ("opportunities", "posts"):
        in_index = api.client.blocking_portal.call(flaky.document_ids, load(index))
        assert in_index == _public_ids(api, index)
    assert found(api, q="physiotherapists") == [second["id"]]
    assert found(api, q="solar") == []
    assert found(api, "posts", q="anaesthetist") == [live["id"]]


async def _now() -> Any:
    from diaspora.platform.db.models import utcnow

    return utcnow()


async def _retry_times(sync: SearchSync) -> set[Any]:
    """When each kept event will be tried again (all of them tried once already)."""
    from sqlalchemy import select

    from diaspora.platform.db.models import OutboxEvent

    async with sync.sessions() as session:
        query = select(OutboxEvent.available_at, OutboxEvent.attempts).where(OutboxEvent.topic != "mail")
        rows = (await session.execute(query)).all()
    assert rows
    assert {attempts for _, attempts in rows} == {1}
    return {available_at for available_at, _ in rows}


async def _make_due(sync: SearchSync) -> None:
    from sqlalchemy import update

    from diaspora.platform.db.models import OutboxEvent, utcnow

    async with sync.sessions() as session, session.begin():
        await session.execute(update(OutboxEvent).values(available_at=utcnow()))


def test_reindex_rebuilds_the_index_from_the_database(api: Api) -> None:
    sync = sync_of(api)
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    created = api.client.post("/api/opportunities", headers=staff, json=INVESTMENT).json()
    publish(api, admin, created["id"])
    config = load("opportunities")
    # The index drifted (say, restored from an old backup): a stray document, and the real one missing.
    stray = {"id": "stray", "kind": "investment", "title": "Stray", "published_at": 1}
    api.client.blocking_portal.call(sync.backend.upsert, config, [stray])
    assert api.client.blocking_portal.call(sync.reindex, "opportunities") == 1
    assert api.client.blocking_portal.call(sync.backend.document_ids, config) == {created["id"]}
    drain(api)  # the events written meanwhile apply cleanly on top
    assert found(api, q="solar") == [created["id"]]


def test_an_index_written_by_an_earlier_version_is_rebuilt_at_start(api: Api) -> None:
    """An upgrade: the embedded index on disk has an older set of fields. The next process rebuilds it from
    the database instead of failing every search."""
    import tantivy

    sync = sync_of(api)
    admin = api.admin()
    staff, _ = api.organisation(admin=admin)
    created = api.client.post("/api/opportunities", headers=staff, json=INVESTMENT).json()
    publish(api, admin, created["id"])
    drain(api)
    folder = sync.settings.data_dir / "search" / "opportunities"
    old = tantivy.SchemaBuilder()
    old.add_text_field("_id", stored=True, tokenizer_name="raw", fast=True)
    (folder / "g0-old").mkdir()
    tantivy.Index(old.build(), path=str(folder / "g0-old"))
    (folder / "CURRENT").write_text("g0-old")

    upgraded = SearchSync(sync.settings, sync.engine)  # the next process, started on the old index
    try:
        api.client.blocking_portal.call(upgraded.drain)
        request = SearchRequest(q="solar")
        result = api.client.blocking_portal.call(upgraded.search, "opportunities", request)
        assert [hit["id"] for hit in result.hits] == [created["id"]]
    finally:
        api.client.blocking_portal.call(upgraded.close)


@pytest.mark.slow  # the background jobs' housekeeping loads the encoder
def test_the_web_process_syncs_by_itself_in_embedded_mode(settings: Any) -> None:
    from diaspora.platform.app import create_app

    live_settings = settings.model_copy(update={"search_sync_in_process": True})
    with TestClient(create_app(live_settings), base_url="http://testserver.local") as client:
        api = Api(client)
        admin = api.admin()
        staff, _ = api.organisation(admin=admin)
        created = client.post("/api/opportunities", headers=staff, json=INVESTMENT).json()
        publish(api, admin, created["id"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not found(api, q="solar"):
            time.sleep(0.05)
        assert found(api, q="solar") == [created["id"]]
    asyncio.run(_empty_all_tables(settings.effective_database_url))
