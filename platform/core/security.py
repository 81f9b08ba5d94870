"""Password hashing (argon2id) and opaque session tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

# Verifying against this keeps the time of a login for an unknown email close to a wrong password's,
# so response times do not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def configure_hashing(*, time_cost: int, memory_kib: int) -> None:
    """Argon2id's cost, from the settings (create_app calls this). Hashes made with other costs still
    verify, and are upgraded at the next sign-in (`needs_rehash`)."""
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


# What an account created by an import holds until its member sets a password: not an argon2 hash,
# so nobody can sign in with it.
UNUSABLE_PASSWORD_HASH = "!imported"  # noqa: S105


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
