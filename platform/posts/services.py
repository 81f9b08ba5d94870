"""Posts: skill needs and short-term return posts, written by organisation staff, live once verified."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, Text, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from diaspora.matching import languages
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.db.models import Incentive, Organisation, Post, PostSkill, PostStatus, utcnow
from diaspora.platform.posts.schemas import PostIn, PostOut, PostSkillOut

_POST_LOAD = (selectinload(Post.skills), selectinload(Post.organisation))


def is_live(post: Post) -> bool:
    return _live(post.status, post.organisation.verified)


def _live(status: str, organisation_verified: bool) -> bool:
    return status == PostStatus.OPEN.value and bool(organisation_verified)


def post_out(post: Post) -> PostOut:
    return PostOut(
        id=post.id,
        organisation_id=post.organisation_id,
        organisation_name=post.organisation.name,
        organisation_verified=post.organisation.verified,
        kind=post.kind,
        title=post.title,
        description=post.description,
        required_skills=[
            PostSkillOut(name=s.name, taxonomy_id=s.taxonomy_id) for s in post.skills if s.required
        ],
        nice_to_have_skills=[
            PostSkillOut(name=s.name, taxonomy_id=s.taxonomy_id) for s in post.skills if not s.required
        ],
        languages=list(post.languages),
        country=post.country,
        municipality=post.municipality,
        start_date=post.start_date,
        end_date=post.end_date,
        duration_days=post.duration_days,
        mode=post.mode,
        compensation=post.compensation,
        places=post.places,
        incentives=list(post.incentives or []),
        subsidy_programme=post.subsidy_programme,
        stipend_eur=post.stipend_eur,
        status=post.status,
        text_language=post.text_language,
        live=is_live(post),
        created_at=post.created_at,
        updated_at=post.updated_at,
    )


async def _staff_organisation(session: AsyncSession, user: Actor) -> Organisation:
    if not policy.is_organisation_account(user) or user.organisation_id is None:
        raise PermissionDeniedError("Only staff of a registered organisation write posts.")
    organisation = await session.get(Organisation, user.organisation_id)
    if organisation is None:
        raise PermissionDeniedError("Your organisation no longer exists.")
    return organisation


def check_publishable(organisation: Organisation, data: PostIn) -> None:
    if data.status is PostStatus.OPEN and not organisation.verified:
        raise ConflictError(
            "Your organisation is not verified yet: save the post as 'draft' and open it once an admin has "
            "verified the organisation.",
            field="status",
        )


def apply_post(post: Post, data: PostIn) -> None:
    post.updated_at = utcnow()
    post.kind = data.kind.value
    post.title = data.title.strip()
    post.description = data.description
    post.languages = list(data.languages)
    post.country = data.country
    post.municipality = data.municipality
    post.start_date = data.start_date
    post.end_date = data.end_date
    post.duration_days = data.duration_days
    post.mode = data.mode.value
    post.compensation = data.compensation.value
    post.places = data.places
    incentives = [i.value for i in data.incentives]
    # A named programme is a subsidy and an amount a stipend, whether or not they were ticked too.
    for given, implied in (
        (data.subsidy_programme, Incentive.SUBSIDY),
        (data.stipend_eur, Incentive.STIPEND),
    ):
        if given and implied.value not in incentives:
            incentives.append(implied.value)
    post.incentives = incentives
    post.subsidy_programme = (data.subsidy_programme or "").strip() or None
    post.stipend_eur = data.stipend_eur
    post.status = data.status.value
    skills = [(s, True) for s in data.required_skills] + [(s, False) for s in data.nice_to_have_skills]
    post.skills = [
        PostSkill(position=i, name=s.name.strip(), taxonomy_id=s.taxonomy_id, required=required)
        for i, (s, required) in enumerate(skills)
    ]
    post.text_language = languages.identify(
        "\n".join([post.title, post.description, *(s.name for s, _ in skills)])
    )


async def create_post(session: AsyncSession, user: Actor, data: PostIn) -> Post:
    organisation = await _staff_organisation(session, user)
    check_publishable(organisation, data)
    post = Post(organisation_id=organisation.id, created_by_id=user.id)
    post.organisation = organisation
    apply_post(post, data)
    session.add(post)
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="post.created",
        entity_type="post",
        entity_id=post.id,
        status=post.status,
    )
    return post


async def _load(session: AsyncSession, post_id: uuid.UUID) -> Post | None:
    return await session.scalar(select(Post).where(Post.id == post_id).options(*_POST_LOAD))


def _may_manage(user: Actor | None, post: Post) -> bool:
    return policy.manages_organisation(user, post.organisation_id)


async def get_post(session: AsyncSession, user: Actor | None, post_id: uuid.UUID) -> Post:
    """A live post is public; drafts, closed posts and posts of unverified organisations are not."""
    post = await _load(session, post_id)
    if post is None or not (is_live(post) or _may_manage(user, post)):
        raise NotFoundError("Post not found.")
    return post


async def post_owner(session: AsyncSession, user: Actor | None, post_id: uuid.UUID) -> uuid.UUID:
    """The organisation of a post `user` may see, as `get_post` decides, from three columns of the post
    and its organisation rather than the post in full."""
    row = (
        await session.execute(
            select(Post.organisation_id, Post.status, Organisation.verified)
            .join(Organisation, Organisation.id == Post.organisation_id)
            .where(Post.id == post_id)
        )
    ).first()
    if row is None:
        raise NotFoundError("Post not found.")
    organisation_id, status, verified = row
    if not (_live(status, verified) or policy.manages_organisation(user, organisation_id)):
        raise NotFoundError("Post not found.")
    return organisation_id


async def get_post_to_manage(session: AsyncSession, user: Actor, post_id: uuid.UUID) -> Post:
    """A post its own organisation's accounts (or an admin) may change; others are refused."""
    post = await get_post(session, user, post_id)
    if not _may_manage(user, post):
        raise PermissionDeniedError("Only the organisation's own staff or an admin can change this post.")
    return post


