"""Links sent by email: confirming the address of a new account, a password reset, and the first
password of a member created by an import. Each is a single-use, expiring token sent through the
outbox and stored only as its SHA-256.

- Confirming an address takes the link *and* the password chosen at registration, so an account that
  someone else opened in a member's name cannot be confirmed by the member clicking the link, and then
  entered with the stranger's password.
- Setting a password (reset or claim) also confirms the address, and ends every session of the account.

Asking for a reset answers the same whether the email belongs to an account or not, so the form tells a
stranger nothing about who is a member.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from diaspora.platform.accounts.addresses import normalise_email
from diaspora.platform.core import audit
from diaspora.platform.core.errors import ValidationError
from diaspora.platform.core.security import (
    UNUSABLE_PASSWORD_HASH,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
from diaspora.platform.db.models import (
    Account,
    AccountToken,
    AuditEvent,
    AuthSession,
    ImportKey,
    Profile,
    utcnow,
)
from diaspora.platform.notifications.mail import enqueue_mail
from diaspora.platform.settings import Settings

RESET = "reset_password"
CLAIM = "claim_account"
VERIFY = "verify_email"
TTL = {RESET: timedelta(hours=1), CLAIM: timedelta(days=14), VERIFY: timedelta(days=2)}
# A login refused for want of confirmation sends a new link, at most this often.
VERIFY_RESEND_AFTER = timedelta(minutes=10)
INVALID_LINK = "This link is invalid, used or expired; ask for a new one."


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


def link(settings: Settings, token: str, page: str) -> str:
    return f"{settings.public_url.rstrip('/')}{page}?" + urlencode({"token": token})


def page(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}"


def _mail(session: AsyncSession, account: Account, *, key: str, subject: str, text: str) -> None:
    body = f"Hello {account.display_name},\n\n{text}"
    enqueue_mail(session, to=account.email, key=f"{key}:{account.id}", subject=subject, body=body)


async def _mail_link(
    session: AsyncSession,
    settings: Settings,
    account: Account,
    *,
    purpose: str,
    page: str,
    subject: str,
    text: str,
) -> None:
    """Issue a token for `purpose` and mail its link to `page`; `text` places it at `{link}`."""
    token = await issue(session, account.id, purpose, TTL[purpose])
    _mail(session, account, key=purpose, subject=subject, text=text.format(link=link(settings, token, page)))


async def send_verification(session: AsyncSession, settings: Settings, account: Account) -> None:
    """Mail a new account the link that confirms its address (the only way to its first login)."""
    await _mail_link(
        session,
        settings,
        account,
        purpose=VERIFY,
        page="/verify-email",
        subject="Confirm your email address",
        text="Someone, hopefully you, registered on the diaspora skills platform with this address. Open "
        "this link within two days and enter the password you chose to confirm it:\n\n{link}\n\n"
        "If it was not you, ignore this message: without the confirmation nobody can use the account.\n",
    )


async def resend_verification(session: AsyncSession, settings: Settings, account: Account) -> bool:
    """Send a fresh confirmation link unless one went out in the last few minutes; True if sent."""
    recent = await session.scalar(
        select(AccountToken.id).where(
            AccountToken.account_id == account.id,
            AccountToken.purpose == VERIFY,
            AccountToken.used_at.is_(None),
            AccountToken.created_at > utcnow() - VERIFY_RESEND_AFTER,
        )
    )
    if recent is not None:
        return False
    await send_verification(session, settings, account)
    return True


async def tell_owner_of_registration(session: AsyncSession, settings: Settings, account: Account) -> None:
    """Someone tried to register an address that has an account: the owner hears of it (once an hour at
    most), and the person registering sees exactly what a new address would show."""
    recent = await session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.entity_type == "account",
            AuditEvent.entity_id == str(account.id),
            AuditEvent.action == "account.registration_repeated",
            AuditEvent.occurred_at > utcnow() - timedelta(hours=1),
        )
    )
    audit.record(
        session,
        actor_id=None,
        action="account.registration_repeated",
        entity_type="account",
        entity_id=account.id,
    )
    if recent is not None:
        return
    _mail(
        session,
        account,
        key="registration-repeated",
        subject="You already have an account",
        text="Someone, probably you, tried to register on the diaspora skills platform with this address, "
        f"which already has an account. Log in here:\n\n{page(settings, '/login')}\n\n"
        f"Forgot your password? Choose a new one here:\n\n{page(settings, '/forgot-password')}\n\n"
        "If it was not you, ignore this message: nothing has changed.\n",
    )


async def request_reset(session: AsyncSession, settings: Settings, email: str) -> None:
    """Send a reset link if `email` belongs to an active account; say nothing either way."""
    try:
        normalised = normalise_email(email)
    except ValidationError:
        return
    account = await session.scalar(select(Account).where(Account.email == normalised))
    if account is None or not account.is_active:
        return
    await _mail_link(
        session,
        settings,
        account,
        purpose=RESET,
        page="/reset-password",
        subject="Reset your password",
        text="Someone, hopefully you, asked to reset the password of your account. Open this link within "
        "an hour to choose a new one:\n\n{link}\n\n"
        "If it was not you, ignore this message: your password stays as it is.\n",
    )
    audit.record(
        session, actor_id=None, action="account.reset_requested", entity_type="account", entity_id=account.id
    )


async def invite_to_claim(session: AsyncSession, settings: Settings, account: Account) -> None:
    """Mail a member created by an import a link to set their first password."""
    await _mail_link(
        session,
        settings,
        account,
        purpose=CLAIM,
        page="/reset-password",
        subject="Your profile on the diaspora platform",
        text="A profile was created for you on the diaspora skills platform. To see it, change what others "
        "may see, or delete it, choose a password within two weeks:\n\n{link}\n",
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


async def _live_token(
    session: AsyncSession, token: str, purposes: tuple[str, ...]
) -> tuple[AccountToken, Account]:
    """The unused, unexpired token of one of `purposes` and its active account, or a ValidationError."""
    row = await session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == token_digest(token),
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
    )
    account = await session.get(Account, row.account_id) if row is not None else None
    if row is None or account is None or not account.is_active:
        raise ValidationError(INVALID_LINK, field="token")
    return row, account


async def _use(session: AsyncSession, row: AccountToken) -> None:
    """Mark the token used; of two concurrent redemptions exactly one gets past this."""
    used = await session.scalar(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .returning(AccountToken.id)
    )
    if used is None:
        raise ValidationError(INVALID_LINK, field="token")


async def confirm_email(session: AsyncSession, token: str, password: str) -> Account:
    """Redeem a confirmation link with the account's password; afterwards the account may log in."""
    row, account = await _live_token(session, token, (VERIFY,))
    if not verify_password(account.password_hash, password):
        raise ValidationError("The password is not the one chosen at registration.", field="password")
    await _use(session, row)
    account.email_verified_at = account.email_verified_at or utcnow()
    audit.record(
        session,
        actor_id=account.id,
        action="account.email_verified",
        entity_type="account",
        entity_id=account.id,
    )
    await session.flush()
    return account


async def set_password(session: AsyncSession, token: str, password: str) -> Account:
    """Redeem a reset or claim token: exactly once, before it expires. The link came to the account's
    address, so it also confirms it. Every session of the account ends."""
    row, account = await _live_token(session, token, (RESET, CLAIM))
    await _use(session, row)
    account.password_hash = hash_password(password)
    account.email_verified_at = account.email_verified_at or utcnow()
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
