"""Accounts: registration, login sessions, export of everything a member gave us, and erasure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.stores.base import Store
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.accounts import recovery
from diaspora.platform.accounts.addresses import normalise_email
from diaspora.platform.accounts.schemas import AccountOut, RegistrationIn
from diaspora.platform.core import audit, ratelimit
from diaspora.platform.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from diaspora.platform.core.schemas import from_row
from diaspora.platform.core.security import (
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)
from diaspora.platform.db.models import (
    Account,
    AuditEvent,
    AuthSession,
    ContactGrant,
    Embedding,
    Profile,
    Role,
    utcnow,
)
from diaspora.platform.settings import Settings


class EmailNotConfirmedError(PermissionDeniedError):
    """The password is right but the address was never confirmed."""


def account_out(account: Account) -> AccountOut:
    return from_row(account, AccountOut)


async def create_account(
    session: AsyncSession, data: RegistrationIn, *, role: Role, verified: bool
) -> Account:
    """An account made by an operator (the command line): says plainly when the email is taken."""
    email = normalise_email(data.email)
    if await session.scalar(select(Account.id).where(Account.email == email)):
        raise ConflictError("An account with this email already exists.", field="email")
    account = _new_account(email, data, role, verified=verified)
    session.add(account)
    await session.flush()
    _record_registration(session, account)
    return account


async def register(session: AsyncSession, settings: Settings, data: RegistrationIn) -> None:
    """Self-service registration, which answers the same for an address that has an account and one
    that does not: a new address gets a link to confirm it, a known one a note to its owner. The
    password is hashed either way, so the two take as long. Admins are never self-registered."""
    email = normalise_email(data.email)
    account = _new_account(email, data, Role(data.role), verified=False)
    existing = await session.scalar(select(Account).where(Account.email == email))
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(account)
                await session.flush()
        except IntegrityError:  # a concurrent registration with the same email won the race
            existing = await session.scalar(select(Account).where(Account.email == email))
        else:
            _record_registration(session, account)
            await recovery.send_verification(session, settings, account)
            return
    if existing is not None and existing.is_active:
        await recovery.tell_owner_of_registration(session, settings, existing)


def _new_account(email: str, data: RegistrationIn, role: Role, *, verified: bool) -> Account:
    return Account(
        email=email,
        password_hash=hash_password(data.password),
        display_name=data.display_name.strip(),
        phone=data.phone,
        role=role.value,
        email_verified_at=utcnow() if verified else None,
    )


def _record_registration(session: AsyncSession, account: Account) -> None:
    audit.record(
        session,
        actor_id=account.id,
        action="account.registered",
        entity_type="account",
        entity_id=account.id,
        role=account.role,
    )


async def authenticate(session: AsyncSession, email: str, password: str) -> Account | None:
    try:
        normalised = normalise_email(email)
    except ValidationError:
        normalised = email.strip().lower()
    account = await session.scalar(select(Account).where(Account.email == normalised))
    if not verify_password(account.password_hash if account else None, password):
        return None
    if account is None or not account.is_active:
        return None
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return account


async def sign_in(
    session: AsyncSession, store: Store, settings: Settings, email: str, password: str
) -> Account | None:
    """The account these credentials open, or None; an email with too many recent failures is refused
    (429) before its password is even checked, registered or not. The right password of an account
    whose address is not confirmed yet is refused (403) and a new confirmation link goes out."""
    await ratelimit.refuse_if_locked(store, settings, email)
    account = await authenticate(session, email, password)
    if account is None:
        await ratelimit.record_failure(store, settings, email)
        return None
    await ratelimit.forget_failures(store, email)
    if account.email_verified_at is None:
        if await recovery.resend_verification(session, settings, account):
            await session.commit()  # the refusal below rolls the request back; the new link must stay
        raise EmailNotConfirmedError(
            "Confirm your email address first: open the link we sent to it. No mail? Log in again after "
            "ten minutes and we send a new link."
        )
    return account


async def open_session(
    session: AsyncSession, account: Account, *, kind: str, ttl: timedelta
) -> tuple[str, datetime]:
    """Start a session; returns the token (shown once, never stored) and its expiry."""
    token = new_token()
    expires_at = datetime.now(UTC) + ttl
    session.add(
        AuthSession(account_id=account.id, token_hash=token_digest(token), kind=kind, expires_at=expires_at)
    )
    audit.record(
        session,
        actor_id=account.id,
        action="account.login",
        entity_type="account",
        entity_id=account.id,
        kind=kind,
    )
    return token, expires_at


async def close_session(session: AsyncSession, session_id: uuid.UUID | None) -> None:
    if session_id is None:  # an actor that came with no session (the command line) has none to close
        return
    await session.execute(delete(AuthSession).where(AuthSession.id == session_id))


async def purge_expired_sessions(session: AsyncSession) -> int:
    result = await session.execute(delete(AuthSession).where(AuthSession.expires_at <= datetime.now(UTC)))
    return int(getattr(result, "rowcount", 0) or 0)


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFoundError("Account not found.")
    return account


async def rename(session: AsyncSession, account: Account, display_name: str) -> None:
    """Change the name an account shows; its profile is stamped too, since a profile's card shows the
    name and a matcher remembers each card by its profile's stamp."""
    if display_name == account.display_name:
        return
    account.display_name = display_name
    await session.execute(update(Profile).where(Profile.account_id == account.id).values(updated_at=utcnow()))


