"""Organisations: registration by their staff, verification by admins, public listing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.accounts.addresses import normalise_email
from diaspora.platform.core import audit, policy
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError
from diaspora.platform.core.policy import Actor
from diaspora.platform.core.schemas import from_row
from diaspora.platform.db.models import Account, Organisation, OrganisationKind, Post, Profile, Role, utcnow
from diaspora.platform.organisations.schemas import (
    OrganisationIn,
    OrganisationOut,
    OrganisationUpdateIn,
    StaffOut,
)


def organisation_out(organisation: Organisation) -> OrganisationOut:
    return from_row(organisation, OrganisationOut)


def new_organisation(data: OrganisationIn, *, verified: bool) -> Organisation:
    """An organisation row from validated input (registration and bulk import share it)."""
    return Organisation(
        name=data.name.strip(),
        kind=data.kind.value,
        country=data.country,
        municipality=data.municipality,
        website=data.website,
        description=data.description,
        verified=verified,
        verified_at=utcnow() if verified else None,
    )


async def register_organisation(session: AsyncSession, user: Actor, data: OrganisationIn) -> Organisation:
    """Staff (or a ministry account) register the organisation they work for and become its staff."""
    if user.role not in (Role.ORGANISATION_STAFF, Role.MINISTRY):
        raise PermissionDeniedError("Only organisation staff and ministry accounts register organisations.")
    if user.organisation_id is not None:
        raise ConflictError("Your account already belongs to an organisation.")
    if user.role is Role.MINISTRY and data.kind is not OrganisationKind.MINISTRY:
        raise PermissionDeniedError(
            "A ministry account registers an organisation of kind 'ministry'.", field="kind"
        )
    if user.role is Role.ORGANISATION_STAFF and data.kind is OrganisationKind.MINISTRY:
        raise PermissionDeniedError("Register a ministry with a ministry account.", field="kind")
    organisation = new_organisation(data, verified=False)
    session.add(organisation)
    await session.flush()
    account = await session.get(Account, user.id)
    assert account is not None
    account.organisation_id = organisation.id
    audit.record(
        session,
        actor_id=user.id,
        action="organisation.registered",
        entity_type="organisation",
        entity_id=organisation.id,
    )
    await session.flush()
    return organisation


async def get_visible_organisation(
    session: AsyncSession, user: Actor | None, organisation_id: uuid.UUID
) -> Organisation:
    """Verified organisations are public; an unverified one is seen only by its own staff and admins."""
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or not (organisation.verified or _may_manage(user, organisation)):
        raise NotFoundError("Organisation not found.")
    return organisation


def _may_manage(user: Actor | None, organisation: Organisation) -> bool:
    return policy.manages_organisation(user, organisation.id)


async def update_organisation(
    session: AsyncSession, user: Actor, organisation_id: uuid.UUID, data: OrganisationUpdateIn
) -> Organisation:
    organisation = await get_visible_organisation(session, user, organisation_id)
    if not _may_manage(user, organisation):
        raise PermissionDeniedError("Only the organisation's own staff or an admin can change it.")
    changed = [name for name in data.__struct_fields__ if getattr(data, name) is not None]
    # Only a ministry account runs a ministry, and a ministry stays one: the kind decides the powers.
    wrong_kind = data.kind is not None and (data.kind is OrganisationKind.MINISTRY) != (
        user.role is Role.MINISTRY
    )
    if wrong_kind and not policy.is_admin(user):
        raise PermissionDeniedError(
            "Only a ministry account's organisation is of kind 'ministry'.", field="kind"
        )
    for name in changed:
        value = getattr(data, name)
        setattr(organisation, name, value.value if isinstance(value, OrganisationKind) else value)
    if organisation.verified and {"name", "kind", "country"} & set(changed) and not policy.is_admin(user):
        # Identity changes are re-checked: the admin verified a name, a kind and a country.
        organisation.verified = False
        organisation.verified_at = None
        await _touch_posts(session, organisation.id)
    elif "name" in changed:
        await _touch_posts(session, organisation.id)  # each of its posts shows the name
    audit.record(
        session,
        actor_id=user.id,
        action="organisation.updated",
        entity_type="organisation",
        entity_id=organisation.id,
        fields=changed,
    )
    await session.flush()
    return organisation


async def set_verified(
    session: AsyncSession, admin: Actor, organisation_id: uuid.UUID, verified: bool
) -> Organisation:
    if not policy.is_admin(admin):
        raise PermissionDeniedError("Only admins verify organisations.")
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFoundError("Organisation not found.")
    organisation.verified = verified
    organisation.verified_at = datetime.now(UTC) if verified else None
    await _touch_posts(session, organisation.id)
    audit.record(
        session,
        actor_id=admin.id,
        action="organisation.verified" if verified else "organisation.unverified",
        entity_type="organisation",
        entity_id=organisation.id,
    )
    await session.flush()
    return organisation


async def _touch_posts(session: AsyncSession, organisation_id: uuid.UUID) -> None:
    # Whether a post is live depends on its organisation's verification, and each post shows its name;
    # re-stamping its posts lets the matcher's incremental refresh (and what it remembers) see the change.
    await session.execute(
        update(Post).where(Post.organisation_id == organisation_id).values(updated_at=utcnow())
    )


@dataclass(frozen=True, slots=True)
class OrganisationFilters:
    country: str | None = None
    kind: str | None = None
    verified: bool | None = None
    q: str | None = None


async def list_organisations(
    session: AsyncSession, user: Actor | None, filters: OrganisationFilters, *, limit: int, offset: int
) -> tuple[list[Organisation], int]:
    query = select(Organisation)
    is_admin = policy.is_admin(user)
    if filters.verified is False and not is_admin:
        raise PermissionDeniedError("Only admins list unverified organisations.", field="verified")
    if not is_admin:
        query = query.where(Organisation.verified.is_(True))
    elif filters.verified is not None:
        query = query.where(Organisation.verified.is_(filters.verified))
    if filters.country:
        query = query.where(Organisation.country == filters.country)
    if filters.kind:
        query = query.where(Organisation.kind == filters.kind)
    if filters.q:
        query = query.where(func.lower(Organisation.name).contains(filters.q.lower(), autoescape=True))
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = (
        await session.scalars(query.order_by(Organisation.name, Organisation.id).limit(limit).offset(offset))
    ).all()
    return list(rows), total


def staff_out(account: Account) -> StaffOut:
    return StaffOut(
        account_id=account.id, email=account.email, display_name=account.display_name, role=account.role
    )


async def list_staff(session: AsyncSession, user: Actor, organisation_id: uuid.UUID) -> list[Account]:
    organisation = await get_visible_organisation(session, user, organisation_id)
    if not _may_manage(user, organisation):
        raise PermissionDeniedError("Only the organisation's own accounts or an admin see its staff.")
    rows = await session.scalars(
        select(Account).where(Account.organisation_id == organisation.id).order_by(Account.email)
    )
    return list(rows.all())


async def grant_staff(session: AsyncSession, admin: Actor, organisation_id: uuid.UUID, email: str) -> Account:
    """An admin makes an existing account act for an organisation: the way a second person of a verified
    hospital or ministry gets its powers. The role follows the organisation's kind."""
    from diaspora.platform.profiles.services import lock_member

    if not policy.is_admin(admin):
        raise PermissionDeniedError("Only admins grant a place in an organisation.")
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFoundError("Organisation not found.")
    account = await session.scalar(select(Account).where(Account.email == normalise_email(email)))
    if account is None:
        raise NotFoundError("No account has this email; ask the person to register first.", field="email")
    await lock_member(session, account.id)
    await session.refresh(account)
    if account.role == Role.ADMIN.value:
        raise ConflictError("Admins do not act for organisations.", field="email")
    if account.organisation_id not in (None, organisation.id):
        raise ConflictError("This account already acts for another organisation.", field="email")
    if await session.scalar(select(Profile.id).where(Profile.account_id == account.id)) is not None:
        raise ConflictError(
            "This is a diaspora member's account with a profile; staff use an account of their own.",
            field="email",
        )
    role = Role.MINISTRY if organisation.kind == OrganisationKind.MINISTRY.value else Role.ORGANISATION_STAFF
    account.role, account.organisation_id = role.value, organisation.id
    audit.record(
        session,
        actor_id=admin.id,
        action="organisation.staff_granted",
        entity_type="organisation",
        entity_id=organisation.id,
        account_id=str(account.id),
        role=role.value,
    )
    await session.flush()
    return account


async def revoke_staff(
    session: AsyncSession, admin: Actor, organisation_id: uuid.UUID, account_id: uuid.UUID
) -> None:
    """An admin takes an account out of an organisation; it keeps its login and loses the powers."""
    if not policy.is_admin(admin):
        raise PermissionDeniedError("Only admins take a place in an organisation away.")
    account = await session.get(Account, account_id)
    if account is None or account.organisation_id != organisation_id:
        raise NotFoundError("This account does not act for this organisation.")
    account.organisation_id = None
    audit.record(
        session,
        actor_id=admin.id,
        action="organisation.staff_revoked",
        entity_type="organisation",
        entity_id=organisation_id,
        account_id=str(account.id),
    )
    await session.flush()
