"""The application factory: everything is built here from one Settings object; nothing connects on import."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, Request, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.matching import languages
from diaspora.platform import openapi
from diaspora.platform.accounts.controllers import AuthController, MeController
from diaspora.platform.campaigns.controllers import (
    CampaignController,
    InvitationController,
    PlacementController,
)
from diaspora.platform.consultations.controllers import ConsultationController
from diaspora.platform.core import hygiene, policy, ratelimit, security
from diaspora.platform.core.auth import TokenAuthenticationMiddleware
from diaspora.platform.core.errors import DomainError, domain_error_handler, http_error_handler
from diaspora.platform.core.guards import LoginRequired, login_redirect
from diaspora.platform.core.headers import SecurityHeaders
from diaspora.platform.db import migrate
from diaspora.platform.imports.controllers import ImportController
from diaspora.platform.insights.controllers import InsightsController
from diaspora.platform.matches.controllers import MatchController
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.matches.weights import ScoringWeightsController
from diaspora.platform.opportunities.controllers import OpportunityController, PledgeController
from diaspora.platform.organisations.controllers import OrganisationController
from diaspora.platform.posts.controllers import PostController
from diaspora.platform.posts.interests import InterestController
from diaspora.platform.profiles.controllers import ProfileController
from diaspora.platform.search import config as search_config
from diaspora.platform.search.controllers import SearchController
from diaspora.platform.search.sync import SearchSync
from diaspora.platform.settings import Settings, get_settings
from diaspora.platform.stories.controllers import StoryController
from diaspora.platform.taxonomy.controllers import TaxonomyController
from diaspora.platform.web import i18n
from diaspora.platform.web.consultations import ConsultationPages
from diaspora.platform.web.diaspora_map import MapPages
from diaspora.platform.web.member import MemberPages
from diaspora.platform.web.ministry import MinistryPages
from diaspora.platform.web.opportunity import OpportunityPages
from diaspora.platform.web.organisation import OrganisationPages
from diaspora.platform.web.pages import PageController
from diaspora.platform.web.stories import StoryPages
from diaspora.platform.wiring import build_platform, open_database

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "frontend_templates"


def _setup_templates(engine: JinjaTemplateEngine) -> None:
    """Jinja with gettext: `_()` and `ngettext()` translate into the request's language."""
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: i18n.translations(i18n.current()).gettext(message),
        lambda singular, plural, n: i18n.translations(i18n.current()).ngettext(singular, plural, n),
        newstyle=True,
    )
    env.globals["languages"] = i18n.LANGUAGES
    env.globals["current_language"] = i18n.current
    env.globals["html_lang"] = i18n.html_lang
    env.globals["written_in"] = i18n.written_in
    env.globals["may_see_map"] = policy.may_see_map
    env.filters["day"] = i18n.format_day
    env.filters["number"] = i18n.format_number