async def export_account(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any]:
    """Everything the platform holds about one account, as plain JSON-ready data."""
    from diaspora.platform.consultations.services import responses_of
    from diaspora.platform.opportunities.pledges import pledges_of
    from diaspora.platform.profiles.services import load_own_profile, profile_out
    from diaspora.platform.stories.services import stories_about

    account = await get_account(session, account_id)
    profile = await load_own_profile(session, account_id, required=False)
    sessions = (await session.scalars(select(AuthSession).where(AuthSession.account_id == account_id))).all()
    events = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.actor_id == account_id).order_by(AuditEvent.occurred_at)
        )
    ).all()
    grants: list[ContactGrant] = []
    if profile is not None:
        grants = list(
            (await session.scalars(select(ContactGrant).where(ContactGrant.profile_id == profile.id))).all()
        )
    return {
        "exported_at": datetime.now(UTC).isoformat(),
        "account": {
            "id": str(account.id),
            "email": account.email,
            "display_name": account.display_name,
            "phone": account.phone,
            "role": account.role,
            "organisation_id": str(account.organisation_id) if account.organisation_id else None,
            "created_at": account.created_at.isoformat(),
        },
        "profile": _plain(profile_out(profile, grants)) if profile is not None else None,
        "pledges": _plain(await pledges_of(session, account_id)),
        "stories": _plain(await stories_about(session, account_id)),
        "consultation_answers": _plain(await responses_of(session, account_id)),
        "sessions": [
            {"kind": s.kind, "created_at": s.created_at.isoformat(), "expires_at": s.expires_at.isoformat()}
            for s in sessions
        ],
        "activity": [
            {
                "at": e.occurred_at.isoformat(),
                "action": e.action,
                "entity_type": e.entity_type,
                "entity_id": e.entity_id,
            }
            for e in events
        ],
    }


def _plain(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value)


async def erase_account(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Delete the account and everything that references it.

    Profile, skills, languages, credentials, availability, consent, contact grants and sessions go through
    ON DELETE CASCADE; audit events and posts the person wrote stay, with the person's id set to NULL.
    """
    account = await get_account(session, account_id)
    profile_id = await session.scalar(select(Profile.id).where(Profile.account_id == account_id))
    if profile_id is not None:
        await session.execute(
            delete(Embedding).where(Embedding.entity_type == "profile", Embedding.entity_id == profile_id)
        )
    await session.delete(account)
    await session.flush()
    audit.record(
        session,
        actor_id=None,
        action="account.erased",
        entity_type="account",
        entity_id=None,
        had_profile=profile_id is not None,
    )
