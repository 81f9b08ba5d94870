from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from diaspora.platform.core.schemas import Input

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, description="A valid email address")]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=128, description="10 to 128 characters")]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 ()\-]{6,30}$", description="International format")]


class RegistrationIn(Input):
    email: Email
    password: Password
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    role: Literal["member", "organisation_staff", "ministry"] = "member"
    phone: Phone | None = None


class LoginIn(Input):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class AccountOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    display_name: str
    role: str
    phone: str | None
    organisation_id: uuid.UUID | None
    created_at: datetime


class AccountUpdateIn(Input):
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
    phone: Phone | None = None


class TokenOut(msgspec.Struct):
    token: str
    token_type: str
    expires_at: datetime
    account: AccountOut


class ResetRequestIn(Input):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]


class NewPasswordIn(Input):
    token: Annotated[str, msgspec.Meta(min_length=16, max_length=128)]
    password: Password


class ConfirmEmailIn(Input):
    token: Annotated[str, msgspec.Meta(min_length=16, max_length=128)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Notice(msgspec.Struct):
    detail: str
