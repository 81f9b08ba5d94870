"""Getting into an account by email: a password reset, or the first password of a member created by an
import. Both send a single-use, expiring link through the outbox; redeeming it sets the password and
ends every session of the account.

Asking for a reset answers the same whether the email belongs to an account or not, so the form tells a
stranger nothing about who is a member.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.accounts.services import normalise_email
from diaspora.platform.core import audit
from diaspora.platform.core.errors import ValidationError
from diaspora.platform.core.security import UNUSABLE_PASSWORD_HASH, hash_password, new_token, token_digest
from diaspora.platform.db.models import Account, AccountToken, AuthSession, ImportKey, Profile, utcnow
from diaspora.platform.notifications.mail import enqueue_mail
from diaspora.platform.settings import Settings

RESET = "reset_password"
CLAIM = "claim_account"
RESET_TTL = timedelta(hours=1)
CLAIM_TTL = timedelta(days=14)


async def issue(session: AsyncSession, account_id: uuid.UUID, purpose: str, ttl: timedelta) -> str:
    """A new token (returned once, stored only as its SHA-256); earlier unused ones of the same purpose
    stop working, so only the newest link in a person's inbox opens the account."""
    now = utcnow()
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.account_id == account_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = new_token()
    session.add(
        AccountToken(
            account_id=account_id, purpose=purpose, token_hash=token_digest(token), expires_at=now + ttl
        )
    )
    return token


def link(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/reset-password?" + urlencode({"token": token})


async def request_reset(session: AsyncSession, settings: Settings, email: str) -> None:
    """Send a reset link if `email` belongs to an active account; say nothing either way."""
    try:
        normalised = normalise_email(email)
    except ValidationError:
        return
    account = await session.scalar(select(Account).where(Account.email == normalised))
    if account is None or not account.is_active:
        return
    token = await issue(session, account.id, RESET, RESET_TTL)
    enqueue_mail(
        session,
        to=account.email,
        key=f"password-reset:{account.id}",
        subject="Reset your password",
        body=(
            f"Hello {account.display_name},\n\n"
            "Someone, hopefully you, asked to reset the password of your account. Open this link within "
            f"an hour to choose a new one:\n\n{link(settings, token)}\n\n"
            "If it was not you, ignore this message: your password stays as it is.\n"
        ),
    )
    audit.record(
        session, actor_id=None, action="account.reset_requested", entity_type="account", entity_id=account.id
    )


async def invite_to_claim(session: AsyncSession, settings: Settings, account: Account) -> None:
    """Mail a member created by an import a link to set their first password."""
    token = await issue(session, account.id, CLAIM, CLAIM_TTL)
    enqueue_mail(
        session,
        to=account.email,
        key=f"claim:{account.id}",
        subject="Your profile on the diaspora platform",
        body=(
            f"Hello {account.display_name},\n\n"
            "A profile was created for you on the diaspora skills platform. To see it, change what others "
            f"may see, or delete it, choose a password within two weeks:\n\n{link(settings, token)}\n"
        ),
    )


async def invite_unclaimed(session: AsyncSession, settings: Settings, *, source: str | None = None) -> int:
    """Invite every member an import created who has no password yet and no live invitation (of one
    import `source`, or of all): safe to run again, it never sends a second link while one still works."""
    now = utcnow()
    live = select(AccountToken.id).where(
        AccountToken.account_id == Account.id,
        AccountToken.purpose == CLAIM,
        AccountToken.used_at.is_(None),
        AccountToken.expires_at > now,
    )
    query = select(Account).where(
        Account.password_hash == UNUSABLE_PASSWORD_HASH, Account.is_active.is_(True), ~live.exists()
    )
    if source is not None:
        imported = (
            select(Profile.account_id)
            .join(ImportKey, ImportKey.entity_id == Profile.id)
            .where(ImportKey.source == source, ImportKey.kind == "profiles")
        )
        query = query.where(Account.id.in_(imported))
    accounts = list((await session.scalars(query.order_by(Account.created_at, Account.id))).all())
    for account in accounts:
        await invite_to_claim(session, settings, account)
    return len(accounts)


async def set_password(session: AsyncSession, token: str, password: str) -> Account:
    """Redeem a reset or claim token: exactly once, before it expires. Every session of the account ends."""
    now = utcnow()
    token_id = await session.scalar(
        update(AccountToken)
        .where(
            AccountToken.token_hash == token_digest(token),
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(AccountToken.id)
    )
    if token_id is None:
        raise ValidationError("This link is invalid, used or expired; ask for a new one.", field="token")
    row = await session.get(AccountToken, token_id)
    assert row is not None
    account = await session.get(Account, row.account_id)
    if account is None or not account.is_active:
        raise ValidationError("This link is invalid, used or expired; ask for a new one.", field="token")
    account.password_hash = hash_password(password)
    await session.execute(delete(AuthSession).where(AuthSession.account_id == account.id))
    audit.record(
        session,
        actor_id=account.id,
        action="account.password_set" if row.purpose == CLAIM else "account.password_reset",
        entity_type="account",
        entity_id=account.id,
    )
    await session.flush()
    return account
