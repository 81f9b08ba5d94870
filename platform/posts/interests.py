"""Interest: organisation staff tell a candidate they would like them for a post. The member sees it
on their dashboard and answers by sharing their contact details with that organisation, or not.
Nothing about the member is revealed to the organisation until they share."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.guards import provide_actor, requires_member, requires_verified_staff
from diaspora.platform.core.params import Pagination, provide_pagination
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.schemas import Input
from diaspora.platform.db.models import Post, PostInterest, Profile, utcnow
from diaspora.platform.matches.engine import PROFILE_LOAD
from diaspora.platform.notifications.mail import enqueue_mail
from diaspora.platform.posts.services import get_post, is_live
from diaspora.platform.profiles.services import grant_contact, load_own_profile


class InterestIn(Input):
    profile_id: uuid.UUID


class InterestAnswerIn(Input):
    answer: Annotated[str, msgspec.Meta(pattern="^(share|decline)$")]


class InterestOut(msgspec.Struct):
    id: uuid.UUID
    post_id: uuid.UUID
    post_title: str
    organisation_id: uuid.UUID
    organisation_name: str
    answer: str | None


class InterestList(msgspec.Struct):
    items: list[InterestOut]
    total: int = 0
    limit: int = 0
    offset: int = 0

    @classmethod
    def page(cls, items: list[InterestOut], page: Pagination) -> InterestList:
        shown = page.window(items)
        return cls(items=shown, total=len(items), limit=page.limit, offset=page.offset)


async def express_interest(
    session: AsyncSession, user: Actor, post_id: uuid.UUID, profile_id: uuid.UUID
) -> tuple[PostInterest, bool]:
    """Returns the interest and whether it is new (a repeated click sends no second mail)."""
    post_row = await get_post(session, user, post_id)
    if not (policy.is_verified_staff(user) and policy.acts_for(user, post_row.organisation_id)):
        raise PermissionDeniedError("Only the post's own organisation expresses interest in candidates.")
    if not is_live(post_row):
        raise ConflictError("Open the post (and have the organisation verified) first.")
    profile = await session.scalar(select(Profile).where(Profile.id == profile_id).options(*PROFILE_LOAD))
    consent = profile.consent if profile is not None else None
    if profile is None or consent is None or not consent.open_to_matching:
        raise NotFoundError("No candidate with that id.", field="profile_id")
    if not consent.open_to_contact:
        raise ConflictError("This member does not accept contact requests.", field="profile_id")
    existing = await session.scalar(
        select(PostInterest).where(PostInterest.post_id == post_id, PostInterest.profile_id == profile_id)
    )
    if existing is not None:
        return existing, False
    interest = PostInterest(post_id=post_id, profile_id=profile_id)
    session.add(interest)
    await session.flush()
    enqueue_mail(
        session,
        to=profile.account.email,
        key=f"interest:{interest.id}",
        subject=f"{post_row.organisation.name} is interested in you",
        body=(
            f"{post_row.organisation.name} would like to hear from you about '{post_row.title}'.\n"
            "Your contact details stay private: share them from your dashboard if you are interested.\n"
        ),
    )
    audit.record(
        session,
        actor_id=user.id,
        action="interest.expressed",
        entity_type="post_interest",
        entity_id=interest.id,
    )
    return interest, True


async def my_interests(session: AsyncSession, user: Actor) -> list[InterestOut]:
    profile = await load_own_profile(session, user.id, required=False)
    if profile is None:
        return []
    rows = await session.scalars(
        select(PostInterest)
        .where(PostInterest.profile_id == profile.id)
        .options(selectinload(PostInterest.post).selectinload(Post.organisation))
        .order_by(PostInterest.created_at.desc())
    )
    return [
        InterestOut(
            id=row.id,
            post_id=row.post_id,
            post_title=row.post.title,
            organisation_id=row.post.organisation_id,
            organisation_name=row.post.organisation.name,
            answer=row.answer,
        )
        for row in rows.all()
    ]


async def answer_interest(session: AsyncSession, user: Actor, interest_id: uuid.UUID, share: bool) -> None:
    profile = await load_own_profile(session, user.id)
    assert profile is not None
    row = await session.scalar(
        select(PostInterest)
        .where(PostInterest.id == interest_id, PostInterest.profile_id == profile.id)
        .options(selectinload(PostInterest.post))
        .with_for_update()
    )
    if row is None:
        raise NotFoundError("Not found.")
    if row.answer is not None:
        raise ConflictError(f"You already answered ({row.answer}).")
    if share:
        await grant_contact(session, user, row.post.organisation_id)
    row.answer, row.answered_at = ("shared" if share else "declined"), utcnow()
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action=f"interest.{row.answer}",
        entity_type="post_interest",
        entity_id=row.id,
    )


class InterestController(Controller):
    tags = ["posts"]
    dependencies = {
        "user": Provide(provide_actor),
        "page": Provide(provide_pagination, sync_to_thread=False),
    }

    @post(
        "/api/posts/{post_id:uuid}/interests",
        guards=[requires_verified_staff],
        summary="Tell a candidate your organisation is interested (they may then share their contact)",
    )
    async def express(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        post_id: FromPath[uuid.UUID],
        data: JSONBody[InterestIn],
    ) -> dict[str, str]:
        interest, created = await express_interest(db_session, user, post_id, data.profile_id)
        return {"id": str(interest.id), "status": "sent" if created else "already sent"}

    @get("/api/me/interests", guards=[requires_member], summary="Organisations interested in you")
    async def mine(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        page: NamedDependency[Pagination],
    ) -> InterestList:
        return InterestList.page(await my_interests(db_session, user), page)

    @post(
        "/api/me/interests/{interest_id:uuid}/answer",
        guards=[requires_member],
        status_code=200,
        summary="Share your contact details with the organisation, or decline (once)",
    )
    async def answer(
        self,
        db_session: NamedDependency[AsyncSession],
        user: NamedDependency[Actor],
        interest_id: FromPath[uuid.UUID],
        data: JSONBody[InterestAnswerIn],
    ) -> InterestList:
        await answer_interest(db_session, user, interest_id, data.answer == "share")
        return InterestList.page(await my_interests(db_session, user), Pagination(limit=100, offset=0))
