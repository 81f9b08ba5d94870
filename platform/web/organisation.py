"""Organisation staff's pages: their organisation, posts, ranked candidates, and the posts-file upload."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.ingest.readers import FORMATS, ImportFileError
from diaspora.platform.campaigns import placement
from diaspora.platform.campaigns.schemas import OutcomeIn
from diaspora.platform.core import policy
from diaspora.platform.core.errors import DomainError, PermissionDeniedError
from diaspora.platform.core.guards import (
    provide_actor,
    requires_organisation_account,
    requires_profile_viewer,
    requires_verified_staff,
)
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import (
    Compensation,
    Organisation,
    OrganisationKind,
    PostKind,
    Role,
    WorkMode,
)
from diaspora.platform.imports.services import import_upload
from diaspora.platform.matches.engine import MatchingEngine
from diaspora.platform.matches.services import matches_for_post
from diaspora.platform.organisations import services as organisations
from diaspora.platform.organisations.schemas import OrganisationIn
from diaspora.platform.posts import services as posts
from diaspora.platform.posts.interests import express_interest
from diaspora.platform.posts.schemas import PostIn
from diaspora.platform.web.forms import form_of, listed, submit
from diaspora.platform.web.i18n import gettext as _
from diaspora.platform.web.pages import incentive_labels


def post_body(form: dict[str, Any]) -> dict[str, Any]:
    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    body: dict[str, Any] = {
        "kind": text("kind"),
        "title": text("title"),
        "description": text("description"),
        "country": text("country").upper(),
        "mode": text("mode") or WorkMode.ONSITE.value,
        "compensation": text("compensation") or Compensation.PAID.value,
        "status": text("status") or "draft",
        "required_skills": [{"name": s.strip()} for s in text("required_skills").splitlines() if s.strip()],
        "nice_to_have_skills": [
            {"name": s.strip()} for s in text("nice_to_have_skills").splitlines() if s.strip()
        ],
        "incentives": list(dict.fromkeys(listed(form.get("incentives")))),
    }
    for name in ("municipality", "start_date", "end_date", "subsidy_programme"):
        if text(name):
            body[name] = text(name)
    for name in ("places", "stipend_eur"):
        if text(name):
            body[name] = int(text(name)) if text(name).isdigit() else text(name)
    if text("languages"):
        body["languages"] = [
            c.strip().lower() for c in text("languages").replace(";", ",").split(",") if c.strip()
        ]
    return body


def _post_choices() -> dict[str, dict[str, str]]:
    return {
        "post_kinds": {
            PostKind.SHORT_TERM_RETURN.value: _("Short-term return"),
            PostKind.SKILL_NEED.value: _("Skill need"),
        },
        "modes": {"onsite": _("On site"), "remote": _("Remote"), "hybrid": _("Hybrid")},
        "compensations": {"paid": _("Paid"), "volunteer": _("Volunteer")},
        "incentive_choices": incentive_labels(),
    }


class OrganisationPages(Controller):
    path = "/org"
    include_in_schema = False
    dependencies = {"user": Provide(provide_actor)}

    async def _page(
        self,
        session: AsyncSession,
        user: Actor,
        *,
        org_form: dict[str, Any] | None = None,
        post_form: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        report: Any = None,
        outcome_forms: dict[str, dict[str, Any]] | None = None,
        status_code: int = 200,
    ) -> Template:
        organisation = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
        hosted = await placement.host_placements(session, user) if policy.is_verified_staff(user) else []
        own_posts: list[Any] = []
        if organisation is not None:
            rows, _total = await posts.list_posts(
                session, user, posts.PostFilters(organisation_id=organisation.id), limit=100, offset=0
            )
            own_posts = [posts.post_out(p) for p in rows]
        context = {
            "user": user,
            "organisation": organisation,
            "posts": own_posts,
            "org_form": org_form or {},
            "post_form": post_form or {"country": organisation.country if organisation else ""},
            "errors": errors or {},
            "report": report,
            "placements": hosted,
            "outcome_forms": outcome_forms or {},
            # A ministry account registers a ministry; everyone else anything but one (the policy's rule).
            "kinds": [
                k.value
                for k in OrganisationKind
                if (k is OrganisationKind.MINISTRY) == (user.role is Role.MINISTRY)
            ],
            **_post_choices(),
        }
        return Template("org.html", context=context, status_code=status_code)

    @get("/", guards=[requires_organisation_account])
    async def home(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Template:
        return await self._page(db_session, user)

    @post("/register", status_code=200, guards=[requires_organisation_account])
    async def register(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = {k: str(v).strip() for k, v in (await form_of(request)).items()}
        body = {k: v for k, v in form.items() if v}
        if "country" in body:
            body["country"] = body["country"].upper()
        registered = await submit(
            OrganisationIn, body, lambda data: organisations.register_organisation(db_session, user, data)
        )
        if registered.ok:
            return Redirect("/org", status_code=303)
        return await self._page(db_session, user, org_form=form, errors=registered.errors, status_code=400)

    @post("/posts", status_code=200, guards=[requires_organisation_account])
    async def create_post(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Template | Redirect:
        form = await form_of(request)
        created = await submit(
            PostIn, post_body(form), lambda data: posts.create_post(db_session, user, data)
        )
        if created.result is not None:
            return Redirect(f"/org/posts/{created.result.id}", status_code=303)
        return await self._page(db_session, user, post_form=form, errors=created.errors, status_code=400)

    @get("/posts/{post_id:uuid}/edit", guards=[requires_organisation_account])
    async def edit_form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        post_id: FromPath[uuid.UUID],
    ) -> Template:
        current = posts.post_out(await posts.get_post_to_manage(db_session, user, post_id))
        form = {
            "title": current.title,
            "kind": current.kind,
            "description": current.description,
            "required_skills": "\n".join(s.name for s in current.required_skills),
            "nice_to_have_skills": "\n".join(s.name for s in current.nice_to_have_skills),
            "compensation": current.compensation,
            "incentives": list(current.incentives),
            "subsidy_programme": current.subsidy_programme or "",
            "stipend_eur": "" if current.stipend_eur is None else str(current.stipend_eur),
            "country": current.country,
            "municipality": current.municipality or "",
            "start_date": current.start_date.isoformat() if current.start_date else "",
            "end_date": current.end_date.isoformat() if current.end_date else "",
            "mode": current.mode,
            "places": str(current.places),
            "languages": ", ".join(current.languages),
            "status": current.status,
        }
        return self._edit(user, post_id, form, {})

    def _edit(
        self,
        user: Actor,
        post_id: uuid.UUID,
        form: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        return Template(
            "post_edit.html",
            context={
                "user": user,
                "post_id": post_id,
                "post_form": form,
                "errors": errors,
                "editing": True,
                **_post_choices(),
            },
            status_code=status_code,
        )

    @post("/posts/{post_id:uuid}/edit", status_code=200, guards=[requires_organisation_account])
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        post_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        current = await posts.get_post_to_manage(db_session, user, post_id)
        form = await form_of(request)
        body = post_body(form)
        # The page edits required skills; nice-to-have ones (set through the API or an import) are kept.
        body["nice_to_have_skills"] = [{"name": s.name} for s in current.skills if not s.required]
        updated = await submit(PostIn, body, lambda data: posts.update_post(db_session, user, post_id, data))
        if updated.ok:
            return Redirect(f"/org/posts/{post_id}", status_code=303)
        return self._edit(user, post_id, form, updated.errors, status_code=400)

    @post("/upload", status_code=200, guards=[requires_organisation_account])
    async def upload(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
    ) -> Template:
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._page(
                db_session, user, errors={"file": _("Choose a file to upload.")}, status_code=400
            )
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in FORMATS:
            return await self._page(
                db_session, user, errors={"file": _("Upload a .csv, .jsonl or .xlsx file.")}, status_code=400
            )
        try:
            report = await import_upload(
                db_session,
                user,
                "posts",
                upload.filename,
                await upload.read(),
                dry_run=form.get("dry_run") == "on",
            )
        except ImportFileError as exc:
            return await self._page(db_session, user, errors={"file": str(exc)}, status_code=400)
        return await self._page(db_session, user, report=report)

    @get("/posts/{post_id:uuid}", guards=[requires_profile_viewer])
    async def candidates(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        matching: NamedDependency[MatchingEngine],
        user: NamedDependency[Actor],
        post_id: FromPath[uuid.UUID],
    ) -> Template:
        post_row = await posts.get_post(db_session, user, post_id)
        ranked = await matches_for_post(db_session, matching, user, post_id, limit=20)
        return Template(
            "candidates.html",
            context={
                "user": user,
                "post": posts.post_out(post_row),
                "matches": ranked.items,
                "sent": request.query_params.get("sent"),
            },
        )

    @post(
        "/posts/{post_id:uuid}/interest/{profile_id:uuid}",
        status_code=303,
        guards=[requires_verified_staff],
    )
    async def interest(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        post_id: FromPath[uuid.UUID],
        profile_id: FromPath[uuid.UUID],
    ) -> Redirect:
        """Tell a candidate the organisation is interested; their contact stays hidden until they share it."""
        post_row = await posts.get_post(db_session, user, post_id)
        if not policy.acts_for(user, post_row.organisation_id):
            raise PermissionDeniedError("Only the post's own organisation expresses interest in candidates.")
        try:
            await express_interest(db_session, user, post_id, profile_id)
        except DomainError:
            await db_session.rollback()
            return Redirect(f"/org/posts/{post_id}?sent=no", status_code=303)
        return Redirect(f"/org/posts/{post_id}?sent=yes", status_code=303)

    @post("/placements/{match_id:uuid}/outcome", status_code=200, guards=[requires_verified_staff])
    async def outcome(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        match_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        """The host records what a placement left behind: local staff trained, what was transferred."""
        await placement.placement_to_record(db_session, user, match_id)  # someone else's: 404 or 403
        form = await form_of(request)
        body: dict[str, Any] = {"transferred": str(form.get("transferred") or "").strip()}
        trained = str(form.get("local_staff_trained") or "").strip()
        body["local_staff_trained"] = int(trained) if trained.isdigit() else trained
        saved = await submit(
            OutcomeIn, body, lambda data: placement.record_outcome(db_session, user, match_id, data)
        )
        if saved.result is not None:
            return Redirect(f"/org?recorded={match_id}#placements", status_code=303)
        form["errors"] = saved.errors
        return await self._page(
            db_session, user, outcome_forms={str(match_id): form}, errors={}, status_code=400
        )