async def _before_request(request: Request[Any, Any, Any]) -> None:
    i18n.activate(i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")))
    request.state.language = i18n.current()
    await hygiene.reject_control_characters_in_query(request)
    await hygiene.reject_unknown_query_parameters(request)
    await hygiene.reject_undecodable_json(request)


async def health(db_session: NamedDependency[AsyncSession]) -> dict[str, str]:
    await db_session.execute(text("SELECT 1"))
    return {"status": "ok"}


class UnsafeProductionSettings(RuntimeError):
    """Production mode was asked for with settings that would put people's data at risk."""


async def warm_up(settings: Settings, matching: MatchingEngine) -> None:
    await anyio.to_thread.run_sync(languages.warm_up)
    if not settings.warm_up_on_start:
        return
    encoder = matching.encoder
    await anyio.to_thread.run_sync(lambda: encoder.encode(["warm up"]))
    freeze_heap()


def freeze_heap() -> None:
    """Move every object alive now into the collector's permanent generation.

    What a process loads at start (the models' modules and tensors' Python wrappers, the ORM's mappers,
    the templates, the language detector's tables) lives as long as the process, yet every full
    collection walks it: under load that stalled each database-backed endpoint 180-390 ms every few
    seconds. Collected once and frozen, it is never walked again (the CPython documentation's advice for
    long-lived servers); what requests allocate is collected as before."""
    gc.collect()
    gc.freeze()


_PLATFORM_STATE = ("matching", "search", "mail")


def create_app(settings: NamedDependency[Settings] | None = None) -> Litestar:
    settings = settings or get_settings()
    if settings.production and (problems := settings.production_problems()):
        raise UnsafeProductionSettings("Refusing to start in production mode: " + "; ".join(problems) + ".")
    url = settings.effective_database_url
    security.configure_hashing(
        time_cost=settings.password_hash_time_cost, memory_kib=settings.password_hash_memory_kib
    )
    engine = open_database(url, echo=settings.database_echo)
    alchemy = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        before_send_handler="autocommit_include_redirects",
        session_config=AsyncSessionConfig(expire_on_commit=False),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # The platform (matcher, search sync, mail, jobs) is built at each start from the settings the app
        # holds, over the app's one engine, and let go at shutdown: a started app never carries one run's
        # indexes into the next. (The test suite starts one app per worker many times, each time with a
        # fresh data directory in its settings.)
        current: Settings = app.state["settings"]
        if current.is_sqlite:
            current.data_dir.mkdir(parents=True, exist_ok=True)
        if current.migrate_on_start:
            migrate.upgrade(current.effective_database_url)  # before anything reads the database
        parts = build_platform(current, engine)
        app.state.update(matching=parts.matching, search=parts.search, mail=parts.mail)
        # Models load in a thread (the language detector's about 2 s, the encoder's a few), not in the
        # first request; then the heap is frozen for the garbage collector.
        warming = asyncio.create_task(warm_up(current, parts.matching), name="warm-up")
        try:
            if not current.sync_search_in_process:
                yield
                return
            # Embedded mode: no worker runs, so this process runs the background jobs.
            stop = asyncio.Event()
            running = asyncio.create_task(parts.jobs.run(stop), name="background-jobs")
            try:
                yield
            finally:
                stop.set()
                await running
        finally:
            await warming
            await parts.close()  # the pool's connections belong to this run's event loop
            for name in _PLATFORM_STATE:
                app.state.pop(name, None)

    def provide_settings(state: State) -> Settings:
        return state["settings"]  # type: ignore[no-any-return]

    def provide_search(state: State) -> SearchSync:
        return state["search"]  # type: ignore[no-any-return]

    def provide_matching(state: State) -> MatchingEngine:
        return state["matching"]  # type: ignore[no-any-return]

    exception_handlers: Any = {
        DomainError: domain_error_handler,
        HTTPException: http_error_handler,
        LoginRequired: login_redirect,
    }
    templates = settings.templates_dir or TEMPLATES_DIR
    app = Litestar(
        route_handlers=[
            # A handler per app: Litestar keeps the app on a registered handler, so a module-level one would
            # hold the last app (its engine and pooled connection) alive after it shut down.
            get("/health", tags=["operations"], summary="Liveness and database reachability")(health),
            AuthController,
            MeController,
            ProfileController,
            OrganisationController,
            PostController,
            InterestController,
            MatchController,
            ScoringWeightsController,
            ImportController,
            OpportunityController,
            PledgeController,
            SearchController,
            CampaignController,
            InvitationController,
            PlacementController,
            TaxonomyController,
            InsightsController,
            StoryController,
            ConsultationController,
            PageController,
            MemberPages,
            OrganisationPages,
            MinistryPages,
            MapPages,
            OpportunityPages,
            StoryPages,
            ConsultationPages,
            create_static_files_router(
                path="/static", directories=[templates / "static"], include_in_schema=False
            ),
        ],
        before_request=_before_request,
        lifespan=[lifespan],
        plugins=[SQLAlchemyPlugin(config=alchemy)],
        dependencies={
            "settings": Provide(provide_settings, sync_to_thread=False),
            "matching": Provide(provide_matching, sync_to_thread=False),
            "search": Provide(provide_search, sync_to_thread=False),
        },
        before_send=[SecurityHeaders(hsts=settings.send_hsts)],
        stores={ratelimit.STORE_NAME: ratelimit.build_store(settings, alchemy)},
        middleware=[
            ratelimit.middleware_config(settings).middleware,
            DefineMiddleware(
                TokenAuthenticationMiddleware,
                alchemy=alchemy,
                idle=timedelta(minutes=settings.session_idle_minutes),
                exclude=["^/schema"],
            ),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            exclude=["^/api/", "^/health$", "^/schema"],
        ),
        template_config=TemplateConfig(
            directory=templates, engine=JinjaTemplateEngine, engine_callback=_setup_templates
        ),
        openapi_config=OpenAPIConfig(
            title="Diaspora skills-matching platform",
            version="0.1.0",
            path="/schema",
            openapi_router=openapi.schema_router("/schema", search_config.load_all()),
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        exception_handlers=exception_handlers,
        request_max_body_size=settings.max_request_body_bytes,
        state=State({"settings": settings}),
        debug=settings.debug,
    )
    return app