async def update_post(session: AsyncSession, user: Actor, post_id: uuid.UUID, data: PostIn) -> Post:
    # Lock the post before reading it (row lock on PostgreSQL, write lock on SQLite), so that two
    # concurrent replacements run one after the other instead of both adding their skills.
    await session.execute(update(Post).where(Post.id == post_id).values(updated_at=utcnow()))
    post = await get_post(session, user, post_id)
    if not _may_manage(user, post):
        raise PermissionDeniedError("Only the organisation's own staff or an admin can change this post.")
    check_publishable(post.organisation, data)
    apply_post(post, data)
    await session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="post.updated",
        entity_type="post",
        entity_id=post.id,
        status=post.status,
    )
    return post


async def delete_post(session: AsyncSession, user: Actor, post_id: uuid.UUID) -> None:
    post = await get_post(session, user, post_id)
    if not _may_manage(user, post):
        raise PermissionDeniedError("Only the organisation's own staff or an admin can delete this post.")
    await session.delete(post)
    audit.record(session, actor_id=user.id, action="post.deleted", entity_type="post", entity_id=post_id)


@dataclass(frozen=True, slots=True)
class PostFilters:
    organisation_id: uuid.UUID | None = None
    status: str | None = None
    kind: str | None = None
    country: str | None = None
    mode: str | None = None
    compensation: str | None = None
    language: str | None = None
    incentive: str | None = None
    q: str | None = None


def _list_query(user: Actor | None, filters: PostFilters) -> Select[Post]:
    query = select(Post).join(Organisation, Organisation.id == Post.organisation_id)
    is_admin = policy.is_admin(user)
    own_org = user.organisation_id if user is not None else None
    live = (Post.status == PostStatus.OPEN.value) & Organisation.verified.is_(True)
    if not is_admin:
        # Everyone sees live posts; staff also see every post of their own organisation.
        query = query.where(or_(live, Post.organisation_id == own_org) if own_org else live)
    if filters.organisation_id:
        query = query.where(Post.organisation_id == filters.organisation_id)
    for column, value in (
        (Post.status, filters.status),
        (Post.kind, filters.kind),
        (Post.country, filters.country),
        (Post.mode, filters.mode),
        (Post.compensation, filters.compensation),
    ):
        if value:
            query = query.where(column == value)
    if filters.language:
        # Languages are a short JSON list; matching the quoted code is exact and portable.
        query = query.where(func.lower(cast(Post.languages, Text)).contains(f'"{filters.language}"'))
    if filters.incentive:
        query = query.where(cast(Post.incentives, Text).contains(f'"{filters.incentive}"'))
    if filters.q:
        needle = filters.q.lower()
        query = query.where(
            or_(
                func.lower(Post.title).contains(needle, autoescape=True),
                func.lower(Post.description).contains(needle, autoescape=True),
            )
        )
    return query


async def list_posts(
    session: AsyncSession, user: Actor | None, filters: PostFilters, *, limit: int, offset: int
) -> tuple[list[Post], int]:
    query = _list_query(user, filters)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.scalars(
        query.options(*_POST_LOAD).order_by(Post.created_at.desc(), Post.id).limit(limit).offset(offset)
    )
    return list(rows.all()), total
