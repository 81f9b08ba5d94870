"""Return stories on the site: the list (searchable), each story's page, an Atom feed, and for the people
placed and their hosts a page to tell a placement's story, agree to one, or take it back."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.campaigns import placement
from diaspora.platform.core import policy
from diaspora.platform.core.errors import ConflictError, ValidationError
from diaspora.platform.core.guards import provide_actor, provide_optional_actor, requires_login
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import utcnow
from diaspora.platform.stories import services
from diaspora.platform.stories.schemas import StoryIn
from diaspora.platform.web.forms import form_of, submit

PER_PAGE = 20
FEED_SIZE = 30


async def _tellable(session: AsyncSession, user: Actor) -> list[dict[str, Any]]:
    """Placements the user may tell the story of: their own (members), or in their posts (hosts)."""
    if policy.is_member(user):
        rows = await services.placements_of_member(session, user)
        return [{"id": r.id, "title": r.post.title, "who": r.post.organisation.name} for r in rows]
    if policy.is_verified_staff(user):
        return [
            {"id": p.id, "title": p.post_title, "who": p.person}
            for p in await placement.host_placements(session, user)
        ]
    return []


class StoryPages(Controller):
    path = "/stories"
    include_in_schema = False
    dependencies = {"user": Provide(provide_actor), "maybe_user": Provide(provide_optional_actor)}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
    ) -> Template:
        q = (request.query_params.get("q") or "").strip()[:200] or None
        page = max(1, int(p) if (p := request.query_params.get("page", "1")).isdigit() else 1)
        rows, total = await services.list_stories(
            db_session, maybe_user, q=q, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
        )
        return Template(
            "stories.html",
            context={
                "user": maybe_user,
                "stories": [services.story_out(s) for s in rows],
                "total": total,
                "q": q or "",
                "page": page,
                "more": page * PER_PAGE < total,
                "next_query": urlencode({**({"q": q} if q else {}), "page": page + 1}),
            },
        )

    @get("/feed.atom")
    async def feed(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        """The newest published stories as an Atom feed (RFC 4287), for readers and other sites."""
        rows, _total = await services.list_stories(db_session, None, limit=FEED_SIZE)
        stories = [services.story_out(s) for s in rows]
        context = {
            "stories": stories,
            "base": str(request.base_url).rstrip("/"),
            "updated": stories[0].published_at if stories and stories[0].published_at else utcnow(),
        }
        return Template("stories_feed.xml", context=context, media_type="application/atom+xml")

    @get("/{story_id:uuid}")
    async def show(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        story_id: FromPath[uuid.UUID],
    ) -> Template:
        story = await services.get_story(db_session, maybe_user, story_id)
        party = services.is_party(maybe_user, story)
        return Template(
            "story.html",
            context={"user": maybe_user, "story": services.story_out(story, with_note=party), "party": party},
        )

    async def _mine(
        self,
        session: AsyncSession,
        user: Actor,
        *,
        form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        stories = await services.stories_of(session, user)
        told = {s.match_id for s in stories}
        context = {
            "user": user,
            "stories": [(services.story_out(s, with_note=True), s) for s in stories],
            "tellable": [t for t in await _tellable(session, user) if t["id"] not in told],
            "form": form or {},
            "errors": errors or {},
            "is_member": policy.is_member(user),
        }
        return Template("stories_mine.html", context=context, status_code=status_code)

    @get("/mine", guards=[requires_login])
    async def mine(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Template:
        problem = (request.query_params.get("photo_error") or "")[:300]
        return await self._mine(db_session, user, errors={"photo": problem} if problem else None)

    @post("/", status_code=200, guards=[requires_login])
    async def write(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = await form_of(request)
        body = {k: str(form.get(k) or "").strip() for k in ("match_id", "title", "body")}
        try:
            match_id = uuid.UUID(body["match_id"])
        except ValueError:
            match_id = None
        if match_id is not None:  # someone else's placement: 404 or 403, not a form error
            await services.placement_to_tell(db_session, user, match_id)
        written = await submit(StoryIn, body, lambda data: services.write_story(db_session, user, data))
        if written.result is not None:
            return Redirect(f"/stories/{written.result.id}", status_code=303)
        return await self._mine(db_session, user, form=form, errors=written.errors, status_code=400)

    @get("/{story_id:uuid}/photo")
    async def photo(
        self,
        db_session: NamedDependency[AsyncSession],
        maybe_user: NamedDependency[Actor | None],
        story_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        body = await services.photo_of(db_session, maybe_user, story_id)
        return Response(body, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})

    @post("/{story_id:uuid}/photo", status_code=303, guards=[requires_login])
    async def upload_photo(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        story_id: FromPath[uuid.UUID],
    ) -> Redirect:
        form = await request.form()
        upload = form.get("photo")
        raw = await upload.read() if isinstance(upload, UploadFile) else b""
        try:
            await services.set_photo(db_session, user, story_id, raw, str(form.get("photo_alt") or ""))
        except (ValidationError, ConflictError) as exc:
            await db_session.rollback()
            return Redirect("/stories/mine?" + urlencode({"photo_error": exc.message}), status_code=303)
        return Redirect(f"/stories/{story_id}", status_code=303)

    @post("/{story_id:uuid}/consent", status_code=303, guards=[requires_login])
    async def consent(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        story_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await services.consent(db_session, user, story_id)
        return Redirect("/stories/mine", status_code=303)

    @post("/{story_id:uuid}/withdraw", status_code=303, guards=[requires_login])
    async def withdraw(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        story_id: FromPath[uuid.UUID],
    ) -> Redirect:
        await services.withdraw(db_session, user, story_id)
        return Redirect("/stories/mine", status_code=303)
